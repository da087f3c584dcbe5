package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
)

func TestCredentialsRedaction(t *testing.T) {
	exp := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	c := Credentials{Credentials: credsOf("STS.NUbwZ5Yx7pA1", "Secr3tValue!", "CAIStokenvalue"), Expires: exp, Source: "assume_role"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "creds", c, "input", OIDCInput{Token: "eyJhbGciOi.jwt.sig", RoleARN: "acs:ram::1:role/r"})
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"%s":   fmt.Sprintf("%s", c),
		"%q":   fmt.Sprintf("%q", c),
		"ptr":  fmt.Sprintf("%v", &c),
		"oidc": fmt.Sprintf("%+v %#v", OIDCInput{Token: "eyJhbGciOi.jwt.sig"}, OIDCInput{Token: "eyJhbGciOi.jwt.sig"}),
		"slog": buf.String(),
	}
	for name, out := range outputs {
		for _, secret := range []string{"Secr3tValue!", "CAIStokenvalue", "eyJhbGciOi"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains %q: %s", name, secret, out)
			}
		}
	}
	if want := "Credentials{AccessKeyID: STS.****7pA1, AccessKeySecret: [REDACTED], SecurityToken: [REDACTED], Expires: 2026-11-27T16:00:00Z, Source: assume_role}"; outputs["%v"] != want {
		t.Errorf("String = %s\nwant     %s", outputs["%v"], want)
	}
	if !strings.Contains(outputs["slog"], "creds.expires=2026-11-27T16:00:00.000Z") || !strings.Contains(outputs["slog"], "creds.sts=true") {
		t.Errorf("LogValue lacks expiry or sts flag: %s", outputs["slog"])
	}
}

func TestSTSErrorScrubsSecrets(t *testing.T) {
	const secret, token = "base-secret-xyz", "CAIS-token-abc"
	leakyURL := "https://sts.aliyuncs.com/?SecurityToken=" + token + "&Signature=abc"
	tests := []struct {
		name      string
		in        error
		wantCode  string
		wantIs    error
		wantInMsg string
	}{
		{"transport error with URL", &url.Error{Op: "Post", URL: leakyURL, Err: context.DeadlineExceeded}, "", context.DeadlineExceeded, "deadline exceeded"},
		{"sdk client error around a URL error", sdkerrors.NewClientError("SDK.TimeoutError", "timed out", &url.Error{Op: "Post", URL: leakyURL, Err: errors.New("connection reset")}), "SDK.TimeoutError", nil, "connection reset"},
		{"server error", sdkerrors.NewServerError(400, `{"Code":"SignatureDoesNotMatch","Message":"string to sign: POST&%2F&SecurityToken%3D`+token+`","RequestId":"R1"}`, ""), "SignatureDoesNotMatch", nil, "request id R1"},
		{"opaque error quoting a secret", errors.New("weird failure with " + secret), "", nil, "[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := stsError("AssumeRole", tt.in, secret, token)
			var se *STSError
			if !errors.As(err, &se) || !errors.Is(err, ErrSTS) || se.Code != tt.wantCode {
				t.Fatalf("err = %#v", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("%v does not wrap %v", err, tt.wantIs)
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, token) || strings.Contains(msg, "Signature=") {
				t.Errorf("message leaks: %s", msg)
			}
			if !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message %q lacks %q", msg, tt.wantInMsg)
			}
		})
	}
}

func TestInputValidation(t *testing.T) {
	base := NewStatic("LTAIbasekey0000", "s", "")
	arn := "acs:ram::1234567890123456:role/a"
	tests := []struct {
		name string
		in   AssumeRoleInput
		ok   bool
	}{
		{"defaults", AssumeRoleInput{RoleARN: arn}, true},
		{"max duration", AssumeRoleInput{RoleARN: arn, Duration: 12 * time.Hour}, true},
		{"too short", AssumeRoleInput{RoleARN: arn, Duration: 899 * time.Second}, false},
		{"too long", AssumeRoleInput{RoleARN: arn, Duration: 12*time.Hour + time.Second}, false},
		{"bad arn", AssumeRoleInput{RoleARN: "arn:aws:iam::1:role/a"}, false},
		{"bad session", AssumeRoleInput{RoleARN: arn, SessionName: "has space"}, false},
		{"short external id", AssumeRoleInput{RoleARN: arn, ExternalID: "x"}, false},
		{"long policy", AssumeRoleInput{RoleARN: arn, Policy: strings.Repeat("x", 2049)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAssumeRole(base, &stubSTS{}, tt.in)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	for _, ep := range []string{"https://sts.cn-hangzhou.aliyuncs.com", "sts.aliyuncs.com", "127.0.0.1:8443"} {
		if _, err := NewSTSClient(STSConfig{Endpoint: ep}); err != nil {
			t.Errorf("endpoint %q rejected: %v", ep, err)
		}
	}
	for _, ep := range []string{"http://sts.aliyuncs.com", "sts.aliyuncs.com/path", "user@host"} {
		if _, err := NewSTSClient(STSConfig{Endpoint: ep}); !errors.Is(err, ErrInvalid) {
			t.Errorf("endpoint %q accepted", ep)
		}
	}
}

func TestSTSEndpointSelection(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "sts.aliyuncs.com"},
		{map[string]string{EnvSTSRegion: "cn-shanghai"}, "sts.cn-shanghai.aliyuncs.com"},
		{map[string]string{EnvSTSRegion: "cn-shanghai", EnvVPCEndpointEnabled: "true"}, "sts-vpc.cn-shanghai.aliyuncs.com"},
		{map[string]string{EnvSTSRegion: "cn-shanghai", EnvSTSEndpoint: "sts.example.internal"}, "sts.example.internal"},
	}
	for _, tt := range tests {
		c, err := NewSTSClient(STSConfigFromEnv(func(k string) string { return tt.env[k] }))
		if err != nil || c.Endpoint() != tt.want {
			t.Errorf("env %v: endpoint %v, %v; want %s", tt.env, c.Endpoint(), err, tt.want)
		}
	}
}

func TestSTSErrorRetryable(t *testing.T) {
	tests := []struct {
		e    STSError
		want bool
	}{
		{STSError{Err: context.DeadlineExceeded}, true},
		{STSError{StatusCode: 503, Code: "ServiceUnavailable"}, true},
		{STSError{StatusCode: 400, Code: "Throttling.User"}, true},
		{STSError{StatusCode: 429}, true},
		{STSError{StatusCode: 403, Code: "NoPermission"}, false},
		{STSError{StatusCode: 400, Code: "SignatureDoesNotMatch"}, false},
	}
	for _, tt := range tests {
		if got := tt.e.Retryable(); got != tt.want {
			t.Errorf("%v: Retryable = %v, want %v", &tt.e, got, tt.want)
		}
	}
}
