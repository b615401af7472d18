package clerktest

import (
	"crypto/rsa"
	"maps"
	"slices"
	"strings"
	"time"
)

// Option configures a Server in New.
type Option interface{ applyServer(*config) }

// SessionOption configures a session made by Server.CreateSession.
type SessionOption interface{ applySession(*sessionConfig) }

// TokenOption shapes one token minted by Server.Token.
type TokenOption interface{ applyToken(*tokenConfig) }

// ServerTokenOption is an option that works both in New (where it sets a
// default for every token the server mints) and in Server.Token (where it
// applies to that one token).
type ServerTokenOption interface {
	Option
	TokenOption
}

// SessionTokenOption is an option that works both in Server.CreateSession
// (where it describes the session, so every token for it carries it,
// including the ones the refresh endpoint mints) and in Server.Token (where
// it overrides the session for that one token).
type SessionTokenOption interface {
	SessionOption
	TokenOption
}

type config struct {
	host        string
	clock       func() time.Time
	azp         *string
	templates   map[string]map[string]any
	keyBits     int
	retiredKeys int
	lifetime    time.Duration
	hsFormat    string
	localFAPI   bool
	proxyURL    string
	plainFAPI   bool
}

type serverOption func(*config)

func (f serverOption) applyServer(c *config) { f(c) }

type sessionOption func(*sessionConfig)

func (f sessionOption) applySession(c *sessionConfig) { f(c) }

type tokenOption func(*tokenConfig)

func (f tokenOption) applyToken(c *tokenConfig) { f(c) }

// WithFrontendHost sets the Frontend API host of the fake instance, such as
// "clerk.example.com". It decides the issuer, the publishable key and the
// cookie suffix. A scheme or trailing slash is dropped. The default is
// "clerk.<random>.lcl.dev", so two servers never share an issuer.
func WithFrontendHost(host string) Option {
	return serverOption(func(c *config) {
		host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
		c.host = strings.TrimRight(host, "/")
	})
}

// WithClock sets the clock behind everything time-based: token iat/exp/nbf,
// session timestamps and the refresh age window. Tests freeze or advance it
// to reach expiry without sleeping. Network faults (latency, drip) use real
// time. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return serverOption(func(c *config) { c.clock = now })
}

// WithTemplate defines a JWT template served by
// POST /v1/sessions/{id}/tokens/{name}. Its claims are copied into the token
// as given (no shortcode interpolation); they cannot override the claims
// every session token carries (azp, exp, iat, iss, nbf, sid, sub, jti, v).
func WithTemplate(name string, claims map[string]any) Option {
	claims = maps.Clone(claims)
	return serverOption(func(c *config) {
		if c.templates == nil {
			c.templates = make(map[string]map[string]any)
		}
		c.templates[name] = claims
	})
}

// WithKeyBits sets the RSA modulus size of the signing keys. Values below
// 2048 are raised to 2048, the smallest size Clerk-compatible verifiers
// should accept. The default is 2048.
func WithKeyBits(bits int) Option {
	return serverOption(func(c *config) { c.keyBits = bits })
}

// WithRetiredKeys makes the JWKS keep serving the n most recent keys that
// RotateKey replaced, next to the current one, the way an instance keeps an
// old key published while its tokens age out. The default, 0, serves only
// the current key after a rotation.
func WithRetiredKeys(n int) Option {
	return serverOption(func(c *config) { c.retiredKeys = max(n, 0) })
}

type azpOption string

func (o azpOption) applyServer(c *config) { v := string(o); c.azp = &v }

func (o azpOption) applyToken(c *tokenConfig) { v := string(o); c.azp = &v }

// WithAuthorizedParty sets the azp claim: in New, the default for every
// token the server mints (the default default is "http://localhost:3000");
// in Server.Token, the azp of that token. An empty azp leaves the claim out.
// The refresh endpoint always uses the request's request_origin instead.
func WithAuthorizedParty(azp string) ServerTokenOption { return azpOption(azp) }

type orgMembership struct {
	id, slug, role string
	perms          []string
}

type orgOption orgMembership

func (o orgOption) applySession(c *sessionConfig) { m := orgMembership(o); c.org = &m }

func (o orgOption) applyToken(c *tokenConfig) { m := orgMembership(o); c.org = &m }

// WithOrg makes the session (or one token) carry an active organization
// membership. role may be given with or without the "org:" prefix;
// permissions are full permission keys such as "org:dashboard:read".
//
// Version 1 tokens get org_id, org_slug, org_role ("org:admin") and
// org_permissions. Version 2 tokens (V2) get the compact form: a top-level
// fea listing the organization features ("o:dashboard,o:teams") and
// o = {id, slg, rol ("admin"), per, fpm}, where per lists the distinct
// permission names in order of first appearance and fpm holds, per
// feature, a bit mask over per (lowest bit = first name). Permissions not
// of the form org:<feature>:<name> appear only in v1 tokens.
func WithOrg(id, slug, role string, permissions ...string) SessionTokenOption {
	return orgOption{id: id, slug: slug, role: role, perms: slices.Clone(permissions)}
}

// WithClient puts the session on the given client (a browser), so several
// sessions can share one client as in Clerk's multi-session mode. By
// default each session gets a client of its own.
func WithClient(clientID string) SessionOption {
	return sessionOption(func(c *sessionConfig) { c.clientID = clientID })
}

// Expired mints a token that expired about a minute ago: its exp is one
// minute before now and iat one lifetime (60 s unless ExpiresIn) earlier.
// The signature is still valid, so it is exactly what a browser sends after
// its tab slept, and what the refresh endpoint expects.
func Expired() TokenOption { return tokenOption(func(c *tokenConfig) { c.expired = true }) }

// ExpiresIn sets the token lifetime (exp − iat). The default is 60 s.
func ExpiresIn(d time.Duration) TokenOption {
	return tokenOption(func(c *tokenConfig) { c.lifetime = d })
}

// IssuedAt sets iat (and with it nbf and exp) instead of the clock's now.
func IssuedAt(t time.Time) TokenOption {
	return tokenOption(func(c *tokenConfig) { c.issuedAt = t })
}

// V2 mints Clerk's version 2 token format: "v":2, jti, sts, and the compact
// organization claims (see WithOrg). The refresh endpoint answers a v2
// expired token with a v2 token.
func V2() TokenOption { return tokenOption(func(c *tokenConfig) { c.v2 = true }) }

// Pending marks the session as having pending tasks: sts is "pending"
// (in v1 tokens too, where sts is otherwise absent).
func Pending() TokenOption { return tokenOption(func(c *tokenConfig) { c.pending = true }) }

// WithClaims adds or overrides payload claims after all others are set, with
// any JSON value, including ones of the wrong type (exp as a string). A nil
// value removes the claim. Repeated uses merge.
func WithClaims(claims map[string]any) TokenOption {
	claims = maps.Clone(claims)
	return tokenOption(func(c *tokenConfig) {
		if c.claims == nil {
			c.claims = make(map[string]any)
		}
		maps.Copy(c.claims, claims)
	})
}

// WithHeader adds or overrides JOSE header fields (alg, kid, typ, crit, …).
// A nil value removes the field. The signature is always RS256 over the
// final header, whatever alg says.
func WithHeader(header map[string]any) TokenOption {
	header = maps.Clone(header)
	return tokenOption(func(c *tokenConfig) {
		if c.header == nil {
			c.header = make(map[string]any)
		}
		maps.Copy(c.header, header)
	})
}

// WithIssuer sets the iss claim. The default is Server.Issuer. The refresh
// and verify endpoints refuse tokens with another issuer.
func WithIssuer(iss string) TokenOption {
	return tokenOption(func(c *tokenConfig) { c.iss = &iss })
}

// SignedWith signs the token with a foreign key and names kid in the header,
// to mint tokens the server's JWKS cannot verify.
func SignedWith(key *rsa.PrivateKey, kid string) TokenOption {
	return tokenOption(func(c *tokenConfig) { c.key, c.kid = key, kid })
}

// WithTokenLifetime sets the lifetime (exp − iat) of every session token
// the server mints unless ExpiresIn says otherwise: Token, the refresh
// endpoint and the Frontend API's handshake. Browser tests shorten it to
// reach expiry in seconds. The default is DefaultTokenLifetime (60 s).
func WithTokenLifetime(d time.Duration) Option {
	return serverOption(func(c *config) { c.lifetime = max(d, 0) })
}

// WithHandshakeFormat makes the Frontend API's handshake answer in format
// ("nonce" or "token") whatever the redirect asks for. By default it
// answers as asked: a __clerk_handshake_nonce for format=nonce, a signed
// __clerk_handshake token otherwise.
func WithHandshakeFormat(format string) Option {
	return serverOption(func(c *config) { c.hsFormat = format })
}

// WithLocalFrontendAPI makes the instance's Frontend API host the fake's
// own Frontend API (FrontendURL's "127.0.0.1:port"): the publishable key
// encodes it, so a Gate configured from the keys sends its handshakes
// there, and tokens carry "https://127.0.0.1:port" as their issuer. Use it
// for page loads and dev mode. Without it the host is
// "clerk.<random>.lcl.dev", an issuer of the shape Clerk's own SDKs
// insist on, and handshakes go nowhere. It wins over WithFrontendHost.
func WithLocalFrontendAPI() Option {
	return serverOption(func(c *config) { c.localFAPI = true })
}

// WithProxyURL gives the instance a Frontend API proxy at proxyURL (such
// as "http://localhost:3000/__clerk"), as the dashboard's proxy setting
// does: tokens carry it as their issuer, and the Frontend API serves a
// proxied request (one with Clerk-Proxy-Url) only when its Clerk-Proxy-Url
// is proxyURL and its Clerk-Secret-Key the instance's. A trailing slash is
// dropped.
func WithProxyURL(proxyURL string) Option {
	return serverOption(func(c *config) { c.proxyURL = strings.TrimRight(proxyURL, "/") })
}

// WithPlainFrontendAPI is WithLocalFrontendAPI with the Frontend API on
// plain http ("http://127.0.0.1:port"), so that a browser of your own
// reaches it without a certificate warning: dev mode uses it. A Gate then
// sends its handshakes there only as to a Frontend API proxy, so Config
// sets ProxyURL to FrontendURL() and Issuer to Issuer() (tokens still
// carry "https://127.0.0.1:port").
func WithPlainFrontendAPI() Option {
	return serverOption(func(c *config) { c.localFAPI, c.plainFAPI = true, true })
}

// WithFeatures adds billing features to the fea claim, each as
// "<scope>:<id>" with scope "u" (user), "o" (organization) or "ou" (both),
// e.g. WithFeatures("u:chat", "o:dashboard"). In a v2 token they follow
// the organization features WithOrg puts there.
func WithFeatures(features ...string) TokenOption {
	features = slices.Clone(features)
	return tokenOption(func(c *tokenConfig) { c.features = append(c.features, features...) })
}

// WithPlans sets the pla claim to the billing plans, scoped as in
// WithFeatures, e.g. WithPlans("u:free", "o:pro").
func WithPlans(plans ...string) TokenOption {
	plans = slices.Clone(plans)
	return tokenOption(func(c *tokenConfig) { c.plans = plans })
}

// WithFactorVerificationAge sets the fva claim of an instance that has
// reverification turned on: the minutes since the user last verified their
// first and their second factor, -1 for a factor group they have not
// enabled. Without it a token has no fva, as on instances that have not
// opted in, and no reverification check passes.
func WithFactorVerificationAge(first, second int) TokenOption {
	return tokenOption(func(c *tokenConfig) { c.fva = []int{first, second} })
}
