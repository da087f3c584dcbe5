package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves a certificate and key from PEM files and reads them
// again when either file's modification time changes, looking at most once
// per interval (a handshake that comes sooner gets the cached pair). A pair
// that does not load — a half-written file, a key that does not match —
// is logged and the previous pair stays in use; it is retried at the next
// check. certReloader is safe for concurrent use.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	now               func() time.Time
	logger            *slog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	certMod   time.Time
	keyMod    time.Time
	lastCheck time.Time
}

// newCertReloader loads the pair once; failing that is an error (serve
// cannot start without a certificate). now nil means time.Now.
func newCertReloader(certFile, keyFile string, interval time.Duration, now func() time.Time, logger *slog.Logger) (*certReloader, error) {
	if now == nil {
		now = time.Now
	}
	r := &certReloader{certFile: certFile, keyFile: keyFile, interval: interval, now: now, logger: logger}
	cm, km, err := r.mtimes()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate %s: %w", certFile, err)
	}
	r.cert, r.certMod, r.keyMod, r.lastCheck = &cert, cm, km, now()
	return r, nil
}

func (r *certReloader) mtimes() (cert, key time.Time, err error) {
	ci, err := os.Stat(r.certFile)
	if err != nil {
		return cert, key, fmt.Errorf("reading TLS certificate: %w", err)
	}
	ki, err := os.Stat(r.keyFile)
	if err != nil {
		return cert, key, fmt.Errorf("reading TLS key: %w", err)
	}
	return ci.ModTime(), ki.ModTime(), nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.lastCheck) < r.interval {
		return r.cert, nil
	}
	r.lastCheck = now
	cm, km, err := r.mtimes()
	if err != nil {
		r.logger.Warn("TLS certificate check failed; keeping the loaded certificate", "cert_file", r.certFile, "error", err.Error())
		return r.cert, nil
	}
	if cm.Equal(r.certMod) && km.Equal(r.keyMod) {
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.logger.Warn("TLS certificate changed but does not load; keeping the loaded certificate", "cert_file", r.certFile, "error", err.Error())
		return r.cert, nil
	}
	r.cert, r.certMod, r.keyMod = &cert, cm, km
	r.logger.Info("TLS certificate reloaded", "cert_file", r.certFile)
	return r.cert, nil
}
