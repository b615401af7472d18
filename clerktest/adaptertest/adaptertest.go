// Package adaptertest is the conformance suite for clerkgate's framework
// adapters: a fake Clerk instance with a Gate and a signed-in session, a
// client for real HTTP, the refusals every adapter must answer exactly as
// clerkgate's net/http middleware does, and Run, the suite of checks every
// adapter must pass. The adapters in this repository (adapters/gin,
// adapters/echo, adapters/echov5, adapters/fiber) run it in their tests;
// an adapter for another framework can run it in its own.
//
// It is exported, not internal, because the adapters are modules of their
// own, released next to the root module: a module that imported another
// module's internal package would break as soon as the two were used at
// different versions.
//
// It knows no framework. An adapter's test wires its routes and hands
// them over; what is specific to the framework (gin's abort, echo's
// Skipper, ErrorHandler and HTTPError) stays in the adapter's tests.
//
// The app an adapter serves for Run has these routes, each ending in a
// handler that answers with Whoami:
//
//	GET  /me     behind the adapter's RequireSession
//	POST /me     behind the adapter's RequireSession
//	GET  /maybe  behind the adapter's OptionalSession
//	POST /maybe  behind the adapter's OptionalSession
//	GET  /open   with no middleware
//
// The handler sets Cache-Control to PublicCaching before it answers, as a
// cacheable page's does: a response on which the Gate sets fresh session
// cookies must still go out "private, no-store".
//
// and, for machine credentials (see RunAccept), each ending in a handler
// that answers with CallerJSON:
//
//	GET  /any        behind the adapter's RequirePolicy(gate.Accept(clerkgate.AnyToken))
//	POST /any        behind the adapter's RequirePolicy(gate.Accept(clerkgate.AnyToken))
//	GET  /machines   behind the adapter's RequirePolicy(gate.Accept(MachineTypes()...))
//	GET  /maybe-any  behind the adapter's OptionalPolicy(gate.Accept(clerkgate.AnyToken))
//	GET  /writers    behind the adapter's RequirePolicy(Writers(gate))
package adaptertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// User is the user that a Fixture's session belongs to.
const User = "user_adaptertest"

// PublicCaching is the Cache-Control the app's Whoami handlers set: a
// page any shared cache may keep for five minutes.
const PublicCaching = "public, max-age=300"

// RequirePrivate checks that an answer that sets session cookies cannot be
// kept by a shared cache, whatever the handler set.
func RequirePrivate(t testing.TB, got Response) {
	t.Helper()
	require.Equal(t, []string{"private, no-store"}, got.Header.Values("Cache-Control"),
		"a response that sets session cookies must not be cacheable")
}

// Fixture is a fake Clerk instance and a Gate configured for it, the way
// an app in production is configured for the real one, with a session
// signed in and clerkgate's own middleware served for reference.
type Fixture struct {
	Fake    *clerktest.Server
	Gate    *clerkgate.Gate
	Session clerktest.Session

	ref *httptest.Server
}

// Option adjusts the Gate's configuration.
type Option func(*clerkgate.Config)

// WithErrorHandler sets the Gate's Config.ErrorHandler.
func WithErrorHandler(h func(http.ResponseWriter, *http.Request, *clerkgate.AuthError)) Option {
	return func(c *clerkgate.Config) { c.ErrorHandler = h }
}

// New starts a fake instance, a Gate for it and the reference server, and
// signs User in. Everything is closed when t ends.
func New(t testing.TB, opts ...Option) *Fixture {
	t.Helper()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	cfg := clerkgate.Config{
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
		APIURL:         fake.URL(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	gate, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, gate.Close()) })
	return &Fixture{
		Fake:    fake,
		Gate:    gate,
		Session: fake.CreateSession(User),
		ref:     serveNetHTTP(t, gate),
	}
}

// serveNetHTTP is the adapters' app on clerkgate's own middleware: the
// reference for what the wire must look like.
func serveNetHTTP(t testing.TB, gate *clerkgate.Gate) *httptest.Server {
	t.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux := http.NewServeMux()
	mux.Handle("/me", gate.Accept(clerkgate.SessionToken).Require(ok))
	mux.Handle("/maybe", gate.Accept(clerkgate.SessionToken).Optional(ok))
	mux.Handle("/any", gate.Accept(clerkgate.AnyToken).Require(ok))
	mux.Handle("/machines", gate.Accept(MachineTypes()...).Require(ok))
	mux.Handle("/maybe-any", gate.Accept(clerkgate.AnyToken).Optional(ok))
	mux.Handle("/writers", Writers(gate).Require(ok))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// Token mints a valid session token for the session.
func (f *Fixture) Token() string { return f.Fake.Token(f.Session.ID) }

// ExpiredToken mints a session token for the session that has expired.
func (f *Fixture) ExpiredToken() string { return f.Fake.Token(f.Session.ID, clerktest.Expired()) }

// ForgedToken is a valid token with its subject rewritten; see Forge.
func (f *Fixture) ForgedToken(t testing.TB) string {
	t.Helper()
	return Forge(t, f.Token())
}

// SessionCookie is the __session_<suffix> cookie a browser holds for the
// session, with a valid token, and its __client_uat_<suffix> twin (Clerk
// reads a suffixed session cookie only beside it), as
// "name=value; name=value".
func (f *Fixture) SessionCookie() string {
	return "__session_" + f.Fake.CookieSuffix() + "=" + f.Token() + "; __client_uat_" + f.Fake.CookieSuffix() + "=1"
}

// RefreshCookie is the __refresh_<suffix> cookie a browser holds for the
// session, as "name=value".
func (f *Fixture) RefreshCookie() string {
	return "__refresh_" + f.Fake.CookieSuffix() + "=" + f.Session.RefreshToken
}

// Forge keeps a genuine token's header and signature but rewrites its
// subject: what an attacker who captured a token would try.
func Forge(t testing.TB, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	claims["sub"] = "user_attacker"
	raw, err = json.Marshal(claims)
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// Whoami is the JSON body the test apps answer with: what the adapter's
// Claims accessor saw (claims, ok) and whether clerkgate.ClaimsFromContext
// on the request's context sees the same.
func Whoami(ctx context.Context, claims *clerkgate.Claims, ok bool) map[string]any {
	fromCtx, ctxOK := clerkgate.ClaimsFromContext(ctx)
	body := map[string]any{"signed_in": ok, "accessors_agree": ok == ctxOK && claims == fromCtx}
	if ok {
		body["user_id"] = claims.Subject
		body["session_id"] = claims.SessionID
	}
	return body
}

// Request is a request to a test server.
type Request struct {
	Method  string   // "" is GET
	Path    string   // with the leading slash
	Token   string   // sent as a Bearer token unless empty
	Cookies []string // "name=value", each in its own Cookie header
	// Authorization, when not empty, is the Authorization header as is,
	// in place of Token's.
	Authorization string
	// Page sends the request as a browser's page load (Accept: text/html,
	// Sec-Fetch-Dest: document), which Clerk answers with a handshake.
	Page bool
	// Header holds further headers to send, such as what CrossSite
	// returns.
	Header http.Header
}

// CrossSite is what a browser sends with a request that a page at origin,
// on another site, made: Sec-Fetch-Site and Origin.
func CrossSite(origin string) http.Header {
	return http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {origin}}
}

// Response is what a test server answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// Do sends r to srv over real HTTP and reads the whole answer. Redirects
// are not followed.
func Do(t testing.TB, srv *httptest.Server, r Request) Response {
	t.Helper()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+r.Path, nil)
	require.NoError(t, err)
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Authorization != "" {
		req.Header.Set("Authorization", r.Authorization)
	}
	for _, c := range r.Cookies {
		req.Header.Add("Cookie", c)
	}
	if r.Page {
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		req.Header.Set("Sec-Fetch-Dest", "document")
	}
	for name, values := range r.Header {
		req.Header[name] = values
	}
	client := *srv.Client() // a copy: tests run in parallel
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return Response{res.StatusCode, res.Header, body}
}

// Get is Do for a GET of path with token (none if empty).
func Get(t testing.TB, srv *httptest.Server, path, token string) Response {
	t.Helper()
	return Do(t, srv, Request{Path: path, Token: token})
}

// RequireSignedIn checks a Whoami answer for the fixture's session, with
// both accessors agreeing.
func (f *Fixture) RequireSignedIn(t testing.TB, got Response) {
	t.Helper()
	require.Equal(t, http.StatusOK, got.Status, "body: %s", got.Body)
	body := got.JSON(t)
	require.Equal(t, true, body["signed_in"])
	require.Equal(t, User, body["user_id"])
	require.Equal(t, f.Session.ID, body["session_id"])
	require.Equal(t, true, body["accessors_agree"])
}

// RequireAnonymous checks a Whoami answer with no claims attached, seen
// so by both accessors.
func RequireAnonymous(t testing.TB, got Response) {
	t.Helper()
	require.Equal(t, http.StatusOK, got.Status, "body: %s", got.Body)
	body := got.JSON(t)
	require.Equal(t, false, body["signed_in"])
	require.Equal(t, true, body["accessors_agree"])
}

// RequireSessionCookie checks that the answer sets a session cookie, as a
// refresh does.
func RequireSessionCookie(t testing.TB, got Response) {
	t.Helper()
	var session bool
	for _, c := range got.Header.Values("Set-Cookie") {
		session = session || strings.HasPrefix(c, "__session=") || strings.HasPrefix(c, "__session_")
	}
	require.True(t, session, "Set-Cookie: %q", got.Header.Values("Set-Cookie"))
}

// Case is a request every adapter must refuse, and how.
type Case struct {
	Name      string
	Request   Request
	Reason    string // the "error" of the JSON body
	Challenge string // the WWW-Authenticate header
}

// Refusals are the refusals every adapter must answer exactly as
// clerkgate's net/http middleware does.
func (f *Fixture) Refusals(t testing.TB) []Case {
	t.Helper()
	challenge := func(reason string) string {
		return `Bearer error="invalid_token", error_description="` + reason + `"`
	}
	return []Case{
		{Name: "missing token", Request: Request{Path: "/me"},
			Reason: "token_missing", Challenge: "Bearer"},
		{Name: "forged token", Request: Request{Path: "/me", Token: f.ForgedToken(t)},
			Reason: "signature_invalid", Challenge: challenge("signature_invalid")},
		{Name: "malformed token", Request: Request{Path: "/me", Token: "not-a-jwt"},
			Reason: "token_malformed", Challenge: challenge("token_malformed")},
		{Name: "expired token without refresh cookie", Request: Request{Path: "/me", Token: f.ExpiredToken()},
			Reason: "token_expired", Challenge: challenge("token_expired")},
		{Name: "expired token on POST is never refreshed",
			Request: Request{Method: http.MethodPost, Path: "/me", Token: f.ExpiredToken(), Cookies: []string{f.RefreshCookie()}},
			Reason:  "token_expired", Challenge: challenge("token_expired")},
		{Name: "invalid token on optional route", Request: Request{Path: "/maybe", Token: f.ForgedToken(t)},
			Reason: "signature_invalid", Challenge: challenge("signature_invalid")},
	}
}

// RequireRefusal checks that got is the refusal c describes (401, the
// reason in a JSON body, the challenge) and that it is the net/http
// middleware's, byte for byte.
func (f *Fixture) RequireRefusal(t testing.TB, c Case, got Response) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, got.Status, "body: %s", got.Body)
	require.Equal(t, c.Reason, got.JSON(t)["error"])
	require.Equal(t, c.Challenge, got.Header.Get("WWW-Authenticate"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	f.RequireSameAsNetHTTP(t, c.Request, got)
}

// RequireSameAsNetHTTP sends r to clerkgate's own middleware and checks
// that got has the same status, Content-Type, WWW-Authenticate,
// Cache-Control and Retry-After, and the same body. The reference routes
// only GET: a POST is replayed as a GET, without its cookies (which would
// earn a GET a refresh), and the middleware refuses its token the same
// way.
func (f *Fixture) RequireSameAsNetHTTP(t testing.TB, r Request, got Response) {
	t.Helper()
	if r.Method == http.MethodPost {
		r.Method = http.MethodGet
		r.Cookies = nil
	}
	requireSameAnswer(t, Do(t, f.ref, r), got)
}

// requireSameAnswer checks that got has want's status, Content-Type,
// WWW-Authenticate, Cache-Control and Retry-After, and its body.
func requireSameAnswer(t testing.TB, want, got Response) {
	t.Helper()
	require.Equal(t, want.Status, got.Status)
	require.Equal(t, string(want.Body), string(got.Body))
	for _, h := range []string{"Content-Type", "WWW-Authenticate", "Cache-Control", "Retry-After"} {
		require.Equal(t, want.Header.Values(h), got.Header.Values(h), h)
	}
}

// Serve starts an adapter's app for gate on real HTTP, routed as the
// package documentation describes. It closes the server when t ends.
type Serve func(t *testing.T, gate *clerkgate.Gate) *httptest.Server

// Run checks, over real HTTP against clerktest, what every adapter owes:
// a valid token passes with claims both accessors see, each of Refusals
// is the net/http middleware's answer byte for byte, an expired token
// with a refresh cookie is refreshed and the new session cookie set on a
// response no shared cache may keep,
// OptionalSession lets anonymous requests through but refuses invalid
// tokens, an unprotected route attaches nothing, and a state-changing
// request from another site with the session cookie is refused.
func Run(t *testing.T, serve Serve) {
	t.Run("RequireSession", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		t.Run("valid token", func(t *testing.T) {
			t.Parallel()
			f.RequireSignedIn(t, Get(t, app, "/me", f.Token()))
		})
		for _, c := range f.Refusals(t) {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				f.RequireRefusal(t, c, Do(t, app, c.Request))
			})
		}
	})

	t.Run("RefreshSetsCookies", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		got := Do(t, app, Request{Path: "/me", Token: f.ExpiredToken(), Cookies: []string{f.RefreshCookie()}})
		f.RequireSignedIn(t, got)
		RequireSessionCookie(t, got)
		RequirePrivate(t, got)

		// Without cookies to set, the handler's caching stands.
		got = Get(t, app, "/me", f.Token())
		f.RequireSignedIn(t, got)
		require.Equal(t, PublicCaching, got.Header.Get("Cache-Control"))
	})

	t.Run("OptionalSession", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		RequireAnonymous(t, Get(t, app, "/maybe", ""))
		f.RequireSignedIn(t, Get(t, app, "/maybe", f.Token()))
		require.Equal(t, http.StatusUnauthorized, Get(t, app, "/maybe", f.ForgedToken(t)).Status)
	})

	t.Run("CrossOrigin", func(t *testing.T) {
		t.Parallel()
		runCrossOrigin(t, serve, "/me", "/maybe")
	})

	t.Run("SignIn", func(t *testing.T) {
		t.Parallel()
		runSignIn(t, serve, map[string]bool{"/me": true, "/maybe": false})
	})

	t.Run("UnprotectedRoute", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		// A token on an unprotected route is not verified, so nothing is
		// attached.
		RequireAnonymous(t, Get(t, app, "/open", f.Token()))
	})
}

// signInURL is the sign-in page runSignIn configures.
const signInURL = "https://accounts.example.com/sign-in"

// runSignIn checks that a signed-out page load (the handshake loop guard
// reached, so Clerk can settle nothing more) goes to the sign-in page on
// each path mapped to true, with redirect_url back to the page, as
// net/http's middleware sends it; and is served anonymously, or refused,
// on each path mapped to false, also as net/http answers.
func runSignIn(t *testing.T, serve Serve, paths map[string]bool) {
	f := New(t, func(c *clerkgate.Config) { c.Pages.SignInURL = signInURL })
	app := serve(t, f.Gate)
	for path, toSignIn := range paths {
		r := Request{Path: path, Page: true, Cookies: []string{"__clerk_redirect_count=3"}}
		got, want := Do(t, app, r), Do(t, f.ref, r)
		require.Equal(t, want.Status, got.Status, "%s: body %s", path, got.Body)
		if !toSignIn {
			require.NotEqual(t, http.StatusTemporaryRedirect, got.Status, path)
			continue
		}
		require.Equal(t, http.StatusTemporaryRedirect, got.Status, path)
		loc, err := url.Parse(got.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, signInURL, loc.Scheme+"://"+loc.Host+loc.Path, path)
		require.Equal(t, app.URL+path, loc.Query().Get("redirect_url"), path)
		require.Equal(t, want.Header.Values("Cache-Control"), got.Header.Values("Cache-Control"), path)
	}
}

// runCrossOrigin checks that a POST to each of paths that a page on
// another site makes a signed-in browser send, which carries the session
// cookie, is refused with clerkgate's 403 cross_origin_request, byte for
// byte, before any handler runs; and that the same POST from the app's
// own origin, a cross-site POST with a Bearer token and a cross-site GET
// of /me with the cookie pass.
func runCrossOrigin(t *testing.T, serve Serve, paths ...string) {
	f := New(t)
	app := serve(t, f.Gate)
	evil := CrossSite("https://evil.example")
	for _, path := range paths {
		r := Request{Method: http.MethodPost, Path: path, Cookies: []string{f.SessionCookie()}, Header: evil}
		got := Do(t, app, r)
		require.Equal(t, http.StatusForbidden, got.Status, "%s: %s", path, got.Body)
		body := got.JSON(t)
		require.Equal(t, "forbidden", body["error"], path)
		require.Equal(t, string(clerkgate.ReasonCrossOrigin), body["reason"], path)
		requireSameAnswer(t, Do(t, f.ref, r), got)

		sameOrigin := http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {app.URL}}
		got = Do(t, app, Request{Method: http.MethodPost, Path: path, Cookies: []string{f.SessionCookie()}, Header: sameOrigin})
		require.Equal(t, http.StatusOK, got.Status, "%s: %s", path, got.Body)
		require.Equal(t, true, got.JSON(t)["signed_in"], path)
		got = Do(t, app, Request{Method: http.MethodPost, Path: path, Token: f.Token(), Header: evil})
		require.Equal(t, http.StatusOK, got.Status, "%s: %s", path, got.Body)
		require.Equal(t, true, got.JSON(t)["signed_in"], path)
	}
	f.RequireSignedIn(t, Do(t, app, Request{Path: "/me", Cookies: []string{f.SessionCookie()}, Header: evil}))
}

// Recorder collects values from handlers that may run concurrently: the
// errors that reach an error handler, the reasons a hook was called with.
type Recorder[T any] struct {
	mu     sync.Mutex
	values []T
}

// Add records v.
func (r *Recorder[T]) Add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v)
}

// All returns a copy of what was recorded, in order.
func (r *Recorder[T]) All() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.values...)
}
