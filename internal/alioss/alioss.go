// Package alioss drives the npm ali-oss client (testdata/node/client.js) from
// Go tests, so that the emulator and the proxy are exercised by a real OSS
// client written in another language.
//
//	c, err := alioss.New()             // finds node and the installed client
//	res, err := c.Lifecycle(ctx, alioss.Config{Endpoint: u, Bucket: "bkt", ...})
//	if !res.OK { t.Fatalf("step %s: %s %s", res.Step, res.Code, res.Message) }
//
// `make node-deps` (part of `make test`) installs the client with npm ci;
// without it, New fails with ErrUnavailable and says so.
package alioss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Config is what client.js needs to build an ali-oss client.
type Config struct {
	Endpoint        string `json:"endpoint"` // http://localhost:port; ali-oss refuses to presign for IP hosts
	Bucket          string `json:"bucket"`
	Region          string `json:"region,omitempty"` // "oss-cn-hangzhou" style; default oss-cn-hangzhou
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	STSToken        string `json:"stsToken,omitempty"`
	V4              bool   `json:"v4"`              // authorizationV4 and signatureUrlV4
	CNAME           bool   `json:"cname,omitempty"` // host names the bucket: /key paths
	Prefix          string `json:"prefix,omitempty"`

	// RefreshURL, if set, gives the client a refreshSTSToken that POSTs
	// RefreshBody with RefreshHeaders to it and hands ali-oss the JSON
	// answer unchanged, every RefreshInterval milliseconds (0: before every
	// request but the first).
	RefreshURL      string            `json:"refreshURL,omitempty"`
	RefreshHeaders  map[string]string `json:"refreshHeaders,omitempty"`
	RefreshBody     string            `json:"refreshBody,omitempty"`
	RefreshInterval int               `json:"refreshInterval,omitempty"`
}

// Step is one operation of Ops.
type Step struct {
	Op         string `json:"op"` // "get", "put", "list" or "delete"
	Key        string `json:"key"`
	Body       string `json:"body,omitempty"`
	ListPrefix string `json:"listPrefix,omitempty"`
}

// Result is client.js's one-line answer.
type Result struct {
	OK      bool     `json:"ok"`
	Step    string   `json:"step"`
	Steps   []string `json:"steps"`
	Code    string   `json:"code"`
	Status  int      `json:"status"`
	Message string   `json:"message"`
	Body    string   `json:"body"`
	Keys    []string `json:"keys"`
}

// ErrUnavailable means node or the npm client could not be found or installed.
var ErrUnavailable = errors.New("alioss: node client unavailable")

// Client runs client.js. It is safe for concurrent use.
type Client struct {
	node, script string
}

// New locates node and the installed client in testdata/node.
func New() (*Client, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ali-oss")); err != nil {
		return nil, fmt.Errorf("%w: run `make node-deps` first: %w", ErrUnavailable, err)
	}
	return &Client{node: node, script: filepath.Join(dir, "client.js")}, nil
}

// Lifecycle runs the full object lifecycle: put, get, range, head, a key
// with reserved characters, list v1 and v2 with prefix and delimiter, a
// 3-part multipart upload, append, copy, presigned GET and PUT, and
// delete-multiple.
func (c *Client) Lifecycle(ctx context.Context, cfg Config) (Result, error) {
	return c.run(ctx, struct {
		Config
		Mode string `json:"mode"`
	}{cfg, "lifecycle"})
}

// Op runs one operation ("get", "put", "list" or "delete") and reports its
// outcome, for denial tests.
func (c *Client) Op(ctx context.Context, cfg Config, op, key, body string) (Result, error) {
	return c.run(ctx, struct {
		Config
		Mode       string `json:"mode"`
		Op         string `json:"op"`
		Key        string `json:"key"`
		Body       string `json:"body"`
		ListPrefix string `json:"listPrefix"`
	}{cfg, "op", op, key, body, key})
}

// Ops runs steps in order with one client, so that refreshSTSToken (see
// Config.RefreshURL) runs between them. Result.Steps holds "ok" or the
// error code of each step; Result.Message is "refreshes=N".
func (c *Client) Ops(ctx context.Context, cfg Config, steps []Step) (Result, error) {
	return c.run(ctx, struct {
		Config
		Mode string `json:"mode"`
		Ops  []Step `json:"ops"`
	}{cfg, "ops", steps})
}

func (c *Client) run(ctx context.Context, v any) (Result, error) {
	arg, err := json.Marshal(v)
	if err != nil {
		return Result{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.node, c.script, string(arg))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("running client.js: %w: %s", err, stderr.Bytes())
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return Result{}, fmt.Errorf("parsing client.js output %q: %w", stdout.Bytes(), err)
	}
	return res, nil
}
