// Package clerkgate authenticates HTTP requests made by users signed in
// with Clerk.
//
// A Gate verifies the Clerk session token of each request locally, with
// cached signing keys, so an ordinary request costs no network call. When a
// browser's 60-second token has expired and it holds Clerk's refresh
// cookie, the Gate refreshes the session through the Backend API, sets the
// new cookies and lets the request through.
//
//	gate, err := clerkgate.New(clerkgate.ConfigFromEnv()) // CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, …
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//	mux.Handle("GET /me", gate.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		claims, _ := clerkgate.ClaimsFromContext(r.Context())
//		fmt.Fprintln(w, "hello", claims.Subject)
//	})))
//
// Server-rendered pages work the way Clerk's own backend serves them: a
// page load whose session token expired or went missing goes through the
// Frontend API's handshake (a 307 to Clerk and back) instead of a 401; see
// Config.DisableHandshake and package handshake.
//
// Refusals follow one contract: 401 (503 when signing keys cannot be had)
// with a JSON body {"error":"<reason>","message":"…"} and a
// WWW-Authenticate challenge; 403 {"error":"forbidden","reason":…} for a
// failed authorization check or a cross-origin cookie request. See
// WriteError and the Reason constants.
package clerkgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/internal/publishable"
	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/session"
	"github.com/clerkgate/clerkgate/verifier"
	"github.com/clerkgate/clerkgate/webhooks"
)

// Gate is the middleware: it verifies session tokens, refreshes expired
// sessions and remembers sessions revoked through it. Each Gate owns its
// keys, caches and Store; two Gates for two Clerk instances share nothing.
// It is safe for concurrent use. Close it to stop background key refreshes
// and the Store's background work.
type Gate struct {
	verifier *verifier.Verifier
	stop     context.CancelFunc
	closers  []func() error
	sessions *session.Client // nil without a secret key

	suffixedSession string // "__session_<suffix>", "" without a publishable key
	suffixedRefresh string // "__refresh_<suffix>", "" without a publishable key

	now          func() time.Time
	skew         time.Duration
	trustProxy   bool
	writeError   func(http.ResponseWriter, *http.Request, *AuthError)
	log          *slog.Logger
	refreshAfter time.Duration // RefreshTimeout
	maxLifetime  time.Duration // MaxTokenLifetime

	trustedProxies []netip.Prefix // TrustedProxies, masked and unmapped

	browser *browserAuth // page loads; nil with the handshake off
	signIn  *url.URL     // SignInURL, parsed once; nil without one

	refreshes singleflight.Group // one refresh per (expired token, refresh cookie) pair in this process
	limits    *refreshLimits     // what refreshes may cost, per session and in all
	store     Store              // refresh outcomes, failures and revocations, maybe shared
	machines  *machineAuth       // machine credentials: see accept.go
	unseen    *fairshare.Global  // the ceiling on calls for nonces and credentials never seen pass
	observer  *Observer          // Config.Observer; nil costs nothing
	remote    *jwks.Remote       // the fetched key source, for Check; nil with JWTKey

	crossOrigin *http.CrossOriginProtection // unsafe cookie requests' origins; nil when disabled (origin.go)
	webhooks    *webhooks.Verifier          // Clerk's webhooks (webhooks.go); nil without a signing secret
	proxyHinted atomic.Bool                 // hintUntrustedProxy has logged its hint (origin.go)
}

// New validates cfg once and returns a Gate. Bad configuration (a
// malformed publishable key, a PEM that does not parse, no key source at
// all, authorized parties that are not origins, a development key with a
// production one, a secret key bound for plain http) fails here, never on
// a request, with an error wrapping ErrConfig. New does not wait for the
// signing keys: call Check for that.
func New(cfg Config) (*Gate, error) {
	if err := validate(cfg); err != nil {
		return nil, configError{err}
	}
	g, err := newGate(cfg)
	if err != nil {
		return nil, configError{err}
	}
	g.logSetup(cfg)
	if len(cfg.AuthorizedParties) == 0 {
		g.log.Warn("clerkgate: no AuthorizedParties (" + EnvAuthorizedParties + "): session tokens from cookies are accepted whatever origin they were issued to; set the app's origins, e.g. https://app.example.com")
	}
	return g, nil
}

func newGate(cfg Config) (*Gate, error) {
	g := &Gate{
		now:          cfg.Clock,
		writeError:   cfg.ErrorHandler,
		log:          cfg.Logger,
		refreshAfter: orDefault(cfg.RefreshTimeout, 5*time.Second),
		observer:     cfg.Observer,
		unseen:       fairshare.NewGlobal(fairshare.DefaultGlobalPerSecond, fairshare.DefaultGlobalBurst, fairshare.DefaultMaxWait),
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.writeError == nil {
		g.writeError = WriteError
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	var err error
	if g.limits, err = newRefreshLimits(cfg); err != nil {
		return nil, err
	}
	if g.trustedProxies, err = trustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	g.trustProxy = cfg.TrustProxyHeaders || len(g.trustedProxies) > 0
	switch g.skew = cfg.ClockSkew; {
	case g.skew == 0:
		g.skew = verifier.DefaultClockSkew
	case g.skew < 0:
		g.skew = 0
	case g.skew > maxClockSkew:
		// A skew of hours accepts tokens expired hours ago; near the
		// largest Duration it overflows the revocation term.
		return nil, fmt.Errorf("clerkgate: ClockSkew is %s: at most %s (Clerk's SDKs use 5 s)", g.skew, maxClockSkew)
	}
	if err := g.setMaxLifetime(cfg.MaxTokenLifetime); err != nil {
		return nil, err
	}

	issuer := cfg.Issuer
	var pk *publishable.Key
	if cfg.PublishableKey != "" {
		k, err := publishable.Parse(cfg.PublishableKey)
		if err != nil {
			return nil, fmt.Errorf("clerkgate: %w", err)
		}
		pk = &k
		suffix := pk.CookieSuffix()
		g.suffixedSession = sessionCookie + "_" + suffix
		g.suffixedRefresh = refreshCookie + "_" + suffix
		if issuer == "" && cfg.ProxyURL == "" {
			issuer = pk.Issuer()
		}
	}
	if issuer == "" {
		issuer = cfg.ProxyURL
	}

	ctx, stop := context.WithCancel(context.Background())
	g.stop = stop
	keys, err := g.keySource(ctx, cfg)
	if err != nil {
		stop()
		return nil, err
	}

	g.verifier, err = verifier.New(verifier.Config{
		Keys:              keys,
		Issuer:            issuer,
		AuthorizedParties: cfg.AuthorizedParties,
		AllowPending:      cfg.AllowPendingSessions,
		ClockSkew:         cfg.ClockSkew,
		Clock:             g.now,
		CacheSize:         cfg.TokenCacheSize,
	})
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("clerkgate: %w", err)
	}

	if cfg.SecretKey != "" {
		g.sessions, err = session.NewClient(session.Config{
			SecretKey:  cfg.SecretKey,
			APIURL:     cfg.APIURL,
			HTTPClient: cfg.HTTPClient,
			OnRevoked:  g.forgetSession,
		})
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("clerkgate: %w", err)
		}
	}
	g.browser, err = browserConfig(cfg, pk, g.sessions, g.now, g.refreshAfter, g.unseen)
	if err != nil {
		g.Close()
		return nil, err
	}
	if cfg.SignInURL != "" {
		// browserConfig has refused one that does not parse.
		g.signIn, _ = url.Parse(cfg.SignInURL)
	}
	if g.crossOrigin, err = newCrossOriginProtection(cfg, g.log); err != nil {
		g.Close()
		return nil, err
	}
	if g.machines, err = newMachineAuth(cfg, g); err != nil {
		g.Close()
		return nil, err
	}
	if err := g.startStore(cfg, issuer); err != nil {
		g.Close()
		return nil, err
	}
	if g.webhooks, err = newWebhookVerifier(cfg, g.now); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// keySource picks where keys come from: the PEM key first (no network),
// then the Backend API (with the secret key), then the Frontend API (with
// only a publishable key).
func (g *Gate) keySource(ctx context.Context, cfg Config) (jwks.Source, error) {
	remote := jwks.RemoteConfig{
		HTTPClient:         cfg.HTTPClient,
		FetchTimeout:       cfg.JWKSFetchTimeout,
		RefreshInterval:    cfg.JWKSRefreshInterval,
		MinRefetchInterval: cfg.JWKSMinRefetchInterval,
		Logger:             g.log,
		OnFetch:            cfg.Observer.onKeyFetch(),
	}
	switch {
	case cfg.JWTKey != "":
		s, err := jwks.NewStatic(cfg.JWTKey)
		if err != nil {
			return nil, fmt.Errorf("clerkgate: CLERK_JWT_KEY: %w", err)
		}
		return s, nil
	case cfg.SecretKey != "":
		r, err := jwks.NewBackendAPI(ctx, cfg.APIURL, cfg.SecretKey, remote)
		if err != nil {
			return nil, fmt.Errorf("clerkgate: %w", err)
		}
		g.closers = append(g.closers, r.Close)
		g.remote = r
		return r, nil
	case cfg.PublishableKey != "":
		r, err := jwks.NewFrontendAPI(ctx, cfg.PublishableKey, remote)
		if err != nil {
			return nil, fmt.Errorf("clerkgate: %w", err)
		}
		g.closers = append(g.closers, r.Close)
		g.remote = r
		return r, nil
	}
	return nil, errors.New("clerkgate: no key source: set SecretKey (CLERK_SECRET_KEY), JWTKey (CLERK_JWT_KEY) or PublishableKey (CLERK_PUBLISHABLE_KEY)")
}

// Close stops background key refreshes and waits for them to end, and
// closes the Store. It is safe to call more than once.
func (g *Gate) Close() error {
	g.stop()
	var errs []error
	for _, c := range g.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Sessions returns the Backend API Sessions client, or nil when the Gate
// has no secret key. Revoking a session through it makes this Gate refuse
// that session's tokens at once.
func (g *Gate) Sessions() *session.Client { return g.sessions }

// Verifier returns the Gate's token verifier, for tokens that do not come
// from an HTTP request (a WebSocket handshake message, a queue job).
func (g *Gate) Verifier() *verifier.Verifier { return g.verifier }

// RequireSession lets a request through only with a valid session, and
// puts the session's claims in its context (see ClaimsFromContext).
func (g *Gate) RequireSession(next http.Handler) http.Handler {
	return g.middleware(next, true, nil)
}

// OptionalSession lets anonymous requests through without claims, and
// attaches claims when a valid token is present. A token that is present
// but invalid is still refused: an attacker must not be able to turn a
// bad token into an anonymous request by accident of the app's logic.
func (g *Gate) OptionalSession(next http.Handler) http.Handler {
	return g.middleware(next, false, nil)
}

// middleware is RequireSession, OptionalSession and Require: the session's
// checks, if any, apply before the decision is reported, so that the
// Observer hears a request's final outcome, a 403 included.
func (g *Gate) middleware(next http.Handler, required bool, checks []authz.Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies := len(w.Header()["Set-Cookie"])
		claims, err := g.authenticate(w, r)
		w = privateIfCookiesSet(w, cookies)
		if err == nil && checks != nil {
			err = authorize(claims, checks...)
		}
		g.observeDecision(r.Context(), SessionToken, err)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(contextWithClaims(r.Context(), claims)))
		case err.Location != "":
			writeRedirect(w, err)
		case err.Reason == ReasonTokenMissing && !required:
			next.ServeHTTP(w, r)
		case required && err.Status == http.StatusUnauthorized && g.signInRedirect(w, r):
		default:
			g.writeError(w, r, err)
		}
	})
}

// Authenticate runs the Gate's checks on r without writing a refusal: it
// returns the claims, or the error the middleware would have written. When
// it refreshes an expired session it adds the new cookies to w's headers,
// with Cache-Control "private, no-store"; a framework adapter keeps that
// Cache-Control over whatever the handler sets (the middlewares do).
// Framework adapters use it; most apps use RequireSession.
//
// A page load (a GET for a document, with cookies rather than an
// Authorization header) follows Clerk's browser decision when the
// handshake is on (see Config.DisableHandshake): the error may then be a
// redirect, with Location set and the cookies and auth status headers
// already on w; WriteError answers it with a 307.
//
// The error is always an *AuthError (errors.As finds it), and nil when
// the request is let through.
func (g *Gate) Authenticate(w http.ResponseWriter, r *http.Request) (*Claims, error) {
	cookies := len(w.Header()["Set-Cookie"])
	claims, err := g.authenticate(w, r)
	privateIfCookiesSet(w, cookies)
	g.observeDecision(r.Context(), SessionToken, err)
	return claims, asError(err)
}

// authenticate is Authenticate, unobserved: Routes observe their own
// decisions. A request with a Bearer token is decided by that token,
// whatever else it carries: it costs one header lookup more than the
// token's own verification. A request without one is decided by its
// cookies as Clerk decides it (which pair of cookies, __client_uat, a
// handshake to resolve), page load or not; only a page load is
// redirected.
func (g *Gate) authenticate(w http.ResponseWriter, r *http.Request) (*Claims, *AuthError) {
	token, ok := bearerToken(r)
	if !ok {
		if err := g.refuseCrossOrigin(r); err != nil {
			return nil, err
		}
		if g.browser != nil {
			claims, err := g.authenticatePage(w, r)
			return claims, explain(r, false, true, err)
		}
		token = g.cookieToken(r)
	}
	claims, err := g.authenticateToken(w, r, token)
	if err != nil && g.browser != nil && err.Reason != ReasonSessionPending {
		// Clerk's name for the failure; a pending session is signed in
		// to Clerk's state (its auth object signed out), without headers.
		setAuthStatus(w.Header(), handshake.StatusSignedOut, g.headerTokenReason(r, err), "")
	}
	return claims, explain(r, false, true, err)
}

// refreshUnverifiedCookie is the Gate's own name for why no refresh was
// made (errUnverifiedCookie), in x-clerk-auth-reason: Clerk has none.
const refreshUnverifiedCookie = "unverified-session-cookie"

// headerTokenReason is Clerk's x-clerk-auth-reason for an Authorization
// token the Gate refused: Clerk's verification reasons, with its names for
// the ones a handshake would cure on a page (session-token-expired-refresh-
// <why no refresh helped>, session-token-nbf, …). The failure contract's
// JSON keeps clerkgate's reasons.
func (g *Gate) headerTokenReason(r *http.Request, err *AuthError) string {
	var f handshake.Failure
	var ve *verifier.Error
	switch {
	case errors.Is(err.Err, errUnverifiedCookie):
		f = handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: refreshUnverifiedCookie}
	case err.Reason == ReasonTokenExpired:
		f = handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: g.whyNoRefresh(r, false, nil)}
	case err.Reason == ReasonRefreshFailed:
		f = handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: g.whyNoRefresh(r, true, err)}
	case errors.As(err.Err, &ve):
		f.Reason = clerkVerifyReason(ve)
	default:
		f.Reason = clerkReason(err.Reason)
	}
	reason, _ := handshake.FailureReason(f)
	return reason
}

// pageLoad is handshake.Eligible for r, reading no header for anything
// but a GET, and Accept only without Sec-Fetch-Dest: Eligible looks at
// neither in those cases.
func pageLoad(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	dest, accept := headerValue(r, "Sec-Fetch-Dest"), ""
	if dest == "" {
		accept = headerValue(r, "Accept")
	}
	return handshake.Eligible(r.Method, dest, accept)
}

// headerValue is r.Header.Get(key) for a key already in canonical form,
// without canonicalizing it again.
func headerValue(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// refreshHeaderToken refreshes the session of a request whose header
// token expired, as Clerk's authenticateRequest does: the token it sends
// as the expired one is the session cookie's, if the request has one (in
// the pair Clerk chooses), else the header's own; and it asks for the
// cookie names Clerk chooses. Unlike Clerk, it sends only a token whose
// signature and claims it has verified (expired or not): see
// errUnverifiedCookie.
func (g *Gate) refreshHeaderToken(w http.ResponseWriter, r *http.Request, token string, ve *verifier.Error) (*Claims, bool, *AuthError) {
	if r.Method != http.MethodGet || g.suffixedRefresh == "" || cookieValue(r, g.suffixedRefresh) == "" {
		return nil, false, nil // no refresh: spare the cookie decision
	}
	expired, old, suffixed := token, (*Claims)(ve.Claims), true
	if g.browser != nil {
		req := g.pageRequest(r)
		req.Resolved = true // the cookies, not a handshake's
		d := handshake.Decide(req, g.browser.cfg)
		suffixed = d.Suffixed
		if d.Token != "" && d.Token != token {
			expired, old = d.Token, nil
			c, err := g.verify(r.Context(), d.Token)
			var cve *verifier.Error
			switch {
			case err == nil:
				old = c
			case errors.As(err, &cve) && cve.Reason == ReasonTokenExpired:
				old = (*Claims)(cve.Claims)
			}
		}
	}
	if old == nil || g.checkLifetime(old) != nil {
		if expired != token {
			return nil, true, newAuthError(ReasonTokenExpired, true, errUnverifiedCookie)
		}
		return nil, false, nil
	}
	return g.tryRefresh(w, r, expired, old, suffixed)
}

// errUnverifiedCookie: an expired header token's refresh would send the
// session cookie's token, which does not verify. Clerk sends it anyway
// and reports the Backend API's refusal; the Gate makes no call.
var errUnverifiedCookie = errors.New("clerkgate: the session cookie's token, which a refresh would send, does not verify")

// authenticateToken is the decision for API calls and header tokens: the
// request's session token alone (from tokenFrom), refreshed when it
// expired.
func (g *Gate) authenticateToken(w http.ResponseWriter, r *http.Request, token string) (*Claims, *AuthError) {
	if token == "" {
		return nil, newAuthError(ReasonTokenMissing, false, nil)
	}
	if err := refuseOpaqueMachine(token); err != nil {
		return nil, err
	}
	claims, err := g.verify(r.Context(), token)
	if err != nil {
		var ve *verifier.Error
		if errors.As(err, &ve) && ve.Reason == ReasonTokenExpired {
			if c, ok, rerr := g.refreshHeaderToken(w, r, token, ve); ok {
				return c, rerr
			}
		}
		return nil, newAuthError(verifier.ReasonOf(err), true, err)
	}
	if err := g.admit(claims); err != nil {
		return nil, err
	}
	return claims, nil
}
