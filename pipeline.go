package clerkgate

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/cookies"
	"github.com/clerkgate/clerkgate/internal/proxytrust"
	"github.com/clerkgate/clerkgate/internal/refresh"
	"github.com/clerkgate/clerkgate/machine"
	"github.com/clerkgate/clerkgate/verifier"
)

// The request pipeline. Every entry point (a Policy's Require,
// Optional, Authenticate and AuthenticateToken, which the adapters and
// the gRPC interceptors use) runs Gate.run: decide, then carry the decision out, top to bottom in
// the order Clerk's authenticateRequest decides a request:
//
//  1. the Authorization header: a machine credential of an accepted type
//     goes to its own verification, anything else is a session token;
//  2. without one, the cookies: the cross-origin check, then Clerk's
//     browser decision (package handshake: which cookie pair, handshake,
//     satellite sync, signed out) or, with the handshake off, the
//     session cookie;
//  3. the session token is verified and admitted (lifetime, revocation);
//     an expired one is refreshed when Clerk's rule allows (refreshable),
//     else the browser is sent through the handshake or signed out, with
//     Clerk's reason in x-clerk-auth-reason.
//
// What is read of the request is read once, into a parsedRequest; the
// decisions are package handshake's pure functions over it; this file
// carries them out.

// parsedRequest is what the pipeline reads of one request: its Authorization
// header at once, its cookies and page view when a decision needs them.
// A bare token (AuthenticateToken) is a request without r and w.
type parsedRequest struct {
	ctx       context.Context
	r         *http.Request       // nil for a bare token
	w         http.ResponseWriter // nil for a bare token
	bearer    string              // the Authorization token, or malformed
	hasBearer bool                // an Authorization Bearer header was presented
	client    string              // the fairshare key; "" until clientKey reads it
	proxies   proxytrust.Trust    // whom to believe about the client

	parsed bool
	page   handshake.Request // cookies and page view, once parsed

	now time.Time // the instant the request is decided at; zero until read (at)
}

// at is the instant q is decided at: the clock is read once per request
// (a page load's cookies and its token are judged at the same instant),
// and only when something needs it.
func (q *parsedRequest) at(clock func() time.Time) time.Time {
	if q.now.IsZero() {
		q.now = clock()
	}
	return q.now
}

func (g *Gate) httpRequest(w http.ResponseWriter, r *http.Request) parsedRequest {
	q := parsedRequest{ctx: r.Context(), r: r, w: w, proxies: g.proxies}
	q.bearer, q.hasBearer = bearerToken(r)
	return q
}

func bareRequest(ctx context.Context, token string) parsedRequest {
	return parsedRequest{ctx: ctx, bearer: token, hasBearer: token != "", client: clientFrom(ctx)}
}

// clientKey names the client for the per-client buckets: as the trusted
// proxies tell for a request, as ContextWithClientAddr says for a bare
// token.
func (q *parsedRequest) clientKey() string {
	if q.client == "" && q.r != nil {
		q.client = q.proxies.ClientKey(q.r)
	}
	return q.client
}

// cookies gathers, in one pass over the Cookie header, every cookie a
// decision looks at, and the page as the browser asked for it: what
// handshake.Decide reads. A cookie package cookies finds unusable (sent
// twice with different values, or with a value parsers read otherwise)
// is, for a session cookie, malformed; for a handshake cookie, a
// handshake that gives nothing (a nonce that cannot be traded: signed
// out, never the request's other cookies); for __client_uat, 0; any
// other, absent.
func (g *Gate) cookies(q *parsedRequest) *handshake.Request {
	if q.parsed {
		return &q.page
	}
	q.parsed = true
	r := q.r
	names := g.pageCookies[:]
	if g.cookieSuffix == "" {
		// No instance, no suffixed names: the plain session cookie alone.
		names = []string{handshake.CookieSession}
	}
	var known func(string) bool
	var peeks peekReader
	if g.browser != nil {
		peeks.memo = g.browser.peeks
		known = peeks.known
	}
	var found [len(pageCookies{})]cookies.Found
	cookies.Find(r.Header["Cookie"], names, found[:len(names)], known)
	// An unusable session cookie is malformed; an unusable __client_uat
	// is Unreadable: present, its time 0 (a client signed out), and what
	// Clerk reads of it unknown to Clerk's choice of cookie pair.
	orMalformed := func(c cookies.Found) string {
		if c.Unusable {
			return malformed
		}
		return c.Value
	}
	orUnreadable := func(c cookies.Found) string {
		if c.Unusable {
			return handshake.Unreadable
		}
		return c.Value
	}
	q.page = handshake.Request{
		Method:       r.Method,
		SecFetchDest: headerValue(r, "Sec-Fetch-Dest"),
		Accept:       headerValue(r, "Accept"),
		Referer:      headerValue(r, "Referer"),
		Now:          q.at(g.now),
		Cookies: handshake.Cookies{
			Session:            orMalformed(found[0]),
			SessionSuffixed:    orMalformed(found[1]),
			ClientUAT:          orUnreadable(found[2]),
			ClientUATSuffixed:  orUnreadable(found[3]),
			DevBrowser:         found[4].Value,
			DevBrowserSuffixed: found[5].Value,
			Refresh:            found[6].Value,
			Handshake:          found[7].Value,
			HandshakeNonce:     orString(found[8].Value, handshakeNonce(found[7], found[8])),
			RedirectCount:      found[9].Value,
			Binding:            found[10].Value,
			BindingSecure:      found[11].Value,
		},
	}
	if g.browser != nil {
		q.page.Cookies.SessionPeek = peeks.of(q.page.Cookies.Session)
		q.page.Cookies.SessionSuffixedPeek = peeks.of(q.page.Cookies.SessionSuffixed)
		g.hintUntrustedProxy(r)
		// The page as the browser asked for it (net/http has checked the
		// Host header's syntax; X-Forwarded-Host counts only when
		// plausible).
		scheme, host := g.proxies.OriginParts(r)
		q.page.URL = url.URL{Scheme: scheme, Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	}
	return &q.page
}

// pageCookies are the names of the cookies a decision reads, in the
// order Gate.cookies reads them, with the instance's suffix: spelt once,
// in New (spelling them on every page load cost seven concatenations).
type pageCookies [12]string

func newPageCookies(suffix string) pageCookies {
	sfx := "_" + suffix
	return pageCookies{
		handshake.CookieSession, handshake.CookieSession + sfx,
		handshake.CookieClientUAT, handshake.CookieClientUAT + sfx,
		handshake.CookieDevBrowser, handshake.CookieDevBrowser + sfx,
		handshake.CookieRefresh + sfx,
		handshake.CookieHandshake, handshake.CookieHandshakeNonce, handshake.CookieRedirectCount,
		handshake.CookieBinding, handshake.CookieBindingSecure,
	}
}

// handshakeNonce is the nonce of a request whose handshake cookie or
// nonce cookie is unusable: one that cannot be traded, so that the
// handshake gives nothing, as Clerk's would give the first of two
// values (or, for a value Clerk reads otherwise, something else).
func handshakeNonce(hs, nonce cookies.Found) string {
	if hs.Unusable || nonce.Unusable {
		return malformed
	}
	return ""
}

// cookieToken is the session token of the request's cookies: with the
// handshake on, the session cookie of the pair Clerk chooses (plain or
// suffixed, by __client_uat and the tokens' issuers and ages); without
// it, the suffixed __session_<suffix> when it has a value, else
// __session.
func (g *Gate) cookieToken(q *parsedRequest) string {
	c := g.cookies(q).Cookies
	if g.browser != nil {
		return handshake.Decide(&q.page, &g.browser.cfg).Token
	}
	if c.SessionSuffixed != "" {
		return c.SessionSuffixed
	}
	return c.Session
}

// credential is where the pipeline finds what decides a request, and
// how it checks it: decide's answer.
type credential int

const (
	noCredential    credential = iota // nothing the route takes: token_missing
	malformedBearer                   // an empty or doubled Authorization header, on a route for machines alone
	typeRefused                       // a credential of a type the route does not take
	machineBearer                     // a machine credential, verified as one
	sessionBearer                     // the Authorization (or bare) token, verified as a session token
	sessionCookies                    // the cookies: the cross-origin check, then Clerk's browser decision
)

// decide is the pipeline's first decision, pure over the parsed request:
// which credential decides it, as Clerk's authenticateRequest reads a
// request (the Authorization header first, whatever else the request
// carries; else the cookies), and the type it is taken for. A bearer
// token of a type the route does not accept is refused before any
// network call or signature check; a session token is never a machine
// credential, nor the reverse.
func (g *Gate) decide(q *parsedRequest, accept acceptSet) (credential, TokenType) {
	token := q.bearer
	if token == "" || accept == (acceptSet{session: true}) {
		switch {
		case !accept.session:
			return noCredential, ""
		case q.r == nil || q.hasBearer:
			return sessionBearer, SessionToken
		}
		return sessionCookies, SessionToken
	}
	if token == malformed && !accept.session {
		return malformedBearer, ""
	}
	switch typ := machine.ClassifyVerified(g.verifier, token); {
	case !accept.has(typ):
		return typeRefused, typ
	case typ == SessionToken:
		return sessionBearer, typ
	default:
		return machineBearer, typ
	}
}

// run is the pipeline: decide, then carry the decision out. It returns
// who was let through and the type the credential was taken for.
func (g *Gate) run(q *parsedRequest, accept acceptSet) (admitted, TokenType, *AuthError) {
	cred, typ := g.decide(q, accept)
	switch cred {
	case noCredential:
		return admitted{}, typ, newAuthError(ReasonTokenMissing, q.bearer != "", nil)
	case malformedBearer:
		return admitted{}, typ, machineError(ReasonTokenMalformed, errEmptyBearer)
	case typeRefused:
		return admitted{}, typ, typeNotAccepted(typ)
	case machineBearer:
		c, err := g.verifyMachine(q.ctx, q.clientKey, typ, q.bearer)
		return admitted{machine: c}, typ, err
	case sessionCookies:
		c, err := g.cookieSession(q)
		return admitted{claims: c}, typ, err
	}
	c, err := g.sessionToken(q, q.bearer)
	return admitted{claims: c}, typ, err
}

// admitted is who run let through: a session's claims, or a machine's
// Caller (the request's own, in one allocation). Only the entry points
// that hand out a session's *Caller allocate one.
type admitted struct {
	claims  *Claims
	machine *Caller
}

func (c admitted) public() *Caller {
	if c.machine != nil {
		return c.machine
	}
	return &Caller{Type: SessionToken, Session: c.claims}
}

// cookieSession decides a request without an Authorization token by its
// cookies, as Clerk decides them (page load or not; only a page load is
// redirected).
func (g *Gate) cookieSession(q *parsedRequest) (*Claims, *AuthError) {
	if err := g.crossOriginRefusal(q.r); err != nil && g.cookieToken(q) != "" {
		// A request without a session cookie is anonymous: forging it
		// gains nothing.
		return nil, err
	}
	if g.browser != nil {
		return g.pageSession(q)
	}
	return g.sessionToken(q, g.cookieToken(q))
}

// sessionToken verifies and admits a session token from the
// Authorization header (or, with the handshake off, the session cookie),
// and refreshes it when it expired and Clerk's rule allows. With the
// handshake on, a refusal carries Clerk's auth status headers.
func (g *Gate) sessionToken(q *parsedRequest, token string) (*Claims, *AuthError) {
	if token == "" {
		return nil, g.headerRefusal(q, newAuthError(ReasonTokenMissing, false, nil), "")
	}
	if err := refuseOpaqueMachine(token); err != nil {
		return nil, g.headerRefusal(q, err, "")
	}
	claims, err := g.verify(q, token)
	if err == nil {
		if aerr := g.admit(claims); aerr != nil {
			return nil, g.headerRefusal(q, aerr, "")
		}
		return claims, nil
	}
	var ve *verifier.Error
	if q.r == nil || !errors.As(err, &ve) || ve.Reason != ReasonTokenExpired {
		return nil, g.headerRefusal(q, newAuthError(verifier.ReasonOf(err), true, err), "")
	}
	c, aerr, whyNot := g.refreshHeaderToken(q, token, (*Claims)(ve.Claims))
	if aerr == nil && c == nil {
		aerr = newAuthError(ReasonTokenExpired, true, err)
	}
	if aerr != nil {
		return nil, g.headerRefusal(q, aerr, whyNot)
	}
	return c, nil
}

// headerRefusal sets, with the handshake on, Clerk's auth status headers
// for a refused Authorization token: Clerk's verification reasons, with
// its names for the ones a handshake would cure on a page
// (session-token-expired-refresh-<whyNot>, session-token-nbf, …). A
// pending session is signed in to Clerk's state (its auth object signed
// out), without headers. The failure contract's JSON keeps clerkgate's
// reasons.
func (g *Gate) headerRefusal(q *parsedRequest, err *AuthError, whyNot string) *AuthError {
	if g.browser == nil || q.w == nil || err.Reason == ReasonSessionPending {
		return err
	}
	f := handshake.Failure{Reason: clerkReason(err.Reason)}
	switch {
	case whyNot != "" && (err.Reason == ReasonTokenExpired || err.Reason == ReasonRefreshFailed):
		f = handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: whyNot}
	case errors.As(err.Err, new(*verifier.Error)):
		f.Reason = clerkVerifyReason(err.Err)
	}
	reason, _ := handshake.FailureReason(f)
	setAuthStatus(q.w.Header(), handshake.StatusSignedOut, reason, "")
	return err
}

// refreshHeaderToken refreshes the session of a request whose header (or,
// with the handshake off, cookie) token expired, as Clerk's
// authenticateRequest does: the token it sends as the expired one is the
// session cookie's, if the request has one (in the pair Clerk chooses),
// else the header's own; and it asks for the cookie names Clerk chooses.
// Unlike Clerk, it sends only a token whose signature and claims it has
// verified (expired or not): see errUnverifiedCookie. whyNot is Clerk's
// name for why no refresh helped.
func (g *Gate) refreshHeaderToken(q *parsedRequest, token string, old *Claims) (*Claims, *AuthError, string) {
	if _, whyNot := g.refreshable(q); whyNot != "" {
		return nil, nil, whyNot // spare the cookie decision
	}
	expired, suffixed := token, true
	if g.browser != nil {
		req := *g.cookies(q)
		req.Resolved = true // the cookies, not a handshake's
		d := handshake.Decide(&req, &g.browser.cfg)
		suffixed = d.Suffixed
		if d.Token != "" && d.Token != token {
			expired, old = d.Token, nil
			c, err := g.verify(q, d.Token)
			var cve *verifier.Error
			switch {
			case err == nil:
				old = c
			case errors.As(err, &cve) && cve.Reason == ReasonTokenExpired:
				old = (*Claims)(cve.Claims)
			}
			if old == nil || g.checkLifetime(old) != nil {
				return nil, newAuthError(ReasonTokenExpired, true, errUnverifiedCookie), refreshUnverifiedCookie
			}
		}
	}
	return g.tryRefresh(q, expired, old, suffixed)
}

// errUnverifiedCookie: an expired header token's refresh would send the
// session cookie's token, which does not verify. Clerk sends it anyway
// and reports the Backend API's refusal; the Gate makes no call.
var errUnverifiedCookie = errors.New("clerkgate: the session cookie's token, which a refresh would send, does not verify")

// errRefreshedPending: a refresh succeeded, but its new token is a
// pending session's.
var errRefreshedPending = errors.New("clerkgate: the refreshed session token is a pending session's")

// refreshUnverifiedCookie is the Gate's own name for why no refresh was
// made (errUnverifiedCookie), in x-clerk-auth-reason: Clerk has none.
const refreshUnverifiedCookie = "unverified-session-cookie"

// refreshable is Clerk's rule for refreshing an expired session token,
// in Clerk's order: a GET (not even HEAD), the instance's
// __refresh_<suffix> cookie, and a Backend API client. It returns the
// refresh cookie, or Clerk's name for the first rule that fails.
func (g *Gate) refreshable(q *parsedRequest) (refreshToken, whyNot string) {
	switch {
	case q.r.Method != http.MethodGet:
		return "", handshake.RefreshNonGet
	case g.cookieSuffix == "":
		return "", handshake.RefreshNoCookie
	}
	if refreshToken = g.cookies(q).Cookies.Refresh; refreshToken == "" {
		return "", handshake.RefreshNoCookie
	}
	if g.refresher == nil {
		return "", handshake.RefreshMissingAPI
	}
	return refreshToken, ""
}

// tooOld is Clerk's refusal of a token that expired long ago, which the
// Gate gives without a call.
const tooOld = "session_refresh_expired_session_token_too_old"

// tryRefresh refreshes an expired session when Clerk's rule allows it
// (refreshable) and its token is worth a call: a lifetime the Gate
// accepts, a session not revoked, an expiry within Refresh.MaxExpiredTokenAge. On
// success it sets the new cookies on the response; whyNot is Clerk's name
// for why no refresh helped (the call's failure, when one was made).
//
// suffixed is Clerk's choice of cookie names for the request (the
// handshake's decision), which the refresh asks Clerk to answer in.
func (g *Gate) tryRefresh(q *parsedRequest, expired string, old *Claims, suffixed bool) (claims *Claims, err *AuthError, whyNot string) {
	refreshToken, whyNot := g.refreshable(q)
	switch {
	case whyNot != "":
		return nil, nil, whyNot
	case old == nil || g.checkLifetime(old) != nil:
		return nil, nil, tooOld
	case g.isRevoked(old.SessionID):
		return nil, newAuthError(ReasonSessionRevoked, true, nil), refresh.ClerkReason(nil)
	case g.refresher.TooOld(old.ExpiryTime()):
		return nil, nil, tooOld
	}
	scheme, host := g.proxies.OriginParts(q.r)
	res, rerr := g.refresher.Refresh(q.ctx, refresh.Request{
		Expired: expired, RefreshToken: refreshToken, Old: (*verifier.Claims)(old), Suffixed: suffixed,
		Origin: scheme + "://" + host, ClientIP: g.proxies.ClientIP(q.r), Headers: refresh.ForwardedHeaders(q.r.Header),
	})
	g.observeRefresh(q.ctx, rerr)
	if rerr == nil && res.Pending {
		// The refresh succeeded, but for a pending session: its cookies
		// are set (the browser keeps the new token, as Clerk's does), and
		// the request is decided as a pending session's, signed out.
		h := q.w.Header()
		for _, c := range res.Cookies {
			h.Add("Set-Cookie", c)
		}
		return nil, newAuthError(ReasonSessionPending, true, errRefreshedPending), ""
	}
	if rerr != nil {
		g.log.Debug("clerkgate: session refresh failed", "session_id", old.SessionID, "err", rerr)
		ae := newAuthError(ReasonRefreshFailed, true, rerr)
		if code := refresh.Code(rerr); code != "" {
			ae.Message += ": " + code
		}
		return nil, ae, refresh.ClerkReason(rerr)
	}
	h := q.w.Header()
	for _, c := range res.Cookies {
		h.Add("Set-Cookie", c)
	}
	// Parallel requests with one expired token share the refresh and its
	// result: each gets claims of its own.
	return (*Claims)(res.Claims.Clone()), nil, ""
}

// pageSession decides a request whose token comes from cookies, with the
// handshake on: Clerk's decision, then the Gate's verification and
// refresh.
func (g *Gate) pageSession(q *parsedRequest) (*Claims, *AuthError) {
	cfg := &g.browser.cfg
	req := g.cookies(q)
	d := handshake.Decide(req, cfg)
	if d.Action == handshake.Resolve {
		claims, aerr, resolved, decided := g.resolveHandshake(q, req, d)
		g.observeHandshake(q.r, d.Nonce != "", resolved)
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
		return nil, redirect(q.w, d)
	case handshake.SignedOut:
		return nil, signedOut(q.w, d.Reason, d.Message, signedOutError(d))
	}

	if d.Token == "" {
		return nil, signedOut(q.w, orString(d.Reason, handshake.ReasonSessionTokenAndUATMissing), d.Message,
			newAuthError(ReasonTokenMissing, false, nil))
	}
	claims, refreshed, aerr := g.pageToken(q, req, d)
	if aerr != nil || refreshed {
		// A refreshed session is signed in as it is, as Clerk's is.
		return claims, aerr
	}
	if after := handshake.AfterSignIn(req, cfg, d, handshakeSession(claims)); after.Action == handshake.Redirect {
		return nil, redirect(q.w, after)
	}
	return claims, nil
}

// pageToken verifies the session cookie; an expired one is refreshed when
// Clerk's rule allows, and otherwise (or when the refresh fails) the
// browser goes through the handshake.
func (g *Gate) pageToken(q *parsedRequest, req *handshake.Request, d handshake.Decision) (_ *Claims, refreshed bool, _ *AuthError) {
	w := q.w
	claims, err := g.verify(q, d.Token)
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
				after := handshake.AfterVerify(req, &g.browser.cfg, d, handshake.Failure{Reason: handshake.VerifyTokenOutdated})
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
	var ve *verifier.Error
	if errors.As(err, &ve) && ve.Reason == ReasonTokenExpired {
		c, rerr, whyNot := g.tryRefresh(q, d.Token, (*Claims)(ve.Claims), d.Suffixed)
		switch {
		case c != nil:
			return c, true, nil
		case rerr != nil:
			refusal = rerr
		}
		failure.Refresh = whyNot
	}
	switch {
	case d.Reason != "":
		// The token stood in for a handshake this request cannot make:
		// Clerk signs it out for that reason, before looking at it.
		return nil, false, signedOut(w, d.Reason, d.Message, refusal)
	case refusal.Reason == ReasonSessionPending:
		// Clerk's state is signed in, its auth object signed out: no
		// auth status headers. A token that was pending before any
		// refresh verifies for Clerk (verifyToken does not read sts), so
		// Clerk first makes the checks that follow a sign-in (a
		// cross-origin Referer, organization sync) and may send the
		// browser through the handshake; a pending session counts there
		// as signed out, as its auth object does.
		if errors.As(err, &ve) && ve.Reason == ReasonSessionPending {
			if after := handshake.AfterSignIn(req, &g.browser.cfg, d, handshake.Session{}); after.Action == handshake.Redirect {
				return nil, false, redirect(w, after)
			}
		}
		return nil, false, refusal
	}
	after := handshake.AfterVerify(req, &g.browser.cfg, d, failure)
	if after.Action == handshake.Redirect {
		return nil, false, redirect(w, after)
	}
	return nil, false, signedOut(w, after.Reason, after.Message, refusal)
}

// handshakeSession is what the handshake's decision reads of a verified
// session: a pending one (InsecureAllowPendingSessions) is not synced, as Clerk's
// auth object treats it as signed out.
func handshakeSession(c *Claims) handshake.Session {
	if c.Pending() {
		return handshake.Session{}
	}
	s := handshake.Session{UserID: c.Subject}
	if o := c.Organization; o != nil {
		s.Org = handshake.ActiveOrganization{ID: o.ID, Slug: o.Slug}
	}
	return s
}

// resolveHandshake trades the nonce or verifies the handshake token, sets
// the cookies they carry and verifies the new session token. As Clerk
// does, a nonce that cannot be traded (whatever the reason: unknown to the
// Backend API, or refused by the Gate's bounds without a call) sets no
// cookies and signs the request out; a handshake token that does not
// verify, or a session token from either that does not (but for a
// pending session's, which resolves it signed out), leaves the
// request to be decided without the handshake (decided is false), with
// nothing it carried set. resolved reports whether the handshake gave
// cookies.
func (g *Gate) resolveHandshake(q *parsedRequest, req *handshake.Request, d handshake.Decision) (claims *Claims, aerr *AuthError, resolved, decided bool) {
	var directives []string
	var pending *AuthError // the new token is a pending session's
	if d.Nonce != "" {
		var err error
		if directives, err = g.browser.nonces.Trade(q.ctx, q.clientKey(), d.Nonce); err != nil {
			g.log.Debug("clerkgate: handshake nonce not traded", "err", err)
			directives = nil
		}
	} else {
		var err error
		if directives, err = g.verifier.VerifyHandshake(q.ctx, d.HandshakeToken); err != nil {
			g.log.Debug("clerkgate: handshake token not resolved", "err", err)
			return nil, nil, false, false
		}
	}
	res := handshake.Resolved(req, &g.browser.cfg, directives)
	if res.Refused > 0 {
		g.log.Warn("clerkgate: handshake directives refused: not Clerk's cookies", "refused", res.Refused)
	}
	if res.Token != "" {
		// The new token earns no trust for having come through the
		// handshake: it is verified like any other. (Clerk issued it
		// when the browser passed through the Frontend API, before this
		// request began, so the request's instant judges it fairly.)
		c, err := g.verify(q, res.Token)
		if err != nil && handshake.RetryWithClockSkew(g.browser.cfg, clerkVerifyReason(err)) {
			g.log.Warn("clerkgate: clock skew: a development handshake gave a session token the clock refuses; accepted with a day's leeway, as Clerk does. Check this machine's clock", "err", err)
			var vc *verifier.Claims
			if vc, err = g.verifier.VerifyWithClockSkew(q.ctx, res.Token, handshake.DevClockSkew); err == nil {
				c = (*Claims)(vc.Clone())
			}
		}
		var ve *verifier.Error
		switch {
		case errors.As(err, &ve) && ve.Reason == ReasonSessionPending:
			// Valid but for its session's tasks: Clerk, whose
			// verifyToken does not read sts, resolves the handshake and
			// its auth object signs the request out. So does the Gate:
			// the handshake's cookies, no auth status headers, and never
			// the request's old cookies.
			pending = newAuthError(ReasonSessionPending, true, err)
		case err != nil:
			g.log.Debug("clerkgate: handshake gave a session token that does not verify", "err", err)
			return nil, nil, false, false
		case g.admit(c) != nil:
			return nil, nil, false, false
		default:
			claims = c
		}
	}
	h := q.w.Header()
	for _, c := range res.Cookies {
		h.Add("Set-Cookie", c)
	}
	resolved = len(directives) > 0
	if res.Location != "" {
		// Development: on to the page, without the handshake's parameters.
		if claims == nil && pending == nil {
			setAuthStatus(h, handshake.StatusSignedOut, handshake.ReasonSessionTokenMissing, "")
		}
		return nil, redirect(q.w, handshake.Decision{Location: res.Location}), resolved, true
	}
	if pending != nil {
		return nil, pending, resolved, true
	}
	if claims == nil {
		return nil, signedOut(q.w, handshake.ReasonSessionTokenMissing, "", newAuthError(ReasonTokenMissing, false, nil)), resolved, true
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

// clerkVerifyReason is Clerk's name for why verification refused a
// token: clerkReason, telling an iat in the future from an nbf.
func clerkVerifyReason(err error) string {
	var ve *verifier.Error
	if errors.As(err, &ve) && ve.Reason == ReasonTokenNotYetValid && strings.HasPrefix(ve.Detail, "iat ") {
		return handshake.VerifyTokenIATInTheFuture
	}
	return clerkReason(verifier.ReasonOf(err))
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
