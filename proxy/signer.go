package proxy

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

// OSSSigner is the RequestSigner over package signer: V4 with one
// *signer.V4 (and its signing-key cache) per region, or V1. It is safe
// for concurrent use.
type OSSSigner struct {
	v4 map[string]*signer.V4
}

var _ RequestSigner = (*OSSSigner)(nil)

// NewOSSSigner returns a signer for the regions of cfg's buckets.
func NewOSSSigner(cfg Config) *OSSSigner {
	s := &OSSSigner{v4: map[string]*signer.V4{}}
	for _, b := range cfg.Buckets {
		if _, ok := s.v4[b.Region]; !ok {
			s.v4[b.Region] = &signer.V4{Region: b.Region}
		}
	}
	return s
}

// ErrUnknownRegion is returned by OSSSigner for a region not in its Config.
var ErrUnknownRegion = fmt.Errorf("%w: unknown signing region", ErrSigning)

// SignRequest signs r in place with creds at time at.
func (s *OSSSigner) SignRequest(_ context.Context, r *http.Request, creds signer.Credentials, t Target, at time.Time) error {
	if t.Version == SignatureV1 {
		return signer.V1{}.Sign(r, creds, t.Bucket, t.Key, at)
	}
	v4, ok := s.v4[t.Region]
	if !ok {
		return ErrUnknownRegion
	}
	return v4.Sign(r, creds, t.Bucket, t.Key, at)
}
