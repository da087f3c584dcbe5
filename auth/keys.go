package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/MicahParks/jwkset"
)

// parseStaticKeys loads verification keys from PEM (public keys,
// certificates or private keys, whose public half is used) or from JSON (a
// JWK or a JWK Set) into a memory store. PEM keys get the kid
// "pem-<first 16 hex digits of sha256(PKIX DER)>"; tokens for them usually
// carry no kid, and then every key of the issuer is tried.
func parseStaticKeys(ctx context.Context, data []byte) (*jwkset.MemoryJWKSet, error) {
	store := jwkset.NewMemoryStorage()
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var probe struct {
			Keys json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, fmt.Errorf("parsing JWK JSON: %w", err)
		}
		if probe.Keys != nil {
			var set jwkset.JWKSMarshal
			if err := json.Unmarshal(trimmed, &set); err != nil {
				return nil, fmt.Errorf("parsing JWK Set: %w", err)
			}
			if len(set.Keys) == 0 {
				return nil, errors.New("the JWK Set holds no keys")
			}
			for i, m := range set.Keys {
				jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
				if err != nil {
					return nil, fmt.Errorf("parsing JWK %d: %w", i, err)
				}
				if err := store.KeyWrite(ctx, jwk); err != nil {
					return nil, fmt.Errorf("storing JWK %d: %w", i, err)
				}
			}
			return store, nil
		}
		jwk, err := jwkset.NewJWKFromRawJSON(trimmed, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf("parsing JWK: %w", err)
		}
		if err := store.KeyWrite(ctx, jwk); err != nil {
			return nil, fmt.Errorf("storing JWK: %w", err)
		}
		return store, nil
	}
	rest := trimmed
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key any
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parsing PEM certificate %d: %w", n, err)
			}
			key = cert.PublicKey
		} else {
			k, err := jwkset.LoadX509KeyInfer(block)
			if err != nil {
				return nil, fmt.Errorf("parsing PEM block %d (%s): %w", n, block.Type, err)
			}
			key = k
		}
		if pk, ok := key.(publicKeyer); ok {
			key = pk.Public()
		}
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("encoding PEM key %d: %w", n, err)
		}
		sum := sha256.Sum256(der)
		jwk, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "pem-" + hex.EncodeToString(sum[:8])}})
		if err != nil {
			return nil, fmt.Errorf("converting PEM key %d: %w", n, err)
		}
		if err := store.KeyWrite(ctx, jwk); err != nil {
			return nil, fmt.Errorf("storing PEM key %d: %w", n, err)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("parsing keys: no PEM block or JSON key found: %w", ErrInvalidConfig)
	}
	return store, nil
}

// publicKeyer is implemented by private keys.
type publicKeyer interface{ Public() crypto.PublicKey }
