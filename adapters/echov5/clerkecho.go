// Code generated from adapters/echo/clerkecho.go by internal/tools (go test -run TestEchoV5IsGenerated -update); DO NOT EDIT.

// Package clerkecho puts clerkgate in front of echo v5 handlers. It is the
// echo v4 adapter (github.com/clerkgate/clerkgate/adapters/echo) for echo's
// v5 API, with the same names, so that moving from one to the other is a
// change of import paths and of echo.Context to *echo.Context.
//
//	gate, err := clerkgate.New(clerkgate.ConfigFromEnv())
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//
//	e := echo.New()
//	e.GET("/me", func(c *echo.Context) error {
//		claims, _ := clerkecho.Claims(c)
//		return c.JSON(http.StatusOK, map[string]string{"user_id": claims.Subject})
//	}, clerkecho.RequireSession(gate))
//
// The middleware is a thin skin over the root package: it asks
// Policy.Authenticate (of the session policy, or of the policy given, whose
// checks then apply), the same calls clerkgate's net/http middleware
// makes, so verification, refresh on expiry (with its Set-Cookie headers) and
// revocation are the Gate's. Claims live in the request's context:
// Claims(c) and clerkgate.ClaimsFromContext(c.Request().Context()) read the
// same value.
//
// # Refusals
//
// A refused request gets clerkgate's failure contract on the wire, byte for
// byte as the net/http middleware writes it with clerkgate.WriteError:
// 401 (or 503), a JSON body and a WWW-Authenticate challenge. Echo's
// default error handler would render an error as {"message":…} without
// the challenge, so the middleware writes the contract itself and then
// returns an *echo.HTTPError that wraps the *clerkgate.AuthError: logging
// middleware sees the refusal, errors.As finds the AuthError, and
// echo's DefaultHTTPErrorHandler, which returns early for a committed
// response, does not write a second time. A custom Echo.HTTPErrorHandler
// must do the same: return when echo.UnwrapResponse(c.Response()) reports
// the response Committed.
//
// The Gate's Config.ErrorHandler belongs to its net/http middleware and is
// not consulted here; to answer refusals differently (a redirect to the
// sign-in page, say), set Config.ErrorHandler of this package.
//
// # Machine credentials and routes
//
// RequirePolicy and OptionalPolicy take a clerkgate.Policy (Gate.Accept) in
// place of a Gate, for routes that accept M2M tokens, API keys or OAuth
// tokens; handlers find who is calling with Caller. The policy's checks
// (Policy.With) are applied too, answered as for Require:
//
//	e.GET("/api/jobs", jobs, clerkecho.RequirePolicy(gate.Accept(clerkgate.M2MToken, clerkgate.APIKey)))
//	e.GET("/api/feed", feed, clerkecho.OptionalPolicy(gate.Accept(clerkgate.AnyToken)))
//
// RequirePolicyWithConfig and OptionalPolicyWithConfig take a Config whose
// Policy is set, for a Skipper or an ErrorHandler.
//
// The package is named clerkecho, not echo, so that it does not clash with
// the framework in the files that import both.
package clerkecho

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
)

// Config configures the middleware, in the manner of echo's own
// middleware configs.
type Config struct {
	// Gate authenticates the requests of RequireSession, OptionalSession
	// and Require. They require it, and ignore Policy.
	Gate *clerkgate.Gate

	// Policy authenticates the requests of RequirePolicy and OptionalPolicy:
	// the token types it accepts (clerkgate.Gate.Accept), their
	// verification and its checks (Policy.With). They require it, and
	// ignore Gate.
	Policy *clerkgate.Policy

	// Skipper picks requests the middleware leaves alone: they reach the
	// handler unauthenticated and without claims, as if the middleware
	// were not there. Nil skips nothing.
	Skipper middleware.Skipper

	// ErrorHandler answers a refused request instead of the default, which
	// writes the failure contract with clerkgate.WriteError and returns an
	// *echo.HTTPError wrapping err (see the package documentation). What
	// it returns, the middleware returns.
	ErrorHandler func(c *echo.Context, err *clerkgate.AuthError) error
}

// RequireSession returns echo middleware that lets a request through only
// with a valid Clerk session. Handlers find the session's claims with
// Claims.
func RequireSession(gate *clerkgate.Gate) echo.MiddlewareFunc {
	return RequireSessionWithConfig(Config{Gate: gate})
}

// OptionalSession returns echo middleware that lets anonymous requests
// through without claims and attaches claims when a valid token is
// present. A token that is present but invalid is still refused, as with
// the session policy's Optional (gate.Accept(clerkgate.SessionToken)).
func OptionalSession(gate *clerkgate.Gate) echo.MiddlewareFunc {
	return OptionalSessionWithConfig(Config{Gate: gate})
}

// RequireSessionWithConfig is RequireSession with a Skipper or an
// ErrorHandler. It panics if cfg.Gate is nil, as echo's middlewares do
// for a missing required setting.
func RequireSessionWithConfig(cfg Config) echo.MiddlewareFunc {
	return cfg.middleware(true, sessions(cfg.Gate))
}

// OptionalSessionWithConfig is OptionalSession with a Skipper or an
// ErrorHandler. It panics if cfg.Gate is nil.
func OptionalSessionWithConfig(cfg Config) echo.MiddlewareFunc {
	return cfg.middleware(false, sessions(cfg.Gate))
}

// Require returns echo middleware that lets a request through only with a
// valid Clerk session that passes every check, answering as clerkgate's
// gate.Accept(clerkgate.SessionToken).With(checks...).Require does, byte
// for byte: the 401 contract without a session, a
// 403 for a failed check (Clerk's reverification payload for a failed
// reverification).
//
//	e.GET("/admin", admin, clerkecho.Require(gate, authz.Role("org:admin")))
//
// It panics if gate is nil or a check is invalid (see
// clerkgate.ValidateChecks).
func Require(gate *clerkgate.Gate, checks ...authz.Check) echo.MiddlewareFunc {
	return RequireWithConfig(Config{Gate: gate}, checks...)
}

// RequireWithConfig is Require with a Skipper or an ErrorHandler, which
// then answers 403s too (err.Status tells them apart; err.Check names the
// failed check).
func RequireWithConfig(cfg Config, checks ...authz.Check) echo.MiddlewareFunc {
	if err := clerkgate.ValidateChecks(checks...); err != nil {
		panic(err)
	}
	mustHaveGate(cfg.Gate)
	// A session policy with the checks, not Authenticate then Authorize:
	// the policy applies them before it reports the request to the Gate's
	// Observer, which so hears a failed check's 403, as from Policy.With.
	return cfg.middleware(true, callers(cfg.Gate.Accept(clerkgate.SessionToken).With(checks...)))
}

// RequirePolicy returns echo middleware that lets a request through only
// with a valid credential of a type policy accepts (session tokens, M2M
// tokens, API keys, OAuth tokens: see clerkgate.Gate.Accept) that passes
// the policy's checks (Policy.With). Handlers find who is calling with
// Caller. Refusals are written as for Require: 401 (or 503) for the
// credential, 403 for a failed check. It panics if policy is nil.
//
//	e.GET("/api/jobs", jobs, clerkecho.RequirePolicy(gate.Accept(clerkgate.M2MToken, clerkgate.APIKey)))
func RequirePolicy(policy *clerkgate.Policy) echo.MiddlewareFunc {
	return RequirePolicyWithConfig(Config{Policy: policy})
}

// OptionalPolicy is RequirePolicy that also lets anonymous requests
// through, without a Caller; a credential that is present but refused is
// still refused.
func OptionalPolicy(policy *clerkgate.Policy) echo.MiddlewareFunc {
	return OptionalPolicyWithConfig(Config{Policy: policy})
}

// RequirePolicyWithConfig is RequirePolicy with a Skipper or an
// ErrorHandler. It panics if cfg.Policy is nil.
func RequirePolicyWithConfig(cfg Config) echo.MiddlewareFunc {
	return cfg.middleware(true, callers(cfg.Policy))
}

// OptionalPolicyWithConfig is OptionalPolicy with a Skipper or an
// ErrorHandler. It panics if cfg.Policy is nil.
func OptionalPolicyWithConfig(cfg Config) echo.MiddlewareFunc {
	return cfg.middleware(false, callers(cfg.Policy))
}

// Caller returns who is calling, as RequirePolicy or OptionalPolicy found
// it (or, for sessions, RequireSession and Require), and false for an
// anonymous or skipped request. It is the same as
// clerkgate.CallerFromContext(c.Request().Context()).
func Caller(c *echo.Context) (*clerkgate.Caller, bool) {
	if c == nil || c.Request() == nil {
		return nil, false
	}
	return clerkgate.CallerFromContext(c.Request().Context())
}

// Claims returns the verified claims the middleware attached to c's
// request, and false for an anonymous or skipped request. It is the same
// as clerkgate.ClaimsFromContext(c.Request().Context()).
func Claims(c *echo.Context) (*clerkgate.Claims, bool) {
	if c == nil || c.Request() == nil {
		return nil, false
	}
	return clerkgate.ClaimsFromContext(c.Request().Context())
}

// Refuse is the default Config.ErrorHandler: it writes the failure
// contract as clerkgate's net/http middleware does and returns an
// *echo.HTTPError that wraps err, for logging.
func Refuse(c *echo.Context, err *clerkgate.AuthError) error {
	clerkgate.WriteError(c.Response(), c.Request(), err)
	return echo.NewHTTPError(err.Status, err.Message).Wrap(err)
}

// authenticator is how a middleware authenticates: a Gate's sessions or a
// Policy's credentials.
type authenticator struct {
	// authenticate returns the request with what it found in its context,
	// or the refusal (a *clerkgate.AuthError).
	authenticate func(http.ResponseWriter, *http.Request) (*http.Request, error)
	// redirected answers a refusal that is a redirect, as the net/http
	// middleware would, and reports whether it did.
	redirected func(w http.ResponseWriter, r *http.Request, err *clerkgate.AuthError, required bool) bool
}

// sessions authenticates through the session policy,
// gate.Accept(clerkgate.SessionToken).
func sessions(gate *clerkgate.Gate) authenticator {
	mustHaveGate(gate)
	return callers(gate.Accept(clerkgate.SessionToken))
}

func mustHaveGate(gate *clerkgate.Gate) {
	if gate == nil {
		panic("clerkecho: Config.Gate is nil")
	}
}

// callers authenticates as Policy.Require does, the policy's checks
// included.
func callers(policy *clerkgate.Policy) authenticator {
	if policy == nil {
		panic("clerkecho: Config.Policy is nil")
	}
	return authenticator{
		authenticate: func(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
			caller, err := policy.Authenticate(w, r)
			if err != nil {
				return nil, err
			}
			return r.WithContext(clerkgate.ContextWithCaller(r.Context(), caller)), nil
		},
		redirected: policy.WriteRedirect,
	}
}

func (cfg Config) middleware(required bool, auth authenticator) echo.MiddlewareFunc {
	skip := cfg.Skipper
	if skip == nil {
		skip = middleware.DefaultSkipper
	}
	refuse := cfg.ErrorHandler
	if refuse == nil {
		refuse = Refuse
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if skip(c) {
				return next(c)
			}
			r := c.Request()
			cookies := len(c.Response().Header()["Set-Cookie"])
			authed, err := auth.authenticate(c.Response(), r)
			keepPrivate(c, cookies)
			var refusal *clerkgate.AuthError
			switch {
			case err == nil:
				c.SetRequest(authed)
			case !errors.As(err, &refusal):
				// clerkgate refuses only with an *AuthError; anything
				// else still stops the request, as echo's 500.
				return err
			case auth.redirected(c.Response(), r, refusal, required):
				// A handshake, or the sign-in page for a page load: not a
				// refusal, and no handler runs.
				return nil
			case refusal.Reason == clerkgate.ReasonTokenMissing && !required:
				// Anonymous, and allowed to be.
			default:
				return refuse(c, refusal)
			}
			return next(c)
		}
	}
}

// keepPrivate keeps a response on which the Gate set fresh session cookies
// (there were cookies of them before) private, "private, no-store", over
// whatever Cache-Control the handler sets: no shared cache may keep a new
// session.
func keepPrivate(c *echo.Context, cookies int) {
	h := c.Response().Header()
	if len(h["Set-Cookie"]) <= cookies {
		return
	}
	res, err := echo.UnwrapResponse(c.Response())
	if err != nil {
		return
	}
	res.Before(func() {
		h.Set("Cache-Control", "private, no-store")
		// CDNs obey these before Cache-Control (RFC 9213).
		h.Del("CDN-Cache-Control")
		h.Del("Surrogate-Control")
	})
}
