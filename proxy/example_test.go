package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
)

// Example puts a Handler in front of a stand-in upstream that echoes what
// it receives: the caller's bearer token is replaced by the proxy's own
// signature, the key is re-encoded canonically, and a denied request gets
// an OSS XML error without reaching the upstream.
func Example() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream got %s %s signed=%v", r.Method, r.RequestURI, strings.HasPrefix(r.Header.Get("Authorization"), "OSS4-HMAC-SHA256 "))
	}))
	defer upstream.Close()

	cfg := proxy.Config{Buckets: []proxy.BucketConfig{{
		Name: "photos", Endpoint: upstream.URL, Region: "cn-hangzhou", AllowInsecureHTTP: true,
	}}}
	h, err := proxy.New(proxy.Options{
		Config: cfg,
		Authenticator: proxy.AuthenticatorFunc(func(_ context.Context, r *http.Request, _, _ string) (*proxy.Caller, error) {
			if r.Header.Get("Authorization") != "Bearer demo" {
				return nil, errors.New("no token")
			}
			return &proxy.Caller{Name: "demo", Mode: "jwt", StripHeaders: []string{"Authorization"}}, nil
		}),
		Authorizer: proxy.AuthorizerFunc(func(_ context.Context, _ *proxy.Caller, a proxy.Action, _, key string) error {
			if a == proxy.ActionRead && strings.HasPrefix(key, "public/") {
				return nil
			}
			return errors.New("denied")
		}),
		Credentials: proxy.CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) {
			return signer.Credentials{AccessKeyID: "LTAIexample", AccessKeySecret: "example-secret"}, nil
		}},
		Signer: proxy.NewOSSSigner(cfg),
		Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, path := range []string{"/photos/public/%7Ecat%20pic.jpg", "/photos/private/x.jpg"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer demo")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body = []byte(resp.Header.Get("Content-Type") + " " + string(body[strings.Index(string(body), "<Code>"):strings.Index(string(body), "</Code>")+7]))
		}
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 upstream got GET /photos/public/~cat%20pic.jpg signed=true
	// 403 application/xml <Code>AccessDenied</Code>
}

// ExampleRouter_Route shows the router decoding a path exactly once and
// refusing forms that could be read two ways.
func ExampleRouter_Route() {
	rt, err := proxy.NewRouter(proxy.Config{
		Buckets:             []proxy.BucketConfig{{Name: "photos", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}},
		VirtualHostSuffixes: []string{"oss.internal"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range []struct{ host, target string }{
		{"proxy:8080", "/photos/2024/a%20b.jpg"},
		{"photos.oss.internal", "/2024/a.jpg?versionId=v1"},
		{"proxy:8080", "/photos/%252e%252e/x"},
		{"proxy:8080", "/photos/2024/%2e%2e/private"},
		{"proxy:8080", "/photos/%c0%ae%c0%ae/x"},
		{"proxy:8080", "/secret/x"},
	} {
		r := httptest.NewRequest(http.MethodGet, c.target, nil)
		r.Host = c.host
		route, err := rt.Route(r)
		if err != nil {
			fmt.Printf("%-32s error: %v\n", c.target, err)
			continue
		}
		fmt.Printf("%-32s bucket=%s key=%q\n", c.target, route.Bucket, route.Key)
	}
	// Output:
	// /photos/2024/a%20b.jpg           bucket=photos key="2024/a b.jpg"
	// /2024/a.jpg?versionId=v1         bucket=photos key="2024/a.jpg"
	// /photos/%252e%252e/x             bucket=photos key="%2e%2e/x"
	// /photos/2024/%2e%2e/private      error: routing: proxy: the request URI is ambiguous or malformed: dot segment
	// /photos/%c0%ae%c0%ae/x           error: routing: proxy: the request URI is ambiguous or malformed: invalid UTF-8
	// /secret/x                        error: routing: proxy: the specified bucket is not served by this proxy
}

// ExampleTransport shows the signing transport retrying once after OSS
// rejects an expired security token, with credentials it retrieves anew.
func ExampleTransport() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Oss-Security-Token") == "old-token" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<Error><Code>SecurityTokenExpired</Code></Error>`)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer upstream.Close()

	token := "old-token"
	tr := &proxy.Transport{
		Credentials: proxy.CredentialFuncs{
			RetrieveFunc: func(context.Context) (signer.Credentials, error) {
				return signer.Credentials{AccessKeyID: "STS.example", AccessKeySecret: "s", SecurityToken: token}, nil
			},
			InvalidateFunc: func(stale signer.Credentials) {
				fmt.Println("invalidated", stale) // prints redacted
				token = "new-token"
			},
		},
		Signer: proxy.RequestSignerFunc(func(_ context.Context, r *http.Request, c signer.Credentials, _ proxy.Target, _ time.Time) error {
			r.Header.Set("X-Oss-Security-Token", c.SecurityToken) // a real signer also signs
			return nil
		}),
	}
	ctx := proxy.WithTarget(context.Background(), proxy.Target{Bucket: "bkt", Key: "k", Region: "cn-hangzhou"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream.URL+"/bkt/k", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// invalidated Credentials{AccessKeyID: STS.****mple, AccessKeySecret: [REDACTED], SecurityToken: [REDACTED]}
	// 200 ok
}
