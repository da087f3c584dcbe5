package osstest

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint names used by Cloud with Faults.Wrap. Error bodies for Status
// faults are shaped after the endpoint: OSS XML, STS JSON, plain text for
// anything else.
const (
	EndpointOSS = "oss"
	EndpointSTS = "sts"
	EndpointECS = "ecs"
)

// Fault is one misbehaviour to inject into an endpoint's responses. At most
// one kind applies per request, the first set of Hang, Status, Reset and
// Malformed; Delay comes first and combines with any of them (alone it is a
// pure latency fault).
type Fault struct {
	// Match selects the requests the fault applies to (nil: all). It runs
	// under the Faults lock: keep it quick and do not call Faults from it.
	Match func(*http.Request) bool
	// Times is how many matching requests the fault applies to (0: all).
	Times int

	// Delay holds the request this long before anything else happens, or
	// until the request's context ends.
	Delay time.Duration
	// Hang never answers: the handler returns only once the request's
	// context ends (client gone or timed out) or Faults.Close is called,
	// and then aborts the connection without a response.
	Hang bool
	// Status answers with this status and a service-shaped error body
	// without calling the real handler.
	Status int
	// Code is the error code in that body (default: from Status, e.g.
	// InternalError, ServiceUnavailable, Throttling.User for STS 429).
	Code string
	// Reset runs the real handler, sends its status line, headers and the
	// first ResetAfter bytes of its body, then resets the TCP connection
	// (SO_LINGER 0), so the client sees ECONNRESET or an unexpected EOF.
	Reset      bool
	ResetAfter int
	// Malformed runs the real handler but replaces its body with the first
	// half of it followed by garbage, and drops Content-Length, Content-MD5
	// and x-oss-hash-crc64ecma.
	Malformed bool
}

// Injection is a Fault added to an endpoint.
type Injection struct {
	f        *Faults
	endpoint string
	fault    Fault
	fired    int
	removed  bool
}

// Fired is how many requests the fault has been applied to.
func (i *Injection) Fired() int {
	i.f.mu.Lock()
	defer i.f.mu.Unlock()
	return i.fired
}

// Remove stops the fault; requests it already holds are not released.
func (i *Injection) Remove() {
	i.f.mu.Lock()
	defer i.f.mu.Unlock()
	i.removed = true
}

// Faults injects faults into, counts and records the requests of named
// endpoints. Create it with NewFaults; it is safe for concurrent use.
type Faults struct {
	rec *Recorder

	mu    sync.Mutex
	inj   map[string][]*Injection
	calls map[string]int
	done  chan struct{}
	once  sync.Once
}

// NewFaults returns a Faults that records every request it sees into rec
// (nil: no recording).
func NewFaults(rec *Recorder) *Faults {
	return &Faults{rec: rec, inj: map[string][]*Injection{}, calls: map[string]int{}, done: make(chan struct{})}
}

// Recorder is the recorder given to NewFaults (possibly nil).
func (f *Faults) Recorder() *Recorder { return f.rec }

// Add injects fault into endpoint's responses, after any faults already
// added there: a request gets the first matching, unexhausted fault.
func (f *Faults) Add(endpoint string, fault Fault) *Injection {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := &Injection{f: f, endpoint: endpoint, fault: fault}
	f.inj[endpoint] = append(f.inj[endpoint], i)
	return i
}

// Clear removes every fault of endpoint ("" : of all endpoints).
func (f *Faults) Clear(endpoint string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ep, l := range f.inj {
		if endpoint == "" || ep == endpoint {
			for _, i := range l {
				i.removed = true
			}
			delete(f.inj, ep)
		}
	}
}

// Calls is how many requests endpoint has received, faulted or not.
func (f *Faults) Calls(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[endpoint]
}

// Close releases hanging and delayed requests; faults still apply after it.
func (f *Faults) Close() { f.once.Do(func() { close(f.done) }) }

// take counts a call and picks the fault for it, if any.
func (f *Faults) take(endpoint string, r *http.Request) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[endpoint]++
	for _, i := range f.inj[endpoint] {
		if i.removed || (i.fault.Times > 0 && i.fired >= i.fault.Times) {
			continue
		}
		if i.fault.Match != nil && !i.fault.Match(r) {
			continue
		}
		i.fired++
		fc := i.fault
		return &fc
	}
	return nil
}

// Wrap returns a handler that records each request (method, URL, Host and a
// copy of its headers) into the Recorder, counts it, applies the first
// matching fault added for endpoint, and otherwise calls h.
func (f *Faults) Wrap(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.rec != nil {
			f.rec.record(endpoint, r)
		}
		fault := f.take(endpoint, r)
		if fault == nil {
			h.ServeHTTP(w, r)
			return
		}
		if fault.Delay > 0 {
			t := time.NewTimer(fault.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				panic(http.ErrAbortHandler)
			case <-f.done:
				t.Stop()
			}
		}
		switch {
		case fault.Hang:
			select {
			case <-r.Context().Done():
			case <-f.done:
			}
			panic(http.ErrAbortHandler)
		case fault.Status != 0:
			writeFaultError(w, r, endpoint, fault.Status, fault.Code)
		case fault.Reset:
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			resetAfter(w, rec, fault.ResetAfter)
		case fault.Malformed:
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			for _, k := range []string{"Content-Length", "Content-Md5", "X-Oss-Hash-Crc64ecma"} {
				w.Header().Del(k)
			}
			body := rec.Body.Bytes()
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body[:len(body)/2])
			_, _ = w.Write([]byte("\x00\xff<<malformed"))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func faultCode(endpoint string, status int) string {
	switch {
	case endpoint == EndpointSTS && status == http.StatusTooManyRequests:
		return "Throttling.User"
	case status == http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case status >= 500:
		return "InternalError"
	default:
		return strings.ReplaceAll(http.StatusText(status), " ", "")
	}
}

func writeFaultError(w http.ResponseWriter, r *http.Request, endpoint string, status int, code string) {
	if code == "" {
		code = faultCode(endpoint, status)
	}
	reqID := strings.ReplaceAll(stsRequestID(), "-", "")[:24]
	msg := "Injected fault: " + http.StatusText(status)
	if code == "Throttling.User" {
		msg = "Request was denied due to user flow control."
	}
	h := w.Header()
	switch endpoint {
	case EndpointOSS:
		h.Set("Content-Type", "application/xml")
		h.Set("x-oss-request-id", reqID)
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(xml.Header))
		_ = xml.NewEncoder(w).Encode(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string
			Message   string
			RequestID string `xml:"RequestId"`
			HostID    string `xml:"HostId"`
		}{Code: code, Message: msg, RequestID: reqID, HostID: r.Host})
	case EndpointSTS:
		h.Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(&STSError{RequestID: reqID, HostID: r.Host, Code: code, Message: msg,
			Recommend: "https://api.aliyun.com/troubleshoot?q=" + code + "&product=Sts"})
	default:
		http.Error(w, msg, status)
	}
}

// resetAfter sends rec's status and headers and n bytes of its body on the
// raw connection, then resets it.
func resetAfter(w http.ResponseWriter, rec *httptest.ResponseRecorder, n int) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer abortConn(conn)
	body := rec.Body.Bytes()
	n = min(max(n, 0), len(body))
	h := rec.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	writeRawResponse(bw, rec.Code, h, body[:n])
}

func writeRawResponse(bw *bufio.ReadWriter, status int, h http.Header, body []byte) {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(bw)
	_, _ = bw.WriteString("\r\n")
	_, _ = bw.Write(body)
	_ = bw.Flush()
}

// abortConn closes c with SO_LINGER 0, which sends a TCP RST.
func abortConn(c net.Conn) {
	raw := c
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = raw.Close() // not c: a TLS close_notify would look like a clean EOF

}
