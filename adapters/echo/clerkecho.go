// Package clerkecho puts clerkgate in front of echo (v4) handlers.
//
//	gate, err := clerkgate.NewFromEnv()
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//
//	e := echo.New()
//	e.GET("/me", func(c echo.Context) error {
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
// returns an *echo.HTTPError whose Internal is the *clerkgate.AuthError:
// logging middleware sees the refusal, errors.As finds the AuthError, and
// echo's DefaultHTTPErrorHandler, which returns early for a committed
// response, does not write a second time. A custom Echo.HTTPErrorHandler
// must do the same and return when c.Response().Committed, as echo's
// documentation advises.
//
// The Gate's Config.ErrorHandler belongs to its net/http middleware and is
// not consulted here; to answer refusals differently (a redirect to the
// sign-in page, say), set Config.ErrorHandler of this package.
//
// The package is named clerkecho, not echo, so that it does not clash with
// the framework in the files that import both.
package clerkecho

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
)

// Config configures the middleware, in the manner of echo's own
// middleware configs.
type Config struct {
	// Gate authenticates the requests. It is required.
	Gate *clerkgate.Gate

	// Skipper picks requests the middleware leaves alone: they reach the
	// handler unauthenticated and without claims, as if the middleware
	// were not there. Nil skips nothing.
	Skipper middleware.Skipper

	// ErrorHandler answers a refused request instead of the default, which
	// writes the failure contract with clerkgate.WriteError and returns an
	// *echo.HTTPError wrapping err (see the package documentation). What
	// it returns, the middleware returns.
	ErrorHandler func(c echo.Context, err *clerkgate.AuthError) error
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
	return cfg.middleware(true, nil)
}

// OptionalSessionWithConfig is OptionalSession with a Skipper or an
// ErrorHandler. It panics if cfg.Gate is nil.
func OptionalSessionWithConfig(cfg Config) echo.MiddlewareFunc {
	return cfg.middleware(false, nil)
}

// Require returns echo middleware that lets a request through only with a
// valid Clerk session that passes every check, answering as clerkgate's
// Gate.Require does, byte for byte: the 401 contract without a session, a
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
	return cfg.middleware(true, checks)
}

// Claims returns the verified claims the middleware attached to c's
// request, and false for an anonymous or skipped request. It is the same
// as clerkgate.ClaimsFromContext(c.Request().Context()).
func Claims(c echo.Context) (*clerkgate.Claims, bool) {
	if c == nil || c.Request() == nil {
		return nil, false
	}
	return clerkgate.ClaimsFromContext(c.Request().Context())
}

// Refuse is the default Config.ErrorHandler: it writes the failure
// contract as clerkgate's net/http middleware does and returns an
// *echo.HTTPError with err as its Internal error, for logging.
func Refuse(c echo.Context, err *clerkgate.AuthError) error {
	clerkgate.WriteError(c.Response(), c.Request(), err)
	return echo.NewHTTPError(err.Status, err.Message).SetInternal(err)
}

func (cfg Config) middleware(required bool, checks []authz.Check) echo.MiddlewareFunc {
	if cfg.Gate == nil {
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
	gate := cfg.Gate
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			r := c.Request()
			claims, err := gate.Authenticate(c.Response(), r)
			switch {
			case err == nil:
				if len(checks) > 0 {
					if err := clerkgate.Authorize(claims, checks...); err != nil {
						return refuse(c, err)
					}
				}
				c.SetRequest(r.WithContext(clerkgate.ContextWithClaims(r.Context(), claims)))
			case gate.Redirected(c.Response(), r, err, required):
				// A handshake, or the sign-in page for a page load: not a
				// refusal, and no handler runs.
				return nil
			case err.Reason == clerkgate.ReasonTokenMissing && !required:
				// Anonymous, and allowed to be.
			default:
				return refuse(c, err)
			}
			return next(c)
		}
	}
}
