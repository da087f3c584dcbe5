package osstest

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

const faultBody = `{"hello":"a body long enough to be cut in the middle"}`

type faultFixture struct {
	faults *Faults
	urls   map[string]string // endpoint -> base URL
	client *http.Client      // trusts the TLS endpoint too
}

// newFaultFixture serves the same JSON handler as a plain-HTTP OSS endpoint
// and a TLS STS endpoint, both wrapped by one Faults.
func newFaultFixture(t *testing.T) *faultFixture {
	t.Helper()
	faults := NewFaults(NewRecorder(0))
	t.Cleanup(faults.Close)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Oss-Hash-Crc64ecma", "123")
		_, _ = io.WriteString(w, faultBody)
	})
	oss := httptest.NewServer(faults.Wrap(EndpointOSS, h))
	t.Cleanup(oss.Close)
	ca, err := NewTestCA()
	if err != nil {
		t.Fatal(err)
	}
	sts := httptest.NewUnstartedServer(faults.Wrap(EndpointSTS, h))
	sts.TLS = ca.ServerTLSConfig()
	sts.StartTLS()
	t.Cleanup(sts.Close)
	return &faultFixture{faults: faults, urls: map[string]string{EndpointOSS: oss.URL, EndpointSTS: sts.URL}, client: ca.HTTPClient()}
}

func (f *faultFixture) get(t *testing.T, ctx context.Context, endpoint, path string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.urls[endpoint]+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "OSS caller:sig")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestFaultStatus(t *testing.T) {
	f := newFaultFixture(t)
	tests := []struct {
		endpoint string
		fault    Fault
		status   int
		code     string
	}{
		{EndpointOSS, Fault{Status: 503, Times: 1}, 503, "ServiceUnavailable"},
		{EndpointOSS, Fault{Status: 500, Times: 1}, 500, "InternalError"},
		{EndpointOSS, Fault{Status: 403, Code: "AccessDenied", Times: 1}, 403, "AccessDenied"},
		{EndpointSTS, Fault{Status: 429, Times: 1}, 429, "Throttling.User"},
		{EndpointSTS, Fault{Status: 502, Times: 1}, 502, "InternalError"},
	}
	for _, tc := range tests {
		t.Run(tc.endpoint+"/"+tc.code, func(t *testing.T) {
			calls := f.faults.Calls(tc.endpoint)
			inj := f.faults.Add(tc.endpoint, tc.fault)
			resp, body, err := f.get(t, t.Context(), tc.endpoint, "/k")
			if err != nil {
				t.Fatal(err)
			}
			var code string
			if tc.endpoint == EndpointOSS {
				var e struct{ Code, RequestId string }
				if err := xml.Unmarshal(body, &e); err != nil || e.RequestId == "" || resp.Header.Get("x-oss-request-id") == "" {
					t.Fatalf("OSS error body %q: %v", body, err)
				}
				code = e.Code
			} else {
				var e STSError
				if err := json.Unmarshal(body, &e); err != nil || e.RequestID == "" {
					t.Fatalf("STS error body %q: %v", body, err)
				}
				code = e.Code
			}
			if resp.StatusCode != tc.status || code != tc.code {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, code, tc.status, tc.code)
			}
			// Times: 1 -- the next request goes through.
			if resp, body, err := f.get(t, t.Context(), tc.endpoint, "/k"); err != nil || resp.StatusCode != 200 || string(body) != faultBody {
				t.Errorf("second request: %v %v %q", err, resp, body)
			}
			if inj.Fired() != 1 || f.faults.Calls(tc.endpoint) != calls+2 {
				t.Errorf("fired %d, calls %d (before %d)", inj.Fired(), f.faults.Calls(tc.endpoint), calls)
			}
		})
	}
}

func TestFaultLatencyMatchAndRemove(t *testing.T) {
	f := newFaultFixture(t)
	// The client sees the latency.
	lat := f.faults.Add(EndpointOSS, Fault{Delay: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	if _, body, err := f.get(t, t.Context(), EndpointOSS, "/k"); err != nil || string(body) != faultBody {
		t.Fatalf("delayed request: %v %q", err, body)
	}
	if d := time.Since(start); d < 150*time.Millisecond || lat.Fired() != 1 {
		t.Errorf("delayed request took %v, fired %d", d, lat.Fired())
	}

	// An hour-long delay tells a delayed request from an undelayed one
	// without relying on the machine's speed: the delayed one cannot finish
	// within the client's 10 s deadline.
	within := func(path string) error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, _, err := f.get(t, ctx, EndpointOSS, path)
		return err
	}
	inj := f.faults.Add(EndpointOSS, Fault{Delay: time.Hour, Match: func(r *http.Request) bool { return r.URL.Path == "/slow" }})
	if err := within("/fast"); err != nil {
		t.Errorf("unmatched request: %v", err)
	}
	// The delay is cut short by the client giving up; Times 0 applies it
	// to every match.
	for range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		if _, _, err := f.get(t, ctx, EndpointOSS, "/slow"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		cancel()
	}
	if inj.Fired() != 2 {
		t.Errorf("fired %d, want 2", inj.Fired())
	}
	inj.Remove()
	if err := within("/slow"); err != nil || inj.Fired() != 2 {
		t.Errorf("removed fault still applies: %v, fired %d", err, inj.Fired())
	}
	f.faults.Add(EndpointOSS, Fault{Delay: time.Hour})
	f.faults.Clear("")
	if err := within("/k"); err != nil {
		t.Errorf("cleared fault still applies: %v", err)
	}
}

func TestFaultMalformed(t *testing.T) {
	f := newFaultFixture(t)
	for _, ep := range []string{EndpointOSS, EndpointSTS} {
		f.faults.Add(ep, Fault{Malformed: true, Times: 1})
		resp, body, err := f.get(t, t.Context(), ep, "/k")
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(body, &v) == nil || !strings.HasPrefix(faultBody, string(body[:len(faultBody)/2])) {
			t.Errorf("%s: %d %q parses as JSON or is not a corrupted copy", ep, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Oss-Hash-Crc64ecma") != "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: headers %v", ep, resp.Header)
		}
	}
}

func TestFaultReset(t *testing.T) {
	f := newFaultFixture(t)
	for _, ep := range []string{EndpointOSS, EndpointSTS} {
		for _, n := range []int{0, 10} {
			f.faults.Add(ep, Fault{Reset: true, ResetAfter: n, Times: 1})
			resp, body, err := f.get(t, t.Context(), ep, "/k")
			if err == nil {
				t.Fatalf("%s reset after %d: no error, body %q", ep, n, body)
			}
			t.Logf("%s reset after %d bytes: %v", ep, n, err)
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				t.Errorf("%s reset after %d: err = %v, want ECONNRESET or unexpected EOF", ep, n, err)
			}
			if resp != nil && len(body) > n {
				t.Errorf("%s: read %d bytes past the reset point %d", ep, len(body), n)
			}
			if _, body, err := f.get(t, t.Context(), ep, "/k"); err != nil || string(body) != faultBody {
				t.Errorf("%s: request after reset: %v", ep, err)
			}
		}
	}
}

func TestFaultHang(t *testing.T) {
	f := newFaultFixture(t)
	f.faults.Add(EndpointSTS, Fault{Hang: true, Times: 1})
	client := *f.client
	client.Timeout = 200 * time.Millisecond
	f.client = &client
	start := time.Now()
	_, _, err := f.get(t, t.Context(), EndpointSTS, "/k")
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout") {
		t.Errorf("hang: err = %v, want a client timeout", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 30*time.Second { // upper bound: a hang guard
		t.Errorf("hang bounded by the client timeout took %v", d)
	}

	// Close releases a hang even if the client waits forever.
	f.client.Timeout = 0
	arrived := make(chan struct{})
	f.faults.Add(EndpointOSS, Fault{Hang: true, Times: 1, Match: func(*http.Request) bool { close(arrived); return true }})
	done := make(chan error, 1)
	go func() {
		_, _, err := f.get(t, context.Background(), EndpointOSS, "/k")
		done <- err
	}()
	<-arrived
	f.faults.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("hung request answered after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hung request")
	}
}

func TestRecorder(t *testing.T) {
	f := newFaultFixture(t)
	if _, _, err := f.get(t, t.Context(), EndpointOSS, "/bkt/key?acl"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.get(t, t.Context(), EndpointSTS, "/?Action=AssumeRole"); err != nil {
		t.Fatal(err)
	}
	oss := f.faults.Recorder().Requests(EndpointOSS)
	if len(oss) != 1 || oss[0].Method != "GET" || oss[0].URL != "/bkt/key?acl" || oss[0].Header.Get("Authorization") != "OSS caller:sig" {
		t.Errorf("recorded %+v", oss)
	}
	if n := len(f.faults.Recorder().Requests("")); n != 2 {
		t.Errorf("%d requests recorded in all, want 2", n)
	}
	if !f.faults.Recorder().Contains(EndpointOSS, "caller:sig") || f.faults.Recorder().Contains(EndpointSTS, "bkt/key") {
		t.Error("Contains is wrong")
	}
	oss[0].Header.Set("Authorization", "mutated")
	if f.faults.Recorder().Contains("", "mutated") {
		t.Error("Requests returned shared headers")
	}
	f.faults.Recorder().Reset()
	if len(f.faults.Recorder().Requests("")) != 0 {
		t.Error("Reset kept requests")
	}

	small := NewRecorder(2)
	for _, p := range []string{"/1", "/2", "/3"} {
		small.record("x", httptest.NewRequest("GET", p, nil))
	}
	if got := small.Requests("x"); len(got) != 2 || got[0].URL != "/2" || got[1].URL != "/3" {
		t.Errorf("bounded recorder kept %+v", got)
	}
}

func BenchmarkFaultsWrap(b *testing.B) {
	faults := NewFaults(NewRecorder(1000))
	faults.Add(EndpointOSS, Fault{Status: 503, Match: func(r *http.Request) bool { return r.URL.Path == "/never" }})
	h := faults.Wrap(EndpointOSS, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	req := httptest.NewRequest(http.MethodGet, "/bkt/key", nil)
	req.Header.Set("Authorization", "OSS4-HMAC-SHA256 Credential=x")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 204 {
			b.Fatal(rec.Code)
		}
	}
}
