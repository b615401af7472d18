package clerkgate

import (
	"context"
	"net/http"

	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/handshake"
)

// The entry points. Each one runs the pipeline (pipeline.go) through a
// Policy; gate.Accept(SessionToken) is the policy of signed-in users.

// Policy is a credential policy: the token types a route accepts and the
// checks they must pass. It serves handlers (Require, Optional) and
// authenticates for framework adapters (Authenticate, AuthenticateToken);
// get one from Gate.Accept. It shares the Gate's keys, caches and Store.
type Policy struct {
	g      *Gate
	accept acceptSet
	checks []authz.Check // see With
	// claimsOnly: a policy of session tokens alone puts the session's
	// claims alone in the context (CallerFromContext finds the caller by
	// them), one allocation fewer on the commonest request; a policy that
	// may admit a machine puts the Caller itself.
	claimsOnly bool
}

// Accept returns middleware for routes that accept the given token types,
// in Go's idiom for Clerk's acceptsToken. Signed-in users are the session
// policy's:
//
//	sessions := gate.Accept(clerkgate.SessionToken)
//	mux.Handle("GET /me", sessions.Require(me))
//	mux.Handle("GET /{$}", sessions.Optional(home))
//
//	api := gate.Accept(clerkgate.M2MToken, clerkgate.APIKey)
//	mux.Handle("POST /api/jobs", api.Require(jobs))
//
// With no types it accepts Config.AcceptTokens (session tokens by
// default); AnyToken accepts all four. Machine credentials are read from
// the Authorization header only, never from cookies. A credential of a
// type the policy does not accept is refused (token_type_invalid) before
// any network call or signature check; a session token is never a machine
// credential, nor the reverse. Accept panics on an unknown type, as
// http.ServeMux does on a bad pattern: it is a bug in the program.
func (g *Gate) Accept(types ...TokenType) *Policy {
	a := g.machines.accept
	if len(types) > 0 {
		var err error
		if a, err = newAcceptSet(types); err != nil {
			panic(err)
		}
	}
	return &Policy{g: g, accept: a, claimsOnly: a == acceptSet{session: true}}
}

// With returns a copy of the policy that also requires every check, each
// as Clerk's has() would answer it:
//
//	sessions := gate.Accept(clerkgate.SessionToken)
//	mux.Handle("GET /admin", sessions.With(authz.Role("org:admin")).Require(admin))
//	mux.Handle("POST /transfer", sessions.With(authz.Reverification(authz.Strict)).Require(transfer))
//
//	jobs := gate.Accept(clerkgate.M2MToken, clerkgate.APIKey).With(authz.Scope("jobs:write"))
//	mux.Handle("POST /jobs", jobs.Require(handler))
//
// A request without a valid credential gets the 401 contract; one that
// fails a check gets a 403 through Config.ErrorHandler (see Authorize and
// WriteError). A machine caller passes only Scope checks it was granted.
// With panics when given no check or an invalid one (an empty role, an
// unknown preset): a wiring mistake that would refuse every request,
// caught at start-up.
func (p *Policy) With(checks ...authz.Check) *Policy {
	if err := ValidateChecks(checks...); err != nil {
		panic(err)
	}
	out := *p
	out.checks = append(append([]authz.Check(nil), p.checks...), checks...)
	return &out
}

// Require lets a request through only with a valid credential of an
// accepted type, and puts the Caller in its context (CallerFromContext;
// ClaimsFromContext for a session's claims).
func (p *Policy) Require(next http.Handler) http.Handler { return p.middleware(next, true) }

// Optional lets anonymous requests through without a Caller. A credential
// that is present but refused is still refused: an attacker must not be
// able to turn a bad token into an anonymous request by accident of the
// app's logic.
func (p *Policy) Optional(next http.Handler) http.Handler { return p.middleware(next, false) }

func (p *Policy) middleware(next http.Handler, required bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies := len(w.Header()["Set-Cookie"])
		c, err := p.authenticate(w, r)
		w = privateIfCookiesSet(w, cookies)
		switch {
		case err == nil && p.claimsOnly:
			next.ServeHTTP(w, r.WithContext(contextWithClaims(r.Context(), c.claims)))
		case err == nil:
			next.ServeHTTP(w, r.WithContext(ContextWithCaller(r.Context(), c.public())))
		case err.Location == "" && err.Reason == ReasonTokenMissing && !required:
			next.ServeHTTP(w, r)
		case p.WriteRedirect(w, r, err, required):
		default:
			p.g.writeError(w, r, err)
		}
	})
}

// Authenticate runs the policy's checks on r without writing a refusal,
// for a handler or a framework adapter of your own: it returns the
// Caller, or the error Require would have answered.
// Most apps use Require. A session token is decided with refresh and the
// handshake; when an expired session is refreshed the new cookies are
// added to w's headers with Cache-Control "private, no-store", which an
// adapter keeps over whatever the handler sets (the middlewares do). A
// page load (a GET for a document, with cookies rather than an
// Authorization header) follows Clerk's browser decision when the
// handshake is on (see Config.Pages.DisableHandshake): the error may then be a
// redirect, with Location set and the cookies and auth status headers
// already on w. A machine credential goes through its own verification.
// The checks of With apply, and the decision is reported to
// Config.Observer. The error is always an *AuthError (errors.As finds
// it), and nil when the request is let through.
func (p *Policy) Authenticate(w http.ResponseWriter, r *http.Request) (*Caller, error) {
	cookies := len(w.Header()["Set-Cookie"])
	c, err := p.authenticate(w, r)
	privateIfCookiesSet(w, cookies)
	if err != nil {
		return nil, err
	}
	return c.public(), nil
}

// AuthenticateToken runs the policy's checks on a bare token, one that
// did not come with an HTTP request (a WebSocket message, a queue job):
// the verifier's checks, then MaxTokenLifetime and revocation, exactly as
// Authenticate applies them to a request's Authorization header, and then
// the checks of With. An expired session token is refused
// (token_expired): refresh needs the browser's refresh cookie and a
// response to set the new one on, so it belongs to HTTP. An empty token
// is token_missing; a token of a type the policy does not accept is
// token_type_invalid. The decision is reported to Config.Observer as a
// request's is. A refusal is always an *AuthError (errors.As finds it);
// an accepted token gives a nil error.
//
// It is the one way to authenticate a token outside a request: package
// verifier's Verifier checks the token alone, and knows nothing of
// revocation or of the lifetime cap.
func (p *Policy) AuthenticateToken(ctx context.Context, token string) (*Caller, error) {
	c, err := p.authenticateBare(ctx, token)
	if err != nil {
		return nil, err
	}
	return c.public(), nil
}

// AuthenticateAuthorization is AuthenticateToken for the values of an
// authorization header or metadata key (gRPC's "authorization"), read as
// a request's Authorization header is: none, or another scheme than
// Bearer, is no token (token_missing); an empty bearer token, or two
// values whatever they hold, are token_malformed. It is how adapters for
// other transports read credentials exactly as HTTP requests do.
func (p *Policy) AuthenticateAuthorization(ctx context.Context, values []string) (*Caller, error) {
	token, _ := bearerOf(values)
	return p.AuthenticateToken(ctx, token)
}

// authenticate is every entry point's: the pipeline, the refusal's
// message for the request, the policy's checks, and the Observer, which
// hears the final outcome, a 403 included.
func (p *Policy) authenticate(w http.ResponseWriter, r *http.Request) (admitted, *AuthError) {
	q := p.g.httpRequest(w, r)
	return p.decided(&q)
}

// authenticateBare is authenticate for a bare token.
func (p *Policy) authenticateBare(ctx context.Context, token string) (admitted, *AuthError) {
	q := bareRequest(ctx, token)
	return p.decided(&q)
}

func (p *Policy) decided(q *parsedRequest) (admitted, *AuthError) {
	c, typ, err := p.g.run(q, p.accept)
	if q.r != nil {
		machines := p.accept.m2m || p.accept.apiKey || p.accept.oauth
		err = explain(q.r, machines, p.accept.session, err)
	}
	if err == nil && len(p.checks) > 0 {
		if c.machine != nil {
			err = authorizeCaller(c.public(), p.checks...)
		} else {
			err = authorize(c.claims, p.checks...)
		}
	}
	p.g.observeDecision(q.ctx, typ, err)
	if err != nil {
		return admitted{}, err
	}
	return c, nil
}

// WriteRedirect writes the redirect that Require (Optional when required
// is false) answers a refusal with, and reports whether err called for
// one: Clerk's handshake (err.Location), or, when required, the sign-in
// page for a page load refused for want of a session, with
// Config.Pages.SignInURL set and a policy that takes sessions. When it reports
// false nothing is written, and the refusal is the failure contract's
// (WriteError, or a framework's error handler). Framework adapters that
// answer refusals themselves call it first, so that pages behave as under
// Require and Optional; most apps never need it.
func (p *Policy) WriteRedirect(w http.ResponseWriter, r *http.Request, err *AuthError, required bool) bool {
	switch {
	case err == nil:
		return false
	case err.Location != "":
		writeRedirect(w, err)
		return true
	case required && err.Status == http.StatusUnauthorized && p.accept.has(SessionToken):
		return p.g.signInRedirect(w, r)
	}
	return false
}

// signInRedirect sends a page load that Require refused to the
// sign-in page, with the page as redirect_url.
func (g *Gate) signInRedirect(w http.ResponseWriter, r *http.Request) bool {
	if g.signIn == nil || hasBearer(r) || !pageLoad(r) || len(r.URL.Path)+len(r.URL.RawQuery) > handshake.MaxURL {
		return false
	}
	u := *g.signIn
	q := u.Query()
	q.Set("redirect_url", g.proxies.Origin(r)+r.URL.RequestURI())
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
	return true
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
