package osstest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
)

// genReader streams n deterministic bytes: a 1 MiB block from a seeded
// PRNG, each copy stamped with its block number so that no two blocks are
// equal and a misplaced block changes the digest. It allocates nothing per
// Read.
type genReader struct {
	block []byte
	off   int64
	n     int64
}

func newGenReader(n int64, seed uint64) *genReader {
	block := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := 0; i < len(block); i += 8 {
		binary.LittleEndian.PutUint64(block[i:], r.Uint64())
	}
	return &genReader{block: block, n: n}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.off)]
	done := 0
	for done < len(p) {
		bo := int((g.off + int64(done)) % int64(len(g.block)))
		if bo == 0 {
			binary.LittleEndian.PutUint64(g.block, uint64((g.off+int64(done))/int64(len(g.block))))
		}
		done += copy(p[done:], g.block[bo:])
	}
	g.off += int64(done)
	return done, nil
}

// heapPeak samples HeapInuse until stop is closed and returns the maximum.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// TestBigObjectStreams moves a 2 GiB object up and down through the
// emulator with the SDK v2 client over a real listener, and checks that
// neither side buffers it: the sha256 of what was sent and what came back
// agree, and the heap of the whole test process stays flat.
func TestBigObjectStreams(t *testing.T) {
	const size = 2 << 30
	o, acct, srv := newTestOSS(t)
	user := acct.NewUser("big", nil)
	// The SDK's own CRC-64 checks are off here: under -race they cost more
	// than the transfer. The emulator still computes the CRC while
	// streaming; the lifecycle tests show the SDKs accept it.
	cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(srv.URL).WithUsePathStyle(true).
		WithCredentialsProvider(credentials.NewStaticCredentialsProvider(user.AccessKeyID, user.AccessKeySecret)).
		WithRetryMaxAttempts(1).WithDisableUploadCRC64Check(true).WithDisableDownloadCRC64Check(true)
	c := oss.NewClient(cfg)
	ctx := context.Background()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peakc := heapPeak(stop)
	start := time.Now()

	sent := sha256.New()
	_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr(testBucket), Key: oss.Ptr("big"),
		Body: io.TeeReader(newGenReader(size, 42), sent), ContentLength: oss.Ptr(int64(size))})
	if err != nil {
		close(stop)
		t.Fatalf("PutObject: %v", err)
	}
	up := time.Since(start)

	get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr(testBucket), Key: oss.Ptr("big")})
	if err != nil {
		close(stop)
		t.Fatalf("GetObject: %v", err)
	}
	got := sha256.New()
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(got, get.Body, buf)
	get.Body.Close()
	total := time.Since(start)
	close(stop)
	peak := <-peakc
	if err != nil || n != size {
		t.Fatalf("GetObject body: %d bytes, %v", n, err)
	}

	want := hex.EncodeToString(sent.Sum(nil))
	if h := hex.EncodeToString(got.Sum(nil)); h != want {
		t.Errorf("downloaded sha256 %s, sent %s", h, want)
	}
	if keys, err := o.ObjectKeys(testBucket); err != nil || len(keys) != 1 {
		t.Errorf("ObjectKeys = %q, %v", keys, err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(peak) - int64(before.HeapInuse)
	t.Logf("%d MiB: upload %v, upload+download %v (%.0f MiB/s each way); HeapInuse before %d MiB, peak %d MiB (growth %d MiB), after %d MiB; HeapSys before %d MiB, after %d MiB",
		size>>20, up.Round(time.Millisecond), total.Round(time.Millisecond), float64(2*size>>20)/total.Seconds()/2,
		before.HeapInuse>>20, peak>>20, growth>>20, after.HeapInuse>>20, before.HeapSys>>20, after.HeapSys>>20)
	if growth > 64<<20 || after.HeapSys > before.HeapSys+64<<20 {
		t.Errorf("heap grew by %d MiB in use, %d MiB reserved while streaming 2 GiB, want < 64 MiB",
			growth>>20, (int64(after.HeapSys)-int64(before.HeapSys))>>20)
	}
}
