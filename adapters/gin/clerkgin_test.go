package clerkgin_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	clerkgin "github.com/clerkgate/clerkgate/adapters/gin"
	"github.com/clerkgate/clerkgate/clerktest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

// instance is a fake Clerk instance and a Gate configured for it, the way
// an app in production is configured for the real one.
type instance struct {
	fake *clerktest.Server
	gate *clerkgate.Gate
}

func newInstance(t *testing.T, errorHandler func(http.ResponseWriter, *http.Request, *clerkgate.AuthError)) *instance {
	t.Helper()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
		APIURL:         fake.URL(),
		ErrorHandler:   errorHandler,
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
func whoami(c *gin.Context) {
	claims, ok := clerkgin.Claims(c)
	fromCtx, ctxOK := clerkgate.ClaimsFromContext(c.Request.Context())
	body := gin.H{"signed_in": ok, "accessors_agree": ok == ctxOK && claims == fromCtx}
	if ok {
		body["user_id"] = claims.Subject
		body["session_id"] = claims.SessionID
	}
	c.JSON(http.StatusOK, body)
}

// serve starts an app with the adapter's middlewares on real HTTP.
func serve(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
	t.Helper()
	r := gin.New()
	r.GET("/me", clerkgin.RequireSession(gate), whoami)
	r.POST("/me", clerkgin.RequireSession(gate), whoami)
	r.GET("/maybe", clerkgin.OptionalSession(gate), whoami)
	r.GET("/open", whoami)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
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
	in := newInstance(t, nil)
	app, ref := serve(t, in.gate), serveNetHTTP(t, in.gate)
	sess := in.fake.CreateSession("user_gin")

	t.Run("valid token", func(t *testing.T) {
		t.Parallel()
		got := call(t, app, http.MethodGet, "/me", in.fake.Token(sess.ID))
		require.Equal(t, http.StatusOK, got.status, "body: %s", got.body)
		body := got.json(t)
		require.Equal(t, "user_gin", body["user_id"])
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

func TestRefreshSetsCookies(t *testing.T) {
	t.Parallel()
	in := newInstance(t, nil)
	app := serve(t, in.gate)
	sess := in.fake.CreateSession("user_gin")

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
	in := newInstance(t, nil)
	app := serve(t, in.gate)
	sess := in.fake.CreateSession("user_gin")

	anonymous := call(t, app, http.MethodGet, "/maybe", "")
	require.Equal(t, http.StatusOK, anonymous.status)
	require.Equal(t, false, anonymous.json(t)["signed_in"])
	require.Equal(t, true, anonymous.json(t)["accessors_agree"])

	signedIn := call(t, app, http.MethodGet, "/maybe", in.fake.Token(sess.ID))
	require.Equal(t, http.StatusOK, signedIn.status)
	require.Equal(t, "user_gin", signedIn.json(t)["user_id"])

	invalid := call(t, app, http.MethodGet, "/maybe", forge(t, in.fake.Token(sess.ID)))
	require.Equal(t, http.StatusUnauthorized, invalid.status)
}

func TestClaimsWithoutMiddleware(t *testing.T) {
	t.Parallel()
	in := newInstance(t, nil)
	app := serve(t, in.gate)
	sess := in.fake.CreateSession("user_gin")

	// A token on an unprotected route is not verified, so nothing is attached.
	got := call(t, app, http.MethodGet, "/open", in.fake.Token(sess.ID))
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, false, got.json(t)["signed_in"])

	_, ok := clerkgin.Claims(&gin.Context{})
	require.False(t, ok)
}

func TestRefusalAbortsTheChain(t *testing.T) {
	t.Parallel()
	in := newInstance(t, nil)
	var later, handler atomic.Int32
	r := gin.New()
	r.Use(clerkgin.RequireSession(in.gate), func(c *gin.Context) {
		later.Add(1)
		c.Next()
	})
	r.GET("/me", func(c *gin.Context) {
		handler.Add(1)
		whoami(c)
	})
	app := httptest.NewServer(r)
	t.Cleanup(app.Close)

	refused := call(t, app, http.MethodGet, "/me", "")
	require.Equal(t, http.StatusUnauthorized, refused.status)
	require.Zero(t, later.Load())
	require.Zero(t, handler.Load())

	sess := in.fake.CreateSession("user_gin")
	allowed := call(t, app, http.MethodGet, "/me", in.fake.Token(sess.ID))
	require.Equal(t, http.StatusOK, allowed.status)
	require.EqualValues(t, 1, later.Load())
	require.EqualValues(t, 1, handler.Load())
}

func TestGateErrorHandlerIsHonoured(t *testing.T) {
	t.Parallel()
	in := newInstance(t, func(w http.ResponseWriter, r *http.Request, _ *clerkgate.AuthError) {
		http.Redirect(w, r, "/sign-in", http.StatusFound)
	})
	app := serve(t, in.gate)

	got := call(t, app, http.MethodGet, "/me", "")
	require.Equal(t, http.StatusFound, got.status)
	require.Equal(t, "/sign-in", got.header.Get("Location"))
}

func TestNilGatePanics(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "clerkgin: nil *clerkgate.Gate", func() { clerkgin.RequireSession(nil) })
	require.PanicsWithValue(t, "clerkgin: nil *clerkgate.Gate", func() { clerkgin.OptionalSession(nil) })
}
