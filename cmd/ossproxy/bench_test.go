package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkServeGet measures a 4 KiB GET through a real serve listener
// (JWT from the token cache, policy, re-signing, emulator upstream).
func BenchmarkServeGet(b *testing.B) {
	s := startServe(b, serveOpts{logging: "\nlogging:\n  level: info\n"})
	tok := mint(b, jwt.MapClaims{"sub": "alice"})
	body := strings.Repeat("x", 4096)
	req, _ := http.NewRequest("PUT", s.url+"/data/alice/bench", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("seeding: %v", err)
	}
	resp.Body.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, _ := http.NewRequest("GET", s.url+"/data/alice/bench", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != int64(len(body)) {
			b.Fatalf("GET: %d, %d bytes", resp.StatusCode, n)
		}
	}
}
