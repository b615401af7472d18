// Package clerkecho puts clerkgate in front of echo v5 handlers. It is the
// echo v4 adapter (github.com/clerkgate/clerkgate/adapters/echo) for echo's
// v5 API, with the same names, so that moving from one to the other is a
// change of import paths and of echo.Context to *echo.Context.
//
//	gate, err := clerkgate.NewFromEnv()
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
// Gate.Authenticate, the same call clerkgate's net/http middleware makes,
// so verification, refresh on expiry (with its Set-Cookie headers) and
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
// The package is named clerkecho, not echo, so that it does not clash with
// the framework in the files that import both.
package clerkecho

import (
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/clerkgate/clerkgate"
)

// Config configures the middleware, in the manner of echo's own
// middleware configs.
type Config struct {
	// Gate authenticates the requests. It is required by RequireSession
	// and OptionalSession.
	Gate *clerkgate.Gate

	// Route authenticates the requests of Require and Optional: the token
	// types it accepts (clerkgate.Gate.Accept) and their verification. It
	// is required by them, and the session middlewares ignore it.
	Route *clerkgate.Route

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
// clerkgate's OptionalSession.
func OptionalSession(gate *clerkgate.Gate) echo.MiddlewareFunc {
	return OptionalSessionWithConfig(Config{Gate: gate})
}

// RequireSessionWithConfig is RequireSession with a Skipper or an
// ErrorHandler. It panics if cfg.Gate is nil, as echo's middlewares do
// for a missing required setting.
func RequireSessionWithConfig(cfg Config) echo.MiddlewareFunc {
	cfg.Route = nil
	return cfg.middleware(true)
}

// OptionalSessionWithConfig is OptionalSession with a Skipper or an
// ErrorHandler. It panics if cfg.Gate is nil.
func OptionalSessionWithConfig(cfg Config) echo.MiddlewareFunc {
	cfg.Route = nil
	return cfg.middleware(false)
}

// Require returns echo middleware that lets a request through only with a
// valid credential of a type route accepts (session tokens, M2M tokens,
// API keys, OAuth tokens: see clerkgate.Gate.Accept). Handlers find who is
// calling with Caller. Refusals are written as for RequireSession.
//
//	e.GET("/api/jobs", jobs, clerkecho.Require(gate.Accept(clerkgate.M2MToken, clerkgate.APIKey)))
func Require(route *clerkgate.Route) echo.MiddlewareFunc {
	return RequireWithConfig(Config{Route: route})
}

// Optional is Require that also lets anonymous requests through, without
// a Caller; a credential that is present but refused is still refused.
func Optional(route *clerkgate.Route) echo.MiddlewareFunc {
	return OptionalWithConfig(Config{Route: route})
}

// RequireWithConfig is Require with a Skipper or an ErrorHandler. It
// panics if cfg.Route is nil.
func RequireWithConfig(cfg Config) echo.MiddlewareFunc {
	mustHaveRoute(cfg.Route)
	return cfg.middleware(true)
}

// OptionalWithConfig is Optional with a Skipper or an ErrorHandler. It
// panics if cfg.Route is nil.
func OptionalWithConfig(cfg Config) echo.MiddlewareFunc {
	mustHaveRoute(cfg.Route)
	return cfg.middleware(false)
}

func mustHaveRoute(route *clerkgate.Route) {
	if route == nil {
		panic("clerkecho: Config.Route is nil")
	}
}

// Caller returns who is calling, as Require or Optional found it (or, for
// sessions, RequireSession), and false for an anonymous or skipped
// request. It is the same as clerkgate.CallerFromContext(
// c.Request().Context()).
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

func (cfg Config) middleware(required bool) echo.MiddlewareFunc {
	if cfg.Gate == nil && cfg.Route == nil {
		panic("clerkecho: Config.Gate is nil")
	}
	skip := cfg.Skipper
	if skip == nil {
		skip = middleware.DefaultSkipper
	}
	refuse := cfg.ErrorHandler
	if refuse == nil {
		refuse = Refuse
	}
	authenticate := cfg.authenticate()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if skip(c) {
				return next(c)
			}
			r := c.Request()
			authed, err := authenticate(c.Response(), r)
			switch {
			case err == nil:
				c.SetRequest(authed)
			case err.Reason == clerkgate.ReasonTokenMissing && !required:
				// Anonymous, and allowed to be.
			default:
				return refuse(c, err)
			}
			return next(c)
		}
	}
}

// authenticate is the Gate's session check or the Route's; it returns the
// request with what it found in its context.
func (cfg Config) authenticate() func(http.ResponseWriter, *http.Request) (*http.Request, *clerkgate.AuthError) {
	if route := cfg.Route; route != nil {
		return func(w http.ResponseWriter, r *http.Request) (*http.Request, *clerkgate.AuthError) {
			caller, err := route.Authenticate(w, r)
			if err != nil {
				return nil, err
			}
			return r.WithContext(clerkgate.ContextWithCaller(r.Context(), caller)), nil
		}
	}
	gate := cfg.Gate
	return func(w http.ResponseWriter, r *http.Request) (*http.Request, *clerkgate.AuthError) {
		claims, err := gate.Authenticate(w, r)
		if err != nil {
			return nil, err
		}
		return r.WithContext(clerkgate.ContextWithClaims(r.Context(), claims)), nil
	}
}
