package clerkecho_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	clerkecho "github.com/clerkgate/clerkgate/adapters/echo"
	"github.com/clerkgate/clerkgate/clerktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// instance is a fake Clerk instance and a Gate configured for it, the way
// an app in production is configured for the real one.
type instance struct {
	fake *clerktest.Server
	gate *clerkgate.Gate
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
		APIURL:         fake.URL(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, gate.Close()) })
	return &instance{fake: fake, gate: gate}
}

// refreshCookie is the __refresh_<suffix> cookie a browser holds for sess.
func (in *instance) refreshCookie(sess clerktest.Session) string {
	return "__refresh_" + in.fake.CookieSuffix() + "=" + sess.RefreshToken
}

// whoami answers with what both accessors see, so tests can check that
// they agree.
func whoami(c echo.Context) error {
	claims, ok := clerkecho.Claims(c)
	fromCtx, ctxOK := clerkgate.ClaimsFromContext(c.Request().Context())
	body := map[string]any{"signed_in": ok, "accessors_agree": ok == ctxOK && claims == fromCtx}
	if ok {
		body["user_id"] = claims.Subject
		body["session_id"] = claims.SessionID
	}
	return c.JSON(http.StatusOK, body)
}

// errorLog records the errors that reach echo's error handler.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// serve starts an app with the adapter's middlewares on real HTTP, with
// echo's default error handler behind a recorder.
func serve(t *testing.T, gate *clerkgate.Gate, extra func(*echo.Echo)) (*httptest.Server, *errorLog) {
	t.Helper()
	e := echo.New()
	log := &errorLog{}
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		log.add(err)
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.GET("/me", whoami, clerkecho.RequireSession(gate))
	e.POST("/me", whoami, clerkecho.RequireSession(gate))
	e.GET("/maybe", whoami, clerkecho.OptionalSession(gate))
	e.GET("/open", whoami)
	if extra != nil {
		extra(e)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, log
}

// serveNetHTTP is the same app on clerkgate's own middleware: the
// reference for what the wire must look like.
func serveNetHTTP(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
	t.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux := http.NewServeMux()
	mux.Handle("/me", gate.RequireSession(ok))
	mux.Handle("/maybe", gate.OptionalSession(ok))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func call(t *testing.T, srv *httptest.Server, method, path, token string, cookies ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.Header.Add("Cookie", c)
	}
	client := *srv.Client() // a copy: tests run in parallel
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return answer{res.StatusCode, res.Header, body}
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), "body: %s", a.body)
	return m
}

// forge keeps a genuine token's header and signature but rewrites its
// subject: what an attacker who captured a token would try.
func forge(t *testing.T, token string) string {
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

func TestRequireSession(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	app, _ := serve(t, in.gate, nil)
	ref := serveNetHTTP(t, in.gate)
	sess := in.fake.CreateSession("user_echo")

	t.Run("valid token", func(t *testing.T) {
		t.Parallel()
		got := call(t, app, http.MethodGet, "/me", in.fake.Token(sess.ID))
		require.Equal(t, http.StatusOK, got.status, "body: %s", got.body)
		body := got.json(t)
		require.Equal(t, "user_echo", body["user_id"])
		require.Equal(t, sess.ID, body["session_id"])
		require.Equal(t, true, body["accessors_agree"])
	})

	// Each refusal must be the net/http middleware's, byte for byte.
	refusals := []struct {
		name, method, path, token string
		cookies                   []string
		reason, challenge         string
	}{
		{name: "missing token", method: http.MethodGet, path: "/me",
			reason: "token_missing", challenge: "Bearer"},
		{name: "forged token", method: http.MethodGet, path: "/me", token: forge(t, in.fake.Token(sess.ID)),
			reason: "signature_invalid", challenge: `Bearer error="invalid_token", error_description="signature_invalid"`},
		{name: "malformed token", method: http.MethodGet, path: "/me", token: "not-a-jwt",
			reason: "token_malformed", challenge: `Bearer error="invalid_token", error_description="token_malformed"`},
		{name: "expired token without refresh cookie", method: http.MethodGet, path: "/me",
			token:  in.fake.Token(sess.ID, clerktest.Expired()),
			reason: "token_expired", challenge: `Bearer error="invalid_token", error_description="token_expired"`},
		{name: "expired token on POST is never refreshed", method: http.MethodPost, path: "/me",
			token: in.fake.Token(sess.ID, clerktest.Expired()), cookies: []string{in.refreshCookie(sess)},
			reason: "token_expired", challenge: `Bearer error="invalid_token", error_description="token_expired"`},
		{name: "invalid token on optional route", method: http.MethodGet, path: "/maybe", token: forge(t, in.fake.Token(sess.ID)),
			reason: "signature_invalid", challenge: `Bearer error="invalid_token", error_description="signature_invalid"`},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := call(t, app, tc.method, tc.path, tc.token, tc.cookies...)
			require.Equal(t, http.StatusUnauthorized, got.status)
			require.Equal(t, tc.reason, got.json(t)["error"])
			require.Equal(t, tc.challenge, got.header.Get("WWW-Authenticate"))
			require.Equal(t, "application/json", got.header.Get("Content-Type"))

			// POST is not routed on the reference server; GET refuses the
			// same token the same way.
			method := tc.method
			if method == http.MethodPost {
				method = http.MethodGet
			}
			want := call(t, ref, method, tc.path, tc.token)
			require.Equal(t, want.status, got.status)
			require.Equal(t, string(want.body), string(got.body))
			for _, h := range []string{"Content-Type", "WWW-Authenticate", "Cache-Control", "Retry-After"} {
				require.Equal(t, want.header.Values(h), got.header.Values(h), h)
			}
		})
	}
}

func TestRefusalIsAnEchoError(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	app, log := serve(t, in.gate, nil)
	sess := in.fake.CreateSession("user_echo")

	got := call(t, app, http.MethodGet, "/me", in.fake.Token(sess.ID, clerktest.Expired()))
	require.Equal(t, http.StatusUnauthorized, got.status)
	// One JSON document: the error handler saw a committed response and
	// left it alone.
	require.JSONEq(t, `{"error":"token_expired","message":"the session token has expired"}`, string(got.body))

	errs := log.all()
	require.Len(t, errs, 1)
	var he *echo.HTTPError
	require.ErrorAs(t, errs[0], &he)
	require.Equal(t, http.StatusUnauthorized, he.Code)
	var ae *clerkgate.AuthError
	require.ErrorAs(t, errs[0], &ae)
	require.Equal(t, clerkgate.ReasonTokenExpired, ae.Reason)
	require.ErrorIs(t, errs[0], clerkgate.ReasonTokenExpired)

	// A granted request reports no error.
	require.Equal(t, http.StatusOK, call(t, app, http.MethodGet, "/me", in.fake.Token(sess.ID)).status)
	require.Len(t, log.all(), 1)
}

func TestRefreshSetsCookies(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	app, _ := serve(t, in.gate, nil)
	sess := in.fake.CreateSession("user_echo")

	got := call(t, app, http.MethodGet, "/me", in.fake.Token(sess.ID, clerktest.Expired()), in.refreshCookie(sess))
	require.Equal(t, http.StatusOK, got.status, "body: %s", got.body)
	require.Equal(t, sess.ID, got.json(t)["session_id"])
	require.Equal(t, true, got.json(t)["accessors_agree"])
	var session bool
	for _, c := range got.header.Values("Set-Cookie") {
		session = session || strings.HasPrefix(c, "__session=") || strings.HasPrefix(c, "__session_")
	}
	require.True(t, session, "Set-Cookie: %q", got.header.Values("Set-Cookie"))
}

func TestOptionalSession(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	app, log := serve(t, in.gate, nil)
	sess := in.fake.CreateSession("user_echo")

	anonymous := call(t, app, http.MethodGet, "/maybe", "")
	require.Equal(t, http.StatusOK, anonymous.status)
	require.Equal(t, false, anonymous.json(t)["signed_in"])
	require.Equal(t, true, anonymous.json(t)["accessors_agree"])
	require.Empty(t, log.all())

	signedIn := call(t, app, http.MethodGet, "/maybe", in.fake.Token(sess.ID))
	require.Equal(t, http.StatusOK, signedIn.status)
	require.Equal(t, "user_echo", signedIn.json(t)["user_id"])

	invalid := call(t, app, http.MethodGet, "/maybe", forge(t, in.fake.Token(sess.ID)))
	require.Equal(t, http.StatusUnauthorized, invalid.status)
	require.Len(t, log.all(), 1)
}

func TestClaimsWithoutMiddleware(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	app, _ := serve(t, in.gate, nil)
	sess := in.fake.CreateSession("user_echo")

	// A token on an unprotected route is not verified, so nothing is attached.
	got := call(t, app, http.MethodGet, "/open", in.fake.Token(sess.ID))
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, false, got.json(t)["signed_in"])

	_, ok := clerkecho.Claims(nil)
	require.False(t, ok)
}

func TestSkipper(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	var handled int
	var mu sync.Mutex
	app, _ := serve(t, in.gate, func(e *echo.Echo) {
		g := e.Group("/api", clerkecho.RequireSessionWithConfig(clerkecho.Config{
			Gate:    in.gate,
			Skipper: func(c echo.Context) bool { return c.Path() == "/api/public" },
		}))
		g.GET("/public", func(c echo.Context) error {
			mu.Lock()
			handled++
			mu.Unlock()
			return whoami(c)
		})
		g.GET("/private", whoami)
	})
	sess := in.fake.CreateSession("user_echo")

	public := call(t, app, http.MethodGet, "/api/public", "")
	require.Equal(t, http.StatusOK, public.status)
	require.Equal(t, false, public.json(t)["signed_in"])
	// Skipped means not looked at: even a forged token passes, without claims.
	forged := call(t, app, http.MethodGet, "/api/public", forge(t, in.fake.Token(sess.ID)))
	require.Equal(t, http.StatusOK, forged.status)
	require.Equal(t, false, forged.json(t)["signed_in"])
	mu.Lock()
	require.Equal(t, 2, handled)
	mu.Unlock()

	require.Equal(t, http.StatusUnauthorized, call(t, app, http.MethodGet, "/api/private", "").status)
	require.Equal(t, http.StatusOK, call(t, app, http.MethodGet, "/api/private", in.fake.Token(sess.ID)).status)
}

func TestErrorHandler(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	var reasons []clerkgate.Reason
	var mu sync.Mutex
	app, log := serve(t, in.gate, func(e *echo.Echo) {
		e.GET("/app", whoami, clerkecho.RequireSessionWithConfig(clerkecho.Config{
			Gate: in.gate,
			ErrorHandler: func(c echo.Context, err *clerkgate.AuthError) error {
				mu.Lock()
				reasons = append(reasons, err.Reason)
				mu.Unlock()
				if err.Reason == clerkgate.ReasonTokenMissing {
					return c.Redirect(http.StatusFound, "/sign-in")
				}
				return clerkecho.Refuse(c, err)
			},
		}))
	})
	sess := in.fake.CreateSession("user_echo")

	browser := call(t, app, http.MethodGet, "/app", "")
	require.Equal(t, http.StatusFound, browser.status)
	require.Equal(t, "/sign-in", browser.header.Get("Location"))
	require.Empty(t, log.all())

	forged := call(t, app, http.MethodGet, "/app", forge(t, in.fake.Token(sess.ID)))
	require.Equal(t, http.StatusUnauthorized, forged.status)
	require.Equal(t, "signature_invalid", forged.json(t)["error"])
	require.Len(t, log.all(), 1)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []clerkgate.Reason{clerkgate.ReasonTokenMissing, clerkgate.ReasonSignatureInvalid}, reasons)
}

func TestConfigWithoutGatePanics(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "clerkecho: Config.Gate is nil", func() {
		clerkecho.RequireSessionWithConfig(clerkecho.Config{})
	})
}
