package signer

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestKeyCache(t *testing.T) {
	var c keyCache
	date := []byte("20240506")
	k1 := c.signingKey("ak", "sk1", date, "cn-hangzhou", "oss")
	if k1 != deriveKeyV4("sk1", "20240506", "cn-hangzhou", "oss") {
		t.Fatal("cached key differs from the derived key")
	}
	if c.signingKey("ak", "sk1", date, "cn-hangzhou", "oss") != k1 || len(c.m) != 1 {
		t.Fatalf("second lookup missed the cache (%d entries)", len(c.m))
	}
	// A rotated secret for the same id must not reuse the old key.
	if k2 := c.signingKey("ak", "sk2", date, "cn-hangzhou", "oss"); k2 == k1 || k2 != deriveKeyV4("sk2", "20240506", "cn-hangzhou", "oss") {
		t.Fatal("rotated secret reused the old signing key")
	}
	for _, other := range []struct{ date, region string }{{"20240507", "cn-hangzhou"}, {"20240506", "cn-beijing"}} {
		if c.signingKey("ak", "sk2", []byte(other.date), other.region, "oss") == k1 {
			t.Fatalf("%v shares a key", other)
		}
	}
	// The cache stays bounded.
	for i := range 3 * maxCachedKeys {
		c.signingKey(fmt.Sprint("id", i), "s", date, "r", "oss")
		if len(c.m) > maxCachedKeys {
			t.Fatalf("cache grew to %d entries", len(c.m))
		}
	}
}

// TestV4ConcurrentSign shares one V4 between goroutines signing with
// different keys, dates and regions; each result must equal a fresh
// signer's. Run with -race.
func TestV4ConcurrentSign(t *testing.T) {
	shared := &V4{Region: "cn-hangzhou"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 200 {
				cred := Credentials{AccessKeyID: fmt.Sprint("id", rng.IntN(5)), AccessKeySecret: fmt.Sprint("s", rng.IntN(3))}
				tm := time.Unix(1_700_000_000+rng.Int64N(5)*86400, 0)
				a, b := mTemplate(), mTemplate()
				if err := shared.Sign(a, cred, mBucket, mKey, tm); err != nil {
					t.Error(err)
					return
				}
				if err := (&V4{Region: "cn-hangzhou"}).Sign(b, cred, mBucket, mKey, tm); err != nil {
					t.Error(err)
					return
				}
				if a.Header.Get("Authorization") != b.Header.Get("Authorization") {
					t.Errorf("shared signer gave %s, fresh gave %s", a.Header.Get("Authorization"), b.Header.Get("Authorization"))
					return
				}
			}
		})
	}
	wg.Wait()
}
