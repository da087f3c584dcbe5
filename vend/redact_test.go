package vend_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/vend"
)

// TestNoSecretsInLogsOrPrints: neither the Service's logs nor printed
// results show a signature, a security token or a secret, and the
// Observer sees one event per call.
func TestNoSecretsInLogsOrPrints(t *testing.T) {
	logs := &e2etest.SyncBuffer{}
	var mu sync.Mutex
	var events []vend.Event
	e := newEnv(t, time.Hour, func(o *vend.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Observer = vend.ObserverFunc(func(_ context.Context, ev vend.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
		})
	})
	p := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"2h"}`)
	s := e.vend(t, "alice", `{}`)
	e.vend(t, "alice", `{}`)
	var denied presignAnswer
	e.call(t, "bob", vend.PresignPath, `{"bucket":"bkt","key":"users/alice/x"}`, &denied)

	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"signature": u.Query().Get("x-oss-signature"), "presign token": u.Query().Get("x-oss-security-token"),
		"vended secret": s.AccessKeySecret, "vended token": s.SecurityToken,
	}
	res := vend.STSResult{AccessKeyID: s.AccessKeyID, AccessKeySecret: s.AccessKeySecret, SecurityToken: s.SecurityToken}
	pres := vend.PresignResult{URL: p.URL, Method: "GET"}
	var printed bytes.Buffer
	fmt.Fprintf(&printed, "%v %+v %#v %s %v %+v %#v %s", res, res, res, res, pres, pres, pres, pres)
	slog.New(slog.NewJSONHandler(&printed, nil)).Info("results", "sts", res, "presign", pres)
	for name, v := range secrets {
		if v == "" {
			t.Fatalf("%s is empty: the test would prove nothing", name)
		}
		if strings.Contains(logs.String(), v) {
			t.Errorf("%s in the service log", name)
		}
		if strings.Contains(printed.String(), v) {
			t.Errorf("%s printed: %s", name, printed.String())
		}
	}
	if !strings.Contains(logs.String(), `"api":"presign"`) || !strings.Contains(logs.String(), `"capped":true`) {
		t.Errorf("service log lacks the calls: %s", logs)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []vend.Event{
		{Kind: "presign", Principal: "alice", Bucket: "bkt", Method: "GET", Status: 200, Capped: true},
		{Kind: "sts", Principal: "alice", Status: 200},
		{Kind: "sts", Principal: "alice", Status: 200, Cached: true},
		{Kind: "presign", Principal: "bob", Bucket: "bkt", Method: "GET", Code: "AccessDenied", Status: 403},
	}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events\n got %v\nwant %v", events, want)
	}
}
