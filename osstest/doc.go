// Package osstest is an in-process emulator of Alibaba Cloud OSS, STS and
// ECS metadata, strict enough to be the upstream of end-to-end tests.
//
//	acct := osstest.NewAccount("1234567890", nil)
//	user := acct.NewUser("alice", osstest.MustParsePolicy(policyJSON))
//	o, err := osstest.NewOSS(acct, osstest.OSSOptions{Buckets: []string{"bkt"}})
//	if err != nil { ... }
//	defer o.Close()
//	srv := httptest.NewServer(o) // point any OSS SDK at srv.URL, path-style
//
// The OSS object service ([OSS]) speaks the REST API the Go SDKs and
// ali-oss use: objects (put, get with ranges, head, delete, delete-multiple,
// copy, append), listings v1 and v2, multipart uploads, ListBuckets and
// GetBucketInfo. Bodies stream to files, never into memory, and responses
// carry the ETag, Content-MD5 and x-oss-hash-crc64ecma the SDKs check.
// TestBigObjectStreams puts and gets a 2 GiB object with the SDK v2 client
// over a real listener; measured on 2026-11-27 (go test -race, Go 1.26,
// Linux amd64, the shared 2-core AMD EPYC machine at load ~9), the whole
// test process's HeapInuse went from 1 MiB before to a 6 MiB peak (5 MiB
// growth; the test fails above 64 MiB) and HeapSys from 3 to 7 MiB, with
// matching sha256, at 27 MiB/s each way (76 s).
//
// It authenticates like OSS: V1 (HMAC-SHA1) and V4 (OSS4-HMAC-SHA256)
// signatures in the Authorization header and in presigned URLs, STS
// security tokens looked up in the shared [Account] (unknown, mismatched and
// expired tokens each get their own error code), the 15-minute clock skew
// window on the account [Clock], presign expiry, and the RAM policies of the
// identity. Anonymous requests are denied. Signatures are judged with the
// official SDK-v2 signer where it can reproduce the request, and otherwise
// with a small verifier written from the protocol, never with this
// project's own signer package. Errors are OSS XML with the real codes, and
// on HEAD the same XML base64-encoded in x-oss-err.
//
// Tests can seed and inspect storage without signing: [OSS.PutObject],
// [OSS.OpenObject], [OSS.ObjectSHA256] and [OSS.ObjectKeys].
//
// The other fakes share the same [Account] and [Clock]: [STS] (AssumeRole
// and AssumeRoleWithOIDC over HTTPS, with an [OIDCIssuer]), [ECSMetadata]
// (instance RAM role credentials), and [Faults] with a [Recorder] to inject
// errors and latency and to see what each endpoint received. [Start] runs
// them all on real listeners as a [Cloud].
package osstest
