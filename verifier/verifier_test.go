package verifier_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// fixture is a verifier with a trusted RSA key, an EC key, RS384 and
// RS512 keys, and the trusted key once more as a Key literal.
type fixture struct {
	vec     testkit.Vectors
	key     *rsa.PrivateKey
	foreign *rsa.PrivateKey
	keys    keySet
	kid     string
}

const (
	ecKid      = "ins_ec_key"
	rs384Kid   = "ins_rs384_key"
	rs512Kid   = "ins_rs512_key"
	literalKid = "ins_literal_key"
)

func mustKey(t testing.TB, kid, alg string, pub crypto.PublicKey) jwks.Key {
	t.Helper()
	k, err := jwks.NewKey(kid, alg, pub)
	require.NoError(t, err)
	return k
}

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
	f.keys[ecKid] = mustKey(t, ecKid, "ES256", &ec.PublicKey)
	f.keys[rs384Kid] = mustKey(t, rs384Kid, "RS384", &f.key.PublicKey)
	f.keys[rs512Kid] = mustKey(t, rs512Kid, "RS512", &f.key.PublicKey)
	// A Key built as a literal, not through jwks.NewKey, by a Source of
	// someone's own: it is prepared on each use, with the same checks.
	f.keys[literalKid] = jwks.Key{ID: literalKid, Algorithm: "RS256", Public: &f.key.PublicKey}
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

func (f *fixture) attackSetup(evilURL string) testkit.AttackSetup {
	return testkit.AttackSetup{
		Trusted: f.key, Kid: f.kid, RS512Kid: rs512Kid, ECKid: ecKid, Foreign: f.foreign,
		EvilURL: evilURL, Header: f.header(), Claims: f.claims(), Now: f.vec.Now,
	}
}

func (f *fixture) header() map[string]any { return testkit.Header(f.kid) }

func (f *fixture) claims() map[string]any { return f.vec.Claims("user_123", "sess_123") }

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

	// An attacker's key server, named by jku/x5u: it must never be contacted.
	var contacted atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { contacted.Add(1) }))
	t.Cleanup(evil.Close)
	cases := testkit.Attacks(t, f.attackSetup(evil.URL))
	valid := f.sign(t, h, c)

	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), tc.Token)
			require.Nil(t, claims)
			require.ErrorIs(t, err, tc.Reason)
			var ve *verifier.Error
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.Reason, ve.Reason)
			switch tc.Reason {
			case verifier.ReasonTokenExpired:
			case verifier.ReasonSessionPending:
				// Valid but for sts, checked last: its claims are authentic.
				require.NotNil(t, ve.Claims)
				require.Equal(t, "pending", ve.Claims.SessionStatus)
			default:
				require.Nil(t, ve.Claims, "only an expired token or a pending session's may carry claims")
			}
		})
	}
	require.Zero(t, contacted.Load(), "the verifier contacted a URL named in a token header")

	// The untouched token passes, so each case above failed for its own reason.
	_, err := v.Verify(context.Background(), valid)
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
		{"unknown header fields", nil, f.sign(t, testkit.With(h, "oiat", 1, "x5u", "https://127.0.0.1:1/"), c)},
		{"session category", nil, f.sign(t, testkit.With(h, "cat", "cl_B7d4PD111AAA"), c)},
		{"ignore-categories value", nil, f.sign(t, testkit.With(h, "cat", "cl_I7d4PD111III"), c)},
		{"header as Clerk sends it", nil, testkit.SignRawRS(t, f.key, crypto.SHA256, `{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"`+f.kid+`","typ":"JWT"}`, testkit.JSONWith(c))},
		{"escaped names and values", nil, testkit.SignRawRS(t, f.key, crypto.SHA256, `{"\u0061lg":"RS256","kid":"`+f.kid+`"}`, testkit.JSONWith(testkit.With(c, "sub", nil), `"s\u0075b":"user_\u00e9"`))},
		{"machine-looking subject of a user", nil, f.sign(t, h, testkit.With(c, "sub", "user_mch_1"))},
		{"jku on a genuine token is ignored", nil, f.sign(t, testkit.With(h, "jku", "http://127.0.0.1:1/"), c)},
		{"RS512 key declaring RS512", nil, testkit.SignRS(t, f.key, crypto.SHA512, testkit.With(h, "alg", "RS512", "kid", rs512Kid), c)},
		{"RS384 key declaring RS384", nil, testkit.SignRS(t, f.key, crypto.SHA384, testkit.With(h, "alg", "RS384", "kid", rs384Kid), c)},
		{"Key literal from a Source of one's own", nil, f.sign(t, testkit.With(h, "kid", literalKid), c)},
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

// TestWeakKeyRefusedWhateverTheSource: jwks refuses RSA keys under 2048
// bits, but a Source of one's own may hand one over as a Key literal. A
// token it signs must still be refused: a 1024-bit key is within reach of
// a well-funded attacker.
func TestWeakKeyRefusedWhateverTheSource(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	_, err = jwks.NewKey("weak", "RS256", &weak.PublicKey)
	require.ErrorContains(t, err, "1024 bits")
	v, err := verifier.New(verifier.Config{
		Keys:   keySet{"weak": {ID: "weak", Algorithm: "RS256", Public: &weak.PublicKey}},
		Issuer: f.vec.Issuer,
		Clock:  fixedClock(f.vec.Now),
	})
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), testkit.SignRS(t, weak, crypto.SHA256, testkit.With(f.header(), "kid", "weak"), f.claims()))
	require.ErrorIs(t, err, verifier.ReasonSignatureInvalid)
	require.ErrorContains(t, err, "1024 bits")
}

// TestRSAHashesAreNotInterchangeable: a key declaring RS384 or RS512 only
// verifies its own hash, and a signature over one hash never passes as
// another's, even when the header names the right algorithm for the kid.
func TestRSAHashesAreNotInterchangeable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	h, c := f.header(), f.claims()
	for _, tc := range []struct {
		name   string
		token  string
		reason verifier.Reason
	}{
		{"RS256 signature, header says RS384", testkit.SignRS(t, f.key, crypto.SHA256, testkit.With(h, "alg", "RS384", "kid", rs384Kid), c), verifier.ReasonSignatureInvalid},
		{"RS512 signature, header says RS384", testkit.SignRS(t, f.key, crypto.SHA512, testkit.With(h, "alg", "RS384", "kid", rs384Kid), c), verifier.ReasonSignatureInvalid},
		{"RS384 signature, header says RS512", testkit.SignRS(t, f.key, crypto.SHA384, testkit.With(h, "alg", "RS512", "kid", rs512Kid), c), verifier.ReasonSignatureInvalid},
		{"RS384 header on the RS512 key", testkit.SignRS(t, f.key, crypto.SHA384, testkit.With(h, "alg", "RS384", "kid", rs512Kid), c), verifier.ReasonAlgorithmNotAllowed},
		{"RS384 header on the RS256 key", testkit.SignRS(t, f.key, crypto.SHA384, testkit.With(h, "alg", "RS384"), c), verifier.ReasonAlgorithmNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			require.ErrorIs(t, err, tc.reason)
		})
	}
}

// TestAuthorizedPartyBeforeIssuer: a token wrong in both azp and iss is
// refused for its azp, as Clerk's verifyJwt checks them in that order, so
// x-clerk-auth-reason says the same on both sides.
func TestAuthorizedPartyBeforeIssuer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	both := testkit.With(testkit.With(f.claims(), "iss", "https://clerk.other.example"), "azp", "https://evil.example")
	_, err := v.Verify(context.Background(), f.sign(t, f.header(), both))
	require.ErrorIs(t, err, verifier.ReasonAuthorizedPartyInvalid)

	// Each alone is still refused for itself.
	_, err = v.Verify(context.Background(), f.sign(t, f.header(), testkit.With(f.claims(), "iss", "https://clerk.other.example")))
	require.ErrorIs(t, err, verifier.ReasonIssuerInvalid)
	_, err = v.Verify(context.Background(), f.sign(t, f.header(), testkit.With(f.claims(), "azp", "https://evil.example")))
	require.ErrorIs(t, err, verifier.ReasonAuthorizedPartyInvalid)
}
