package clerkfiber_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	clerkfiber "github.com/clerkgate/clerkgate/adapters/fiber"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp keeps the Date header fresh from one goroutine per
		// process, started by its first server and never stopped.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// A server's idle-worker cleaner sleeps 10s between rounds and
		// sees that its server stopped only when it wakes: it ends, late.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
}

// whoami answers with what both accessors see, so tests can check that
// they agree.
func whoami(c fiber.Ctx) error {
	claims, ok := clerkfiber.Claims(c)
	c.Set("Cache-Control", adaptertest.PublicCaching)
	return c.JSON(adaptertest.Whoami(c.Context(), claims, ok))
}

// whoCalls answers with what both caller accessors see.
func whoCalls(c fiber.Ctx) error {
	caller, ok := clerkfiber.Caller(c)
	return c.JSON(adaptertest.CallerJSON(c.Context(), caller, ok))
}

// serve starts an app with the adapter's middlewares on real HTTP, routed
// as adaptertest expects.
func serve(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
	t.Helper()
	app := fiber.New()
	app.Get("/me", clerkfiber.RequireSession(gate), whoami)
	app.Post("/me", clerkfiber.RequireSession(gate), whoami)
	app.Get("/maybe", clerkfiber.OptionalSession(gate), whoami)
	app.Post("/maybe", clerkfiber.OptionalSession(gate), whoami)
	app.Get("/open", whoami)
	app.Get("/any", clerkfiber.RequirePolicy(gate.Accept(clerkgate.AnyToken)), whoCalls)
	app.Post("/any", clerkfiber.RequirePolicy(gate.Accept(clerkgate.AnyToken)), whoCalls)
	app.Get("/machines", clerkfiber.RequirePolicy(gate.Accept(adaptertest.MachineTypes()...)), whoCalls)
	app.Get("/maybe-any", clerkfiber.OptionalPolicy(gate.Accept(clerkgate.AnyToken)), whoCalls)
	app.Get("/writers", clerkfiber.RequirePolicy(adaptertest.Writers(gate)), whoCalls)
	return listen(t, app)
}

// listen serves app on a loopback port with fasthttp, Fiber's own server,
// and returns it as the *httptest.Server adaptertest talks to: its URL and
// client are those of the Fiber server. The httptest.Server's own
// net/http server only waits on a listener that never accepts.
func listen(t *testing.T, app *fiber.App) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() {
		served <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Listener.Close()
	srv.Listener = newIdleListener(ln.Addr())
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, app.ShutdownWithTimeout(5*time.Second))
		require.NoError(t, <-served)
	})
	return srv
}

// idleListener is a listener that accepts nothing until it is closed.
type idleListener struct {
	addr   net.Addr
	closed chan struct{}
	once   sync.Once
}

func newIdleListener(addr net.Addr) *idleListener {
	return &idleListener{addr: addr, closed: make(chan struct{})}
}

func (l *idleListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

func (l *idleListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *idleListener) Addr() net.Addr { return l.addr }

// TestContract runs what every adapter owes, over real HTTP against
// clerktest: valid, refused (byte for byte as net/http), refreshed,
// optional and unprotected requests, the cross-origin check and the
// sign-in redirect.
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
		app := fiber.New()
		for path, checks := range adaptertest.AuthzRoutes() {
			app.Get(path, clerkfiber.Require(gate, checks...), whoami)
		}
		return listen(t, app)
	})
}

func TestRequirePanicsOnBadChecks(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	require.Panics(t, func() { clerkfiber.Require(f.Gate) })
	require.Panics(t, func() { clerkfiber.Require(f.Gate, authz.Role("")) })
	require.Panics(t, func() { clerkfiber.Require(nil, authz.Role("admin")) })
}

func TestNilGatePanics(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "clerkfiber: nil *clerkgate.Gate", func() { clerkfiber.RequireSession(nil) })
	require.PanicsWithValue(t, "clerkfiber: nil *clerkgate.Gate", func() { clerkfiber.OptionalSession(nil) })
	require.PanicsWithValue(t, "clerkfiber: nil *clerkgate.Policy", func() { clerkfiber.RequirePolicy(nil) })
	require.PanicsWithValue(t, "clerkfiber: nil *clerkgate.Policy", func() { clerkfiber.OptionalPolicy(nil) })
}

func TestAccessorsWithoutContext(t *testing.T) {
	t.Parallel()
	_, ok := clerkfiber.Claims(nil)
	require.False(t, ok)
	_, ok = clerkfiber.Caller(nil)
	require.False(t, ok)
}

func TestRefusalStopsTheChain(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	var later, handler atomic.Int32
	app := fiber.New()
	app.Use(clerkfiber.RequireSession(f.Gate), func(c fiber.Ctx) error {
		later.Add(1)
		return c.Next()
	})
	app.Get("/me", func(c fiber.Ctx) error {
		handler.Add(1)
		return whoami(c)
	})
	srv := listen(t, app)

	refused := adaptertest.Get(t, srv, "/me", "")
	require.Equal(t, http.StatusUnauthorized, refused.Status)
	require.Zero(t, later.Load())
	require.Zero(t, handler.Load())

	f.RequireSignedIn(t, adaptertest.Get(t, srv, "/me", f.Token()))
	require.EqualValues(t, 1, later.Load())
	require.EqualValues(t, 1, handler.Load())
}

// A later handler's error reaches Fiber's error handler, as without the
// middleware.
func TestChainErrorIsReturned(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	var seen adaptertest.Recorder[error]
	app := fiber.New(fiber.Config{ErrorHandler: func(c fiber.Ctx, err error) error {
		seen.Add(err)
		return c.Status(http.StatusTeapot).SendString("handled")
	}})
	boom := errors.New("boom")
	app.Get("/me", clerkfiber.RequireSession(f.Gate), func(fiber.Ctx) error { return boom })
	srv := listen(t, app)

	got := adaptertest.Get(t, srv, "/me", f.Token())
	require.Equal(t, http.StatusTeapot, got.Status)
	require.Equal(t, []error{boom}, seen.All())

	// A refusal is the Gate's answer, not an error for Fiber to render.
	require.Equal(t, http.StatusUnauthorized, adaptertest.Get(t, srv, "/me", "").Status)
	require.Len(t, seen.All(), 1)
}

func TestGateErrorHandlerIsHonoured(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t, adaptertest.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, _ *clerkgate.AuthError) {
		http.Redirect(w, r, "/sign-in", http.StatusFound)
	}))
	srv := serve(t, f.Gate)

	got := adaptertest.Get(t, srv, "/me", "")
	require.Equal(t, http.StatusFound, got.Status)
	require.Equal(t, "/sign-in", got.Header.Get("Location"))
	// As net/http's http.Redirect answers a GET: an HTML link.
	require.Equal(t, "text/html; charset=utf-8", got.Header.Get("Content-Type"))
	require.Equal(t, `<a href="/sign-in">Found</a>.`+"\n\n", string(got.Body))
}

// An ErrorHandler that writes a body without a Content-Type gets the one
// net/http would sniff; one that writes nothing gets a 200 with no
// Content-Type, as from net/http, not fasthttp's default.
func TestResponseWriterIsNetHTTPs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		handler     func(http.ResponseWriter, *http.Request, *clerkgate.AuthError)
		status      int
		contentType []string
		body        string
	}{
		{"sniffed", func(w http.ResponseWriter, _ *http.Request, _ *clerkgate.AuthError) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("<html>no</html>"))
		}, http.StatusForbidden, []string{"text/html; charset=utf-8"}, "<html>no</html>"},
		{"nothing written", func(http.ResponseWriter, *http.Request, *clerkgate.AuthError) {},
			http.StatusOK, nil, ""},
		{"headers after WriteHeader are not sent", func(w http.ResponseWriter, _ *http.Request, _ *clerkgate.AuthError) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusUnauthorized)
			w.Header().Set("X-Late", "1")
			_, _ = w.Write([]byte("no"))
		}, http.StatusUnauthorized, []string{"text/plain"}, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := adaptertest.New(t, adaptertest.WithErrorHandler(tc.handler))
			srv := serve(t, f.Gate)
			got := adaptertest.Get(t, srv, "/me", "")
			require.Equal(t, tc.status, got.Status)
			require.Equal(t, tc.contentType, got.Header.Values("Content-Type"))
			require.Empty(t, got.Header.Values("X-Late"))
			require.Equal(t, tc.body, string(got.Body))
		})
	}
}

// Claims live in c.Context(), which the handler can hand to code that
// knows nothing of Fiber; a fiber.Ctx is a context.Context too, but its
// values are Fiber's Locals, where nothing is found: the anonymous
// answer, never another user's.
func TestClaimsLiveInTheRequestContext(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	app := fiber.New()
	type key struct{}
	app.Use(func(c fiber.Ctx) error {
		// A context set before the middleware is kept, values and all.
		c.SetContext(context.WithValue(c.Context(), key{}, "kept"))
		return c.Next()
	})
	app.Get("/me", clerkfiber.RequireSession(f.Gate), func(c fiber.Ctx) error {
		_, onCtx := clerkgate.ClaimsFromContext(c)
		caller, _ := clerkgate.CallerFromContext(c.Context())
		return c.JSON(fiber.Map{
			"user_id": caller.Subject(),
			"kept":    c.Context().Value(key{}),
			"on_ctx":  onCtx,
		})
	})
	srv := listen(t, app)
	got := adaptertest.Get(t, srv, "/me", f.Token())
	require.Equal(t, http.StatusOK, got.Status, "body: %s", got.Body)
	require.Equal(t, map[string]any{"user_id": adaptertest.User, "kept": "kept", "on_ctx": false}, got.JSON(t))
}

// Every string the Gate sees is a copy: fasthttp reuses a connection's
// buffers for its next request, and the Gate keeps tokens (its caches).
// Many requests on one kept-alive connection, valid and forged tokens
// interleaved, each get their own answer.
func TestRequestsOnOneConnectionStayApart(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	srv := serve(t, f.Gate)
	valid, forged := f.Token(), f.ForgedToken(t)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	rd := bufio.NewReader(conn)
	for i := range 40 {
		token, want := valid, http.StatusOK
		if i%2 == 1 {
			token, want = forged, http.StatusUnauthorized
		}
		_, err := conn.Write([]byte("GET /me HTTP/1.1\r\nHost: app.example\r\nAuthorization: Bearer " + token + "\r\n\r\n"))
		require.NoError(t, err)
		res, err := http.ReadResponse(rd, nil)
		require.NoError(t, err)
		var body strings.Builder
		_, err = bufio.NewReader(res.Body).WriteTo(&body)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, want, res.StatusCode, "request %d: %s", i, body.String())
	}
}

// A request target net/http would refuse never reaches the Gate as
// something else: it is a 400.
func TestUnparsableTargetIsRefused(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	var handler atomic.Int32
	app := fiber.New()
	app.Use(clerkfiber.RequireSession(f.Gate), func(fiber.Ctx) error {
		handler.Add(1)
		return nil
	})
	srv := listen(t, app)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.Write([]byte("GET /me%zz HTTP/1.1\r\nHost: app.example\r\nAuthorization: Bearer " + f.Token() + "\r\n\r\n"))
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Zero(t, handler.Load())
}

// The Gate reads the request Fiber received as net/http would have read
// the same bytes: requests sent raw, with what a client library would
// tidy away (two Authorization headers, a session cookie sent twice,
// lower-case names, stray spaces), get the same answer from the adapter
// as from clerkgate's own middleware on net/http's server.
func TestRawRequestsAnswerAsNetHTTP(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	other := f.Fake.Token(f.Fake.CreateSession("user_other").ID)
	ref := httptest.NewServer(f.Gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		_, _ = w.Write([]byte(caller.Subject()))
	})))
	t.Cleanup(ref.Close)
	app := fiber.New()
	app.Get("/me", clerkfiber.RequireSession(f.Gate), func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return c.SendString(claims.Subject)
	})
	srv := listen(t, app)

	suffixed := "__session_" + f.Fake.CookieSuffix()
	for _, tc := range []struct {
		name, headers string
		status        int
	}{
		{"bearer", "Authorization: Bearer " + f.Token(), http.StatusOK},
		{"lower-case name and scheme, trailing spaces", "authorization: bearer " + f.Token() + "  ", http.StatusOK},
		{"several spaces after the scheme", "Authorization: Bearer   " + f.Token(), http.StatusUnauthorized},
		{"two Authorization headers", "Authorization: Bearer " + f.Token() + "\r\nAuthorization: Bearer " + other, http.StatusUnauthorized},
		{"the same Authorization twice", "Authorization: Bearer " + f.Token() + "\r\nAuthorization: Bearer " + f.Token(), http.StatusUnauthorized},
		{"an empty bearer", "Authorization: Bearer ", http.StatusUnauthorized},
		{"another scheme", "Authorization: Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"session cookie", "Cookie: __session=" + f.Token(), http.StatusOK},
		{"suffixed session cookie", "Cookie: " + f.SessionCookie(), http.StatusOK},
		{"a suffixed session cookie without its __client_uat", "Cookie: " + suffixed + "=" + f.Token(), http.StatusUnauthorized},
		{"a planted second session cookie", "Cookie: __session=" + other + "; __session=" + f.Token(), http.StatusUnauthorized},
		{"a planted cookie in another header", "Cookie: " + suffixed + "=" + other + "\r\nCookie: " + suffixed + "=" + f.Token(), http.StatusUnauthorized},
		{"an empty session cookie", "Cookie: __session=", http.StatusUnauthorized},
		{"a forged cookie beside the bearer", "Authorization: Bearer " + f.Token() + "\r\nCookie: __session=" + f.ForgedToken(t), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := "GET /me HTTP/1.1\r\nHost: app.example\r\n" + tc.headers + "\r\nConnection: close\r\n\r\n"
			want, got := rawDo(t, ref.Listener.Addr().String(), raw), rawDo(t, srv.Listener.Addr().String(), raw)
			require.Equal(t, tc.status, want.StatusCode, "net/http: %s", want.body)
			require.Equal(t, want.StatusCode, got.StatusCode, "fiber: %s", got.body)
			require.Equal(t, want.body, got.body)
			require.Equal(t, want.Header.Values("WWW-Authenticate"), got.Header.Values("WWW-Authenticate"))
			if want.StatusCode != http.StatusOK {
				require.Equal(t, want.Header.Values("Content-Type"), got.Header.Values("Content-Type"))
				require.Equal(t, want.Header.Values("Cache-Control"), got.Header.Values("Cache-Control"))
			}
		})
	}
}

type rawResponse struct {
	*http.Response
	body string
}

// rawDo sends raw to addr as it is and reads the answer.
func rawDo(t *testing.T, addr, raw string) rawResponse {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte(raw))
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	var body strings.Builder
	_, err = bufio.NewReader(res.Body).WriteTo(&body)
	require.NoError(t, err)
	return rawResponse{res, body.String()}
}
