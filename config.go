package clerkgate

import (
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Config configures a Gate. Give it at least one key source: SecretKey,
// JWTKey or PublishableKey. The zero value of every other field is a
// sensible default.
type Config struct {
	// SecretKey is the instance's Backend API key (sk_test_…/sk_live_…,
	// env CLERK_SECRET_KEY). With it, keys come from the Backend API's
	// /v1/jwks, expired sessions can be refreshed, and Sessions() works.
	SecretKey string

	// PublishableKey (pk_test_…/pk_live_…, env CLERK_PUBLISHABLE_KEY)
	// names the instance's Frontend API host. It pins the issuer every
	// token must carry and the suffix of the instance's cookie names, so
	// set it in production even when SecretKey is set. Alone, it selects
	// the Frontend API's public JWKS as key source.
	PublishableKey string

	// APIURL is the Backend API base URL without /v1 (env CLERK_API_URL).
	// Default https://api.clerk.com. Tests point it at clerktest.
	APIURL string

	// JWTKey is the instance's PEM public key from the dashboard (env
	// CLERK_JWT_KEY). With it, verification never touches the network for
	// keys; it wins over the remote key sources.
	JWTKey string

	// AuthorizedParties lists the origins allowed in a token's azp claim
	// (env CLERK_AUTHORIZED_PARTIES, comma-separated), e.g.
	// "https://app.example.com". When set, a token without azp is refused.
	// Set it in production: it stops tokens minted for another origin.
	// They are also the origins whose pages may send state-changing
	// requests with the session cookie (see DisableCrossOriginProtection).
	AuthorizedParties []string

	// Issuer overrides the issuer derived from PublishableKey. Two setups
	// need it: a Frontend API proxy (see ProxyURL, which sets it for you),
	// and an app on a satellite domain, whose tokens are issued by the
	// satellite's own Frontend API ("https://clerk.<satellite domain>")
	// while the publishable key names the primary domain's. Without
	// Issuer or PublishableKey, iss must merely look like a Clerk Frontend
	// API URL; that accepts any Clerk instance whose keys you trust, so
	// prefer pinning it.
	Issuer string

	// ProxyURL is the URL of your Frontend API proxy, if you proxy Clerk
	// through your own domain (e.g. "https://app.example.com/__clerk", env
	// CLERK_PROXY_URL). Tokens then carry it as their issuer.
	ProxyURL string

	// InsecureAllowPendingSessions accepts sessions that still have tasks
	// (sts "pending"), which Clerk treats as signed out: a user who has
	// yet to choose an organization, or to set up a second factor or reset
	// a password the instance requires, is then let in. Set it only when
	// the app enforces the tasks itself (Claims.Pending tells them).
	InsecureAllowPendingSessions bool

	// ClockSkew is the leeway for exp/nbf/iat. Zero means 5 s; negative
	// means none; New refuses more than an hour.
	ClockSkew time.Duration

	// Clock returns the current time. Nil means time.Now.
	Clock func() time.Time

	// HTTPClient is used for key fetches and Backend API calls. Nil means
	// a client of the Gate's own.
	HTTPClient *http.Client

	// Keys configures fetching Clerk's signing keys. See KeysConfig.
	Keys KeysConfig

	// Refresh bounds the calls the Gate makes while a request waits, and
	// the refreshes of expired sessions. See RefreshConfig.
	Refresh RefreshConfig

	// TokenCacheSize is how many verified tokens to remember, so a token
	// seen again skips the RSA check (the clock and the key are rechecked on
	// every hit). Default 10,000, about 20 MiB with Clerk-sized tokens;
	// negative disables it. Gate.Stats().Tokens reports hits.
	TokenCacheSize int

	// MaxTokenLifetime is the longest lifetime (exp − iat) of a session
	// token the Gate accepts: one that lives longer, or carries no iat, is
	// refused (token_lifetime_invalid), and is never refreshed. Default
	// 60 s, the lifetime of every session token Clerk gives browsers;
	// raise it only to accept tokens from Sessions().CreateToken with a
	// longer ExpiresInSeconds (env CLERK_MAX_TOKEN_LIFETIME, a Go
	// duration such as 3h). A session revoked through the Gate is
	// refused for MaxTokenLifetime plus twice ClockSkew, which outlasts
	// every token of that session the Gate would accept; a longer
	// lifetime keeps revocations (and their memory) that much longer.
	// New refuses more than a year: a revocation kept that long protects
	// little, and a session token should never live that long.
	MaxTokenLifetime time.Duration

	// Store is where refresh outcomes and revoked sessions are kept. Nil
	// means an in-memory store of the Gate's own (sized by
	// Refresh.CacheSize), which is right for a single process. An app
	// running several replicas behind a load balancer gives each replica
	// a shared store, such as the Redis one in
	// github.com/clerkgate/clerkgate/stores/redis, so that a browser's
	// parallel requests make one refresh call across replicas and a
	// session revoked on one replica is refused by all within a second.
	// The Gate owns the Store: New starts it and Gate.Close closes it
	// (when New fails, closing it is left to the caller). Give each Gate
	// its own.
	Store Store

	// WebhookSigningSecret is the signing secret ("whsec_…") of the
	// endpoint Clerk delivers webhooks to, which Gate.Webhooks serves (env
	// CLERK_WEBHOOK_SIGNING_SECRET). Without it Gate.Webhooks refuses
	// every delivery. See docs/webhooks.md.
	WebhookSigningSecret string

	// InsecureTrustProxyHeaders trusts the X-Forwarded-* headers of every
	// peer, whatever its address, as TrustedProxies trusts those of the
	// proxies it lists: the request's origin comes from X-Forwarded-Proto
	// and X-Forwarded-Host, and the user's IP address is the rightmost
	// X-Forwarded-For hop. Set it only behind a proxy that overwrites
	// those headers and that every request goes through; otherwise
	// clients forge them, to shape the URL a browser is sent back to and
	// to pass as other clients in the per-client limits. Prefer
	// TrustedProxies, which names the proxies; with it set, this field
	// changes nothing.
	//
	// Behind a proxy that terminates TLS (a load balancer, an ingress),
	// set TrustedProxies (env CLERK_TRUSTED_PROXIES) to its addresses.
	// Without it the Gate sees every request as plain http, so a page load
	// whose Referer is the app's own https page looks like an arrival from
	// another site, and every signed-in click costs a handshake (a
	// redirect through Clerk's Frontend API) and a Backend API call. The
	// Gate logs a hint, once, when it sees X-Forwarded-Proto it does not
	// trust on a page load.
	InsecureTrustProxyHeaders bool

	// TrustedProxies are the addresses of the proxies in front of the app
	// whose X-Forwarded-* headers count (env CLERK_TRUSTED_PROXIES,
	// comma-separated addresses or prefixes, e.g. "10.0.0.0/8,127.0.0.1").
	// Headers of a request whose peer is not one of them are ignored, and
	// the user's IP address is the rightmost X-Forwarded-For hop that is
	// not one of them: every hop to its right was appended by a proxy you
	// trust, every hop to its left was written by the client.
	TrustedProxies []netip.Prefix

	// Pages configures server-rendered pages: the handshake, sign-in
	// redirects and satellites. See PagesConfig.
	Pages PagesConfig

	// DisableCrossOriginProtection turns off the Gate's defence against
	// cross-site request forgery, and is dangerous: any page, on any site,
	// can then make a signed-in user's browser POST, PUT, PATCH or DELETE
	// to the app with the session cookie, and the Gate accepts it. By
	// default a request with another method than GET, HEAD or OPTIONS
	// that carries its session in a cookie and comes from another origin
	// (by Sec-Fetch-Site, or an Origin that does not match Host) is
	// refused with 403 cross_origin_request, before its token is
	// verified; the origins in AuthorizedParties are trusted, so a front
	// end on app.example.com may call an API on api.example.com with
	// cookies. Requests with the token in the Authorization header, and
	// requests without browser headers, are never affected. Set it only
	// when every such route has a CSRF defence of its own.
	DisableCrossOriginProtection bool

	// ErrorHandler writes refusals. Nil means WriteError, the documented
	// failure contract.
	ErrorHandler func(http.ResponseWriter, *http.Request, *AuthError)

	// AcceptTokens is the token types Gate.Accept() accepts when a route
	// names none; nil means session tokens only.
	AcceptTokens []TokenType

	// Machine configures machine credentials: M2M tokens, API keys and
	// OAuth access tokens. See MachineConfig.
	Machine MachineConfig

	// Logger receives configuration warnings, key-fetch failures and
	// refresh failures. Nothing is logged per ordinary request. Nil means
	// slog.Default(): a refused secret key must never fail in silence. To
	// discard, pass slog.New(slog.DiscardHandler).
	Logger *slog.Logger

	// Observer receives the Gate's decisions, refreshes, handshakes and
	// key fetches, for metrics and traces; package
	// github.com/clerkgate/clerkgate/otel provides one for OpenTelemetry.
	// Nil costs nothing.
	Observer *Observer

	// badMaxLifetime is CLERK_MAX_TOKEN_LIFETIME as ConfigFromEnv read it,
	// when it was not a positive duration. ConfigFromEnv returns no error,
	// so New reports it, unless MaxTokenLifetime has been set since.
	badMaxLifetime string

	// badTrustedProxy is the first item of CLERK_TRUSTED_PROXIES that is
	// neither an address nor a prefix, as ConfigFromEnv read it: New
	// reports it, unless TrustedProxies has been set since.
	badTrustedProxy string

	// emptySecretKey is CLERK_SECRET_KEY present but blank as ConfigFromEnv
	// read it: New reports it, unless SecretKey has been set since.
	emptySecretKey bool
}

// KeysConfig configures fetching the signing keys of Clerk's JWKS (not
// used with Config.JWTKey). Zero values mean the defaults.
type KeysConfig struct {
	// RefreshInterval is how often keys are refetched in the background.
	// Default 1 h.
	RefreshInterval time.Duration

	// MinRefetchInterval limits refetches for tokens whose kid is unknown,
	// and Gate.Check's: at most one per interval, so tokens with made-up
	// kids cost at most one call to Clerk. Default 10 s.
	MinRefetchInterval time.Duration

	// FetchTimeout bounds one fetch. Default 5 s.
	FetchTimeout time.Duration
}

// RefreshConfig bounds the calls the Gate makes on a request's behalf,
// and above all the refreshes of expired sessions. One free sign-up gives
// anyone a genuine expired token, which passes every check up to the
// refresh; these limits bound what such requests can cost the app's
// Backend API quota. Zero values mean the defaults.
type RefreshConfig struct {
	// Timeout bounds every call the Gate makes while a request waits,
	// and its background calls, so that a hanging Clerk or Store never
	// holds a request longer: the Backend API call that refreshes an
	// expired session (and the wait for another replica's refresh of it),
	// the handshake nonce trades of page loads, the verification of an
	// opaque machine credential, each Store call, and the sharing of a
	// revocation or of a webhook's effect. Default 5 s.
	Timeout time.Duration

	// FailureWindow is how long, after a refresh of a session fails, the
	// Gate answers other refreshes of that session refresh_failed without
	// calling Clerk. It is shared by the Gates of a shared Store. Default
	// 10 s.
	FailureWindow time.Duration

	// MaxInFlight bounds the refresh calls this Gate makes at once, across
	// all sessions; past it a refresh is refused at once (refresh_failed),
	// never queued. Default 64.
	MaxInFlight int

	// MaxExpiredTokenAge is how long after its expiry a token is still
	// sent to Clerk for a refresh; an older one is answered token_expired
	// without a call. A browser's clerk-js renews its token every minute
	// while the tab is open, so only a tab that slept longer sends an old
	// one, and it renews the token itself on waking. Default 5 min.
	MaxExpiredTokenAge time.Duration

	// CacheSize bounds the default Store (the one a Gate makes when
	// Config.Store is nil): how many refresh outcomes it remembers for
	// requests that carry an already refreshed token, and how many
	// sessions' failed refreshes. Default 10,000. A Store given in
	// Config.Store is sized by its own options, and setting both is a
	// configuration error.
	CacheSize int
}

// PagesConfig configures server-rendered pages. A browser that navigates
// to a page brings cookies, not an Authorization header, and its
// 60-second session token has often expired or gone missing (a new tab, a
// tab that slept). As Clerk's own backend does, the Gate then sends it
// through the Frontend API's handshake: a 307 to Clerk and back with fresh
// cookies, resolved on return. It does so for GET requests for a document
// only; API calls get the failure contract. Zero values mean the
// defaults.
type PagesConfig struct {
	// DisableHandshake turns the handshake off: cookie requests are then
	// decided by their session token alone. The handshake is on whenever
	// the Gate has a SecretKey and a PublishableKey (which names the
	// Frontend API; ProxyURL, or a production satellite's
	// SatelliteDomain, takes its place as the target).
	DisableHandshake bool

	// SignInURL is the app's sign-in page (absolute, e.g.
	// "https://accounts.example.com/sign-in"). The Require of a
	// Policy that takes sessions sends a page load
	// that ends signed out there, with redirect_url set to the page,
	// instead of answering 401; API calls still get the 401. A satellite
	// syncs through it in development.
	SignInURL string

	// IsSatellite marks an app on a satellite domain of a Clerk
	// instance, and SatelliteDomain is that satellite's domain (e.g.
	// "satellite.example"), whose Frontend API is clerk.<SatelliteDomain>
	// in production. A satellite needs SignInURL (in development) and
	// SatelliteDomain or Config.ProxyURL.
	IsSatellite     bool
	SatelliteDomain string

	// SatelliteOrigins lists the satellite origins (e.g.
	// "http://localhost:3001") a development primary may send a browser
	// back to, with its dev browser token, when a satellite syncs through
	// it (__clerk_redirect_url). Clerk follows any URL there; the Gate
	// follows only these, so the parameter cannot be an open redirect.
	SatelliteOrigins []string

	// SatelliteAutoSync makes a satellite sync with the primary domain
	// through a handshake on a first page load that has no session
	// cookies. Off by default, as in Clerk's SDKs: such a visitor is
	// served signed out at once, and a satellite syncs only when it
	// holds cookies or comes back from signing in (__clerk_synced=false).
	SatelliteAutoSync bool

	// OrganizationSync activates the organization a page's URL names. See
	// OrganizationSync.
	OrganizationSync OrganizationSync

	// NoncePerSecond and NonceBurst bound each client's Backend API calls
	// that resolve handshake nonces a browser brings back from the
	// Frontend API. Anyone can put a nonce-shaped value in a URL, and each
	// new one would cost a call, so nonces never seen before are resolved
	// through a token bucket per client (IP address, as
	// Config.TrustedProxies reads it) of NonceBurst calls refilled at
	// NoncePerSecond, behind one bucket for all clients (50 per second,
	// bursts of 100); past them a nonce is not resolved and the page load
	// is decided without it (at worst the browser goes through the
	// handshake again). A nonce Clerk resolves gives its client the call
	// back. Defaults 1 per second, burst 10: well beyond one sign-in at a
	// time; a client flooding junk nonces spends only its own share.
	NoncePerSecond float64
	NonceBurst     int
}

// OrganizationSync makes the organization that a page's URL names the
// session's active one, as Clerk's organizationSyncOptions do: a page
// load whose path matches one of OrganizationPatterns (with an :id or
// :slug parameter), or one of PersonalAccountPatterns, by a session whose
// active organization is another, goes through the Frontend API's
// handshake, which activates it (a user who is not a member comes back
// unchanged, and the page is served as it is: check the organization in
// the handler). Pages only: API calls are never redirected.
//
// Patterns are Clerk's (path-to-regexp), limited to what Clerk documents,
// and New refuses the rest: literal paths, :name parameters that are
// whole segments, and (.*) wildcards, e.g. OrganizationPatterns
// {"/orgs/:slug", "/orgs/:slug/(.*)"}, PersonalAccountPatterns {"/me",
// "/me/(.*)"}. Matching ignores case and a trailing slash; the first
// pattern that matches wins.
type OrganizationSync struct {
	OrganizationPatterns    []string
	PersonalAccountPatterns []string
}

// The environment variables ConfigFromEnv reads, each listed in its doc.
const (
	envSecretKey            = "CLERK_SECRET_KEY"
	envPublishableKey       = "CLERK_PUBLISHABLE_KEY"
	envAPIURL               = "CLERK_API_URL"
	envJWTKey               = "CLERK_JWT_KEY"
	envAuthorizedParties    = "CLERK_AUTHORIZED_PARTIES"
	envMaxTokenLifetime     = "CLERK_MAX_TOKEN_LIFETIME"
	envMachineSecretKey     = "CLERK_MACHINE_SECRET_KEY"
	envWebhookSigningSecret = "CLERK_WEBHOOK_SIGNING_SECRET"
	envTrustedProxies       = "CLERK_TRUSTED_PROXIES"
	envProxyURL             = "CLERK_PROXY_URL"
)

// ConfigFromEnv reads the CLERK_* environment variables into a Config.
// Adjust the result (Logger, timeouts, …) before passing it to New. It
// reads these, and no others:
//
//	CLERK_SECRET_KEY              SecretKey
//	CLERK_PUBLISHABLE_KEY         PublishableKey
//	CLERK_API_URL                 APIURL
//	CLERK_JWT_KEY                 JWTKey (a PEM public key, kept as it is)
//	CLERK_AUTHORIZED_PARTIES      AuthorizedParties (comma-separated origins)
//	CLERK_TRUSTED_PROXIES         TrustedProxies (comma-separated addresses or prefixes)
//	CLERK_MAX_TOKEN_LIFETIME      MaxTokenLifetime (a Go duration)
//	CLERK_MACHINE_SECRET_KEY      Machine.SecretKey
//	CLERK_WEBHOOK_SIGNING_SECRET  WebhookSigningSecret
//	CLERK_PROXY_URL               ProxyURL
//
// Surrounding spaces are trimmed (from every value but CLERK_JWT_KEY), and
// an unset or empty variable leaves its field zero, except as said below.
//
// CLERK_TRUSTED_PROXIES sets TrustedProxies; an item that is neither an
// address nor a prefix makes New fail, naming the variable, unless
// TrustedProxies is set before New.
//
// CLERK_MAX_TOKEN_LIFETIME is a Go duration ("3h", "90m"). One that is not
// a positive duration makes New fail, naming the variable, unless
// MaxTokenLifetime is set before New: a typo must not leave long-lived
// tokens refused, or accepted, without a word.
//
// A CLERK_SECRET_KEY that is present but empty (as a compose file's
// "CLERK_SECRET_KEY: ${CLERK_SECRET_KEY}" passes it on when the host lacks
// it) makes New fail, naming the variable, unless SecretKey is set before
// New: taken as unset, it would leave the Gate on another key source and
// its failures blamed on the network.
func ConfigFromEnv() Config {
	var parties []string
	for _, p := range strings.Split(os.Getenv(envAuthorizedParties), ",") {
		if p = strings.TrimSpace(p); p != "" {
			parties = append(parties, p)
		}
	}
	cfg := Config{
		SecretKey:         strings.TrimSpace(os.Getenv(envSecretKey)),
		PublishableKey:    strings.TrimSpace(os.Getenv(envPublishableKey)),
		APIURL:            strings.TrimSpace(os.Getenv(envAPIURL)),
		JWTKey:            os.Getenv(envJWTKey),
		AuthorizedParties: parties,
		Machine:           MachineConfig{SecretKey: strings.TrimSpace(os.Getenv(envMachineSecretKey))},
	}
	cfg.WebhookSigningSecret = strings.TrimSpace(os.Getenv(envWebhookSigningSecret))
	cfg.TrustedProxies, cfg.badTrustedProxy = proxiesFromEnv(os.Getenv(envTrustedProxies))
	if v, ok := os.LookupEnv(envSecretKey); ok && strings.TrimSpace(v) == "" {
		cfg.emptySecretKey = true
	}
	cfg.ProxyURL = strings.TrimSpace(os.Getenv(envProxyURL))
	if v := strings.TrimSpace(os.Getenv(envMaxTokenLifetime)); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			cfg.MaxTokenLifetime = d
		} else {
			cfg.badMaxLifetime = v
		}
	}
	return cfg
}

// proxiesFromEnv reads CLERK_TRUSTED_PROXIES: comma-separated addresses
// (a /32 or /128 each) or prefixes. bad is the first item that is
// neither.
func proxiesFromEnv(v string) (proxies []netip.Prefix, bad string) {
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			proxies = append(proxies, p)
		} else if a, err := netip.ParseAddr(item); err == nil {
			proxies = append(proxies, netip.PrefixFrom(a, a.BitLen()))
		} else {
			return nil, item
		}
	}
	return proxies, ""
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
