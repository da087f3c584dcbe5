package metrics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// KeyLogging says how the access log shows object keys, which may carry
// personal data.
type KeyLogging string

// Key logging modes.
const (
	// KeyFull logs the key as the proxy decoded it.
	KeyFull KeyLogging = "full"
	// KeyHash logs "sha256:" and the first 16 hex digits of the key's
	// SHA-256: requests for the same key can be correlated, but the key
	// is not shown. It is a pseudonym, not a secret: a guessable key can
	// be found by hashing guesses.
	KeyHash KeyLogging = "hash"
	// KeyNone drops the key.
	KeyNone KeyLogging = "none"
)

// ParseKeyLogging parses "full", "hash" or "none" ("" means full).
func ParseKeyLogging(s string) (KeyLogging, error) {
	switch k := KeyLogging(s); k {
	case "":
		return KeyFull, nil
	case KeyFull, KeyHash, KeyNone:
		return k, nil
	}
	return "", fmt.Errorf("parsing key logging %q: want full, hash or none: %w", s, ErrInvalidOption)
}

// AccessLogOptions configure AccessLogHandler.
type AccessLogOptions struct {
	// Keys is how the "key" attribute is shown ("" means KeyFull).
	Keys KeyLogging
	// Message is the message of the access-log records; "" means
	// "request", the proxy's.
	Message string
}

// AccessLogHandler wraps the slog.Handler of the proxy's logger and
// completes its access-log records (the records with the message
// "request") with what Middleware and its observers measured:
//
//   - ttfb: time to the response headers (absent when none were written)
//   - upstream_status and upstream_code: the status and OSS error code of
//     the last upstream error response (absent when OSS did not answer
//     with an error)
//   - bytes_in: replaced by the bytes actually read when the proxy logged
//     0 (a chunked upload has no Content-Length)
//
// and shows the "key" attribute as o.Keys says, also where the key
// appears in the "error" attribute, verbatim or percent-encoded (the proxy
// keeps the other keys it judges, such as a copy source, out of error
// text, so none appears there). The proxy already logs
// request_id, upstream_request_id, method, principal, mode, op, bucket,
// key, status, bytes_in, bytes_out, duration and error; none of them is a
// secret, and this handler adds none. Other records pass through
// unchanged.
//
// Records are completed only for requests that went through Middleware.
// The handler is safe for concurrent use if next is.
func AccessLogHandler(next slog.Handler, o AccessLogOptions) slog.Handler {
	if o.Keys == "" {
		o.Keys = KeyFull
	}
	if o.Message == "" {
		o.Message = "request"
	}
	return &accessLog{next: next, o: o}
}

type accessLog struct {
	next slog.Handler
	o    AccessLogOptions
}

func (h *accessLog) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *accessLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &accessLog{next: h.next.WithAttrs(as), o: h.o}
}

func (h *accessLog) WithGroup(name string) slog.Handler {
	return &accessLog{next: h.next.WithGroup(name), o: h.o}
}

func (h *accessLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != h.o.Message {
		return h.next.Handle(ctx, r)
	}
	ex := fromContext(ctx)
	if ex == nil && h.o.Keys == KeyFull {
		return h.next.Handle(ctx, r)
	}
	var key, shown string // the key, and how it is shown
	if h.o.Keys != KeyFull {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "key" {
				key = a.Value.String()
				return false
			}
			return true
		})
		if shown = "<key>"; h.o.Keys == KeyHash {
			shown = hashKey(key)
		}
	}
	// Collect into a stack buffer and add once: the record grows once.
	var buf [24]slog.Attr
	attrs := buf[:0]
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "key":
			switch {
			case h.o.Keys == KeyNone:
				return true
			case h.o.Keys == KeyHash && key != "":
				a.Value = slog.StringValue(shown)
			}
		case "error":
			if key != "" && a.Value.Kind() == slog.KindString {
				a.Value = slog.StringValue(redactKey(a.Value.String(), key, shown))
			}
		case "bytes_in":
			if ex != nil && a.Value.Kind() == slog.KindInt64 && a.Value.Int64() == 0 {
				if n := ex.body.n.Load(); n > 0 {
					a.Value = slog.Int64Value(n)
				}
			}
		}
		attrs = append(attrs, a)
		return true
	})
	if ex != nil {
		if ex.ttfb >= 0 {
			attrs = append(attrs, slog.Duration("ttfb", ex.ttfb))
		}
		if ex.upstreamStatus >= 400 {
			attrs = append(attrs, slog.Int("upstream_status", ex.upstreamStatus), slog.String("upstream_code", ex.upstreamCode))
		}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	return h.next.Handle(ctx, out)
}

// redactKey replaces key in s with shown, also where s holds it
// percent-encoded as a URL path or query value (an upstream URL in an
// error).
func redactKey(s, key, shown string) string {
	s = strings.ReplaceAll(s, key, shown)
	for _, enc := range [...]string{(&url.URL{Path: key}).EscapedPath(), url.PathEscape(key), url.QueryEscape(key)} {
		if enc != key {
			s = strings.ReplaceAll(s, enc, shown)
		}
	}
	return s
}

func hashKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
