package verifier

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/jwks"
)

// DefaultClockSkew is the leeway for exp, nbf and iat, the same as Clerk's SDKs.
const DefaultClockSkew = 5 * time.Second

// Config configures a Verifier. The zero value of each optional field is a
// sensible default.
type Config struct {
	// Keys supplies verification keys by kid. Required.
	Keys jwks.Source

	// Issuer, when set, is the exact iss every token must carry:
	// "https://<frontend host>" for a publishable key, or the proxy URL for
	// apps that proxy Clerk's Frontend API. When empty, iss must merely
	// look like a Clerk Frontend API URL ("https://clerk.…" or
	// "https://….clerk.accounts.dev"). Set it whenever you can: it is what
	// stops a token minted by another Clerk instance that shares nothing
	// with you but a key source you configured by mistake. A trailing "/"
	// is dropped ("https://clerk.example.com/" means
	// "https://clerk.example.com"): Clerk's iss never ends in one, and an
	// exact comparison would otherwise refuse every token.
	Issuer string

	// AuthorizedParties, when non-empty, lists the origins allowed in azp
	// (e.g. "https://app.example.com"). A token without azp is then refused.
	// It stops tokens minted for another origin (another app on the
	// instance); set it in production. It is no defence against cross-site
	// request forgery: azp names the origin the token was minted for, not
	// the origin of the page that sent the request, and a forged request
	// carries the user's genuine cookie. The HTTP Gate refuses those by the
	// request's origin (clerkgate.ReasonCrossOrigin).
	// Each entry is trimmed of surrounding spaces and one trailing "/", as
	// an origin has no path; azp itself is compared exactly.
	AuthorizedParties []string

	// AllowPending accepts sessions with sts "pending" (tasks outstanding,
	// such as choosing an organization). Clerk treats them as signed out,
	// and so do we unless the app opts in.
	AllowPending bool

	// ClockSkew is the leeway for time claims. Zero means DefaultClockSkew;
	// a negative value means no leeway at all.
	ClockSkew time.Duration

	// Clock returns the current time. Nil means time.Now. Tests inject a
	// fixed clock.
	Clock func() time.Time

	// CacheSize is how many verified tokens to remember, so that a token
	// seen again (a browser sends the same one for its whole 60 s life)
	// costs a map lookup instead of an RSA check. Zero means
	// DefaultCacheSize; negative disables the cache. A hit still rechecks
	// the clock and that the signing key is still in the key set.
	CacheSize int
}

// Verifier checks Clerk session tokens. It is safe for concurrent use and
// never calls Clerk itself: the key source is its only dependency.
type Verifier struct {
	keys    jwks.Source
	issuer  string
	parties map[string]struct{}
	pending bool
	skew    int64
	now     func() time.Time
	cache   *tokenCache // nil when disabled
}

// New validates cfg and returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	if cfg.Keys == nil {
		return nil, errors.New("verifier: Config.Keys is required")
	}
	if cfg.Issuer != "" && !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		return nil, fmt.Errorf("verifier: issuer %q must be an absolute URL", cfg.Issuer)
	}
	v := &Verifier{
		keys:    cfg.Keys,
		issuer:  strings.TrimSuffix(cfg.Issuer, "/"),
		pending: cfg.AllowPending,
		now:     cfg.Clock,
	}
	switch {
	case cfg.ClockSkew == 0:
		v.skew = int64(DefaultClockSkew / time.Second)
	case cfg.ClockSkew > 0:
		v.skew = int64(cfg.ClockSkew / time.Second)
	}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case cfg.CacheSize == 0:
		v.cache = newTokenCache(DefaultCacheSize)
	case cfg.CacheSize > 0:
		v.cache = newTokenCache(cfg.CacheSize)
	}
	if len(cfg.AuthorizedParties) > 0 {
		v.parties = make(map[string]struct{}, len(cfg.AuthorizedParties))
		for _, p := range cfg.AuthorizedParties {
			p = strings.TrimSuffix(strings.TrimSpace(p), "/")
			if p == "" {
				return nil, errors.New("verifier: empty authorized party")
			}
			v.parties[p] = struct{}{}
		}
	}
	return v, nil
}

// Verify checks token and returns its claims. Every failure is an *Error
// whose Reason says why; see the Reason constants for the order of checks.
// When the token's only fault is that it expired, the *Error carries the
// authentic claims so that the caller can refresh the session.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	return v.VerifyAt(ctx, token, v.now())
}

// VerifyAt is Verify at the instant now instead of the Verifier's clock's
// reading: a caller that decides a whole request (a page load's cookies,
// then its token) decides it at one instant, and reads the clock once.
func (v *Verifier) VerifyAt(ctx context.Context, token string, now time.Time) (*Claims, error) {
	c, err := v.verify(ctx, token, now.Unix())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyWithClockSkew is Verify with another leeway for exp, nbf and iat,
// for the one place Clerk's protocol widens it: a development instance's
// handshake that brings a session token the clock refuses, which Clerk
// re-verifies with 24 hours of leeway (a developer's machine whose clock
// is off). It bypasses the cache both ways.
func (v *Verifier) VerifyWithClockSkew(ctx context.Context, token string, skew time.Duration) (*Claims, error) {
	c, err := v.verifyUncached(ctx, token, int64(skew/time.Second))
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (v *Verifier) verify(ctx context.Context, token string, now int64) (*Claims, *Error) {
	if v.cache != nil {
		if c, err, ok := v.lookup(ctx, token, now); ok {
			return c, err
		}
	}
	c, kid, key, err := v.check(ctx, token, v.skew, now)
	if err != nil {
		return nil, err
	}
	v.remember(token, kid, key.Public, c)
	return c, nil
}

func (v *Verifier) verifyUncached(ctx context.Context, token string, skew int64) (*Claims, *Error) {
	c, _, _, err := v.check(ctx, token, skew, v.now().Unix())
	return c, err
}

// check verifies token with the given leeway at the Unix time now,
// without the cache.
func (v *Verifier) check(ctx context.Context, token string, skew, now int64) (*Claims, string, jwks.Key, *Error) {
	var key jwks.Key
	p, err := parse(token)
	if err != nil {
		return nil, "", key, err
	}
	h, err := hashFor(p.header.Alg)
	if err != nil {
		return nil, "", key, err
	}
	key, err = v.checkSignature(ctx, p.header.Kid, p.header.Alg, h, p.signed, p.sig64)
	if err != nil {
		return nil, "", key, err
	}
	var payloadBuf [1024]byte
	payload, derr := decodeSegment(payloadBuf[:0], p.payload64)
	if derr != nil {
		return nil, "", key, fail(ReasonTokenMalformed, "payload is not base64url: %v", derr)
	}
	c, err := decodeClaims(string(payload))
	if err != nil {
		return nil, "", key, err
	}
	if err := v.checkClaims(c); err != nil {
		return nil, "", key, err
	}
	if err := checkTime(c, now, skew); err != nil {
		if err.Reason == ReasonTokenExpired {
			err.Claims = c
		}
		return nil, "", key, err
	}
	if c.SessionStatus == "pending" && !v.pending {
		// Last, as Clerk's verifyToken does not look at sts: a token
		// refused for this reason alone is otherwise valid (a handshake
		// that gave it still resolves, as a pending session).
		err := fail(ReasonSessionPending, "session %s has pending tasks", c.SessionID)
		err.Claims = c
		return nil, "", key, err
	}
	return c, p.header.Kid, key, nil
}

// checkSignature finds the key kid names, checks that it allows alg, and
// verifies the signature over signed with it. Session tokens, machine JWTs
// and handshake tokens all go through it, so there is one signature path.
func (v *Verifier) checkSignature(ctx context.Context, kid, alg string, h crypto.Hash, signed, sig64 string) (jwks.Key, *Error) {
	key, kerr := v.keys.Key(ctx, kid)
	if kerr != nil {
		reason := ReasonKeyNotFound
		if errors.Is(kerr, jwks.ErrUnavailable) {
			reason = ReasonJWKSUnavailable
		}
		return key, &Error{Reason: reason, Detail: fmt.Sprintf("kid %q", kid), Err: kerr}
	}
	if err := checkKeyFits(key, alg); err != nil {
		return key, err
	}
	var sigBuf [512]byte
	sig, derr := decodeSegment(sigBuf[:0], sig64)
	if derr != nil {
		return key, fail(ReasonSignatureInvalid, "signature is not base64url: %v", derr)
	}
	var digestBuf [sha512.Size]byte
	if verr := key.VerifyPKCS1v15(h, digest(&digestBuf, h, signed), sig); verr != nil {
		if !errors.Is(verr, jwks.ErrSignature) {
			// The key itself is unusable (under 2048 bits, say): a Source
			// of someone's own handed it over. No token it signs is valid.
			return key, fail(ReasonSignatureInvalid, "key %q cannot verify: %v", key.ID, verr)
		}
		return key, fail(ReasonSignatureInvalid, "signature does not match key %q", key.ID)
	}
	return key, nil
}

// checkClaims runs the checks that do not depend on the clock, azp before
// iss as Clerk's verifyJwt runs them (assertAuthorizedPartiesClaim, then
// assertIssuerClaim), so a token wrong in both is refused for the same
// reason.
func (v *Verifier) checkClaims(c *Claims) *Error {
	if v.parties != nil {
		if c.AuthorizedParty == "" {
			return fail(ReasonAuthorizedPartyInvalid, "azp is missing")
		}
		if _, ok := v.parties[c.AuthorizedParty]; !ok {
			return fail(ReasonAuthorizedPartyInvalid, "azp %q is not an authorized party", c.AuthorizedParty)
		}
	}
	if v.issuer != "" {
		if c.Issuer != v.issuer {
			return fail(ReasonIssuerInvalid, "iss %q is not %q", c.Issuer, v.issuer)
		}
	} else if !looksLikeClerkIssuer(c.Issuer) {
		return fail(ReasonIssuerInvalid, "iss %q is not a Clerk Frontend API URL", c.Issuer)
	}
	return nil
}

// checkTime applies Clerk's boundaries: expired iff exp <= now - skew; not
// yet valid iff nbf or iat is later than now + skew.
func checkTime(c *Claims, now, skew int64) *Error {
	if c.Expiry <= now-skew {
		return fail(ReasonTokenExpired, "expired at %d, now %d", c.Expiry, now)
	}
	if c.NotBefore > now+skew {
		return fail(ReasonTokenNotYetValid, "nbf %d is after now %d", c.NotBefore, now)
	}
	if c.IssuedAt > now+skew {
		return fail(ReasonTokenNotYetValid, "iat %d is after now %d", c.IssuedAt, now)
	}
	return nil
}

// looksLikeClerkIssuer accepts the two shapes of Clerk Frontend API URLs:
// production and satellite domains ("https://clerk.example.com") and
// development instances ("https://foo-bar-12.clerk.accounts.dev"). Apps
// behind a Frontend API proxy must configure Issuer explicitly.
func looksLikeClerkIssuer(iss string) bool {
	host, ok := strings.CutPrefix(iss, "https://")
	if !ok || host == "" || strings.ContainsAny(host, "/?#@ ") {
		return false
	}
	return strings.HasPrefix(host, "clerk.") || strings.HasSuffix(host, ".clerk.accounts.dev")
}

// digest hashes the signing input with h into buf, which the caller keeps
// on its stack.
func digest(buf *[sha512.Size]byte, h crypto.Hash, signed string) []byte {
	switch h {
	case crypto.SHA384:
		*(*[sha512.Size384]byte)(buf[:]) = sha512.Sum384(readOnlyBytes(signed))
		return buf[:sha512.Size384]
	case crypto.SHA512:
		*buf = sha512.Sum512(readOnlyBytes(signed))
		return buf[:]
	}
	*(*[sha256.Size]byte)(buf[:]) = sha256.Sum256(readOnlyBytes(signed))
	return buf[:sha256.Size]
}

// hashFor vets the header's alg before any key lookup: only the RSA PKCS#1
// family is ever acceptable. "none" (in any case), HMAC, ECDSA, EdDSA and
// RSA-PSS are refused here, whatever key the kid names.
func hashFor(alg string) (crypto.Hash, *Error) {
	switch alg {
	case "RS256":
		return crypto.SHA256, nil
	case "RS384":
		return crypto.SHA384, nil
	case "RS512":
		return crypto.SHA512, nil
	}
	return 0, fail(ReasonAlgorithmNotAllowed, "alg %q is not allowed", alg)
}

// checkKeyFits lets the key, not the token, decide the algorithm: the key
// must be RSA, and alg must be the one the key declares, or RS256 for a
// key that declares none (Clerk's keys declare RS256).
func checkKeyFits(key jwks.Key, alg string) *Error {
	if _, ok := key.Public.(*rsa.PublicKey); !ok {
		return fail(ReasonAlgorithmNotAllowed, "alg %s does not fit key %q of type %T", alg, key.ID, key.Public)
	}
	want := key.Algorithm
	if want == "" {
		want = "RS256"
	}
	if alg != want {
		return fail(ReasonAlgorithmNotAllowed, "alg %s does not fit key %q, which declares %s", alg, key.ID, want)
	}
	return nil
}
