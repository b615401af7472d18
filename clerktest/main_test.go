package clerktest_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate/clerktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts a fake that the test's cleanup closes.
func newServer(t *testing.T, opts ...clerktest.Option) *clerktest.Server {
	t.Helper()
	s := clerktest.New(opts...)
	t.Cleanup(s.Close)
	return s
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

type callOption func(*http.Request)

func withHeader(name, value string) callOption {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

func withoutAuth() callOption { return func(r *http.Request) { r.Header.Del("Authorization") } }

// call sends one request with the server's secret key (unless an option
// changes it) and reads the whole answer. body is sent as is when a string
// or []byte, JSON-encoded otherwise.
func call(t *testing.T, s *clerktest.Server, method, path string, body any, opts ...callOption) response {
	t.Helper()
	res, err := send(s, 10*time.Second, method, path, body, opts...)
	require.NoError(t, err)
	return res
}

func send(s *clerktest.Server, timeout time.Duration, method, path string, body any, opts ...callOption) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.SecretKey())
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	client := &http.Client{Transport: s.Client().Transport, Timeout: timeout}
	res, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}, nil
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), string(r.Body))
}

type clerkErrors struct {
	Errors []struct {
		Code        string         `json:"code"`
		Message     string         `json:"message"`
		LongMessage string         `json:"long_message"`
		Meta        map[string]any `json:"meta"`
	} `json:"errors"`
	Meta         map[string]any `json:"meta"`
	ClerkTraceID string         `json:"clerk_trace_id"`
}

// requireClerkError checks status and code, and that the body is Clerk's
// full error envelope with the trace id echoed in the header.
func requireClerkError(t *testing.T, r response, status int, code string) clerkErrors {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var env clerkErrors
	r.decode(t, &env)
	require.Len(t, env.Errors, 1, string(r.Body))
	e := env.Errors[0]
	require.Equal(t, code, e.Code, string(r.Body))
	require.NotEmpty(t, e.Message)
	require.NotEmpty(t, e.LongMessage)
	require.NotNil(t, e.Meta)
	require.NotNil(t, env.Meta)
	require.NotEmpty(t, env.ClerkTraceID)
	require.Equal(t, env.ClerkTraceID, r.Header.Get("Clerk-Trace-Id"))
	return env
}

func segment(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func headerOf(t *testing.T, jwt string) map[string]any { t.Helper(); return segment(t, jwt, 0) }

func claimsOf(t *testing.T, jwt string) map[string]any { t.Helper(); return segment(t, jwt, 1) }

// num reads a numeric claim as an integer.
func num(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	f, ok := claims[name].(float64)
	require.True(t, ok, "claim %s = %#v is not a number", name, claims[name])
	return int64(f)
}

// verifyAgainstJWKS checks jwt's RS256 signature with the key its kid names
// in a JWKS document, decoding the document independently of the fake.
func verifyAgainstJWKS(jwks []byte, jwt string) error {
	var doc struct {
		Keys []struct {
			Kty, Kid, Alg, Use, N, E string
		} `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &doc); err != nil {
		return err
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("not three segments")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return err
	}
	var hdr struct{ Kid string }
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return err
	}
	for _, k := range doc.Keys {
		if k.Kid != hdr.Kid {
			continue
		}
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
			return errors.New("unexpected key type")
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			return err
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil {
			return err
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			return err
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	}
	return errors.New("no key with kid " + hdr.Kid)
}
