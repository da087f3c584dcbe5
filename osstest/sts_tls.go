package osstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"time"
)

// TestCA is a throw-away certificate authority plus one server certificate
// it issued, for serving the fake STS over HTTPS (the Alibaba SDKs hard-code
// https for STS). Clients trust it through Pool, ClientTLSConfig, Transport
// or HTTPClient; nothing global such as http.DefaultTransport is touched.
// It is safe for concurrent use.
type TestCA struct {
	subject string
	certPEM []byte
	pool    *x509.CertPool
	server  tls.Certificate
}

// NewTestCA creates a CA and a server certificate valid for localhost,
// 127.0.0.1, ::1 and each of hosts (DNS names or IP addresses). Both are
// valid from 1990 to 2100 so that tests inside a testing/synctest bubble,
// whose clock starts in 2000, can use them.
func NewTestCA(hosts ...string) (*TestCA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	notBefore := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "osstest CA " + randomString(8)},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parsing CA certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "osstest sts"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("creating server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &TestCA{
		subject: caCert.Subject.CommonName,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:    pool,
		server:  tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: leaf},
	}, nil
}

// String describes the CA; its keys never print.
func (c *TestCA) String() string { return "TestCA(" + c.subject + ")" }

// GoString is String, so %#v does not print the keys either.
func (c *TestCA) GoString() string { return c.String() }

// LogValue logs the CA's subject only.
func (c *TestCA) LogValue() slog.Value { return slog.StringValue(c.subject) }

// CertPEM is the CA certificate in PEM form, for other processes.
func (c *TestCA) CertPEM() []byte { return append([]byte(nil), c.certPEM...) }

// Pool is a pool holding the CA certificate. Do not add to it.
func (c *TestCA) Pool() *x509.CertPool { return c.pool }

// ServerTLSConfig returns a new server configuration with the server
// certificate, HTTP/1.1 only (so fault injection can hijack connections).
func (c *TestCA) ServerTLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.server}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
}

// ClientTLSConfig returns a new client configuration trusting the CA.
func (c *TestCA) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: c.pool, MinVersion: tls.VersionTLS12}
}

// Transport returns a new transport, a clone of http.DefaultTransport's
// settings, that trusts the CA. Each call returns a distinct transport the
// caller owns, so it may be handed to an SDK client that mutates it
// (alibaba-cloud-sdk-go sets DialContext and InsecureSkipVerify on each
// request): sdk.NewConfig().WithHttpTransport(ca.Transport()).
func (c *TestCA) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = c.ClientTLSConfig()
	return t
}

// HTTPClient returns a new client whose transport trusts the CA.
func (c *TestCA) HTTPClient() *http.Client { return &http.Client{Transport: c.Transport()} }
