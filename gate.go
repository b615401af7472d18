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
//	sessions := gate.Accept(clerkgate.SessionToken)
//	mux.Handle("GET /me", sessions.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		claims, _ := clerkgate.ClaimsFromContext(r.Context())
//		fmt.Fprintln(w, "hello", claims.Subject)
//	})))
//
// Server-rendered pages work the way Clerk's own backend serves them: a
// page load whose session token expired or went missing goes through the
// Frontend API's handshake (a 307 to Clerk and back) instead of a 401; see
// Config.Pages.DisableHandshake and package handshake.
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
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/internal/nonce"
	"github.com/clerkgate/clerkgate/internal/proxytrust"
	"github.com/clerkgate/clerkgate/internal/publishable"
	"github.com/clerkgate/clerkgate/internal/refresh"
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

	cookieSuffix string      // the instance's cookie name suffix, "" without a publishable key
	pageCookies  pageCookies // the cookie names of a decision, with cookieSuffix (see cookieNames)

	now          func() time.Time
	skew         time.Duration
	writeError   func(http.ResponseWriter, *http.Request, *AuthError)
	log          *slog.Logger
	refreshAfter time.Duration // Refresh.Timeout
	maxLifetime  time.Duration // MaxTokenLifetime

	proxies proxytrust.Trust // TrustedProxies, InsecureTrustProxyHeaders

	browser *browserAuth // page loads; nil with the handshake off
	signIn  *url.URL     // Pages.SignInURL, parsed once; nil without one

	refresher *refresh.Refresher // expired sessions' refreshes; nil without a secret key
	store     Store              // refresh outcomes, failures and revocations, maybe shared
	machines  *machineAuth       // machine credentials: see machines.go
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
		g.log.Warn("clerkgate: no AuthorizedParties (" + envAuthorizedParties + "): session tokens from cookies are accepted whatever origin they were issued to; set the app's origins, e.g. https://app.example.com")
	}
	return g, nil
}

func newGate(cfg Config) (*Gate, error) {
	g := &Gate{
		now:          cfg.Clock,
		writeError:   cfg.ErrorHandler,
		log:          cfg.Logger,
		refreshAfter: orDefault(cfg.Refresh.Timeout, 5*time.Second),
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
	if g.proxies, err = proxytrust.New(cfg.InsecureTrustProxyHeaders, cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("clerkgate: TrustedProxies: %w", err)
	}
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
		g.cookieSuffix = pk.CookieSuffix()
		if issuer == "" && cfg.ProxyURL == "" {
			issuer = pk.Issuer()
		}
	}
	g.pageCookies = newPageCookies(g.cookieSuffix)
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
		AllowPending:      cfg.InsecureAllowPendingSessions,
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
	if cfg.Pages.SignInURL != "" {
		// browserConfig has refused one that does not parse.
		g.signIn, _ = url.Parse(cfg.Pages.SignInURL)
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
	if g.refresher, err = newRefresher(cfg, g); err != nil {
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
		FetchTimeout:       cfg.Keys.FetchTimeout,
		RefreshInterval:    cfg.Keys.RefreshInterval,
		MinRefetchInterval: cfg.Keys.MinRefetchInterval,
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

// ReasonHandshake is the Reason of an AuthError that is not a refusal but
// a redirect (AuthError.Location): the browser goes through the Frontend
// API's handshake, or on to its page once it is resolved.
const ReasonHandshake Reason = "handshake"

const (
	// Defaults of Config.Pages.NoncePerSecond and NonceBurst,
	// per client.
	defaultNoncePerSecond = 1
	defaultNonceBurst     = 10
)

// browserAuth is what a Gate with the handshake on knows.
type browserAuth struct {
	cfg    handshake.Config
	peeks  *peekMemo // what recent session tokens say (Cookies.SessionPeek), which also vouches for their octets
	nonces *nonce.Trader
}

// browserConfig checks the page-load settings and returns the handshake's
// configuration, or nil when the handshake is off.
func browserConfig(cfg Config, pk *publishable.Key, sessions *session.Client, now func() time.Time, timeout time.Duration, unseen *fairshare.Global) (*browserAuth, error) {
	if cfg.Pages.SignInURL != "" {
		if u, err := url.Parse(cfg.Pages.SignInURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("clerkgate: Pages.SignInURL must be an absolute http(s) URL")
		}
	}
	for _, o := range cfg.Pages.SatelliteOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("clerkgate: Pages.SatelliteOrigins: %q is not an origin such as https://sat.example", o)
		}
	}
	if cfg.Pages.IsSatellite {
		switch {
		case cfg.ProxyURL == "" && cfg.Pages.SatelliteDomain == "":
			return nil, errors.New("clerkgate: a satellite (Pages.IsSatellite) needs Pages.SatelliteDomain or ProxyURL")
		case cfg.Pages.SignInURL == "" && strings.HasPrefix(cfg.SecretKey, "sk_test_"):
			return nil, errors.New("clerkgate: a development satellite (Pages.IsSatellite) needs Pages.SignInURL")
		}
	}
	orgSync, err := handshake.NewOrganizationSync(cfg.Pages.OrganizationSync.OrganizationPatterns, cfg.Pages.OrganizationSync.PersonalAccountPatterns)
	if err != nil {
		return nil, fmt.Errorf("clerkgate: Pages.OrganizationSync: %w", err)
	}
	if cfg.Pages.DisableHandshake || pk == nil || sessions == nil {
		return nil, nil
	}
	// The instance's own Frontend API, as Clerk's parsePublishableKey
	// reads it without the proxy: a production satellite's is
	// clerk.<Pages.SatelliteDomain>, the issuer of its tokens, whatever the key names.
	instance := pk.Host
	if cfg.Pages.IsSatellite && pk.Live && cfg.Pages.SatelliteDomain != "" {
		instance = "clerk." + cfg.Pages.SatelliteDomain
	}
	fapi := instance
	if cfg.ProxyURL != "" {
		fapi = cfg.ProxyURL
	}
	peeks := newPeekMemo()
	return &browserAuth{
		peeks: peeks,
		cfg: handshake.Config{
			FrontendAPI:       fapi,
			InstanceHost:      instance,
			Production:        pk.Live,
			CookieSuffix:      pk.CookieSuffix(),
			IsSatellite:       cfg.Pages.IsSatellite,
			SignInURL:         cfg.Pages.SignInURL,
			SatelliteOrigins:  cfg.Pages.SatelliteOrigins,
			SatelliteAutoSync: cfg.Pages.SatelliteAutoSync,
			BindingKey:        handshake.BindingKey(cfg.SecretKey),
			OrganizationSync:  orgSync,
		},
		nonces: nonce.New(nonce.Config{
			API: sessions,
			Limiter: fairshare.New(fairshare.Config{PerSecond: orDefault(cfg.Pages.NoncePerSecond, defaultNoncePerSecond),
				Burst: orDefault(cfg.Pages.NonceBurst, defaultNonceBurst), Global: unseen, Clock: now}),
			Timeout: timeout,
			Now:     now,
		}),
	}, nil
}
