// Package clerkfiber puts clerkgate in front of Fiber v3 handlers. (Fiber
// v2's handlers take a *fiber.Ctx, not v3's fiber.Ctx: this package does
// not serve them.)
//
//	gate, err := clerkgate.New(clerkgate.ConfigFromEnv())
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//
//	app := fiber.New()
//	app.Get("/me", clerkfiber.RequireSession(gate), func(c fiber.Ctx) error {
//		claims, _ := clerkfiber.Claims(c)
//		return c.JSON(fiber.Map{"user_id": claims.Subject})
//	})
//
// For routes that accept machine credentials (M2M tokens, API keys, OAuth
// tokens), RequirePolicy and OptionalPolicy take a clerkgate.Policy in place
// of a Gate, its checks (Policy.With) included; handlers read who is
// calling with Caller:
//
//	app.Get("/api/jobs", clerkfiber.RequirePolicy(gate.Accept(clerkgate.M2MToken, clerkgate.APIKey)), jobs)
//	app.Get("/api/feed", clerkfiber.OptionalPolicy(gate.Accept(clerkgate.AnyToken)), feed)
//
// Fiber runs on fasthttp, not net/http. Each middleware runs the Gate's
// own net/http middleware on a view of the fasthttp request (its method,
// target, host, headers, remote address and TLS state; not its body, which
// authentication never reads) and an http.ResponseWriter that writes to
// the fasthttp response: verification, refresh on expiry (its Set-Cookie
// headers land on the Fiber response), revocation, the cross-origin check,
// handshake and sign-in redirects, the Gate's Config.ErrorHandler and the
// failure contract are exactly clerkgate's, byte for byte. A refused
// request gets its answer and no later handler runs.
//
// What the Gate found is put in the Fiber request's context, c.Context():
// Claims(c) and clerkgate.ClaimsFromContext(c.Context()) read the same
// value, and so does any code handed c.Context(). A fiber.Ctx is itself a
// context.Context whose values are Fiber's Locals, not c.Context()'s, so
// clerkgate.ClaimsFromContext(c) finds nothing: an anonymous answer, never
// a wrong user.
//
// Fiber reads a request's headers into fiber.Config.ReadBufferSize, 4 KiB
// by default, and answers 431 past it. A signed-in browser sends its
// session token (up to 4 KiB, a browser's limit for one cookie) in two
// cookies, __session and __session_<suffix>, beside the refresh and
// client_uat cookies: give it room, as examples/fiber does (16 KiB).
//
// The package is named clerkfiber, not fiber, so that it does not clash
// with the framework in the files that import both.
package clerkfiber

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
)

// RequireSession returns Fiber middleware that lets a request through only
// with a valid Clerk session. Later handlers find the session's claims
// with Claims. A refused request gets clerkgate's answer and no later
// handler runs. It panics if gate is nil.
func RequireSession(gate *clerkgate.Gate) fiber.Handler {
	mustHave(gate)
	return adapt(gate.Accept(clerkgate.SessionToken).Require)
}

// OptionalSession returns Fiber middleware that lets anonymous requests
// through without claims and attaches claims when a valid token is
// present. A token that is present but invalid is still refused, as with
// the session policy's Optional (gate.Accept(clerkgate.SessionToken)). It panics if gate is nil.
func OptionalSession(gate *clerkgate.Gate) fiber.Handler {
	mustHave(gate)
	return adapt(gate.Accept(clerkgate.SessionToken).Optional)
}

// Require returns Fiber middleware that lets a request through only with a
// valid Clerk session that passes every check, as clerkgate's
// gate.Accept(clerkgate.SessionToken).With(checks...).Require does, byte
// for byte: the 401 contract without a session, a
// 403 for a failed check (Clerk's reverification payload for a failed
// reverification).
//
//	app.Get("/admin", clerkfiber.Require(gate, authz.Role("org:admin")), admin)
//
// It panics if gate is nil or a check is invalid (see
// clerkgate.ValidateChecks).
func Require(gate *clerkgate.Gate, checks ...authz.Check) fiber.Handler {
	mustHave(gate)
	return adapt(gate.Accept(clerkgate.SessionToken).With(checks...).Require)
}

// RequirePolicy returns Fiber middleware that lets a request through only
// with a valid credential of a type policy accepts (session tokens, M2M
// tokens, API keys, OAuth tokens: see clerkgate.Gate.Accept) that passes
// the policy's checks (Policy.With). Later handlers find who is calling
// with Caller. A refusal is clerkgate's Policy.Require's, byte for byte
// (401 or 503 for the credential, 403 for a failed check). It panics if
// policy is nil.
func RequirePolicy(policy *clerkgate.Policy) fiber.Handler {
	mustHavePolicy(policy)
	return adapt(policy.Require)
}

// OptionalPolicy is RequirePolicy that also lets anonymous requests
// through, without a Caller; a credential that is present but refused is
// still refused.
func OptionalPolicy(policy *clerkgate.Policy) fiber.Handler {
	mustHavePolicy(policy)
	return adapt(policy.Optional)
}

// Claims returns the verified claims the middleware attached to c's
// request, and false for an anonymous request. It is the same as
// clerkgate.ClaimsFromContext(c.Context()).
func Claims(c fiber.Ctx) (*clerkgate.Claims, bool) {
	if c == nil {
		return nil, false
	}
	return clerkgate.ClaimsFromContext(c.Context())
}

// Caller returns who is calling, as RequirePolicy or OptionalPolicy found
// it (or, for sessions, RequireSession and Require), and false for an
// anonymous request. It is the same as
// clerkgate.CallerFromContext(c.Context()).
func Caller(c fiber.Ctx) (*clerkgate.Caller, bool) {
	if c == nil {
		return nil, false
	}
	return clerkgate.CallerFromContext(c.Context())
}

// mustHave fails at start-up, where a nil Gate is a wiring mistake, rather
// than on the first request.
func mustHave(gate *clerkgate.Gate) {
	if gate == nil {
		panic("clerkfiber: nil *clerkgate.Gate")
	}
}

func mustHavePolicy(policy *clerkgate.Policy) {
	if policy == nil {
		panic("clerkfiber: nil *clerkgate.Policy")
	}
}

// adapt runs a clerkgate net/http middleware inside a Fiber chain. The
// middleware decides; if it calls its next handler, that handler puts the
// request's context (which now carries what the Gate found) on c, copies
// the headers the Gate set (refreshed cookies) to the Fiber response and
// resumes the chain. If it does not, it has written its answer, which
// goes out as it wrote it.
func adapt(middleware func(http.Handler) http.Handler) fiber.Handler {
	return func(c fiber.Ctx) error {
		r, err := request(c)
		if err != nil {
			return fiber.ErrBadRequest
		}
		w := &responseWriter{res: &c.RequestCtx().Response, header: http.Header{}}
		passed := false
		var chain error
		// Built per request because it closes over c, which Fiber pools:
		// it must not outlive its request.
		middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.SetContext(r.Context())
			w.addHeaders()
			chain = c.Next()
			if len(w.header["Set-Cookie"]) > 0 {
				// A fresh session (a refresh): no cache may keep it, whatever
				// the handler said; CDNs read their own headers first.
				h := &c.RequestCtx().Response.Header
				h.Set("Cache-Control", "private, no-store")
				h.Del("CDN-Cache-Control")
				h.Del("Surrogate-Control")
			}
		})).ServeHTTP(w, r)
		if !passed {
			w.finish()
		}
		return chain
	}
}

// request is the *http.Request the Gate reads: c's method, target, host,
// headers, remote address and TLS state, with c.Context() as its context.
// Every string is a copy: fasthttp reuses its buffers once the request
// ends, and the Gate may keep a token (a cache key, a shared refresh).
// The body is left out: authentication never reads it, and reading it
// would drain a streamed body before the handler.
func request(c fiber.Ctx) (*http.Request, error) {
	ctx := c.RequestCtx()
	target := string(ctx.RequestURI())
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, ctx.Request.Header.Len())
	for k, v := range ctx.Request.Header.All() {
		// net/http keeps Host out of the header map, in Request.Host.
		if !bytes.EqualFold(k, []byte("Host")) {
			h.Add(string(k), string(v))
		}
	}
	r := &http.Request{
		Method:     string(ctx.Method()),
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Host:       string(ctx.Host()),
		RemoteAddr: ctx.RemoteAddr().String(),
		RequestURI: target,
		TLS:        ctx.TLSConnectionState(),
	}
	if !ctx.Request.Header.IsHTTP11() {
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	}
	return r.WithContext(c.Context()), nil
}

// responseWriter is an http.ResponseWriter on a fasthttp response, for
// the Gate's middleware: what it writes (a refusal, a redirect) goes to
// the response as net/http would send it, and the headers it sets for a
// request it lets through (refreshed cookies) are added before the Fiber
// chain resumes.
type responseWriter struct {
	res    *fasthttp.Response
	header http.Header
	// wrote is set once the status and headers are on res.
	wrote bool
	// sniff is set when the headers named no Content-Type: net/http then
	// derives it from the first bytes of the body.
	sniff bool
}

// Header is the header map the middleware fills, as in net/http: changes
// after WriteHeader are not sent.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader sends the status and the headers.
func (w *responseWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	_, typed := w.header["Content-Type"]
	w.sniff = !typed
	w.addHeaders()
	w.res.SetStatusCode(status)
}

// Write appends b to the body, after a 200 if no status was written.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.sniff && len(b) > 0 {
		w.sniff = false
		w.res.Header.SetContentType(http.DetectContentType(b))
	}
	w.res.AppendBody(b)
	return len(b), nil
}

// addHeaders adds the header map to the response. Set-Cookie values are
// added as they are, one header each.
func (w *responseWriter) addHeaders() {
	for k, vs := range w.header {
		for _, v := range vs {
			w.res.Header.Add(k, v)
		}
	}
}

// finish sends what a net/http handler that returns without writing
// sends: a 200 with its headers.
func (w *responseWriter) finish() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
}
