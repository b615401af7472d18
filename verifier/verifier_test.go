package verifier_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/testkit"
	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/verifier"
)

func TestClerkVectors(t *testing.T) {
	t.Parallel()
	vec := testkit.LoadVectors(t)
	v, err := verifier.New(verifier.Config{
		Keys:              keysFromJWKS(t, vec.JWKS),
		Issuer:            vec.Issuer,
		AuthorizedParties: []string{vec.AuthorizedParty},
		Clock:             fixedClock(vec.Now),
	})
	require.NoError(t, err)
	for _, tc := range vec.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), tc.Token)
			if tc.Valid {
				require.NoError(t, err)
				require.Equal(t, tc.Payload["sub"], claims.Subject)
				require.Equal(t, tc.Payload["sid"], claims.SessionID)
				require.Equal(t, tc.Payload["azp"], claims.AuthorizedParty)
				require.EqualValues(t, tc.Payload["exp"], claims.Expiry)
				require.Equal(t, 1, claims.Version)
				return
			}
			require.Error(t, err)
			require.Nil(t, claims)
			if tc.Reason != "" {
				require.ErrorIs(t, err, verifier.Reason(tc.Reason))
			}
		})
	}
}

func TestClerkSkewBoundary(t *testing.T) {
	t.Parallel()
	vec := testkit.LoadVectors(t)
	tokens := map[string]string{}
	for _, c := range vec.Cases {
		tokens[c.Name] = c.Token
	}
	for _, sc := range vec.SkewCases {
		skew := time.Duration(sc.Skew) * time.Second
		if skew == 0 {
			skew = -1 // no leeway
		}
		v, err := verifier.New(verifier.Config{
			Keys:      keysFromJWKS(t, vec.JWKS),
			Issuer:    vec.Issuer,
			ClockSkew: skew,
			Clock:     fixedClock(sc.Now),
		})
		require.NoError(t, err)
		_, err = v.Verify(context.Background(), tokens[sc.Token])
		if sc.Valid {
			require.NoError(t, err, "now=%d skew=%d", sc.Now, sc.Skew)
		} else {
			require.ErrorIs(t, err, verifier.ReasonTokenExpired, "now=%d skew=%d", sc.Now, sc.Skew)
		}
	}
}

// fixture is a verifier with a trusted RSA key, an EC key and an RS512 key.
type fixture struct {
	vec     testkit.Vectors
	key     *rsa.PrivateKey
	foreign *rsa.PrivateKey
	keys    keySet
	kid     string
}

const (
	ecKid    = "ins_ec_key"
	rs512Kid = "ins_rs512_key"
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	vec := testkit.LoadVectors(t)
	f := &fixture{vec: vec, key: vec.SigningKey(t), keys: keysFromJWKS(t, vec.JWKS)}
	for kid := range f.keys {
		f.kid = kid
	}
	var err error
	f.foreign, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f.keys[ecKid] = jwks.Key{ID: ecKid, Algorithm: "ES256", Public: &ec.PublicKey}
	f.keys[rs512Kid] = jwks.Key{ID: rs512Kid, Algorithm: "RS512", Public: &f.key.PublicKey}
	return f
}

func (f *fixture) verifier(t testing.TB, mod func(*verifier.Config)) *verifier.Verifier {
	t.Helper()
	cfg := verifier.Config{
		Keys:              f.keys,
		Issuer:            f.vec.Issuer,
		AuthorizedParties: []string{f.vec.AuthorizedParty},
		Clock:             fixedClock(f.vec.Now),
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := verifier.New(cfg)
	require.NoError(t, err)
	return v
}

func (f *fixture) header() map[string]any {
	return map[string]any{"alg": "RS256", "kid": f.kid, "typ": "JWT"}
}

func (f *fixture) claims() map[string]any {
	now := f.vec.Now
	return map[string]any{
		"azp": f.vec.AuthorizedParty, "iss": f.vec.Issuer,
		"sub": "user_123", "sid": "sess_123",
		"iat": now, "nbf": now - 10, "exp": now + 60,
	}
}

func (f *fixture) sign(t testing.TB, hdr, claims map[string]any) string {
	return testkit.SignRS(t, f.key, crypto.SHA256, hdr, claims)
}

// TestAttacks holds one dangerous token per rejection path. Each would let
// an attacker in if accepted.
func TestAttacks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	h, c := f.header(), f.claims()

	pubDER, err := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	valid := f.sign(t, h, c)
	parts := strings.Split(valid, ".")

	// An attacker's key server, named by jku/x5u: it must never be contacted.
	var contacted atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { contacted.Add(1) }))
	t.Cleanup(evil.Close)
	evilJWK := map[string]any{
		"kty": "RSA", "kid": f.kid, "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(f.foreign.N.Bytes()), "e": "AQAB",
	}

	cases := []struct {
		name   string
		token  string
		reason verifier.Reason
	}{
		{"alg none", testkit.Enc(testkit.With(h, "alg", "none")) + "." + testkit.Enc(c) + ".", verifier.ReasonTokenMalformed},
		{"alg none with junk signature", testkit.Enc(testkit.With(h, "alg", "none")) + "." + testkit.Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg None", testkit.Enc(testkit.With(h, "alg", "None")) + "." + testkit.Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg NONE", testkit.Enc(testkit.With(h, "alg", "NONE")) + "." + testkit.Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg nOnE", testkit.Enc(testkit.With(h, "alg", "nOnE")) + "." + testkit.Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg missing", testkit.Enc(testkit.With(h, "alg", nil)) + "." + testkit.Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"HS256 keyed with public key PEM", testkit.SignHS(pubPEM, testkit.With(h, "alg", "HS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"HS256 keyed with public key DER", testkit.SignHS(pubDER, testkit.With(h, "alg", "HS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"HS256 keyed with modulus", testkit.SignHS(f.key.N.Bytes(), testkit.With(h, "alg", "HS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"HS512 keyed with public key PEM", testkit.SignHS(pubPEM, testkit.With(h, "alg", "HS512"), c), verifier.ReasonAlgorithmNotAllowed},
		{"RS256 naming an EC key", f.sign(t, testkit.With(h, "kid", ecKid), c), verifier.ReasonAlgorithmNotAllowed},
		{"ES256 all-zero signature", testkit.Enc(testkit.With(h, "alg", "ES256", "kid", ecKid)) + "." + testkit.Enc(c) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)), verifier.ReasonAlgorithmNotAllowed},
		{"PS256 against RSA key", f.sign(t, testkit.With(h, "alg", "PS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"RS384 on a key declaring RS256", testkit.SignRS(t, f.key, crypto.SHA384, testkit.With(h, "alg", "RS384"), c), verifier.ReasonAlgorithmNotAllowed},
		{"RS256 on a key declaring RS512", f.sign(t, testkit.With(h, "kid", rs512Kid), c), verifier.ReasonAlgorithmNotAllowed},
		{"tampered payload", parts[0] + "." + testkit.Enc(testkit.With(c, "sub", "user_admin")) + "." + parts[2], verifier.ReasonSignatureInvalid},
		{"tampered header", testkit.Enc(testkit.With(h, "x", "y")) + "." + parts[1] + "." + parts[2], verifier.ReasonSignatureInvalid},
		{"foreign key with the right kid", testkit.SignRS(t, f.foreign, crypto.SHA256, h, c), verifier.ReasonSignatureInvalid},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], verifier.ReasonSignatureInvalid},
		{"padded signature", valid + "==", verifier.ReasonSignatureInvalid},
		{"jku to attacker", testkit.SignRS(t, f.foreign, crypto.SHA256, testkit.With(h, "jku", evil.URL+"/jwks.json"), c), verifier.ReasonSignatureInvalid},
		{"x5u to attacker", testkit.SignRS(t, f.foreign, crypto.SHA256, testkit.With(h, "x5u", evil.URL+"/cert.pem"), c), verifier.ReasonSignatureInvalid},
		{"embedded attacker jwk", testkit.SignRS(t, f.foreign, crypto.SHA256, testkit.With(h, "jwk", evilJWK), c), verifier.ReasonSignatureInvalid},
		{"embedded attacker x5c", testkit.SignRS(t, f.foreign, crypto.SHA256, testkit.With(h, "x5c", []string{"MIIB"}), c), verifier.ReasonSignatureInvalid},
		{"unknown kid", testkit.SignRS(t, f.foreign, crypto.SHA256, testkit.With(h, "kid", "ins_attacker"), c), verifier.ReasonKeyNotFound},
		{"crit header", f.sign(t, testkit.With(h, "crit", []string{"exp"}), c), verifier.ReasonTokenMalformed},
		{"empty crit", f.sign(t, testkit.With(h, "crit", []string{}), c), verifier.ReasonTokenMalformed},
		{"typ JWS", f.sign(t, testkit.With(h, "typ", "JWS"), c), verifier.ReasonTokenMalformed},
		{"typ not a string", f.sign(t, testkit.With(h, "typ", 1), c), verifier.ReasonTokenMalformed},
		{"alg not a string", testkit.Enc(testkit.With(h, "alg", 256)) + "." + testkit.Enc(c) + ".AAAA", verifier.ReasonTokenMalformed},
		{"oversized", f.sign(t, h, testkit.With(c, "pad", strings.Repeat("a", verifier.MaxTokenSize))), verifier.ReasonTokenMalformed},
		{"two segments", parts[0] + "." + parts[1], verifier.ReasonTokenMalformed},
		{"four segments", valid + "." + parts[2], verifier.ReasonTokenMalformed},
		{"empty", "", verifier.ReasonTokenMalformed},
		{"header not base64", "%%%." + parts[1] + "." + parts[2], verifier.ReasonTokenMalformed},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{alg")) + "." + parts[1] + "." + parts[2], verifier.ReasonTokenMalformed},
		{"JSON Web Encryption", valid + ".a.b", verifier.ReasonTokenMalformed},
		{"exp as string", f.sign(t, h, testkit.With(c, "exp", "9999999999")), verifier.ReasonClaimsInvalid},
		{"exp missing", f.sign(t, h, testkit.With(c, "exp", nil)), verifier.ReasonClaimsInvalid},
		{"exp as float", f.sign(t, h, testkit.With(c, "exp", 1e12+0.5)), verifier.ReasonClaimsInvalid},
		{"nbf as string", f.sign(t, h, testkit.With(c, "nbf", "0")), verifier.ReasonClaimsInvalid},
		{"sub as number", f.sign(t, h, testkit.With(c, "sub", 42)), verifier.ReasonClaimsInvalid},
		{"sub missing", f.sign(t, h, testkit.With(c, "sub", nil)), verifier.ReasonClaimsInvalid},
		{"sid missing", f.sign(t, h, testkit.With(c, "sid", nil)), verifier.ReasonClaimsInvalid},
		{"sid empty", f.sign(t, h, testkit.With(c, "sid", "")), verifier.ReasonClaimsInvalid},
		{"payload is an array", f.sign(t, h, nil)[:0] + testkit.Enc(h) + "." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + "." + parts[2], verifier.ReasonSignatureInvalid},
		{"issuer of another Clerk instance", f.sign(t, h, testkit.With(c, "iss", "https://clerk.other-app.com")), verifier.ReasonIssuerInvalid},
		{"issuer missing", f.sign(t, h, testkit.With(c, "iss", nil)), verifier.ReasonIssuerInvalid},
		{"foreign azp", f.sign(t, h, testkit.With(c, "azp", "https://evil.example")), verifier.ReasonAuthorizedPartyInvalid},
		{"missing azp", f.sign(t, h, testkit.With(c, "azp", nil)), verifier.ReasonAuthorizedPartyInvalid},
		{"pending session", f.sign(t, h, testkit.With(c, "v", 2, "sts", "pending")), verifier.ReasonSessionPending},
		{"expired", f.sign(t, h, testkit.With(c, "exp", f.vec.Now-6)), verifier.ReasonTokenExpired},
		{"nbf in the future", f.sign(t, h, testkit.With(c, "nbf", f.vec.Now+6)), verifier.ReasonTokenNotYetValid},
		{"iat in the future", f.sign(t, h, testkit.With(c, "iat", f.vec.Now+6)), verifier.ReasonTokenNotYetValid},
		// Order: everything is checked before time, so an expired token
		// with a bad issuer is an issuer failure, not a refresh candidate.
		{"expired and foreign issuer", f.sign(t, h, testkit.With(c, "exp", f.vec.Now-100, "iss", "https://clerk.other-app.com")), verifier.ReasonIssuerInvalid},
		{"expired and foreign azp", f.sign(t, h, testkit.With(c, "exp", f.vec.Now-100, "azp", "https://evil.example")), verifier.ReasonAuthorizedPartyInvalid},
		{"expired and forged", testkit.SignRS(t, f.foreign, crypto.SHA256, h, testkit.With(c, "exp", f.vec.Now-100)), verifier.ReasonSignatureInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), tc.token)
			require.Nil(t, claims)
			require.ErrorIs(t, err, tc.reason)
			var ve *verifier.Error
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.reason, ve.Reason)
			if tc.reason != verifier.ReasonTokenExpired {
				require.Nil(t, ve.Claims, "only an expired token may carry claims")
			}
		})
	}
	require.Zero(t, contacted.Load(), "the verifier contacted a URL named in a token header")

	// The untouched token passes, so each case above failed for its own reason.
	_, err = v.Verify(context.Background(), valid)
	require.NoError(t, err)
}

func TestExpiredTokenCarriesClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	tok := f.sign(t, f.header(), testkit.With(f.claims(), "exp", f.vec.Now-30))
	_, err := v.Verify(context.Background(), tok)
	var ve *verifier.Error
	require.ErrorAs(t, err, &ve)
	require.Equal(t, verifier.ReasonTokenExpired, ve.Reason)
	require.NotNil(t, ve.Claims)
	require.Equal(t, "sess_123", ve.Claims.SessionID)
}

func TestAccepts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, c := f.header(), f.claims()
	cases := []struct {
		name  string
		mod   func(*verifier.Config)
		token string
	}{
		{"no typ", nil, f.sign(t, testkit.With(h, "typ", nil), c)},
		{"unknown header fields", nil, f.sign(t, testkit.With(h, "oiat", 1, "cat", "x"), c)},
		{"jku on a genuine token is ignored", nil, f.sign(t, testkit.With(h, "jku", "http://127.0.0.1:1/"), c)},
		{"RS512 key declaring RS512", nil, testkit.SignRS(t, f.key, crypto.SHA512, testkit.With(h, "alg", "RS512", "kid", rs512Kid), c)},
		{"pending allowed", func(c *verifier.Config) { c.AllowPending = true }, f.sign(t, h, testkit.With(c, "v", 2, "sts", "pending"))},
		{"no azp when parties unset", func(c *verifier.Config) { c.AuthorizedParties = nil }, f.sign(t, h, testkit.With(c, "azp", nil))},
		{"Clerk-shaped issuer when none set", func(c *verifier.Config) { c.Issuer = "" }, f.sign(t, h, testkit.With(c, "iss", "https://happy-cat-12.clerk.accounts.dev"))},
		{"expiry within skew", nil, f.sign(t, h, testkit.With(c, "exp", f.vec.Now-4))},
		{"nbf within skew", nil, f.sign(t, h, testkit.With(c, "nbf", f.vec.Now+5))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.verifier(t, tc.mod).Verify(context.Background(), tc.token)
			require.NoError(t, err)
		})
	}
}

func TestIssuerShapeWithoutConfiguredIssuer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, func(c *verifier.Config) { c.Issuer = "" })
	for _, iss := range []string{
		"http://clerk.example.com",
		"https://example.com",
		"https://clerkexample.com",
		"https://evil.com.clerk.accounts.dev.attacker.net",
		"https://evil.com/clerk.accounts.dev",
		"https://user@clerk.example.com",
		"",
	} {
		_, err := v.Verify(context.Background(), f.sign(t, f.header(), testkit.With(f.claims(), "iss", iss)))
		require.ErrorIs(t, err, verifier.ReasonIssuerInvalid, iss)
	}
}

func TestJWKSUnavailableIsItsOwnReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	down := unavailableSource{}
	v, err := verifier.New(verifier.Config{Keys: down, Clock: fixedClock(f.vec.Now)})
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), f.sign(t, f.header(), f.claims()))
	require.ErrorIs(t, err, verifier.ReasonJWKSUnavailable)
	require.ErrorIs(t, err, jwks.ErrUnavailable)
}

type unavailableSource struct{}

func (unavailableSource) Key(context.Context, string) (jwks.Key, error) {
	return jwks.Key{}, fmt.Errorf("fetch: connection refused: %w", jwks.ErrUnavailable)
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := verifier.New(verifier.Config{})
	require.ErrorContains(t, err, "Keys")
	_, err = verifier.New(verifier.Config{Keys: f.keys, Issuer: "clerk.example.com"})
	require.ErrorContains(t, err, "absolute URL")
	_, err = verifier.New(verifier.Config{Keys: f.keys, AuthorizedParties: []string{" "}})
	require.ErrorContains(t, err, "empty authorized party")
}
