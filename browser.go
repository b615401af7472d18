package clerkgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/expiring"
	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/internal/publishable"
	"github.com/clerkgate/clerkgate/session"
	"github.com/clerkgate/clerkgate/verifier"
)

// Page loads: the Gate's side of Clerk's browser decision. The decision
// itself is package handshake's; here the Gate reads the request, acts on
// the decision (verify, refresh, redirect, resolve) and writes Clerk's
// auth status headers.

// ReasonHandshake is the Reason of an AuthError that is not a refusal but
// a redirect (AuthError.Location): the browser goes through the Frontend
// API's handshake, or on to its page once it is resolved.
const ReasonHandshake Reason = "handshake"

const (
	// maxNonceTradesInFlight bounds the Backend API calls that resolve
	// handshake nonces at once; past it a nonce is not resolved (the
	// browser is decided without it, and at worst handshakes again).
	maxNonceTradesInFlight = 16
	// failedNonceMemory is how long a nonce that could not be resolved is
	// refused without a call, and failedNonces how many are remembered.
	failedNonceMemory = 10 * time.Second
	failedNonces      = 1024
	// Defaults of Config.HandshakeNoncePerSecond and HandshakeNonceBurst,
	// per client.
	defaultNoncePerSecond = 1
	defaultNonceBurst     = 10
)

// browserAuth is what a Gate with the handshake on knows.
type browserAuth struct {
	cfg    handshake.Config
	nonces *nonceTrader
}

// browserConfig checks the page-load settings and returns the handshake's
// configuration, or nil when the handshake is off.
func browserConfig(cfg Config, pk *publishable.Key, sessions *session.Client, now func() time.Time, timeout time.Duration, unseen *fairshare.Global) (*browserAuth, error) {
	if cfg.SignInURL != "" {
		if u, err := url.Parse(cfg.SignInURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("clerkgate: SignInURL must be an absolute http(s) URL")
		}
	}
	for _, o := range cfg.SatelliteOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("clerkgate: SatelliteOrigins: %q is not an origin such as https://sat.example", o)
		}
	}
	if cfg.IsSatellite {
		switch {
		case cfg.ProxyURL == "" && cfg.Domain == "":
			return nil, errors.New("clerkgate: a satellite (IsSatellite) needs Domain or ProxyURL")
		case cfg.SignInURL == "" && strings.HasPrefix(cfg.SecretKey, "sk_test_"):
			return nil, errors.New("clerkgate: a development satellite (IsSatellite) needs SignInURL")
		}
	}
	orgSync, err := handshake.NewOrganizationSync(cfg.OrganizationSync.OrganizationPatterns, cfg.OrganizationSync.PersonalAccountPatterns)
	if err != nil {
		return nil, fmt.Errorf("clerkgate: OrganizationSync: %w", err)
	}
	if cfg.DisableHandshake || pk == nil || sessions == nil {
		return nil, nil
	}
	// The instance's own Frontend API, as Clerk's parsePublishableKey
	// reads it without the proxy: a production satellite's is
	// clerk.<Domain>, the issuer of its tokens, whatever the key names.
	instance := pk.Host
	if cfg.IsSatellite && pk.Live && cfg.Domain != "" {
		instance = "clerk." + cfg.Domain
	}
	fapi := instance
	if cfg.ProxyURL != "" {
		fapi = cfg.ProxyURL
	}
	return &browserAuth{
		cfg: handshake.Config{
			FrontendAPI:       fapi,
			InstanceHost:      instance,
			Production:        pk.Live,
			CookieSuffix:      pk.CookieSuffix(),
			IsSatellite:       cfg.IsSatellite,
			SignInURL:         cfg.SignInURL,
			SatelliteOrigins:  cfg.SatelliteOrigins,
			SatelliteAutoSync: cfg.SatelliteAutoSync,
			BindingKey:        handshake.BindingKey(cfg.SecretKey),
			OrganizationSync:  orgSync,
		},
		nonces: &nonceTrader{
			sessions: sessions,
			slots:    make(chan struct{}, maxNonceTradesInFlight),
			failed:   expiring.New[string, struct{}](failedNonces, now),
			new: fairshare.New(fairshare.Config{PerSecond: orDefault(cfg.HandshakeNoncePerSecond, defaultNoncePerSecond),
				Burst: orDefault(cfg.HandshakeNonceBurst, defaultNonceBurst), Global: unseen, Clock: now}),
			timeout: timeout,
			now:     now,
		},
	}, nil
}

// pageRequest gathers what the decision looks at.
func (g *Gate) pageRequest(r *http.Request) handshake.Request {
	g.hintUntrustedProxy(r)
	// The page as the browser asked for it (net/http has checked the Host
	// header's syntax; X-Forwarded-Host counts only when plausibleHost).
	scheme, host := g.originParts(r)
	u := &url.URL{Scheme: scheme, Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	sfx := "_" + g.browser.cfg.CookieSuffix
	// Every cookie the decision looks at, read in one pass; a session
	// cookie sent twice with different values is malformed, any other is
	// absent (see cookieValue).
	names := [...]string{
		handshake.CookieSession, handshake.CookieSession + sfx,
		handshake.CookieClientUAT, handshake.CookieClientUAT + sfx,
		handshake.CookieDevBrowser, handshake.CookieDevBrowser + sfx,
		handshake.CookieRefresh + sfx,
		handshake.CookieHandshake, handshake.CookieHandshakeNonce, handshake.CookieRedirectCount,
		handshake.CookieBinding, handshake.CookieBindingSecure,
	}
	var found [len(names)]foundCookie
	findCookies(r.Header["Cookie"], names[:], found[:])
	session := func(c foundCookie) string {
		if c.ambiguous {
			return malformed
		}
		return c.value
	}
	return handshake.Request{
		Method:       r.Method,
		URL:          u,
		SecFetchDest: headerValue(r, "Sec-Fetch-Dest"),
		Accept:       headerValue(r, "Accept"),
		Referer:      headerValue(r, "Referer"),
		Now:          g.now(),
		Cookies: handshake.Cookies{
			Session:            session(found[0]),
			SessionSuffixed:    session(found[1]),
			ClientUAT:          found[2].value,
			ClientUATSuffixed:  found[3].value,
			DevBrowser:         found[4].value,
			DevBrowserSuffixed: found[5].value,
			Refresh:            found[6].value,
			Handshake:          found[7].value,
			HandshakeNonce:     found[8].value,
			RedirectCount:      found[9].value,
			Binding:            found[10].value,
			BindingSecure:      found[11].value,
		},
	}
}

// authenticatePage is Authenticate for a request whose token comes from
// cookies, with the handshake on: Clerk's decision, then the Gate's
// verification and refresh.
func (g *Gate) authenticatePage(w http.ResponseWriter, r *http.Request) (*Claims, *AuthError) {
	cfg := g.browser.cfg
	req := g.pageRequest(r)
	d := handshake.Decide(req, cfg)
	if d.Action == handshake.Resolve {
		claims, aerr, resolved, decided := g.resolveHandshake(w, r, req, d)
		g.observeHandshake(r, d.Nonce != "", resolved)
		if decided {
			return claims, aerr
		}
		// Clerk goes on as if there had been no handshake; the loop
		// counter stops a browser that keeps coming back with a bad one.
		req.Resolved = true
		d = handshake.Decide(req, cfg)
	}
	switch d.Action {
	case handshake.Redirect:
		return nil, redirect(w, d)
	case handshake.SignedOut:
		return nil, signedOut(w, d.Reason, d.Message, signedOutError(d))
	}

	if d.Token == "" {
		return nil, signedOut(w, orString(d.Reason, handshake.ReasonSessionTokenAndUATMissing), d.Message,
			newAuthError(ReasonTokenMissing, false, nil))
	}
	claims, refreshed, aerr := g.verifyPageToken(w, r, req, d)
	if aerr != nil || refreshed {
		// A refreshed session is signed in as it is, as Clerk's is.
		return claims, aerr
	}
	if after := handshake.AfterSignIn(req, cfg, d, pageSession(claims)); after.Action == handshake.Redirect {
		return nil, redirect(w, after)
	}
	return claims, nil
}

// verifyPageToken verifies the session cookie; an expired one is
// refreshed when the refresh cookie is there, and otherwise (or when the
// refresh fails) the browser goes through the handshake.
func (g *Gate) verifyPageToken(w http.ResponseWriter, r *http.Request, req handshake.Request, d handshake.Decision) (_ *Claims, refreshed bool, _ *AuthError) {
	claims, err := g.verify(r.Context(), d.Token)
	if err == nil {
		aerr := g.admit(claims)
		switch {
		case aerr == nil:
			return claims, false, nil
		case d.Reason != "":
			return nil, false, signedOut(w, d.Reason, d.Message, aerr)
		case aerr.Reason == ReasonTokenOutdated:
			// A webhook said the user changed after the token was issued.
			// A page load fetches a fresh token through the handshake, as
			// for an expired one, if a token issued now would pass (not
			// for a deleted user, whose every token is refused).
			if !g.store.UserRevoked(claims.Subject, g.now()) {
				after := handshake.AfterVerify(req, g.browser.cfg, d, handshake.Failure{Reason: handshake.VerifyTokenOutdated})
				if after.Action == handshake.Redirect {
					return nil, false, redirect(w, after)
				}
			}
			return nil, false, signedOut(w, handshake.ReasonSessionTokenOutdated, "", aerr)
		case aerr.Reason == ReasonSessionRevoked:
			return nil, false, signedOut(w, "session-revoked", "", aerr)
		}
		return nil, false, signedOut(w, "token-lifetime-invalid", "", aerr)
	}
	refusal := newAuthError(verifier.ReasonOf(err), true, err)
	failure := handshake.Failure{Reason: clerkVerifyReason(err)}
	var attempted bool
	var rerr *AuthError
	var ve *verifier.Error
	if errors.As(err, &ve) && ve.Reason == ReasonTokenExpired && ve.Claims != nil && g.checkLifetime((*Claims)(ve.Claims)) == nil {
		var c *Claims
		c, attempted, rerr = g.tryRefresh(w, r, d.Token, (*Claims)(ve.Claims), d.Suffixed)
		if attempted && rerr == nil {
			return c, true, nil
		}
		if attempted {
			refusal = rerr
		}
	}
	if failure.Reason == handshake.VerifyTokenExpired {
		failure.Refresh = g.whyNoRefresh(r, attempted, rerr)
	}
	switch {
	case d.Reason != "":
		// The token stood in for a handshake this request cannot make:
		// Clerk signs it out for that reason, before looking at it.
		return nil, false, signedOut(w, d.Reason, d.Message, refusal)
	case refusal.Reason == ReasonSessionPending:
		// Clerk's state is signed in, its auth object signed out: no
		// auth status headers.
		return nil, false, refusal
	}
	after := handshake.AfterVerify(req, g.browser.cfg, d, failure)
	if after.Action == handshake.Redirect {
		return nil, false, redirect(w, after)
	}
	return nil, false, signedOut(w, after.Reason, after.Message, refusal)
}

// pageSession is what the handshake's decision reads of a verified
// session: a pending one (AllowPendingSessions) is not synced, as Clerk's
// auth object treats it as signed out.
func pageSession(c *Claims) handshake.Session {
	if c.Pending() {
		return handshake.Session{}
	}
	s := handshake.Session{UserID: c.Subject}
	if o := c.Organization; o != nil {
		s.Org = handshake.ActiveOrganization{ID: o.ID, Slug: o.Slug}
	}
	return s
}

// whyNoRefresh names, in Clerk's terms, why an expired token was not
// refreshed: the handshake URL and x-clerk-auth-reason tell.
func (g *Gate) whyNoRefresh(r *http.Request, attempted bool, err *AuthError) string {
	switch {
	case attempted && err != nil:
		return refreshFailure(err.Err)
	case r.Method != http.MethodGet:
		return handshake.RefreshNonGet
	case g.suffixedRefresh == "" || cookieValue(r, g.suffixedRefresh) == "":
		return handshake.RefreshNoCookie
	case g.sessions == nil:
		return handshake.RefreshMissingAPI
	}
	// Not sent to Clerk because it expired too long ago, as Clerk would
	// have answered.
	return "session_refresh_expired_session_token_too_old"
}

// refreshFailure names, as Clerk's authenticateRequest does, why a
// refresh that was attempted failed: the Backend API's error code
// (unexpected_error is Clerk's fetch-error), a new token that does not
// verify, an answer that is not a refresh's, or no usable answer at all.
func refreshFailure(err error) string {
	var bad *newTokenError
	switch code := clerkErrorCode(err); {
	case errors.As(err, &bad):
		return handshake.RefreshInvalidToken
	case code == "unexpected_error":
		return handshake.RefreshFetchError
	case code != "":
		return code
	case errors.Is(err, session.ErrUnexpectedResponse):
		return handshake.RefreshUnexpectedSDK
	}
	return handshake.RefreshUnexpectedError
}

// clerkVerifyReason is Clerk's name for why verification refused a
// token: clerkReason, telling an iat in the future from an nbf.
func clerkVerifyReason(err error) string {
	var ve *verifier.Error
	if errors.As(err, &ve) && ve.Reason == ReasonTokenNotYetValid && strings.HasPrefix(ve.Detail, "iat ") {
		return handshake.VerifyTokenIATInTheFuture
	}
	return clerkReason(verifier.ReasonOf(err))
}

// resolveHandshake trades the nonce or verifies the handshake token, sets
// the cookies they carry and verifies the new session token. As Clerk
// does, a nonce that cannot be traded (whatever the reason: unknown to the
// Backend API, or refused by the Gate's bounds without a call) sets no
// cookies and signs the request out; a handshake token that does not
// verify, or a session token from either that does not, leaves the
// request to be decided without the handshake (decided is false), with
// nothing it carried set. resolved reports whether the handshake gave
// cookies.
func (g *Gate) resolveHandshake(w http.ResponseWriter, r *http.Request, req handshake.Request, d handshake.Decision) (claims *Claims, aerr *AuthError, resolved, decided bool) {
	var directives []string
	if d.Nonce != "" {
		var err error
		if directives, err = g.browser.nonces.trade(r.Context(), g.clientKey(r), d.Nonce); err != nil {
			g.log.Debug("clerkgate: handshake nonce not traded", "err", err)
			directives = nil
		}
	} else {
		var err error
		if directives, err = g.verifier.VerifyHandshake(r.Context(), d.HandshakeToken); err != nil {
			g.log.Debug("clerkgate: handshake token not resolved", "err", err)
			return nil, nil, false, false
		}
	}
	res := handshake.Resolved(req, g.browser.cfg, directives)
	if res.Refused > 0 {
		g.log.Warn("clerkgate: handshake directives refused: not Clerk's cookies", "refused", res.Refused)
	}
	if res.Token != "" {
		// The new token earns no trust for having come through the
		// handshake: it is verified like any other.
		c, err := g.verify(r.Context(), res.Token)
		if err != nil && handshake.RetryWithClockSkew(g.browser.cfg, clerkVerifyReason(err)) {
			g.log.Warn("clerkgate: clock skew: a development handshake gave a session token the clock refuses; accepted with a day's leeway, as Clerk does. Check this machine's clock", "err", err)
			var vc *verifier.Claims
			if vc, err = g.verifier.VerifyWithClockSkew(r.Context(), res.Token, handshake.DevClockSkew); err == nil {
				c = (*Claims)(vc.Clone())
			}
		}
		if err != nil {
			g.log.Debug("clerkgate: handshake gave a session token that does not verify", "err", err)
			return nil, nil, false, false
		}
		if g.admit(c) != nil {
			return nil, nil, false, false
		}
		claims = c
	}
	h := w.Header()
	for _, c := range res.Cookies {
		h.Add("Set-Cookie", c)
	}
	resolved = len(directives) > 0
	if res.Location != "" {
		// Development: on to the page, without the handshake's parameters.
		if claims == nil {
			setAuthStatus(h, handshake.StatusSignedOut, handshake.ReasonSessionTokenMissing, "")
		}
		return nil, redirect(w, handshake.Decision{Location: res.Location}), resolved, true
	}
	if claims == nil {
		return nil, signedOut(w, handshake.ReasonSessionTokenMissing, "", newAuthError(ReasonTokenMissing, false, nil)), resolved, true
	}
	return claims, nil, resolved, true
}

// redirect sets a redirect's headers and returns it as an AuthError. A
// redirect with a reason is a handshake, and says so in the auth headers.
func redirect(w http.ResponseWriter, d handshake.Decision) *AuthError {
	h := w.Header()
	for _, c := range d.Cookies {
		h.Add("Set-Cookie", c)
	}
	if d.Reason != "" {
		setAuthStatus(h, handshake.StatusHandshake, d.Reason, d.Message)
	}
	// Chrome caches redirects of tabs it puts to sleep; a cached 307
	// would loop.
	h.Set("Cache-Control", "no-store")
	return &AuthError{Status: http.StatusTemporaryRedirect, Reason: ReasonHandshake, Message: "continue at Location", Location: d.Location}
}

func signedOut(w http.ResponseWriter, reason, message string, e *AuthError) *AuthError {
	setAuthStatus(w.Header(), handshake.StatusSignedOut, reason, message)
	return e
}

func setAuthStatus(h http.Header, status, reason, message string) {
	h.Set(handshake.HeaderAuthStatus, status)
	h.Set(handshake.HeaderAuthReason, reason)
	if message != "" {
		h.Set(handshake.HeaderAuthMessage, message)
	} else {
		h.Del(handshake.HeaderAuthMessage)
	}
}

// signedOutError is the failure contract's refusal for a decision that
// signed the browser out before verification.
func signedOutError(d handshake.Decision) *AuthError {
	switch d.Reason {
	case handshake.ReasonTokenInvalid:
		if e := refuseOpaqueMachine(d.Token); e != nil {
			return e
		}
		return newAuthError(ReasonTokenMalformed, true, nil)
	case handshake.ReasonTokenTypeMismatch:
		return newAuthError(ReasonTokenTypeInvalid, true, nil)
	}
	return newAuthError(ReasonTokenMissing, d.Token != "", nil)
}

// clerkReason is Clerk's name for a verification failure, for the auth
// status headers and the handshake's decision.
func clerkReason(r Reason) string {
	switch r {
	case ReasonTokenMissing:
		return handshake.ReasonSessionTokenAndUATMissing
	case ReasonTokenExpired, ReasonRefreshFailed:
		return handshake.VerifyTokenExpired
	case ReasonTokenNotYetValid:
		return handshake.VerifyTokenNotActiveYet
	case ReasonTokenMalformed:
		return "token-invalid"
	case ReasonTokenTypeInvalid:
		return handshake.ReasonTokenTypeMismatch
	case ReasonAlgorithmNotAllowed:
		return "token-invalid-algorithm"
	case ReasonKeyNotFound:
		return "jwk-kid-mismatch"
	case ReasonJWKSUnavailable:
		return "jwk-remote-failed-to-load"
	case ReasonSignatureInvalid:
		return "token-invalid-signature"
	case ReasonIssuerInvalid:
		return "token-invalid-issuer"
	case ReasonAuthorizedPartyInvalid:
		return "token-invalid-authorized-parties"
	case ReasonClaimsInvalid:
		return "token-verification-failed"
	}
	return strings.ReplaceAll(string(r), "_", "-")
}

func orString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// signInRedirect sends a page load that RequireSession refused to the
// sign-in page, with the page as redirect_url.
func (g *Gate) signInRedirect(w http.ResponseWriter, r *http.Request) bool {
	if g.signIn == nil || hasBearer(r) || !pageLoad(r) || len(r.URL.Path)+len(r.URL.RawQuery) > handshake.MaxURL {
		return false
	}
	u := *g.signIn
	q := u.Query()
	q.Set("redirect_url", g.origin(r)+r.URL.RequestURI())
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
	return true
}

// nonceTrader resolves handshake nonces through the Backend API within
// bounds: only nonce-shaped values, one call per nonce however many
// requests carry it, a nonce that failed is refused without a call for a
// while, calls are taken from the sending client's token bucket and the
// Gate's global one (past them, none is made; a nonce Clerk resolves
// gives its client the call back) and a bounded number run at once. A
// client sending junk nonces, replayed or each new, thus costs at most
// its own bucket's rate in calls, never another client's share, and never
// more than the slots in parallel.
type nonceTrader struct {
	sessions *session.Client
	slots    chan struct{}
	group    singleflight.Group
	failed   *expiring.Cache[string, struct{}]
	new      *fairshare.Limiter
	timeout  time.Duration
	now      func() time.Time
}

var (
	errNonceShape  = errors.New("handshake nonce: not shaped like one")
	errNonceFailed = errors.New("handshake nonce: failed recently")
	errNonceBusy   = errors.New("handshake nonce: too many resolutions in flight")
	errNonceRate   = errors.New("handshake nonce: too many resolutions this second")
)

func (t *nonceTrader) trade(ctx context.Context, client, nonce string) ([]string, error) {
	if !handshake.NonceShaped(nonce) {
		return nil, errNonceShape
	}
	if _, failed := t.failed.Get(nonce); failed {
		return nil, errNonceFailed
	}
	ch := t.group.DoChan(nonce, func() (any, error) {
		if !t.new.Take(ctx, client) {
			return nil, errNonceRate
		}
		select {
		case t.slots <- struct{}{}:
		default:
			return nil, errNonceBusy
		}
		defer func() { <-t.slots }()
		// A nonce is good once: the call finishes for whoever waits on it
		// even if the request that started it is gone.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
		defer cancel()
		directives, err := t.sessions.HandshakePayload(cctx, nonce)
		if err != nil {
			t.failed.Add(nonce, struct{}{}, t.now().Add(failedNonceMemory))
		} else {
			t.new.Refund(client)
		}
		return directives, err
	})
	return awaitShared[[]string](ctx, ch, t.timeout, "handshake nonce")
}
