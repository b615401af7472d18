// Package clerkgin puts clerkgate in front of gin handlers.
//
// It is a thin skin over the root package: each middleware runs the Gate's
// own net/http middleware, so verification, refresh on expiry, revocation,
// Config.ErrorHandler and the failure contract (401/503, a JSON body and a
// WWW-Authenticate challenge) are exactly those of the session policy's
// Require and Optional (gate.Accept(clerkgate.SessionToken)), byte for byte. On a refusal the response
// is already written and the gin chain is aborted.
//
//	gate, err := clerkgate.New(clerkgate.ConfigFromEnv())
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//
//	r := gin.New()
//	r.GET("/me", clerkgin.RequireSession(gate), func(c *gin.Context) {
//		claims, _ := clerkgin.Claims(c)
//		c.JSON(http.StatusOK, gin.H{"user_id": claims.Subject})
//	})
//
// For routes that accept machine credentials (M2M tokens, API keys, OAuth
// tokens), RequirePolicy and OptionalPolicy take a clerkgate.Policy in place
// of a Gate, its checks (Policy.With) included; handlers read who is
// calling with Caller:
//
//	r.GET("/api/jobs", clerkgin.RequirePolicy(gate.Accept(clerkgate.M2MToken, clerkgate.APIKey)), jobs)
//	r.GET("/api/feed", clerkgin.OptionalPolicy(gate.Accept(clerkgate.AnyToken)), feed)
//
// Claims live in the request's context, so code that only sees a
// context.Context reads them with clerkgate.ClaimsFromContext(
// c.Request.Context()); Claims(c) is a shorthand for that.
//
// The package is named clerkgin, not gin, so that it does not clash with
// the framework in the files that import both.
package clerkgin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
)

// RequireSession returns gin middleware that lets a request through only
// with a valid Clerk session. Later handlers find the session's claims
// with Claims. A refused request gets the failure contract and the chain
// is aborted: no later handler runs. It panics if gate is nil.
func RequireSession(gate *clerkgate.Gate) gin.HandlerFunc {
	mustHave(gate)
	return adapt(gate.Accept(clerkgate.SessionToken).Require)
}

// OptionalSession returns gin middleware that lets anonymous requests
// through without claims and attaches claims when a valid token is
// present. A token that is present but invalid is still refused, and the
// chain aborted, as with the session policy's Optional. It panics if gate is
// nil.
func OptionalSession(gate *clerkgate.Gate) gin.HandlerFunc {
	mustHave(gate)
	return adapt(gate.Accept(clerkgate.SessionToken).Optional)
}

// Require returns gin middleware that lets a request through only with a
// valid Clerk session that passes every check, as clerkgate's
// gate.Accept(clerkgate.SessionToken).With(checks...).Require does, byte
// for byte: the 401 contract without a session, a
// 403 for a failed check (Clerk's reverification payload for a failed
// reverification). A refused request aborts the chain.
//
//	r.GET("/admin", clerkgin.Require(gate, authz.Role("org:admin")), admin)
//
// It panics if gate is nil or a check is invalid (see
// clerkgate.ValidateChecks).
func Require(gate *clerkgate.Gate, checks ...authz.Check) gin.HandlerFunc {
	mustHave(gate)
	return adapt(gate.Accept(clerkgate.SessionToken).With(checks...).Require)
}

// Claims returns the verified claims the middleware attached to c's
// request, and false for an anonymous request. It is the same as
// clerkgate.ClaimsFromContext(c.Request.Context()).
func Claims(c *gin.Context) (*clerkgate.Claims, bool) {
	if c == nil || c.Request == nil {
		return nil, false
	}
	return clerkgate.ClaimsFromContext(c.Request.Context())
}

// mustHave fails at start-up, where a nil Gate is a wiring mistake, rather
// than on the first request.
func mustHave(gate *clerkgate.Gate) {
	if gate == nil {
		panic("clerkgin: nil *clerkgate.Gate")
	}
}

// adapt runs a clerkgate net/http middleware inside a gin chain. The
// middleware decides; if it calls its next handler, that handler hands the
// request (whose context now carries the claims) back to gin and resumes
// the chain. If it does not, it has written the refusal and the chain
// stops there.
func adapt(middleware func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		// Built per request because it closes over c: a gin.Context is
		// pooled and must not outlive its request, so it cannot be smuggled
		// through the request's context into a shared handler.
		middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			if w != http.ResponseWriter(c.Writer) {
				// The Gate set fresh session cookies, and wrapped the
				// writer to keep the response private: gin's handlers
				// write to c.Writer, so it must keep it private too.
				c.Writer = &privateWriter{ResponseWriter: c.Writer}
			}
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

// RequirePolicy returns gin middleware that lets a request through only
// with a valid credential of a type policy accepts (session tokens, M2M
// tokens, API keys, OAuth tokens: see clerkgate.Gate.Accept) that passes
// the policy's checks (Policy.With). Later handlers find who is calling
// with Caller. A refusal is clerkgate's Policy.Require's, byte for byte
// (401 or 503 for the credential, 403 for a failed check), and aborts the
// chain. It panics if policy is nil.
//
//	r.GET("/api/jobs", clerkgin.RequirePolicy(gate.Accept(clerkgate.M2MToken, clerkgate.APIKey)), jobs)
func RequirePolicy(policy *clerkgate.Policy) gin.HandlerFunc {
	mustHavePolicy(policy)
	return adapt(policy.Require)
}

// OptionalPolicy is RequirePolicy that also lets anonymous requests
// through, without a Caller; a credential that is present but refused is
// still refused.
func OptionalPolicy(policy *clerkgate.Policy) gin.HandlerFunc {
	mustHavePolicy(policy)
	return adapt(policy.Optional)
}

// Caller returns who is calling, as RequirePolicy or OptionalPolicy found
// it (or, for sessions, RequireSession and Require), and false for an anonymous request. It is the
// same as clerkgate.CallerFromContext(c.Request.Context()).
func Caller(c *gin.Context) (*clerkgate.Caller, bool) {
	if c == nil || c.Request == nil {
		return nil, false
	}
	return clerkgate.CallerFromContext(c.Request.Context())
}

func mustHavePolicy(policy *clerkgate.Policy) {
	if policy == nil {
		panic("clerkgin: nil *clerkgate.Policy")
	}
}

// cachePrivate is what clerkgate sets on a response that carries fresh
// session cookies.
const cachePrivate = "private, no-store"

// privateWriter sets Cache-Control to cachePrivate whenever the handler
// writes its header, over whatever it set: the response carries a fresh
// session, which no shared cache may keep.
type privateWriter struct{ gin.ResponseWriter }

func (p *privateWriter) private() {
	if !p.Written() {
		p.Header().Set("Cache-Control", cachePrivate)
		// CDNs obey these before Cache-Control (RFC 9213).
		p.Header().Del("CDN-Cache-Control")
		p.Header().Del("Surrogate-Control")
	}
}

func (p *privateWriter) WriteHeader(code int) { p.private(); p.ResponseWriter.WriteHeader(code) }

func (p *privateWriter) WriteHeaderNow() { p.private(); p.ResponseWriter.WriteHeaderNow() }

func (p *privateWriter) Write(b []byte) (int, error) { p.private(); return p.ResponseWriter.Write(b) }

func (p *privateWriter) WriteString(s string) (int, error) {
	p.private()
	return p.ResponseWriter.WriteString(s)
}
