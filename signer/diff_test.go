package signer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	osssigner "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/signer"
)

// subResourceNames is the V1 sub-resource whitelist as the official SDKs
// define it: legacy aliyun-oss-go-sdk signKeyList, SDK-v2's fixed map and
// SDK-v2's per-operation SubResource lists (grep signer.SubResource in
// oss/api_op_*.go of v1.6.1). Passing it as SigningContext.SubResource
// makes the SDK-v2 signer sign what our whitelist signs.
var subResourceNames = []string{
	"acl", "uploads", "location", "cors", "logging", "website", "referer", "lifecycle",
	"delete", "append", "tagging", "objectMeta", "uploadId", "partNumber", "security-token",
	"position", "img", "style", "styleName", "replication", "replicationProgress",
	"replicationLocation", "cname", "bucketInfo", "comp", "qos", "live", "status", "vod",
	"startTime", "endTime", "symlink", "x-oss-process", "response-content-type",
	"x-oss-traffic-limit", "response-content-language", "response-expires",
	"response-cache-control", "response-content-disposition", "response-content-encoding",
	"udf", "udfName", "udfImage", "udfId", "udfImageDesc", "udfApplication",
	"udfApplicationLog", "restore", "callback", "callback-var", "qosInfo", "policy", "stat",
	"encryption", "versions", "versioning", "versionId", "requestPayment",
	"x-oss-request-payer", "sequential", "inventory", "inventoryId", "continuation-token",
	"asyncFetch", "worm", "wormId", "wormExtend", "withHashContext", "x-oss-enable-md5",
	"x-oss-enable-sha1", "x-oss-enable-sha256", "x-oss-hash-ctx", "x-oss-md5-ctx",
	"transferAcceleration", "regionList", "cloudboxes", "x-oss-ac-source-ip",
	"x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow", "metaQuery",
	"resourceGroup", "rtc", "x-oss-async-process", "responseHeader",
	"DeleteVectorIndex", "GetVectorIndex", "ListVectorIndexes", "PutVectorIndex",
	"accessPoint", "accessPointConfigForObjectProcess", "accessPointForObjectProcess",
	"accessPointPolicy", "accessPointPolicyForObjectProcess", "agenticBucket",
	"bucketArchiveDirectRead", "cleanRestoredObject", "httpsConfig", "legalHold",
	"metadataConfiguration", "metadataInventoryTable", "metadataJournalTable", "objectWorm",
	"overwriteConfig", "policyStatus", "publicAccessBlock", "quota", "redundancyTransition",
	"regions", "retention", "seal", "userDefinedLogFieldsConfig",
	"x-oss-write-get-object-response",
}

// ordinaryParams are query parameters that V1 does not sign.
var ordinaryParams = []string{"prefix", "marker", "max-keys", "delimiter", "encoding-type",
	"list-type", "start-after", "fetch-owner", "non-resource", "a b", "k+ey", "Expires2", "ünï"}

// keyRunes is the alphabet the issue requires keys to survive.
var keyRunes = []string{"a", "Z", "0", "9", " ", "+", "%", "?", "#", "&", "=", "~", "é", "中",
	"😀", "/", ".", "-", "_", "*", "!", "'", "(", ")", ";", ":", "@", "$", ",", "\"", "<", "^", "|"}

func randKey(rng *rand.Rand) string {
	switch rng.IntN(12) {
	case 0:
		return strings.Repeat(".", 1+rng.IntN(3)) // ".", "..", "..."
	case 1:
		return "/" + randString(rng, 1+rng.IntN(10)) // leading slash
	case 2:
		return randString(rng, 1+rng.IntN(5)) + "//" + randString(rng, 1+rng.IntN(5))
	case 3:
		return "" // bucket operation
	}
	return randString(rng, 1+rng.IntN(24))
}

func randString(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(keyRunes[rng.IntN(len(keyRunes))])
	}
	return b.String()
}

func randBucket(rng *rand.Rand) string {
	const al = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := 3 + rng.IntN(20)
	b := make([]byte, n)
	for i := range b {
		b[i] = al[rng.IntN(len(al))]
	}
	if n > 4 && rng.IntN(3) == 0 {
		b[n/2] = '-'
	}
	return string(b)
}

// genRequest is one random request and the inputs to sign it with.
type genRequest struct {
	r           *http.Request
	bucket, key string
	cred        Credentials
	t           time.Time
	additional  []string
}

// randRequest builds a random request in the shape a client sends it: the
// query encoded as SDK-v2 encodes it (QueryEscape, %20 in values).
func randRequest(rng *rand.Rand) genRequest {
	methods := []string{"GET", "PUT", "POST", "DELETE", "HEAD"}
	g := genRequest{bucket: randBucket(rng), key: randKey(rng)}
	if rng.IntN(20) == 0 {
		g.bucket, g.key = "", "" // service request (ListBuckets)
	}
	g.cred = Credentials{AccessKeyID: "LTAI" + randBucket(rng), AccessKeySecret: randString(rng, 30)}
	if rng.IntN(2) == 0 {
		g.cred.AccessKeyID = "STS." + randBucket(rng)
		g.cred.SecurityToken = "CAIS" + randString(rng, 40)
	}
	g.t = time.Unix(1_500_000_000+rng.Int64N(400_000_000), 0)

	var qs []string
	for range rng.IntN(6) {
		var k string
		switch rng.IntN(3) {
		case 0:
			k = subResourceNames[rng.IntN(len(subResourceNames))]
		case 1:
			k = ordinaryParams[rng.IntN(len(ordinaryParams))]
		default:
			k = "x-oss-" + randBucket(rng)
		}
		p := url.QueryEscape(k)
		if rng.IntN(3) > 0 {
			if v := randString(rng, rng.IntN(8)); v != "" || rng.IntN(2) == 0 {
				p += "=" + strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
			}
		}
		qs = append(qs, p)
		if rng.IntN(8) == 0 {
			qs = append(qs, p) // repeated parameter
		}
	}
	rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })

	host := "oss-cn-hangzhou.aliyuncs.com"
	path := "/"
	if g.bucket != "" {
		if rng.IntN(2) == 0 { // virtual-host style
			host = g.bucket + "." + host
			path = "/" + EscapePath(g.key)
		} else { // path style
			path = "/" + g.bucket + "/" + EscapePath(g.key)
		}
	}
	u, err := url.Parse("http://" + host + path)
	if err != nil {
		panic(err)
	}
	u.RawQuery = strings.Join(qs, "&")
	h := http.Header{}
	for range rng.IntN(5) {
		name := "x-oss-meta-" + randBucket(rng)
		if rng.IntN(2) == 0 {
			name = strings.ToUpper(name)
		}
		h.Add(name, randSpace(rng)+randString(rng, rng.IntN(10))+randSpace(rng))
		if rng.IntN(4) == 0 {
			h.Add(name, randSpace(rng)+randString(rng, rng.IntN(6))) // repeat
		}
	}
	if rng.IntN(2) == 0 {
		h.Set("Content-Type", []string{"application/octet-stream", "text/plain; charset=utf-8", "image/png"}[rng.IntN(3)])
	}
	if rng.IntN(2) == 0 {
		h.Set("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")
	}
	if rng.IntN(4) == 0 {
		h.Set("X-Oss-Date", "20000101T000000Z") // stale, must be overwritten (V4)
	}
	if rng.IntN(3) == 0 {
		h.Set("X-Oss-Storage-Class", "IA")
	}
	h.Set("User-Agent", "diff-test")
	if rng.IntN(3) == 0 {
		h.Set("X-Custom", "c"+randString(rng, 3))
		g.additional = append(g.additional, "x-custom")
	}
	if rng.IntN(3) == 0 {
		// SDK-v2 only signs "host" when the Host header is in the map.
		h.Set("Host", host)
		g.additional = append(g.additional, "host")
	}
	if rng.IntN(4) == 0 {
		g.additional = append(g.additional, "x-absent", "Content-Type")
	}
	g.r = &http.Request{Method: methods[rng.IntN(len(methods))], URL: u, Host: host, Header: h}
	return g
}

func randSpace(rng *rand.Rand) string { return strings.Repeat(" ", rng.IntN(3)) }

func sdkContext(g genRequest, r *http.Request, region string) *osssigner.SigningContext {
	ctx := &osssigner.SigningContext{
		Product: new("oss"), Region: new(region), Request: r,
		Credentials: &osscreds.Credentials{AccessKeyID: g.cred.AccessKeyID,
			AccessKeySecret: g.cred.AccessKeySecret, SecurityToken: g.cred.SecurityToken},
		Time: g.t, SubResource: subResourceNames, AdditionalHeaders: g.additional,
	}
	if g.bucket != "" {
		ctx.Bucket = new(g.bucket)
	}
	if g.key != "" {
		ctx.Key = new(g.key)
	}
	return ctx
}

const diffN = 10_000

// TestDifferentialV4Header signs diffN seeded-random requests with V4 and
// with SDK-v2's SignerV4 and requires byte-identical Authorization and
// signed headers; each signed request must then pass our verifier.
func TestDifferentialV4Header(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range diffN {
		g := randRequest(rng)
		region := []string{"cn-hangzhou", "us-west-1", "ap-southeast-1"}[i%3]
		theirs := g.r.Clone(context.Background())
		if err := (&osssigner.SignerV4{}).Sign(context.Background(), sdkContext(g, theirs, region)); err != nil {
			t.Fatal(err)
		}
		s := &V4{Region: region, AdditionalHeaders: g.additional}
		if err := s.Sign(g.r, g.cred, g.bucket, g.key, g.t); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"Authorization", "X-Oss-Date", "Date", "X-Oss-Content-Sha256", "X-Oss-Security-Token"} {
			if got, want := g.r.Header.Values(h), theirs.Header.Values(h); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("request %d: %s\n got %q\nwant %q\nmethod %s url %s bucket %q key %q headers %v",
					i, h, got, want, g.r.Method, g.r.URL, g.bucket, g.key, g.r.Header)
			}
		}
		ver := &Verifier{Region: region, Keys: staticKeys(g.cred)}
		if _, err := ver.Verify(context.Background(), g.r, g.bucket, g.key, g.t.Add(time.Minute)); err != nil {
			t.Fatalf("request %d: our own V4 signature does not verify: %v", i, err)
		}
	}
}

// TestDifferentialV1Header is TestDifferentialV4Header for V1 and SignerV1.
func TestDifferentialV1Header(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range diffN {
		g := randRequest(rng)
		theirs := g.r.Clone(context.Background())
		if err := (&osssigner.SignerV1{}).Sign(context.Background(), sdkContext(g, theirs, "cn-hangzhou")); err != nil {
			t.Fatal(err)
		}
		if err := (V1{}).Sign(g.r, g.cred, g.bucket, g.key, g.t); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"Authorization", "Date", "X-Oss-Security-Token"} {
			if got, want := g.r.Header.Values(h), theirs.Header.Values(h); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("request %d: %s\n got %q\nwant %q\nmethod %s url %s bucket %q key %q headers %v",
					i, h, got, want, g.r.Method, g.r.URL, g.bucket, g.key, g.r.Header)
			}
		}
		ver := &Verifier{Keys: staticKeys(g.cred)}
		if _, err := ver.Verify(context.Background(), g.r, g.bucket, g.key, g.t.Add(-time.Minute)); err != nil {
			t.Fatalf("request %d: our own V1 signature does not verify: %v", i, err)
		}
	}
}

// staticKeys is a KeyLookup that knows the given credentials only.
func staticKeys(creds ...Credentials) KeyLookup {
	return KeyLookupFunc(func(_ context.Context, id string) (Credentials, bool) {
		for _, c := range creds {
			if c.AccessKeyID == id {
				return c, true
			}
		}
		return Credentials{}, false
	})
}
