package proxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

// rotatingCreds hands out credentials AK1, AK2, … : each Invalidate of the
// current ones moves to the next.
type rotatingCreds struct {
	mu          sync.Mutex
	gen         int
	invalidated []signer.Credentials
}

func (c *rotatingCreds) Retrieve(context.Context) (signer.Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return signer.Credentials{AccessKeyID: fmt.Sprintf("AK%d", c.gen+1), AccessKeySecret: "secret", SecurityToken: "tok"}, nil
}

func (c *rotatingCreds) Invalidate(stale signer.Credentials) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidated = append(c.invalidated, stale)
	if stale.AccessKeyID == fmt.Sprintf("AK%d", c.gen+1) {
		c.gen++
	}
}

// fakeSign stands in for the signer: it writes the access key id so the
// upstream can tell which credentials were used.
var fakeSign = RequestSignerFunc(func(_ context.Context, r *http.Request, c signer.Credentials, _ Target, _ time.Time) error {
	r.Header.Set("Authorization", "TEST "+c.AccessKeyID)
	return nil
})

const errXML = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>m</Message><RequestId>R</RequestId></Error>`

func TestTransportStaleCredentials(t *testing.T) {
	for _, code := range []string{"InvalidAccessKeyId", "SecurityTokenExpired", "InvalidSecurityToken"} {
		for _, mode := range []string{"no body", "GetBody", "HEAD", "stream body"} {
			t.Run(code+"/"+mode, func(t *testing.T) {
				var mu sync.Mutex
				var seen []string // Authorization + body per upstream request
				up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					mu.Lock()
					seen = append(seen, r.Header.Get("Authorization")+"|"+string(b))
					mu.Unlock()
					if r.Header.Get("Authorization") == "TEST AK1" {
						body := fmt.Sprintf(errXML, code)
						w.Header().Set("Content-Type", "application/xml")
						if r.Method == http.MethodHead {
							w.Header().Set("X-Oss-Err", base64.StdEncoding.EncodeToString([]byte(body)))
							w.WriteHeader(403)
							return
						}
						w.WriteHeader(403)
						io.WriteString(w, body)
						return
					}
					io.WriteString(w, "ok")
				}))
				defer up.Close()
				creds := &rotatingCreds{}
				tr := &Transport{Base: up.Client().Transport, Credentials: creds, Signer: fakeSign}
				ctx := WithTarget(t.Context(), Target{Bucket: "bkt", Key: "k", Region: "r"})
				method, body := http.MethodGet, io.Reader(nil)
				switch mode {
				case "GetBody":
					method, body = http.MethodPut, strings.NewReader("payload") // NewRequest sets GetBody
				case "HEAD":
					method = http.MethodHead
				case "stream body":
					method, body = http.MethodPut, io.MultiReader(strings.NewReader("payload"))
				}
				req, err := http.NewRequestWithContext(ctx, method, up.URL+"/bkt/k", body)
				if err != nil {
					t.Fatal(err)
				}
				if mode == "stream body" {
					req.ContentLength = 7
				}
				req.Header.Set("X-Oss-Meta-A", "1")
				before := req.Header.Clone()
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()

				if len(creds.invalidated) != 1 || creds.invalidated[0].AccessKeyID != "AK1" {
					t.Errorf("Invalidate calls = %v, want one with AK1", creds.invalidated)
				}
				if !equalHeader(req.Header, before) {
					t.Errorf("input request header mutated: %v", req.Header)
				}
				if mode == "stream body" { // not replayable: OSS's answer passes through untouched
					if resp.StatusCode != 403 || string(got) != fmt.Sprintf(errXML, code) || len(seen) != 1 {
						t.Errorf("got %d %q after %d requests, want the untouched 403", resp.StatusCode, got, len(seen))
					}
					return
				}
				wantBody := ""
				if mode == "GetBody" {
					wantBody = "payload"
				}
				want := []string{"TEST AK1|" + wantBody, "TEST AK2|" + wantBody}
				if resp.StatusCode != 200 || fmt.Sprint(seen) != fmt.Sprint(want) {
					t.Errorf("status %d, upstream saw %q, want %q", resp.StatusCode, seen, want)
				}
			})
		}
	}
}

func equalHeader(a, b http.Header) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestTransportPassesOtherErrors(t *testing.T) {
	var calls int
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(403)
		fmt.Fprintf(w, errXML, "AccessDenied")
	}))
	defer up.Close()
	creds := &rotatingCreds{}
	tr := &Transport{Base: up.Client().Transport, Credentials: creds, Signer: fakeSign, MaxErrorPeek: 16}
	req, _ := http.NewRequestWithContext(WithTarget(t.Context(), Target{Bucket: "bkt"}), http.MethodGet, up.URL+"/bkt/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if calls != 1 || len(creds.invalidated) != 0 || string(got) != fmt.Sprintf(errXML, "AccessDenied") {
		t.Errorf("calls %d, invalidated %v, body %q", calls, creds.invalidated, got)
	}
}

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func TestTransportErrorsCloseBody(t *testing.T) {
	boom := errors.New("sts down")
	tests := []struct {
		name    string
		ctx     context.Context
		creds   CredentialSource
		sign    RequestSigner
		wantErr error
	}{
		{"no target", t.Context(), &rotatingCreds{}, fakeSign, ErrNoTarget},
		{"credentials", WithTarget(t.Context(), Target{}), CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) {
			return signer.Credentials{}, boom
		}}, fakeSign, ErrCredentialsUnavailable},
		{"signing", WithTarget(t.Context(), Target{}), &rotatingCreds{}, RequestSignerFunc(func(context.Context, *http.Request, signer.Credentials, Target, time.Time) error {
			return boom
		}), ErrSigning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &trackedBody{Reader: bytes.NewReader([]byte("x"))}
			req, _ := http.NewRequestWithContext(tc.ctx, http.MethodPut, "http://127.0.0.1:1/bkt/k", body)
			tr := &Transport{Credentials: tc.creds, Signer: tc.sign}
			_, err := tr.RoundTrip(req)
			if !errors.Is(err, tc.wantErr) || !body.closed {
				t.Errorf("err = %v (want %v), body closed %v", err, tc.wantErr, body.closed)
			}
			if status, _, _ := classifyError(err); tc.wantErr == ErrCredentialsUnavailable && status != 503 {
				t.Errorf("status %d, want 503", status)
			}
		})
	}
}

// FuzzErrorCode checks that peeking at any error body never panics and
// always hands the caller the body byte for byte.
func FuzzErrorCode(f *testing.F) {
	f.Add(fmt.Sprintf(errXML, "SecurityTokenExpired"), int64(0))
	f.Add("<Error><Code>InvalidAccessKeyId", int64(8))
	f.Add("not xml", int64(3))
	f.Fuzz(func(t *testing.T, body string, peek int64) {
		tr := &Transport{MaxErrorPeek: peek % 8192}
		resp := &http.Response{StatusCode: 403, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1}
		code := tr.errorCode(resp)
		got, _ := io.ReadAll(resp.Body)
		if string(got) != body {
			t.Fatalf("body changed: %q -> %q", body, got)
		}
		if code != "" && !strings.Contains(body, code) {
			t.Fatalf("code %q not in body", code)
		}
	})
}
