package proxy

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
)

func TestClassifyError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"denied", fmt.Errorf("authorizing: %w", ErrDenied), 403, "AccessDenied"},
		{"unauthenticated", ErrUnauthenticated, 401, "AccessDenied"},
		{"malformed", fmt.Errorf("routing: %w", ErrInvalidURI), 400, "InvalidURI"},
		{"length", ErrMissingContentLength, 411, "MissingContentLength"},
		{"headers", ErrHeaderTooLarge, 431, "RequestHeaderFieldsTooLarge"},
		{"credentials", fmt.Errorf("retrieving: %w: %w", ErrCredentialsUnavailable, errors.New("sts down")), 503, "ServiceUnavailable"},
		{"deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), 504, "GatewayTimeout"},
		{"net timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, 504, "GatewayTimeout"},
		{"refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, 502, "BadGateway"},
		{"foreign status error", otherStatusErr{}, 401, "InvalidToken.Expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code, msg := classifyError(tc.err)
			if status != tc.status || code != tc.code || msg == "" {
				t.Errorf("classifyError = %d %q %q, want %d %q", status, code, msg, tc.status, tc.code)
			}
		})
	}
	if logLevel(fmt.Errorf("x: %w", context.Canceled)) >= logLevel(ErrUpstream) {
		t.Error("a canceled request must log below upstream failures")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

type otherStatusErr struct{}

func (otherStatusErr) Error() string   { return "auth: token has expired" }
func (otherStatusErr) Status() int     { return 401 }
func (otherStatusErr) Code() string    { return "InvalidToken.Expired" }
func (otherStatusErr) Message() string { return "token has expired" }

// TestErrorsParseWithSDK drives the official SDK v2 against a server that
// answers with writeError, for a GET (XML body) and a HEAD (x-oss-err).
func TestErrorsParseWithSDK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, "5F1E2D3C4B5A69788796A5B4", fmt.Errorf("authorizing read on bkt/k: %w", ErrDenied))
	}))
	defer srv.Close()
	cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(srv.URL).
		WithCredentialsProvider(osscreds.NewAnonymousCredentialsProvider()).WithUsePathStyle(true).
		WithRetryMaxAttempts(1)
	c := oss.NewClient(cfg)
	ctx := t.Context()

	_, getErr := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("k")})
	_, headErr := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("k")})
	for name, err := range map[string]error{"GET": getErr, "HEAD": headErr} {
		se, ok := errors.AsType[*oss.ServiceError](err)
		if !ok {
			t.Fatalf("%s: error %v is not an *oss.ServiceError", name, err)
		}
		if se.StatusCode != 403 || se.Code != "AccessDenied" || se.RequestID != "5F1E2D3C4B5A69788796A5B4" || se.Message != ErrDenied.Message() {
			t.Errorf("%s: ServiceError = %d %q %q %q", name, se.StatusCode, se.Code, se.RequestID, se.Message)
		}
	}

	// HEAD has no body; the XML is in x-oss-err.
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, srv.URL+"/bkt/k", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	raw, err := base64.StdEncoding.DecodeString(resp.Header.Get("X-Oss-Err"))
	if err != nil {
		t.Fatalf("x-oss-err: %v", err)
	}
	var e xmlError
	if err := xml.Unmarshal(raw, &e); err != nil || e.Code != "AccessDenied" {
		t.Fatalf("x-oss-err XML = %q (%v)", raw, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Content-Type = %q", ct)
	}
	if strings.Contains(string(raw), "bkt/k") {
		t.Errorf("error detail leaked into the body: %s", raw)
	}
}
