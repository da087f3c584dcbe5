package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/osstest"
)

// upstreamKeyOf is the access key id the newest upstream request with
// method and path was signed with. The request may still be on its way
// through the proxy, so it waits (bounded) for the emulator to record it.
func (s *server) upstreamKeyOf(t *testing.T, method, path string) string {
	t.Helper()
	var id string
	if !waitFor(func() bool {
		reqs := s.cloud.Recorder.Requests(osstest.EndpointOSS)
		for i := len(reqs) - 1; i >= 0; i-- {
			u, _, _ := strings.Cut(reqs[i].URL, "?")
			if reqs[i].Method != method || u != path {
				continue
			}
			if _, cred, ok := strings.Cut(reqs[i].Header.Get("Authorization"), "Credential="); ok {
				id, _, _ = strings.Cut(cred, "/")
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the emulator never saw %s %s", method, path)
	}
	return id
}

// TestServeRefreshDuringTransfer streams an upload and a download that
// span background credential refreshes and the revocation of the STS key
// they were signed with, then makes the emulator answer
// SecurityTokenExpired and InvalidAccessKeyId: the client sees no failure.
func TestServeRefreshDuringTransfer(t *testing.T) {
	cloud := newCloud(t)
	// Refresh every ~1.8s (15m STS credentials, refresh_at 0.002).
	s2 := startServe(t, serveOpts{cloud: cloud, credentials: assumeRole(cloud.Role.ARN, cloud.STSEndpoint,
		"  duration: 15m\n  cache:\n    refresh_at: 0.002\n    jitter: -1\n")})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	const chunk, chunks = 256 << 10, 8
	data := randomBytes(chunk * chunks)

	// Upload: the body arrives in two halves with a refresh and a
	// revocation in between.
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", s2.url+"/data/root/slow.bin", pr)
	req.ContentLength = int64(len(data))
	req.Header.Set("Authorization", "Bearer "+tok)
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		done <- result{resp, err}
	}()
	if _, err := pw.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	inFlightKey := s2.upstreamKeyOf(t, "PUT", "/data/root/slow.bin")
	refreshed := len(s2.logs.records("credentials refreshed"))
	s2.waitLog(t, "credentials refreshed", refreshed)
	s2.cloud.Account.Revoke(inFlightKey) // the key the upload was signed with
	if _, err := pw.Write(data[len(data)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	res.resp.Body.Close()
	if res.resp.StatusCode != 200 {
		t.Fatalf("slow upload: %d", res.resp.StatusCode)
	}
	want := sha256.Sum256(data)
	if sum, _ := s2.cloud.OSS.ObjectSHA256("data", "root/slow.bin"); sum != hex.EncodeToString(want[:]) {
		t.Fatal("uploaded object differs")
	}

	c := sdkV2(s2.url, tok, "", "", oss.SignatureVersionV4)
	get, err := c.GetObject(t.Context(), &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("root/slow.bin")})
	if err != nil {
		t.Fatalf("GET after revocation: %v", err)
	}
	// Download: read half, let credentials refresh and revoke the key the
	// download was signed with, read the rest.
	h := sha256.New()
	if _, err := io.CopyN(h, get.Body, int64(len(data)/2)); err != nil {
		t.Fatal(err)
	}
	dlKey := s2.upstreamKeyOf(t, "GET", "/data/root/slow.bin")
	refreshed = len(s2.logs.records("credentials refreshed"))
	s2.waitLog(t, "credentials refreshed", refreshed)
	s2.cloud.Account.Revoke(dlKey)
	if _, err := io.Copy(h, get.Body); err != nil {
		t.Fatalf("download after refresh: %v", err)
	}
	get.Body.Close()
	if !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("downloaded object differs")
	}

	// Revoke the key the cache holds now: the next request is signed with
	// it, the emulator answers InvalidAccessKeyId, and the proxy
	// invalidates and retries. HEAD has no body: the proxy reads the code
	// from x-oss-err.
	invalidated := len(s2.logs.records("credentials invalidated"))
	if _, err := c.ListObjectsV2(t.Context(), &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr("root/")}); err != nil {
		t.Fatal(err)
	}
	s2.cloud.Account.Revoke(s2.upstreamKeyOf(t, "GET", "/data/"))
	head, err := c.HeadObject(t.Context(), &oss.HeadObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("root/slow.bin")})
	if err != nil || head.ContentLength != int64(len(data)) {
		t.Fatalf("HEAD after revocation: %v", err)
	}

	// An upstream SecurityTokenExpired is retried with new credentials.
	// (A GET: the emulator's injected faults carry no x-oss-err on HEAD.)
	inj := s2.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Status: 403, Code: "SecurityTokenExpired", Times: 1})
	list, err := c.ListObjectsV2(t.Context(), &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr("root/")})
	if err != nil || len(list.Contents) != 1 {
		t.Fatalf("list after SecurityTokenExpired: %v", err)
	}
	if inj.Fired() != 1 {
		t.Fatalf("fault fired %d times", inj.Fired())
	}
	if n := len(s2.logs.records("credentials invalidated")); n == invalidated {
		t.Error("no credentials were invalidated")
	}
	s2.assertNoCallerSecrets(t, tok)
}

// TestServeSTSUnavailableAtStart: serving starts while STS fails, requests
// get 503 ServiceUnavailable, and the proxy heals by itself once STS is back.
func TestServeSTSUnavailableAtStart(t *testing.T) {
	cloud := newCloud(t)
	outage := cloud.Faults.Add(osstest.EndpointSTS, osstest.Fault{Status: 503})
	s := startServe(t, serveOpts{cloud: cloud, credentials: retryingAssumeRole(cloud)})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	get := func() (int, string) {
		code, body := do(t, "GET", s.url+"/data/?list-type=2", tok, nil)
		return code, string(body)
	}
	s.waitLog(t, "refreshing credentials failed", 0)
	if code, body := get(); code != 503 || !strings.Contains(body, "<Code>ServiceUnavailable</Code>") {
		t.Fatalf("during the STS outage: %d %s", code, body)
	}
	if s.upstreamRequests() != 0 {
		t.Fatal("a request went upstream without credentials")
	}
	outage.Remove()
	s.waitLog(t, "credentials refreshed", 0)
	if code, body := get(); code != 200 {
		t.Fatalf("after STS recovered: %d %s", code, body)
	}
}
