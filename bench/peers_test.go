package bench_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/clerk/clerk-sdk-go/v2"
	clerkjwt "github.com/clerk/clerk-sdk-go/v2/jwt"
	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/verifier"
)

// Every peer verifies the same token: a Clerk session token in Clerk's
// version 2 format (azp, exp, iat, iss, jti, nbf, sid, sts, sub, v) minted
// by clerktest with a 2048-bit RS256 key, plus an aud claim because
// auth0's validator insists on one.
// It lives an hour instead of Clerk's 60 s so that a long -count run does
// not outlive it; nothing else about it differs from a real one.
const (
	benchUser     = "user_bench"
	benchAudience = "https://api.example.com"
	// skew is the clock leeway every peer is given, Clerk's 5 s.
	skew = 5 * time.Second
)

// fixture is the fake Clerk instance and what each peer needs from it.
type fixture struct {
	fake   *clerktest.Server
	token  string
	forged string // the token's header and payload with another token's signature
	jwks   []byte
	pub    *rsa.PublicKey
}

// theFixture is made once per test binary: RSA key generation takes a
// noticeable fraction of a second, and every benchmark shares the token.
var theFixture = sync.OnceValues(func() (*fixture, error) {
	fake := clerktest.New()
	sess := fake.CreateSession(benchUser)
	mint := func(iat time.Time) string {
		return fake.Token(sess.ID,
			clerktest.V2(),
			clerktest.IssuedAt(iat),
			clerktest.ExpiresIn(time.Hour),
			clerktest.WithClaims(map[string]any{"aud": benchAudience}))
	}
	now := time.Now()
	f := &fixture{fake: fake, token: mint(now), jwks: fake.JWKS()}
	other := mint(now.Add(-time.Second))
	f.forged = f.token[:strings.LastIndexByte(f.token, '.')] + other[strings.LastIndexByte(other, '.'):]

	set, err := jwk.Parse(f.jwks)
	if err != nil {
		return nil, err
	}
	key, _ := set.Key(0)
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, err
	}
	var ok bool
	if f.pub, ok = raw.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("the fake's JWKS holds a %T, want an RSA key", raw)
	}
	return f, nil
})

func getFixture(tb testing.TB) *fixture {
	tb.Helper()
	f, err := theFixture()
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// verifyFunc verifies one token and returns its subject.
type verifyFunc func(ctx context.Context, token string) (string, error)

// peer is one way to verify a Clerk session token. setup does everything
// an application does once at start-up (parse keys, build a parser), so
// that the benchmark times only what a request pays.
type peer struct {
	name  string
	setup func(tb testing.TB, f *fixture) verifyFunc
}

var peers = []peer{
	{"clerkgate/cold", func(tb testing.TB, f *fixture) verifyFunc { return clerkgateVerifier(tb, f, -1) }},
	{"clerkgate/warm", func(tb testing.TB, f *fixture) verifyFunc { return clerkgateVerifier(tb, f, 0) }},
	{"clerk-sdk-go", clerkSDKVerifier},
	{"golang-jwt", golangJWTVerifier},
	{"jwx", jwxVerifier},
	{"auth0-validator", auth0Verifier},
}

// clerkgateVerifier is package verifier's Verifier as a Gate builds it
// (the Gate's own is not exported: a policy's AuthenticateToken adds the
// lifetime and revocation checks, which no peer makes), with its keys
// fetched from the fake's Backend API before the first timed call and the
// instance's issuer required. cacheSize -1 disables the verified-token
// cache, so every call is the cold path; 0 keeps the default cache.
func clerkgateVerifier(tb testing.TB, f *fixture, cacheSize int) verifyFunc {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := jwks.NewBackendAPI(context.Background(), f.fake.URL(), f.fake.SecretKey(), jwks.RemoteConfig{
		Logger: slog.New(slog.DiscardHandler), // the INFO lines would sit among the results
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { keys.Close() })
	if err := keys.Check(ctx); err != nil {
		tb.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{Keys: keys, Issuer: f.fake.Issuer(), CacheSize: cacheSize})
	if err != nil {
		tb.Fatal(err)
	}
	return func(ctx context.Context, token string) (string, error) {
		c, err := v.Verify(ctx, token)
		if err != nil {
			return "", err
		}
		return c.Subject, nil
	}
}

// clerkSDKVerifier is clerk-sdk-go v2's jwt.Verify with the JWK already
// parsed, as its middleware calls it once the key is in its cache.
func clerkSDKVerifier(tb testing.TB, f *fixture) verifyFunc {
	var set clerk.JSONWebKeySet
	if err := json.Unmarshal(f.jwks, &set); err != nil {
		tb.Fatal(err)
	}
	key := set.Keys[0]
	return func(ctx context.Context, token string) (string, error) {
		c, err := clerkjwt.Verify(ctx, &clerkjwt.VerifyParams{Token: token, JWK: key, Leeway: skew})
		if err != nil {
			return "", err
		}
		return c.Subject, nil
	}
}

// golangJWTClaims is what an application decodes with golang-jwt: the
// registered claims and Clerk's session id and authorized party.
type golangJWTClaims struct {
	gojwt.RegisteredClaims
	SessionID       string `json:"sid"`
	AuthorizedParty string `json:"azp"`
}

// golangJWTVerifier is golang-jwt v5 with a static RSA key, pinned to
// RS256, with the issuer checked and exp required.
func golangJWTVerifier(tb testing.TB, f *fixture) verifyFunc {
	parser := gojwt.NewParser(
		gojwt.WithValidMethods([]string{"RS256"}),
		gojwt.WithIssuer(f.fake.Issuer()),
		gojwt.WithExpirationRequired(),
		gojwt.WithLeeway(skew),
	)
	keyFunc := func(*gojwt.Token) (any, error) { return f.pub, nil }
	return func(_ context.Context, token string) (string, error) {
		var c golangJWTClaims
		if _, err := parser.ParseWithClaims(token, &c, keyFunc); err != nil {
			return "", err
		}
		return c.Subject, nil
	}
}

// jwxVerifier is jwx v3's high-level jwt.Parse against the parsed key set,
// validating the token's times and issuer.
func jwxVerifier(tb testing.TB, f *fixture) verifyFunc {
	set, err := jwk.Parse(f.jwks)
	if err != nil {
		tb.Fatal(err)
	}
	return func(_ context.Context, token string) (string, error) {
		t, err := jwxjwt.ParseString(token,
			jwxjwt.WithKeySet(set),
			jwxjwt.WithValidate(true),
			jwxjwt.WithIssuer(f.fake.Issuer()),
			jwxjwt.WithAcceptableSkew(skew))
		if err != nil {
			return "", err
		}
		sub, _ := t.Subject()
		return sub, nil
	}
}

// auth0Verifier is auth0 go-jwt-middleware v2's validator, which the
// middleware runs on every request, with a static RSA key.
func auth0Verifier(tb testing.TB, f *fixture) verifyFunc {
	v, err := validator.New(
		func(context.Context) (any, error) { return f.pub, nil },
		validator.RS256,
		f.fake.Issuer(),
		[]string{benchAudience},
		validator.WithAllowedClockSkew(skew),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return func(ctx context.Context, token string) (string, error) {
		res, err := v.ValidateToken(ctx, token)
		if err != nil {
			return "", err
		}
		c, ok := res.(*validator.ValidatedClaims)
		if !ok {
			return "", errors.New("auth0 validator returned no claims")
		}
		return c.RegisteredClaims.Subject, nil
	}
}

// floor checks the token's signature with the standard library and nothing
// else: the cost no verifier can go below. Decoding the signature is left
// out, as in verifier's own floor benchmark.
type floor struct {
	pub    *rsa.PublicKey
	signed []byte
	sig    []byte
}

func newFloor(tb testing.TB, f *fixture, token string) floor {
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil {
		tb.Fatal(err)
	}
	return floor{pub: f.pub, signed: []byte(token[:i]), sig: sig}
}

func (fl floor) verify() error {
	d := sha256.Sum256(fl.signed)
	return rsa.VerifyPKCS1v15(fl.pub, crypto.SHA256, d[:], fl.sig)
}

// TestPeersVerify makes sure every benchmarked verifier really verifies:
// it accepts the token, reports its subject, and refuses the same header
// and payload under another token's signature.
func TestPeersVerify(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			verify := p.setup(t, f)
			for range 2 { // the second call is a cache hit for clerkgate/warm
				sub, err := verify(ctx, f.token)
				if err != nil || sub != benchUser {
					t.Fatalf("verify = %q, %v; want %q", sub, err, benchUser)
				}
			}
			if sub, err := verify(ctx, f.forged); err == nil {
				t.Fatalf("forged token accepted (sub %q)", sub)
			}
		})
	}
	t.Run("floor", func(t *testing.T) {
		if err := newFloor(t, f, f.token).verify(); err != nil {
			t.Fatal(err)
		}
		if newFloor(t, f, f.forged).verify() == nil {
			t.Fatal("forged signature accepted")
		}
	})
}

// BenchmarkVerify times one verification per peer, and the floor, in one
// run. Compare each peer's ns/op with floor's.
func BenchmarkVerify(b *testing.B) {
	f := getFixture(b)
	b.Run("floor", func(b *testing.B) {
		fl := newFloor(b, f, f.token)
		b.ReportAllocs()
		for b.Loop() {
			if err := fl.verify(); err != nil {
				b.Fatal(err)
			}
		}
	})
	ctx := context.Background()
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			verify := p.setup(b, f)
			// One call outside the timing: it fills clerkgate/warm's cache
			// and proves the token passes before it is timed.
			if _, err := verify(ctx, f.token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				sub, err := verify(ctx, f.token)
				if err != nil || sub != benchUser {
					b.Fatalf("verify = %q, %v", sub, err)
				}
			}
		})
	}
}
