package clerkgin_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	clerkgin "github.com/clerkgate/clerkgate/adapters/gin"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

// whoami answers with what both accessors see, so tests can check that
// they agree.
func whoami(c *gin.Context) {
	claims, ok := clerkgin.Claims(c)
	c.Header("Cache-Control", adaptertest.PublicCaching)
	c.JSON(http.StatusOK, adaptertest.Whoami(c.Request.Context(), claims, ok))
}

// whoCalls answers with what both caller accessors see.
func whoCalls(c *gin.Context) {
	caller, ok := clerkgin.Caller(c)
	c.JSON(http.StatusOK, adaptertest.CallerJSON(c.Request.Context(), caller, ok))
}

// serve starts an app with the adapter's middlewares on real HTTP, routed
// as adaptertest expects.
func serve(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
	t.Helper()
	r := gin.New()
	r.GET("/me", clerkgin.RequireSession(gate), whoami)
	r.POST("/me", clerkgin.RequireSession(gate), whoami)
	r.GET("/maybe", clerkgin.OptionalSession(gate), whoami)
	r.POST("/maybe", clerkgin.OptionalSession(gate), whoami)
	r.GET("/open", whoami)
	r.GET("/any", clerkgin.RequirePolicy(gate.Accept(clerkgate.AnyToken)), whoCalls)
	r.POST("/any", clerkgin.RequirePolicy(gate.Accept(clerkgate.AnyToken)), whoCalls)
	r.GET("/machines", clerkgin.RequirePolicy(gate.Accept(adaptertest.MachineTypes()...)), whoCalls)
	r.GET("/maybe-any", clerkgin.OptionalPolicy(gate.Accept(clerkgate.AnyToken)), whoCalls)
	r.GET("/writers", clerkgin.RequirePolicy(adaptertest.Writers(gate)), whoCalls)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// TestContract runs what every adapter owes, over real HTTP against
// clerktest: valid, refused (byte for byte as net/http), refreshed,
// optional and unprotected requests.
func TestContract(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, serve)
}

// TestAccept runs what every adapter owes for routes that accept chosen
// token types: every machine credential, refusals byte for byte as
// net/http, the Backend API down.
func TestAccept(t *testing.T) {
	t.Parallel()
	adaptertest.RunAccept(t, serve)
}

// TestAuthorization: Require answers as clerkgate's session policy with the checks, byte for
// byte, over real HTTP.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	adaptertest.RunAuthorization(t, func(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
		r := gin.New()
		for path, checks := range adaptertest.AuthzRoutes() {
			r.GET(path, clerkgin.Require(gate, checks...), whoami)
		}
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv
	})
}

func TestRequirePanicsOnBadChecks(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	require.Panics(t, func() { clerkgin.Require(f.Gate) })
	require.Panics(t, func() { clerkgin.Require(f.Gate, authz.Role("")) })
	require.Panics(t, func() { clerkgin.Require(nil, authz.Role("admin")) })
}

func TestClaimsWithoutRequest(t *testing.T) {
	t.Parallel()
	_, ok := clerkgin.Claims(&gin.Context{})
	require.False(t, ok)
	_, ok = clerkgin.Caller(&gin.Context{})
	require.False(t, ok)
}

func TestRefusalAbortsTheChain(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	var later, handler atomic.Int32
	r := gin.New()
	r.Use(clerkgin.RequireSession(f.Gate), func(c *gin.Context) {
		later.Add(1)
		c.Next()
	})
	r.GET("/me", func(c *gin.Context) {
		handler.Add(1)
		whoami(c)
	})
	app := httptest.NewServer(r)
	t.Cleanup(app.Close)

	refused := adaptertest.Get(t, app, "/me", "")
	require.Equal(t, http.StatusUnauthorized, refused.Status)
	require.Zero(t, later.Load())
	require.Zero(t, handler.Load())

	f.RequireSignedIn(t, adaptertest.Get(t, app, "/me", f.Token()))
	require.EqualValues(t, 1, later.Load())
	require.EqualValues(t, 1, handler.Load())
}

func TestGateErrorHandlerIsHonoured(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t, adaptertest.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, _ *clerkgate.AuthError) {
		http.Redirect(w, r, "/sign-in", http.StatusFound)
	}))
	app := serve(t, f.Gate)

	got := adaptertest.Get(t, app, "/me", "")
	require.Equal(t, http.StatusFound, got.Status)
	require.Equal(t, "/sign-in", got.Header.Get("Location"))
}

func TestNilGatePanics(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "clerkgin: nil *clerkgate.Gate", func() { clerkgin.RequireSession(nil) })
	require.PanicsWithValue(t, "clerkgin: nil *clerkgate.Gate", func() { clerkgin.OptionalSession(nil) })
	require.PanicsWithValue(t, "clerkgin: nil *clerkgate.Policy", func() { clerkgin.RequirePolicy(nil) })
	require.PanicsWithValue(t, "clerkgin: nil *clerkgate.Policy", func() { clerkgin.OptionalPolicy(nil) })
}
