// Package testkit holds what the project's own tests share: Clerk's test
// vectors and a tiny JWS signer for building hostile tokens. The fake
// backend (clerktest) mints well-formed tokens; this package makes the
// malformed ones a fake has no business producing.
package testkit

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Vectors mirrors testdata/clerk-js-vectors.json.
type Vectors struct {
	Now             int64             `json:"now"`
	JWKS            json.RawMessage   `json:"jwks"`
	PublicKeyPEM    string            `json:"public_key_pem"`
	SigningKeyPEM   string            `json:"signing_key_pem"`
	OtherPublicKey  string            `json:"other_public_key_pem"`
	Issuer          string            `json:"issuer"`
	AuthorizedParty string            `json:"authorized_party"`
	PublishableTest string            `json:"publishable_key_test"`
	PublishableLive string            `json:"publishable_key_live"`
	CookieSuffix    map[string]string `json:"cookie_suffix"`
	Cases           []VectorCase      `json:"cases"`
	SkewCases       []SkewCase        `json:"skew_cases"`
}

// VectorCase is one token with its expected outcome.
type VectorCase struct {
	Name    string         `json:"name"`
	Token   string         `json:"token"`
	Valid   bool           `json:"valid"`
	Reason  string         `json:"reason"`
	Payload map[string]any `json:"payload"`
}

// SkewCase checks the expiry boundary at a given clock and skew.
type SkewCase struct {
	Token string `json:"token"`
	Now   int64  `json:"now"`
	Skew  int64  `json:"skew_seconds"`
	Valid bool   `json:"valid"`
}

// LoadVectors reads the repository's copy of Clerk's test vectors.
func LoadVectors(t testing.TB) Vectors {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "testdata", "clerk-js-vectors.json"))
	require.NoError(t, err)
	var v Vectors
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// Token returns the vector case with that name.
func (v Vectors) Token(name string) string {
	for _, c := range v.Cases {
		if c.Name == name {
			return c.Token
		}
	}
	panic("testkit: no vector named " + name)
}

// SigningKey parses the vectors' PKCS#8 private key.
func (v Vectors) SigningKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(v.SigningKeyPEM))
	require.NotNil(t, block)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PrivateKey)
}

// Enc is base64url(JSON(v)), one JWS segment.
func Enc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SignRS signs header.payload with RSASSA-PKCS1-v1_5 and hash h.
func SignRS(t testing.TB, key *rsa.PrivateKey, h crypto.Hash, header, payload map[string]any) string {
	t.Helper()
	signed := Enc(header) + "." + Enc(payload)
	hh := h.New()
	hh.Write([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, hh.Sum(nil))
	require.NoError(t, err)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// SignRawRS signs a header and payload given as JSON text (or any bytes),
// for tokens a map cannot express: repeated or case-variant names, null,
// a byte order mark, bytes that are not UTF-8.
func SignRawRS(t testing.TB, key *rsa.PrivateKey, h crypto.Hash, header, payload string) string {
	t.Helper()
	signed := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	hh := h.New()
	hh.Write([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, hh.Sum(nil))
	require.NoError(t, err)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// JSONWith returns m as a JSON object with raw members appended after
// m's own, e.g. JSONWith(claims, `"sub":null`) repeats sub as null.
func JSONWith(m map[string]any, members ...string) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	out := strings.TrimSuffix(string(b), "}")
	for _, member := range members {
		if out != "{" {
			out += ","
		}
		out += member
	}
	return out + "}"
}

// SignHS signs header.payload with HMAC-SHA256 keyed by secret: the
// classic algorithm-confusion forgery when secret is a public key.
func SignHS(secret []byte, header, payload map[string]any) string {
	signed := Enc(header) + "." + Enc(payload)
	m := hmac.New(crypto.SHA256.New, secret)
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// With returns a copy of m with key/value pairs set; a nil value deletes.
func With(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// Header is the JOSE header of a genuine Clerk session token for kid.
func Header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}
}

// Claims are the claims of a genuine session token for the vectors'
// instance, issued at the vectors' clock and valid for Clerk's 60 s.
func (v Vectors) Claims(sub, sid string) map[string]any {
	return map[string]any{
		"azp": v.AuthorizedParty, "iss": v.Issuer, "sub": sub, "sid": sid,
		"iat": v.Now, "nbf": v.Now - 10, "exp": v.Now + 60,
	}
}
