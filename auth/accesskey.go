package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

// AccessKey is a proxy-issued access key for clients that can only sign
// OSS requests (V1 or V4, header or presigned).
type AccessKey struct {
	// ID is the access key id the client signs with. Required, unique.
	ID string `yaml:"id"`
	// Secret is the access key secret. The caller reads it from the
	// environment or a file. Required.
	Secret Secret `yaml:"-"`
	// Principal is the Name of the principal this key maps to (default ID).
	Principal string `yaml:"principal"`
	// Groups and Roles are given to the principal.
	Groups []string `yaml:"groups"`
	Roles  []string `yaml:"roles"`
}

// accessKeys verifies OSS signatures made with proxy-issued keys using
// signer.Verifier. It is immutable after construction and safe for
// concurrent use; a nil *accessKeys knows no keys.
type accessKeys struct {
	byID     map[string]*accessKeyEntry
	verifier *signer.Verifier
}

type accessKeyEntry struct {
	cred   signer.Credentials
	name   string
	groups []string
	roles  []string
}

func newAccessKeys(keys []AccessKey, region string) (*accessKeys, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	if region == "" {
		return nil, fmt.Errorf("access keys need access_key_region for V4 signatures: %w", ErrInvalidConfig)
	}
	ak := &accessKeys{byID: make(map[string]*accessKeyEntry, len(keys))}
	for _, k := range keys {
		switch {
		case k.ID == "":
			return nil, fmt.Errorf("access key without id: %w", ErrInvalidConfig)
		case len(k.Secret) == 0:
			return nil, fmt.Errorf("access key %q without secret: %w", k.ID, ErrInvalidConfig)
		}
		if _, dup := ak.byID[k.ID]; dup {
			return nil, fmt.Errorf("access key %q configured twice: %w", k.ID, ErrInvalidConfig)
		}
		ak.byID[k.ID] = &accessKeyEntry{
			cred:   signer.Credentials{AccessKeyID: k.ID, AccessKeySecret: string(k.Secret)},
			name:   cmp.Or(k.Principal, k.ID),
			groups: slices.Clone(k.Groups),
			roles:  slices.Clone(k.Roles),
		}
	}
	ak.verifier = &signer.Verifier{Region: region, Keys: signer.KeyLookupFunc(ak.lookup)}
	return ak, nil
}

func (ak *accessKeys) lookup(_ context.Context, id string) (signer.Credentials, bool) {
	e, ok := ak.byID[id]
	if !ok {
		return signer.Credentials{}, false
	}
	return e.cred, true
}

// verify checks the OSS signature of r for target at now and returns a
// fresh principal. Errors wrap ErrInvalidAccessKeyID, ErrSignatureMismatch,
// ErrRequestExpired or ErrRequestTimeSkewed, and the signer's error.
func (ak *accessKeys) verify(ctx context.Context, r *http.Request, target Target, now time.Time) (*Principal, error) {
	if ak == nil {
		return nil, fmt.Errorf("verifying signature: access keys are not enabled: %w", ErrInvalidAccessKeyID)
	}
	res, err := ak.verifier.Verify(ctx, r, target.Bucket, target.Key, now)
	if err != nil {
		return nil, fmt.Errorf("verifying signature: %w: %w", classifySignerError(err), err)
	}
	e := ak.byID[res.Credentials.AccessKeyID]
	p := &Principal{
		Name:   e.name,
		Mode:   ModeAccessKey,
		KeyID:  e.cred.AccessKeyID,
		Groups: e.groups,
		Roles:  e.roles,
	}
	if res.Presigned {
		p.ExpiresAt = res.Expires
	}
	return p, nil
}

func classifySignerError(err error) *Error {
	switch {
	case errors.Is(err, signer.ErrInvalidAccessKeyID):
		return ErrInvalidAccessKeyID
	case errors.Is(err, signer.ErrRequestExpired):
		return ErrRequestExpired
	case errors.Is(err, signer.ErrRequestTimeTooSkewed):
		return ErrRequestTimeSkewed
	}
	// Signature mismatch, malformed authorization, missing date, a
	// security token (proxy-issued keys have none), a signed payload hash.
	return ErrSignatureMismatch
}
