package osstest

import (
	"net/http"
	"strings"
	"sync"
)

// RecordedRequest is what a Recorder keeps of one request, as it arrived
// at the emulator.
type RecordedRequest struct {
	Endpoint   string      // e.g. EndpointOSS
	Method     string      // e.g. "GET"
	URL        string      // the request URI, path and raw query
	Host       string      // the Host header
	Header     http.Header // a copy of the request headers
	RemoteAddr string
}

// Recorder keeps the most recent requests seen by Faults.Wrap, so tests can
// assert what reached the emulator (for example, that no caller credential
// was forwarded upstream). It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	max  int
	reqs []RecordedRequest
}

// NewRecorder returns a recorder keeping the last max requests (max <= 0:
// 10000).
func NewRecorder(max int) *Recorder {
	if max <= 0 {
		max = 10000
	}
	return &Recorder{max: max}
}

func (rc *Recorder) record(endpoint string, r *http.Request) {
	rr := RecordedRequest{
		Endpoint:   endpoint,
		Method:     r.Method,
		URL:        r.RequestURI,
		Host:       r.Host,
		Header:     r.Header.Clone(),
		RemoteAddr: r.RemoteAddr,
	}
	if rr.URL == "" {
		rr.URL = r.URL.RequestURI()
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) >= rc.max {
		rc.reqs = append(rc.reqs[:0], rc.reqs[len(rc.reqs)-rc.max+1:]...)
	}
	rc.reqs = append(rc.reqs, rr)
}

// Requests returns the recorded requests of endpoint ("": all), oldest
// first. The result is a copy the caller owns.
func (rc *Recorder) Requests(endpoint string) []RecordedRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []RecordedRequest
	for _, r := range rc.reqs {
		if endpoint == "" || r.Endpoint == endpoint {
			r.Header = r.Header.Clone()
			out = append(out, r)
		}
	}
	return out
}

// Contains reports whether any recorded request of endpoint ("": all)
// carries s in its URL or in any header value, e.g. a caller's access key
// id or token that must not have been forwarded.
func (rc *Recorder) Contains(endpoint, s string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, r := range rc.reqs {
		if endpoint != "" && r.Endpoint != endpoint {
			continue
		}
		if strings.Contains(r.URL, s) {
			return true
		}
		for _, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, s) {
					return true
				}
			}
		}
	}
	return false
}

// Reset forgets every recorded request.
func (rc *Recorder) Reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = nil
}
