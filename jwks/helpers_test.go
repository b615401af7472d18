package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/jwktest"
	"github.com/clerkgate/clerkgate/internal/testkit"
	"github.com/clerkgate/clerkgate/jwks"
)

// Keys are generated once per test binary: RSA generation is slow, and the
// tests only need distinct keys, not fresh ones.
var (
	rsaA     = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaB     = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaC     = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaSmall = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(1024) })
	ecP256   = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func newEd25519(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}

// jwkObj is one member of a key set, as JSON fields a test may change.
type jwkObj = map[string]any

// newJWK renders a raw key as a JWK with the given kid and alg ("" leaves
// the member out).
func newJWK(t *testing.T, raw any, kid, alg string) jwkObj {
	t.Helper()
	k := jwktest.Of(raw)
	if kid != "" {
		k["kid"] = kid
	}
	if alg != "" {
		k["alg"] = alg
	}
	return k
}

// rsaJWK is the common case: a public RSA signing key as Clerk publishes it.
func rsaJWK(t *testing.T, priv *rsa.PrivateKey, kid string) jwkObj {
	t.Helper()
	return jwktest.With(newJWK(t, &priv.PublicKey, kid, "RS256"), "use", "sig")
}

func jwksDoc(t *testing.T, keys ...jwkObj) []byte {
	t.Helper()
	members := make([]any, len(keys))
	for i, k := range keys {
		members[i] = k
	}
	return jwktest.Set(members...)
}

// keyServer is a JWKS endpoint over real HTTP whose behaviour a test can
// switch at any time. It counts the requests that reach it.
type keyServer struct {
	*httptest.Server
	hits    atomic.Int64
	handler atomic.Pointer[http.HandlerFunc]
}

func newKeyServer(t *testing.T, h http.HandlerFunc) *keyServer {
	t.Helper()
	s := &keyServer{}
	s.set(h)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		(*s.handler.Load())(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *keyServer) set(h http.HandlerFunc) { s.handler.Store(&h) }

func serveBody(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

func serveKeys(t *testing.T, keys ...jwkObj) http.HandlerFunc {
	return serveBody(jwksDoc(t, keys...))
}

func serveStatus(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, http.StatusText(code), code)
	}
}

// gated holds every request until release is closed (or the client goes
// away), then answers with next.
func gated(release <-chan struct{}, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			next(w, r)
		case <-r.Context().Done():
		}
	}
}

// hang never answers; only the client giving up ends the request.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// dropConnection closes the TCP connection without an answer, like a
// server that is down or a proxy that resets.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// newRemote starts a Remote on url and closes it when the test ends. The
// fetch timeout defaults to a generous 30s: tests share small, busy
// machines, and only the tests about timeouts want a short one.
func newRemote(t *testing.T, url string, cfg jwks.RemoteConfig) *jwks.Remote {
	t.Helper()
	cfg.URL = url
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	r, err := jwks.NewRemote(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct{ testkit.SyncBuffer }

func (b *logBuffer) linesContaining(s string) int {
	n := 0
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// offlineClient fails every request at once; for tests that only look at a
// Remote's configuration and must not reach the real Clerk.
func offlineClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no network in tests")
		},
	}}
}

// tlsKeyServer is an https JWKS endpoint plus a client that reaches it
// under any host name the test certificate covers (example.com and
// *.example.com).
type tlsKeyServer struct {
	*httptest.Server
	client *http.Client
}

func newTLSKeyServer(t *testing.T, h http.HandlerFunc) *tlsKeyServer {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &tlsKeyServer{Server: srv, client: &http.Client{Transport: tr}}
}

// vectors is the part of Clerk's fixture file these tests use.
type vectors struct {
	JWKS              json.RawMessage `json:"jwks"`
	PublicKeyPEM      string          `json:"public_key_pem"`
	OtherPublicKeyPEM string          `json:"other_public_key_pem"`
	SigningKeyPEM     string          `json:"signing_key_pem"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile("../testdata/clerk-js-vectors.json")
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(raw, &v))
	require.NotEmpty(t, v.JWKS)
	require.NotEmpty(t, v.PublicKeyPEM)
	return v
}

// eventuallyKey looks kid up until it resolves. It is for set-up steps of
// tests that use a short FetchTimeout, where one fetch on a loaded machine
// may time out; the Remote needs a tiny MinRefetchInterval for the retries.
func eventuallyKey(t *testing.T, r *jwks.Remote, kid string) jwks.Key {
	t.Helper()
	var k jwks.Key
	require.Eventually(t, func() bool {
		var err error
		k, err = r.Key(context.Background(), kid)
		return err == nil
	}, 30*time.Second, time.Millisecond)
	return k
}
