package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/clerkgate/clerkgate/bench/internal/serve"
)

// tlsSetup is a self-signed certificate for 127.0.0.1, made at start-up
// for the HTTP/2 phases, and the server environment that serves it.
type tlsSetup struct {
	env  []string // TLS_CERT_FILE and TLS_KEY_FILE for the servers
	pool *x509.CertPool
}

func newTLSSetup(dir string) (*tlsSetup, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "clerkgate load test"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tlsSetup{env: []string{serve.EnvTLSCert + "=" + certFile, serve.EnvTLSKey + "=" + keyFile}, pool: pool}, nil
}

// client is an HTTP/2 client trusting the certificate. One connection
// carries every concurrent request, as one browser's does.
func (t *tlsSetup) client() *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: t.pool},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
