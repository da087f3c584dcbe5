package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/osstest"
)

// demoInfo is what `ossproxy demo --json` prints on one line.
type demoInfo struct {
	ProxyURL        string `json:"proxy_url"`
	Token           string `json:"token"`
	TokenExpires    string `json:"token_expires"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	Bucket          string `json:"bucket"`
	Region          string `json:"region"`
	Object          string `json:"object"`
	Issuer          string `json:"issuer"`
	Audience        string `json:"audience"`
	OSSEndpoint     string `json:"oss_endpoint"`
	STSEndpoint     string `json:"sts_endpoint"`
	AdminURL        string `json:"admin_url"`
}

const (
	demoBucket   = "demo"
	demoObject   = "hello.txt"
	demoIssuer   = "https://demo.ossproxy.invalid"
	demoAudience = "ossproxy"
	demoSubject  = "demo-user"
)

// demoConfig is the configuration the demo serves, in the same YAML a
// user would write; secrets come through ${ENV} references resolved by
// the demo's own lookup, not the process environment.
const demoConfig = `
listeners:
  - name: demo
    address: "%[1]s"
auth:
  issuers:
    - issuer: ` + demoIssuer + `
      audiences: [` + demoAudience + `]
      algorithms: [HS256]
      hmac_secret: ${DEMO_HMAC_SECRET}
  token_query_param: access_token
  access_keys:
    - id: ${DEMO_ACCESS_KEY_ID}
      secret: ${DEMO_ACCESS_KEY_SECRET}
      principal: demo-key
      groups: [demo-keys]
policy:
  rules:
    - name: demo user
      subjects: [` + demoSubject + `]
      buckets: [` + demoBucket + `]
      actions: [read, list, write, delete, bucket-read]
    - name: demo access key
      groups: [demo-keys]
      buckets: [` + demoBucket + `]
      actions: [read, list, write, delete, bucket-read]
buckets:
  - name: ` + demoBucket + `
    endpoint: "%[2]s"
    region: "%[3]s"
    allow_insecure_http: true
credentials:
  source: assume_role
  role_arn: "%[4]s"
  session_name: ossproxy-demo
  duration: 15m
  base:
    source: static
    access_key_id: ${DEMO_ADMIN_KEY_ID}
    access_key_secret: ${DEMO_ADMIN_KEY_SECRET}
  sts:
    endpoint: "%[5]s"
    ca_file: "%[6]s"
logging:
  format: text
  level: %[7]s
admin:
  address: "127.0.0.1:0"
`

// runDemo is `ossproxy demo`: the emulator (OSS, STS, ECS metadata) and the
// proxy in one process, with a JWT issuer, an access key and a bucket
// holding one object, and instructions for curl, ali-oss and the Go SDK.
func runDemo(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "proxy listen `address` (127.0.0.1:0 picks a free port)")
	asJSON := fs.Bool("json", false, "print the endpoints and credentials as one JSON line")
	verbose := fs.Bool("v", false, "log every request")
	if done, err := parseFlags(fs, args, ""); done {
		return err
	}
	level := "warn"
	if *verbose {
		level = "debug"
	}
	cloud, err := osstest.Start(ctx, osstest.CloudOptions{Buckets: []string{demoBucket},
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return fmt.Errorf("starting emulator: %w", err)
	}
	defer cloud.Close()
	dir, err := os.MkdirTemp("", "ossproxy-demo-")
	if err != nil {
		return fmt.Errorf("creating demo directory: %w", err)
	}
	defer os.RemoveAll(dir)
	caFile := filepath.Join(dir, "sts-ca.pem")
	if err := os.WriteFile(caFile, cloud.CA.CertPEM(), 0o600); err != nil {
		return fmt.Errorf("writing emulator CA: %w", err)
	}
	if err := cloud.OSS.PutObject(ctx, demoBucket, demoObject, strings.NewReader("Hello from ossproxy!\n")); err != nil {
		return fmt.Errorf("seeding demo bucket: %w", err)
	}

	secrets := map[string]string{
		"DEMO_HMAC_SECRET":       randomHex(32),
		"DEMO_ACCESS_KEY_ID":     "LTAIdemo" + randomHex(6),
		"DEMO_ACCESS_KEY_SECRET": randomHex(20),
		"DEMO_ADMIN_KEY_ID":      cloud.Admin.AccessKeyID,
		"DEMO_ADMIN_KEY_SECRET":  cloud.Admin.AccessKeySecret,
	}
	getenv := func(k string) string { return secrets[k] }
	text := fmt.Sprintf(demoConfig, *addr, cloud.OSSURL, cloud.Region, cloud.Role.ARN, cloud.STSEndpoint, caFile, level)
	cfg, err := config.Parse(filepath.Join(dir, "demo.yaml"), []byte(text), config.Options{Getenv: getenv})
	if err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}
	exp := time.Now().Add(24 * time.Hour)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": demoIssuer, "aud": demoAudience, "sub": demoSubject,
		"iat": time.Now().Unix(), "exp": exp.Unix(),
	}).SignedString([]byte(secrets["DEMO_HMAC_SECRET"]))
	if err != nil {
		return fmt.Errorf("minting demo token: %w", err)
	}

	ready := make(chan net.Addr, 1)
	adminAddr := make(chan net.Addr, 1)
	logger := newLogger(stderr, cfg.Logging)
	a, err := newApp(ctx, cfg, appDeps{getenv: getenv, logger: logger, hooks: appHooks{
		Ready:      func(addrs []net.Addr) { ready <- addrs[0] },
		AdminReady: func(addr net.Addr) { adminAddr <- addr },
	}})
	if err != nil {
		return err
	}
	defer a.close()
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx) }()
	var bound net.Addr
	select {
	case bound = <-ready:
	case err := <-done:
		return err
	}
	info := demoInfo{
		ProxyURL: "http://" + bound.String(), Token: token, TokenExpires: exp.UTC().Format(time.RFC3339),
		AccessKeyID: secrets["DEMO_ACCESS_KEY_ID"], AccessKeySecret: secrets["DEMO_ACCESS_KEY_SECRET"],
		Bucket: demoBucket, Region: cloud.Region, Object: demoObject, Issuer: demoIssuer, Audience: demoAudience,
		OSSEndpoint: cloud.OSSURL, STSEndpoint: cloud.STSURL, AdminURL: "http://" + (<-adminAddr).String(),
	}
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(info)
	} else {
		err = printDemo(stdout, &info)
	}
	if err != nil {
		return fmt.Errorf("printing demo instructions: %w", err)
	}
	return <-done
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func printDemo(w io.Writer, i *demoInfo) error {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(i.ProxyURL, "http://"))
	local := "http://localhost:" + port
	_, err := fmt.Fprintf(w, `ossproxy demo: proxy on %[1]s in front of an OSS emulator (%[10]s); interrupt to stop.

Bearer token (JWT, HS256, sub=%[11]s, expires %[2]s):
  export TOKEN=%[3]s

Proxy-issued access key (sign OSS V1 or V4 requests with it):
  access key id:     %[4]s
  access key secret: %[5]s
  bucket:            %[6]s    region: %[7]s

curl:
  curl -H "Authorization: Bearer $TOKEN" %[1]s/%[6]s/%[8]s
  curl -H "Authorization: Bearer $TOKEN" -T README.md %[1]s/%[6]s/readme.md
  curl -H "Authorization: Bearer $TOKEN" "%[1]s/%[6]s/?list-type=2"
  curl "%[1]s/%[6]s/%[8]s?access_token=$TOKEN"
  curl -H "Authorization: Bearer $TOKEN" -d '{"bucket":"%[6]s","key":"%[8]s"}' %[1]s/_ossproxy/v1/presign
  curl -H "Authorization: Bearer $TOKEN" -d '{"bucket":"%[6]s"}' %[1]s/_ossproxy/v1/sts

Admin listener: %[12]s/readyz  %[12]s/metrics

ali-oss (node; use localhost, ali-oss refuses to presign for IP hosts):
  const OSS = require('ali-oss');
  const c = new OSS({endpoint: '%[9]s', bucket: '%[6]s', region: 'oss-%[7]s', sldEnable: true,
    accessKeyId: '%[4]s', accessKeySecret: '%[5]s', authorizationV4: true});
  console.log((await c.get('%[8]s')).content.toString());

Go SDK v2 (github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss):
  cfg := oss.LoadDefaultConfig().WithRegion("%[7]s").WithEndpoint("%[1]s").WithUsePathStyle(true).
      WithCredentialsProvider(credentials.NewStaticCredentialsProvider("%[4]s", "%[5]s"))
  res, err := oss.NewClient(cfg).GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("%[6]s"), Key: oss.Ptr("%[8]s")})
  // or, with the JWT: credentials.NewAnonymousCredentialsProvider() and an http.Client
  // whose RoundTripper sets "Authorization: Bearer $TOKEN".

ossutil and other OSS tools: configure endpoint %[1]s (path-style), the access key
above and region %[7]s; the proxy verifies their V1/V4 signatures and re-signs upstream.
`, i.ProxyURL, i.TokenExpires, i.Token, i.AccessKeyID, i.AccessKeySecret, i.Bucket, i.Region, i.Object, local, i.OSSEndpoint, demoSubject, i.AdminURL)
	return err
}
