package signer

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	mBucket = "bkt"
	mKey    = "dir/a b+c~(1)&x=y.txt"
)

var mTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// signedCase is a request signed one way, as the server receives it.
type signedCase struct {
	name      string
	version   int
	presigned bool
	cred      Credentials
	in        *http.Request
}

func mTemplate() *http.Request {
	u, _ := url.Parse("http://bkt.oss-cn-hangzhou.aliyuncs.com/" + EscapePath(mKey) +
		"?versionId=CAEQ1&prefix=p%20q&x-oss-process=image%2Fresize%2Cw_100")
	return &http.Request{Method: "PUT", URL: u, Host: u.Host, Header: http.Header{
		"Content-Type":  {"text/plain"},
		"Content-Md5":   {"1B2M2Y8AsgTpgAmY7PhCfg=="},
		"X-Oss-Meta-A":  {"alpha"},
		"X-Oss-Meta-Bb": {"beta", "gamma"},
		"User-Agent":    {"unsigned-agent"},
	}}
}

// signedCases signs mTemplate with each method, with and without a token.
func signedCases(t *testing.T) []signedCase {
	t.Helper()
	var cases []signedCase
	for _, cred := range []Credentials{
		{AccessKeyID: "LTAI5tExampleKey", AccessKeySecret: "secret-1"},
		{AccessKeyID: "STS.NExampleKey", AccessKeySecret: "secret-2", SecurityToken: "CAIStoken=="},
	} {
		sfx := map[bool]string{false: " ak", true: " sts"}[cred.HasToken()]
		for _, v := range []int{1, 4} {
			r := mTemplate()
			var err error
			if v == 4 {
				err = (&V4{Region: "cn-hangzhou"}).Sign(r, cred, mBucket, mKey, mTime)
			} else {
				err = V1{}.Sign(r, cred, mBucket, mKey, mTime)
			}
			if err != nil {
				t.Fatal(err)
			}
			in := inbound(t, r.Method, r.URL.String(), r.Header)
			cases = append(cases, signedCase{name: "v" + string(rune('0'+v)) + " header" + sfx, version: v, cred: cred, in: in})

			r = mTemplate()
			var u string
			if v == 4 {
				u, err = (&V4{Region: "cn-hangzhou"}).Presign(r, cred, mBucket, mKey, mTime, time.Hour)
			} else {
				u, err = V1{}.Presign(r, cred, mBucket, mKey, mTime, time.Hour)
			}
			if err != nil {
				t.Fatal(err)
			}
			in = inbound(t, r.Method, u, r.Header)
			cases = append(cases, signedCase{name: "v" + string(rune('0'+v)) + " presign" + sfx, version: v, presigned: true, cred: cred, in: in})
		}
	}
	return cases
}

func (c signedCase) verify(in *http.Request, key string) (Result, error) {
	v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(c.cred)}
	return v.Verify(context.Background(), in, mBucket, key, mTime.Add(time.Minute))
}

func cloneIn(in *http.Request) *http.Request {
	c := *in
	u := *in.URL
	c.URL, c.Header = &u, in.Header.Clone()
	return &c
}

// other returns a byte different from c that keeps it in the same class.
func other(c byte) byte {
	if c == 'x' {
		return 'y'
	}
	return 'x'
}

func changeByte(s string, i int) string { return s[:i] + string(other(s[i])) + s[i+1:] }

func wantCode(t *testing.T, what string, err error, sentinel error, code string) {
	t.Helper()
	if !errors.Is(err, sentinel) || Code(err) != code {
		t.Errorf("%s: err = %v, want %v with code %s", what, err, sentinel, code)
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	for _, c := range signedCases(t) {
		t.Run(c.name, func(t *testing.T) {
			res, err := c.verify(cloneIn(c.in), mKey)
			if err != nil {
				t.Fatalf("unmodified request does not verify: %v", err)
			}
			if res.Credentials.AccessKeyID != c.cred.AccessKeyID || res.Version != c.version || res.Presigned != c.presigned {
				t.Fatalf("result = %+v, want key %s version %d presigned %t", res, c.cred.AccessKeyID, c.version, c.presigned)
			}
		})
	}
}

// TestVerifySingleByteChanges changes one byte at a time in the method, the
// key, every signed header value, every query value, the date and the
// signature, and requires the right error each time.
func TestVerifySingleByteChanges(t *testing.T) {
	for _, c := range signedCases(t) {
		t.Run(c.name, func(t *testing.T) {
			mismatch := func(what string, in *http.Request, key string) {
				t.Helper()
				_, err := c.verify(in, key)
				wantCode(t, what, err, ErrSignatureDoesNotMatch, CodeSignatureDoesNotMatch)
			}
			for i := range c.in.Method {
				in := cloneIn(c.in)
				in.Method = changeByte(in.Method, i)
				mismatch("method "+in.Method, in, mKey)
			}
			for i := range mKey {
				mismatch("key byte "+string(rune('0'+i%10)), cloneIn(c.in), changeByte(mKey, i))
			}
			for _, h := range []string{"Content-Type", "Content-Md5", "X-Oss-Meta-A", "X-Oss-Meta-Bb"} {
				for j, v := range c.in.Header[h] {
					for i := range v {
						in := cloneIn(c.in)
						in.Header[h][j] = changeByte(v, i)
						mismatch(h+"="+in.Header[h][j], in, mKey)
					}
				}
			}
			// A new signed header is a change too.
			in := cloneIn(c.in)
			in.Header.Set("X-Oss-Meta-New", "1")
			mismatch("added x-oss-meta-new", in, mKey)

			// Query values.
			q := c.in.URL.RawQuery
			for _, p := range []string{"versionId=", "prefix=", "x-oss-process="} {
				at := strings.Index(q, p) + len(p)
				end := at + strings.IndexByte(q[at:]+"&", '&')
				for i := at; i < end; i++ {
					in := cloneIn(c.in)
					in.URL.RawQuery = changeByte(q, i)
					_, err := c.verify(in, mKey)
					if p == "prefix=" && c.version == 1 {
						// V1 does not sign ordinary parameters (PROTOCOL.md §1).
						if err != nil {
							t.Errorf("V1 with changed unsigned prefix: %v", err)
						}
						continue
					}
					wantCode(t, "query "+in.URL.RawQuery, err, ErrSignatureDoesNotMatch, CodeSignatureDoesNotMatch)
				}
			}

			// The signature, every byte.
			if c.presigned {
				name := map[int]string{1: "Signature", 4: "x-oss-signature"}[c.version]
				at := strings.Index(q, name+"=") + len(name) + 1
				end := at + strings.IndexByte(q[at:]+"&", '&')
				for i := at; i < end; i++ {
					if q[i] == '%' || (i >= 2 && q[i-1] == '%') || (i >= 3 && q[i-2] == '%') {
						continue // keep escapes intact: that would be a parse error, not a new signature
					}
					in := cloneIn(c.in)
					in.URL.RawQuery = changeByte(q, i)
					mismatch("signature byte", in, mKey)
				}
			} else {
				a := c.in.Header.Get("Authorization")
				at := strings.LastIndexAny(a, ":=") + 1
				for i := at; i < len(a); i++ {
					in := cloneIn(c.in)
					in.Header.Set("Authorization", changeByte(a, i))
					mismatch("signature byte", in, mKey)
				}
			}
		})
	}
}

// TestVerifyDates checks the date and expiry handling of each method.
func TestVerifyDates(t *testing.T) {
	for _, c := range signedCases(t) {
		t.Run(c.name, func(t *testing.T) {
			v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(c.cred)}
			at := func(in *http.Request, now time.Time) error {
				_, err := v.Verify(context.Background(), in, mBucket, mKey, now)
				return err
			}
			if c.presigned {
				if err := at(cloneIn(c.in), mTime.Add(time.Hour)); err != nil {
					t.Errorf("at expiry: %v", err)
				}
				wantCode(t, "after expiry", at(cloneIn(c.in), mTime.Add(time.Hour+time.Second)), ErrRequestExpired, CodeAccessDenied)
				// Changing the expiry or date changes the signature.
				q := c.in.URL.RawQuery
				for _, p := range []string{"Expires=", "x-oss-expires=", "x-oss-date="} {
					i := strings.Index(q, p)
					if i < 0 || (p == "Expires=" && c.version == 4) || (i > 0 && q[i-1] != '&') {
						continue
					}
					end := i + len(p) + strings.IndexByte(q[i+len(p):]+"&", '&') - 2 // a low digit
					in := cloneIn(c.in)
					d := q[end]
					if d == '0' {
						d = '1'
					} else {
						d--
					}
					in.URL.RawQuery = q[:end] + string(d) + q[end+1:]
					wantCode(t, "changed "+p, at(in, mTime.Add(time.Minute)), ErrSignatureDoesNotMatch, CodeSignatureDoesNotMatch)
				}
				return
			}
			for _, now := range []time.Time{mTime.Add(-DefaultMaxSkew), mTime.Add(DefaultMaxSkew)} {
				if err := at(cloneIn(c.in), now); err != nil {
					t.Errorf("at the skew limit: %v", err)
				}
			}
			wantCode(t, "too late", at(cloneIn(c.in), mTime.Add(DefaultMaxSkew+time.Second)), ErrRequestTimeTooSkewed, CodeRequestTimeTooSkewed)
			wantCode(t, "too early", at(cloneIn(c.in), mTime.Add(-DefaultMaxSkew-time.Second)), ErrRequestTimeTooSkewed, CodeRequestTimeTooSkewed)

			dateHdr := map[int]string{1: "Date", 4: "X-Oss-Date"}[c.version]
			format := map[int]string{1: http.TimeFormat, 4: iso8601DateTime}[c.version]
			in := cloneIn(c.in)
			in.Header.Set(dateHdr, mTime.Add(time.Second).Format(format))
			wantCode(t, "date +1s", at(in, mTime), ErrSignatureDoesNotMatch, CodeSignatureDoesNotMatch)
			in.Header.Set(dateHdr, mTime.AddDate(1, 0, 0).Format(format))
			wantCode(t, "date +1y", at(in, mTime), ErrRequestTimeTooSkewed, CodeRequestTimeTooSkewed)
			in.Header.Set(dateHdr, "yesterday")
			wantCode(t, "unparsable date", at(in, mTime), ErrMissingDate, CodeAccessDenied)
			in.Header.Del("Date")
			in.Header.Del("X-Oss-Date")
			wantCode(t, "no date", at(in, mTime), ErrMissingDate, CodeAccessDenied)
		})
	}
}

// TestVerifyErrors covers the remaining error codes.
func TestVerifyErrors(t *testing.T) {
	cases := signedCases(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Unknown access key id.
			v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(Credentials{AccessKeyID: "other", AccessKeySecret: "x"})}
			_, err := v.Verify(context.Background(), cloneIn(c.in), mBucket, mKey, mTime)
			wantCode(t, "unknown key", err, ErrInvalidAccessKeyID, CodeInvalidAccessKeyID)

			// Right key, wrong secret.
			wrong := c.cred
			wrong.AccessKeySecret += "!"
			v = &Verifier{Region: "cn-hangzhou", Keys: staticKeys(wrong)}
			_, err = v.Verify(context.Background(), cloneIn(c.in), mBucket, mKey, mTime)
			wantCode(t, "wrong secret", err, ErrSignatureDoesNotMatch, CodeSignatureDoesNotMatch)

			// Token: the lookup demands another token, or none.
			tok := c.cred
			tok.SecurityToken = map[bool]string{true: "", false: "CAISother"}[c.cred.HasToken()]
			v = &Verifier{Region: "cn-hangzhou", Keys: staticKeys(tok)}
			_, err = v.Verify(context.Background(), cloneIn(c.in), mBucket, mKey, mTime)
			wantCode(t, "token mismatch", err, ErrInvalidSecurityToken, CodeInvalidSecurityToken)

			if c.version == 4 {
				v = &Verifier{Region: "cn-beijing", Keys: staticKeys(c.cred)}
				_, err = v.Verify(context.Background(), cloneIn(c.in), mBucket, mKey, mTime)
				wantCode(t, "other region", err, ErrMalformedAuthorization, CodeInvalidArgument)
				in := cloneIn(c.in)
				in.Header.Set("X-Oss-Content-Sha256", strings.Repeat("ab", 32))
				_, err = c.verify(in, mKey)
				wantCode(t, "real payload hash", err, ErrUnsupportedPayloadHash, CodeInvalidArgument)
			}
		})
	}

	v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys()}
	for _, tt := range []struct {
		name, authz, query string
		sentinel           error
		code               string
	}{
		{"anonymous", "", "", ErrMissingSignature, CodeAccessDenied},
		{"unknown scheme", "Bearer x", "", ErrMalformedAuthorization, CodeInvalidArgument},
		{"v1 no colon", "OSS abc", "", ErrMalformedAuthorization, CodeInvalidArgument},
		{"v4 no signature", "OSS4-HMAC-SHA256 Credential=a/20240101/cn-hangzhou/oss/aliyun_v4_request", "", ErrMalformedAuthorization, CodeInvalidArgument},
		{"v4 bad scope", "OSS4-HMAC-SHA256 Credential=a/2024/cn-hangzhou/oss/aliyun_v4_request,Signature=00", "", ErrMalformedAuthorization, CodeInvalidArgument},
		{"header and query", "OSS a:b", "OSSAccessKeyId=a&Expires=1&Signature=x", ErrMalformedAuthorization, CodeInvalidArgument},
		{"v1 query incomplete", "", "OSSAccessKeyId=a&Signature=x", ErrMalformedAuthorization, CodeInvalidArgument},
		{"v4 query bad version", "", "x-oss-signature-version=OSS2&x-oss-credential=a&x-oss-signature=b", ErrMalformedAuthorization, CodeInvalidArgument},
		{"v4 query expires too long", "", "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=a%2F20240101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20240101T000000Z&x-oss-expires=604801&x-oss-signature=b", ErrMalformedAuthorization, CodeInvalidArgument},
		{"mixed query", "", "OSSAccessKeyId=a&Expires=1&Signature=x&x-oss-signature=y", ErrMalformedAuthorization, CodeInvalidArgument},
	} {
		in := &http.Request{Method: "GET", URL: &url.URL{Path: "/bkt/k", RawQuery: tt.query}, Host: "h", Header: http.Header{}}
		if tt.authz != "" {
			in.Header.Set("Authorization", tt.authz)
		}
		_, err := v.Verify(context.Background(), in, "bkt", "k", mTime)
		wantCode(t, tt.name, err, tt.sentinel, tt.code)
		var ve *VerifyError
		if errors.As(err, &ve) && ve.HTTPStatus() != map[string]int{CodeInvalidArgument: 400}[tt.code]+map[bool]int{true: 403}[tt.code != CodeInvalidArgument] {
			t.Errorf("%s: status %d", tt.name, ve.HTTPStatus())
		}
	}
}

// TestVerifyQuirks covers the client quirks of PROTOCOL.md: ali-oss V1
// with only x-oss-date, and the Python SDK's reordered V4 Authorization.
func TestVerifyQuirks(t *testing.T) {
	cred := Credentials{AccessKeyID: "LTAI5tQuirk", AccessKeySecret: "quirk-secret"}
	v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(cred)}

	t.Run("ali-oss v1 signs x-oss-date", func(t *testing.T) {
		r := mTemplate()
		date := mTime.Format(http.TimeFormat)
		r.Header.Set("X-Oss-Date", date)
		// What ali-oss computes: the date line is the x-oss-date value.
		var sig [28]byte
		signatureV1(&sig, r.Method, r.Header, date, mBucket, mKey, r.URL.RawQuery, cred.AccessKeySecret)
		r.Header.Set("Authorization", "OSS "+cred.AccessKeyID+":"+string(sig[:]))
		if _, err := v.Verify(context.Background(), r, mBucket, mKey, mTime); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("python v4 reordered parts", func(t *testing.T) {
		r := mTemplate()
		r.Header.Set("X-Custom", "c")
		s := &V4{Region: "cn-hangzhou", AdditionalHeaders: []string{"x-custom", "host"}}
		if err := s.Sign(r, cred, mBucket, mKey, mTime); err != nil {
			t.Fatal(err)
		}
		a, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		if a.AdditionalHeaders != "host;x-custom" {
			t.Fatalf("AdditionalHeaders = %q", a.AdditionalHeaders)
		}
		r.Header.Set("Authorization", "OSS4-HMAC-SHA256 Credential="+a.AccessKeyID+"/"+a.Date+"/"+a.Region+"/oss/aliyun_v4_request, Signature="+a.Signature+", AdditionalHeaders="+a.AdditionalHeaders)
		if _, err := v.Verify(context.Background(), r, mBucket, mKey, mTime); err != nil {
			t.Fatal(err)
		}
		// The signed host comes from Request.Host on the server side.
		r.Host = "evil.example.com"
		_, err = v.Verify(context.Background(), r, mBucket, mKey, mTime)
		wantCode(t, "changed host", err, ErrSignatureDoesNotMatch, CodeSignatureDoesNotMatch)
	})
}

// TestVerifyV4ScopeDate: the credential scope date must be the UTC date
// of the signing time, as the SDKs always make it. A signature that is
// otherwise valid but whose scope names another day is refused, so a
// derived signing key works only on its own day.
func TestVerifyV4ScopeDate(t *testing.T) {
	cred := Credentials{AccessKeyID: "LTAI5tScopeDate", AccessKeySecret: "scope-secret"}
	s := &V4{Region: "cn-hangzhou"}
	v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(cred)}
	at := time.Date(2024, 5, 6, 0, 5, 0, 0, time.UTC) // 5 minutes into a UTC day
	// forge signs a header-auth request at time at with scope date scope;
	// legacy puts the raw Date on the TimeStamp line (no x-oss-date).
	forge := func(scope string, legacy bool) *http.Request {
		h := http.Header{"Date": {at.Format(http.TimeFormat)}}
		ts := at.Format(http.TimeFormat)
		if !legacy {
			ts = at.Format(iso8601DateTime)
			h.Set("X-Oss-Date", ts)
		}
		in := &http.Request{Method: "GET", URL: &url.URL{Path: "/bkt/k"}, Host: "bkt.example", Header: h}
		var sig [64]byte
		s.signature(&sig, &v4Input{method: "GET", bucket: "bkt", key: "k", header: h, host: in.Host,
			payload: UnsignedPayload, timestamp: ts, date: scope, region: "cn-hangzhou", product: "oss"}, nil, cred)
		h.Set("Authorization", AlgorithmV4+" Credential="+cred.AccessKeyID+"/"+scope+"/cn-hangzhou/oss/aliyun_v4_request,Signature="+string(sig[:]))
		return in
	}
	for _, legacy := range []bool{false, true} {
		if _, err := v.Verify(context.Background(), forge("20240506", legacy), "bkt", "k", at); err != nil {
			t.Errorf("legacy %t, same day: %v", legacy, err)
		}
		_, err := v.Verify(context.Background(), forge("20240505", legacy), "bkt", "k", at)
		wantCode(t, "scope of the day before", err, ErrMalformedAuthorization, CodeInvalidArgument)
	}

	// Presigned: x-oss-date of one day, scope of another.
	r := &http.Request{Method: "GET", URL: &url.URL{Scheme: "http", Host: "bkt.example", Path: "/k"}, Host: "bkt.example", Header: http.Header{}}
	u, err := s.Presign(r, cred, "bkt", "k", at, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), inbound(t, "GET", u, nil), "bkt", "k", at); err != nil {
		t.Fatalf("presigned, same day: %v", err)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	q.Del("x-oss-signature")
	q.Set("x-oss-credential", cred.AccessKeyID+"/20240505/cn-hangzhou/oss/aliyun_v4_request")
	var sig [64]byte
	s.signature(&sig, &v4Input{method: "GET", bucket: "bkt", key: "k", rawQuery: q.Encode(), header: http.Header{},
		host: "bkt.example", payload: UnsignedPayload, timestamp: at.Format(iso8601DateTime), date: "20240505",
		region: "cn-hangzhou", product: "oss"}, nil, cred)
	q.Set("x-oss-signature", string(sig[:]))
	pu.RawQuery = q.Encode()
	_, err = v.Verify(context.Background(), inbound(t, "GET", pu.String(), nil), "bkt", "k", at)
	wantCode(t, "presigned, scope of the day before", err, ErrMalformedAuthorization, CodeInvalidArgument)
}
