package clerkecho_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	clerkecho "github.com/clerkgate/clerkgate/adapters/echo"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// whoami answers with what both accessors see, so tests can check that
// they agree.
func whoami(c echo.Context) error {
	claims, ok := clerkecho.Claims(c)
	c.Response().Header().Set("Cache-Control", adaptertest.PublicCaching)
	return c.JSON(http.StatusOK, adaptertest.Whoami(c.Request().Context(), claims, ok))
}

// whoCalls answers with what both caller accessors see.
func whoCalls(c echo.Context) error {
	caller, ok := clerkecho.Caller(c)
	return c.JSON(http.StatusOK, adaptertest.CallerJSON(c.Request().Context(), caller, ok))
}

// serve starts an app with the adapter's middlewares on real HTTP, routed
// as adaptertest expects, with echo's default error handler behind a
// recorder of the errors that reach it.
func serve(t *testing.T, gate *clerkgate.Gate, extra func(*echo.Echo)) (*httptest.Server, *adaptertest.Recorder[error]) {
	t.Helper()
	e := echo.New()
	errs := &adaptertest.Recorder[error]{}
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		errs.Add(err)
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.GET("/me", whoami, clerkecho.RequireSession(gate))
	e.POST("/me", whoami, clerkecho.RequireSession(gate))
	e.GET("/maybe", whoami, clerkecho.OptionalSession(gate))
	e.POST("/maybe", whoami, clerkecho.OptionalSession(gate))
	e.GET("/open", whoami)
	e.GET("/any", whoCalls, clerkecho.RequirePolicy(gate.Accept(clerkgate.AnyToken)))
	e.POST("/any", whoCalls, clerkecho.RequirePolicy(gate.Accept(clerkgate.AnyToken)))
	e.GET("/machines", whoCalls, clerkecho.RequirePolicy(gate.Accept(adaptertest.MachineTypes()...)))
	e.GET("/maybe-any", whoCalls, clerkecho.OptionalPolicy(gate.Accept(clerkgate.AnyToken)))
	e.GET("/writers", whoCalls, clerkecho.RequirePolicy(adaptertest.Writers(gate)))
	if extra != nil {
		extra(e)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, errs
}

// TestContract runs what every adapter owes, over real HTTP against
// clerktest: valid, refused (byte for byte as net/http), refreshed,
// optional and unprotected requests.
func TestContract(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, func(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
		srv, _ := serve(t, gate, nil)
		return srv
	})
}

// TestAccept runs what every adapter owes for routes that accept chosen
// token types: every machine credential, refusals byte for byte as
// net/http, the Backend API down.
func TestAccept(t *testing.T) {
	t.Parallel()
	adaptertest.RunAccept(t, func(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
		srv, _ := serve(t, gate, nil)
		return srv
	})
}

// TestAuthorization: Require answers as clerkgate's session policy with the checks, byte for
// byte, over real HTTP.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	adaptertest.RunAuthorization(t, func(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
		srv, _ := serve(t, gate, func(e *echo.Echo) {
			for path, checks := range adaptertest.AuthzRoutes() {
				e.GET(path, whoami, clerkecho.Require(gate, checks...))
			}
		})
		return srv
	})
}

// A Policy takes the Config's Skipper and ErrorHandler as the session
// middlewares do.
func TestRouteWithConfig(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	reasons := &adaptertest.Recorder[clerkgate.Reason]{}
	app, _ := serve(t, f.Gate, func(e *echo.Echo) {
		g := e.Group("/api", clerkecho.RequirePolicyWithConfig(clerkecho.Config{
			Policy:  f.Gate.Accept(adaptertest.MachineTypes()...),
			Skipper: func(c echo.Context) bool { return c.Path() == "/api/public" },
			ErrorHandler: func(c echo.Context, err *clerkgate.AuthError) error {
				reasons.Add(err.Reason)
				return clerkecho.Refuse(c, err)
			},
		}))
		g.GET("/public", whoCalls)
		g.GET("/private", whoCalls)
	})
	key := f.Credentials(t)[0]
	adaptertest.RequireAnonymous(t, adaptertest.Get(t, app, "/api/public", f.Token()))
	adaptertest.RequireCaller(t, key, adaptertest.Get(t, app, "/api/private", key.Token))
	got := adaptertest.Get(t, app, "/api/private", f.Token())
	require.Equal(t, http.StatusUnauthorized, got.Status)
	require.Equal(t, "token_type_invalid", got.JSON(t)["error"])
	require.Equal(t, []clerkgate.Reason{clerkgate.ReasonTokenTypeInvalid}, reasons.All())
}

func TestForbiddenIsAnEchoError(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	app, errs := serve(t, f.Gate, func(e *echo.Echo) {
		e.GET("/admin", whoami, clerkecho.Require(f.Gate, authz.Role("org:admin")))
	})
	got := adaptertest.Get(t, app, "/admin", f.Token())
	require.Equal(t, http.StatusForbidden, got.Status)
	require.JSONEq(t, `{"error":"forbidden","reason":"role_required","message":"the session's organization role does not allow this"}`, string(got.Body))
	all := errs.All()
	require.Len(t, all, 1)
	var ae *clerkgate.AuthError
	require.ErrorAs(t, all[0], &ae)
	require.ErrorIs(t, ae, clerkgate.ReasonRoleRequired)
	require.Equal(t, authz.KindRole, ae.Check.Kind())
}

func TestRequirePanicsOnBadChecks(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	require.Panics(t, func() { clerkecho.Require(f.Gate) })
	require.Panics(t, func() { clerkecho.Require(f.Gate, authz.Reverification("hard")) })
	require.Panics(t, func() { clerkecho.Require(nil, authz.Role("admin")) })
}

func TestRefusalIsAnEchoError(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	app, errs := serve(t, f.Gate, nil)

	got := adaptertest.Get(t, app, "/me", f.ExpiredToken())
	require.Equal(t, http.StatusUnauthorized, got.Status)
	// One JSON document: the error handler saw a committed response and
	// left it alone.
	require.JSONEq(t, `{"error":"token_expired","message":"the session token has expired"}`, string(got.Body))

	all := errs.All()
	require.Len(t, all, 1)
	var he *echo.HTTPError
	require.ErrorAs(t, all[0], &he)
	require.Equal(t, http.StatusUnauthorized, he.Code)
	var ae *clerkgate.AuthError
	require.ErrorAs(t, all[0], &ae)
	require.Equal(t, clerkgate.ReasonTokenExpired, ae.Reason)
	require.ErrorIs(t, all[0], clerkgate.ReasonTokenExpired)

	// A granted request reports no error.
	f.RequireSignedIn(t, adaptertest.Get(t, app, "/me", f.Token()))
	require.Len(t, errs.All(), 1)
}

// A page load sent through Clerk's handshake by a route that accepts
// sessions is not a refusal: echo's error handler does not hear of it,
// and a machine route's refusal of the same page load does reach it.
func TestRouteHandshakeIsNoRefusal(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	app, errs := serve(t, f.Gate, nil)
	got := adaptertest.Do(t, app, adaptertest.Request{Path: "/any", Page: true})
	require.Equal(t, http.StatusTemporaryRedirect, got.Status, "body: %s", got.Body)
	require.Equal(t, "handshake", got.Header.Get("X-Clerk-Auth-Status"))
	require.Empty(t, errs.All())

	got = adaptertest.Do(t, app, adaptertest.Request{Path: "/machines", Page: true})
	require.Equal(t, http.StatusUnauthorized, got.Status)
	require.Len(t, errs.All(), 1)
}

// Only a refusal reaches echo's error handler: an anonymous or signed-in
// request on an optional route does not.
func TestOptionalSessionReportsOnlyRefusals(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	app, errs := serve(t, f.Gate, nil)

	adaptertest.RequireAnonymous(t, adaptertest.Get(t, app, "/maybe", ""))
	require.Empty(t, errs.All())
	f.RequireSignedIn(t, adaptertest.Get(t, app, "/maybe", f.Token()))
	require.Empty(t, errs.All())
	require.Equal(t, http.StatusUnauthorized, adaptertest.Get(t, app, "/maybe", f.ForgedToken(t)).Status)
	require.Len(t, errs.All(), 1)
}

func TestClaimsWithoutContext(t *testing.T) {
	t.Parallel()
	_, ok := clerkecho.Claims(nil)
	require.False(t, ok)
	_, ok = clerkecho.Caller(nil)
	require.False(t, ok)
}

func TestSkipper(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	var handled atomic.Int32
	app, _ := serve(t, f.Gate, func(e *echo.Echo) {
		g := e.Group("/api", clerkecho.RequireSessionWithConfig(clerkecho.Config{
			Gate:    f.Gate,
			Skipper: func(c echo.Context) bool { return c.Path() == "/api/public" },
		}))
		g.GET("/public", func(c echo.Context) error {
			handled.Add(1)
			return whoami(c)
		})
		g.GET("/private", whoami)
	})

	adaptertest.RequireAnonymous(t, adaptertest.Get(t, app, "/api/public", ""))
	// Skipped means not looked at: even a forged token passes, without claims.
	adaptertest.RequireAnonymous(t, adaptertest.Get(t, app, "/api/public", f.ForgedToken(t)))
	require.EqualValues(t, 2, handled.Load())

	require.Equal(t, http.StatusUnauthorized, adaptertest.Get(t, app, "/api/private", "").Status)
	f.RequireSignedIn(t, adaptertest.Get(t, app, "/api/private", f.Token()))
}

func TestErrorHandler(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	reasons := &adaptertest.Recorder[clerkgate.Reason]{}
	app, errs := serve(t, f.Gate, func(e *echo.Echo) {
		e.GET("/app", whoami, clerkecho.RequireSessionWithConfig(clerkecho.Config{
			Gate: f.Gate,
			ErrorHandler: func(c echo.Context, err *clerkgate.AuthError) error {
				reasons.Add(err.Reason)
				if err.Reason == clerkgate.ReasonTokenMissing {
					return c.Redirect(http.StatusFound, "/sign-in")
				}
				return clerkecho.Refuse(c, err)
			},
		}))
	})

	browser := adaptertest.Get(t, app, "/app", "")
	require.Equal(t, http.StatusFound, browser.Status)
	require.Equal(t, "/sign-in", browser.Header.Get("Location"))
	require.Empty(t, errs.All())

	forged := adaptertest.Get(t, app, "/app", f.ForgedToken(t))
	require.Equal(t, http.StatusUnauthorized, forged.Status)
	require.Equal(t, "signature_invalid", forged.JSON(t)["error"])
	require.Len(t, errs.All(), 1)

	require.Equal(t, []clerkgate.Reason{clerkgate.ReasonTokenMissing, clerkgate.ReasonSignatureInvalid}, reasons.All())
}

func TestConfigWithoutGatePanics(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "clerkecho: Config.Gate is nil", func() {
		clerkecho.RequireSessionWithConfig(clerkecho.Config{})
	})
	require.PanicsWithValue(t, "clerkecho: Config.Policy is nil", func() { clerkecho.RequirePolicy(nil) })
	require.PanicsWithValue(t, "clerkecho: Config.Policy is nil", func() {
		clerkecho.OptionalPolicyWithConfig(clerkecho.Config{Gate: &clerkgate.Gate{}})
	})
}
