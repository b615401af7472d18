package clerktest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

const origin = "https://app.example.com"

func refreshBody(expired, refreshToken string) map[string]any {
	return map[string]any{
		"expired_token":          expired,
		"refresh_token":          refreshToken,
		"request_origin":         origin,
		"request_headers":        map[string][]string{"User-Agent": {"test"}},
		"request_originating_ip": "203.0.113.7",
	}
}

func refreshPath(id string) string { return "/v1/sessions/" + id + "/refresh" }

// refreshedJWT calls refresh with format token and returns the new token.
func refreshedJWT(t *testing.T, s *clerktest.Server, id string, body map[string]any) string {
	t.Helper()
	res := call(t, s, http.MethodPost, refreshPath(id), body)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var out map[string]any
	res.decode(t, &out)
	require.Len(t, out, 2)
	require.Equal(t, "token", out["object"])
	jwt := out["jwt"].(string)
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), jwt))
	return jwt
}

func TestRefreshTokenFormat(t *testing.T) {
	t.Parallel()
	now := frozen
	var mu sync.Mutex
	s := newServer(t, clerktest.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	sess := s.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "admin", "org:teams:read"))
	expired := s.Token(sess.ID, clerktest.Expired())

	mu.Lock()
	now = now.Add(30 * time.Second)
	mu.Unlock()
	jwt := refreshedJWT(t, s, sess.ID, refreshBody(expired, sess.RefreshToken))
	c := claimsOf(t, jwt)
	require.Equal(t, sess.ID, c["sid"])
	require.Equal(t, "user_1", c["sub"])
	require.Equal(t, origin, c["azp"], "azp is the request origin")
	require.Equal(t, s.Issuer(), c["iss"])
	require.Equal(t, "org_1", c["org_id"])
	require.Equal(t, frozen.Unix()+30, num(t, c, "iat"))
	require.Equal(t, frozen.Unix()+90, num(t, c, "exp"))
	require.NotContains(t, c, "v")

	// "format":"token" says the same as leaving format out. (The clock is
	// frozen, so each expired token gets its own iat to be a different token.)
	body := refreshBody(s.Token(sess.ID, clerktest.IssuedAt(frozen.Add(-4*time.Minute))), sess.RefreshToken)
	body["format"] = "token"
	refreshedJWT(t, s, sess.ID, body)
	body = refreshBody(s.Token(sess.ID, clerktest.IssuedAt(frozen.Add(-3*time.Minute))), sess.RefreshToken)
	body["format"] = nil
	body["request_headers"] = nil
	body["request_originating_ip"] = nil
	refreshedJWT(t, s, sess.ID, body)
}

func TestRefreshKeepsV2(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "admin",
		"org:dashboard:manage", "org:dashboard:read", "org:teams:read"))
	c := claimsOf(t, refreshedJWT(t, s, sess.ID, refreshBody(s.Token(sess.ID, clerktest.Expired(), clerktest.V2()), sess.RefreshToken)))
	require.Equal(t, float64(2), c["v"])
	require.Equal(t, "o:dashboard,o:teams", c["fea"])
	require.Equal(t, "3,2", c["o"].(map[string]any)["fpm"])
}

func TestRefreshCookieFormat(t *testing.T) {
	t.Parallel()
	s := newServer(t, frozenClock())
	sess := s.CreateSession("user_1")
	uat := strconv.FormatInt(frozen.Unix(), 10)
	sfx := s.CookieSuffix()

	var minted int
	cookies := func(query string) []string {
		t.Helper()
		// The clock is frozen: vary iat so each call sends a new expired token.
		minted++
		iat := frozen.Add(-2*time.Minute - time.Duration(minted)*time.Second)
		body := refreshBody(s.Token(sess.ID, clerktest.IssuedAt(iat)), sess.RefreshToken)
		body["format"] = "cookie"
		res := call(t, s, http.MethodPost, refreshPath(sess.ID)+query, body)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		var out struct {
			Object  string   `json:"object"`
			Cookies []string `json:"cookies"`
		}
		res.decode(t, &out)
		require.Equal(t, "cookies", out.Object)
		return out.Cookies
	}

	got := cookies("?suffixed_cookies=true")
	require.Len(t, got, 4)
	jwt := parseSetCookie(t, got[0], "__session")
	require.Equal(t, "__session="+jwt+"; Path=/; SameSite=Lax; Secure", got[0])
	require.Equal(t, "__session_"+sfx+"="+jwt+"; Path=/; SameSite=Lax; Secure", got[1])
	require.Equal(t, "__client_uat="+uat+"; Path=/; SameSite=Lax; Secure", got[2])
	require.Equal(t, "__client_uat_"+sfx+"="+uat+"; Path=/; SameSite=Lax; Secure", got[3])
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), jwt))
	require.Equal(t, origin, claimsOf(t, jwt)["azp"])

	got = cookies("")
	require.Len(t, got, 2)
	jwt = parseSetCookie(t, got[0], "__session")
	require.Equal(t, "__client_uat="+uat+"; Path=/; SameSite=Lax; Secure", got[1])
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), jwt))

	require.Len(t, cookies("?suffixed_cookies=false"), 2)
}

// parseSetCookie reads a Set-Cookie value the way a browser-side client
// would and returns the cookie's value.
func parseSetCookie(t *testing.T, line, name string) string {
	t.Helper()
	c, err := http.ParseSetCookie(line)
	require.NoError(t, err)
	require.Equal(t, name, c.Name)
	require.Equal(t, "/", c.Path)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	return c.Value
}

func TestRefreshConsumesExpiredToken(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	expired := s.Token(sess.ID, clerktest.Expired())

	refreshedJWT(t, s, sess.ID, refreshBody(expired, sess.RefreshToken))
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), refreshBody(expired, sess.RefreshToken)),
		http.StatusUnauthorized, clerktest.CodeRefreshTokenConsumed)

	// The refresh token did not rotate: another expired token still works.
	refreshedJWT(t, s, sess.ID, refreshBody(s.Token(sess.ID, clerktest.IssuedAt(time.Now().Add(-90*time.Second))), sess.RefreshToken))
}

func TestRefreshFailuresDoNotConsume(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	expired := s.Token(sess.ID, clerktest.Expired())
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), refreshBody(expired, "wrong")),
		http.StatusUnauthorized, clerktest.CodeRefreshTokenNotFound)
	refreshedJWT(t, s, sess.ID, refreshBody(expired, sess.RefreshToken))
}

func TestRefreshParallelRequestsShareOneExchange(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	expired := s.Token(sess.ID, clerktest.Expired())

	var ok, consumed atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, err := send(s, 10*time.Second, http.MethodPost, refreshPath(sess.ID), refreshBody(expired, sess.RefreshToken))
			if err != nil {
				t.Error(err)
				return
			}
			switch res.Status {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusUnauthorized:
				consumed.Add(1)
			}
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), ok.Load())
	require.Equal(t, int32(7), consumed.Load())
	require.Equal(t, 8, s.Requests(clerktest.RouteRefresh))
}

func TestRefreshRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	other := s.CreateSession("user_2")
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		id      string
		expired string
		refresh string
		code    string
	}{
		{"garbage token", sess.ID, "not-a-jwt", sess.RefreshToken, clerktest.CodeExpiredSessionTokenInvalid},
		{"bad signature segment", sess.ID, s.Token(sess.ID, clerktest.Expired()) + "x", sess.RefreshToken, clerktest.CodeExpiredSessionTokenInvalid},
		{"foreign key, our kid", sess.ID, s.Token(sess.ID, clerktest.Expired(), clerktest.SignedWith(foreign, s.KeyID())), sess.RefreshToken, clerktest.CodeExpiredSessionTokenInvalid},
		{"foreign key and kid", sess.ID, s.Token(sess.ID, clerktest.Expired(), clerktest.SignedWith(foreign, "ins_other")), sess.RefreshToken, clerktest.CodeExpiredSessionTokenInvalid},
		{"other issuer", sess.ID, s.Token(sess.ID, clerktest.Expired(), clerktest.WithIssuer("https://clerk.other.dev")), sess.RefreshToken, clerktest.CodeExpiredSessionTokenInvalid},
		{"alg none header", sess.ID, s.Token(sess.ID, clerktest.Expired(), clerktest.WithHeader(map[string]any{"alg": "none"})), sess.RefreshToken, clerktest.CodeExpiredSessionTokenInvalid},
		{"exp not a number", sess.ID, s.Token(sess.ID, clerktest.WithClaims(map[string]any{"exp": "yesterday"})), sess.RefreshToken, clerktest.CodeExpiredSessionTokenInvalid},
		{"sid of another session", sess.ID, s.Token(other.ID, clerktest.Expired()), sess.RefreshToken, clerktest.CodeRefreshSIDMismatch},
		{"no sid", sess.ID, s.Token(sess.ID, clerktest.Expired(), clerktest.WithClaims(map[string]any{"sid": nil})), sess.RefreshToken, clerktest.CodeRefreshSIDMismatch},
		{"other session's refresh token", sess.ID, s.Token(sess.ID, clerktest.Expired()), other.RefreshToken, clerktest.CodeRefreshTokenNotFound},
		{"made-up refresh token", sess.ID, s.Token(sess.ID, clerktest.Expired()), "rt_nope", clerktest.CodeRefreshTokenNotFound},
		{"expired 10 minutes ago", sess.ID, s.Token(sess.ID, clerktest.IssuedAt(time.Now().Add(-11*time.Minute))), sess.RefreshToken, clerktest.CodeRefreshTokenTooOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireClerkError(t, call(t, s, http.MethodPost, refreshPath(tc.id), refreshBody(tc.expired, tc.refresh)),
				http.StatusUnauthorized, tc.code)
		})
	}

	// Unknown sessions are a 404, as on every /sessions/{id} route.
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath("sess_missing"),
		refreshBody(s.Token("sess_missing", clerktest.Expired()), "x")), http.StatusNotFound, clerktest.CodeResourceNotFound)

	// A revoked session can still have tokens minted, but not refreshed.
	expired := s.Token(sess.ID, clerktest.Expired())
	res := call(t, s, http.MethodPost, "/v1/sessions/"+sess.ID+"/revoke", nil)
	require.Equal(t, http.StatusOK, res.Status)
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), refreshBody(expired, sess.RefreshToken)),
		http.StatusUnauthorized, clerktest.CodeRefreshInactiveSession)
}

func TestRefreshAgeWindow(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(frozen.Unix())
	s := newServer(t, clerktest.WithClock(func() time.Time { return time.Unix(now.Load(), 0) }))
	sess := s.CreateSession("user_1")
	first := s.Token(sess.ID, clerktest.Expired()) // exp = frozen − 60 s

	// exp exactly MaxExpiredTokenAge ago is still fine; one second more is not.
	now.Store(frozen.Unix() - 60 + int64(clerktest.MaxExpiredTokenAge/time.Second))
	refreshedJWT(t, s, sess.ID, refreshBody(first, sess.RefreshToken))
	late := s.Token(sess.ID, clerktest.IssuedAt(time.Unix(now.Load()-int64(clerktest.MaxExpiredTokenAge/time.Second)-61, 0)))
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), refreshBody(late, sess.RefreshToken)),
		http.StatusUnauthorized, clerktest.CodeRefreshTokenTooOld)
}

func TestRefreshAcceptsTokensFromRotatedKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	expired := s.Token(sess.ID, clerktest.Expired())
	_, newKid := s.RotateKey()
	jwt := refreshedJWT(t, s, sess.ID, refreshBody(expired, sess.RefreshToken))
	require.Equal(t, newKid, headerOf(t, jwt)["kid"], "new tokens use the new key")
}

func TestRefreshBodyValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	valid := func() map[string]any { return refreshBody(s.Token(sess.ID, clerktest.Expired()), sess.RefreshToken) }

	for _, tc := range []struct {
		name  string
		edit  func(map[string]any)
		code  string
		param string
	}{
		{"unknown field", func(b map[string]any) { b["session_id"] = sess.ID }, clerktest.CodeFormParamUnknown, "session_id"},
		{"suffixed_cookies in the body", func(b map[string]any) { b["suffixed_cookies"] = true }, clerktest.CodeFormParamUnknown, "suffixed_cookies"},
		{"no expired_token", func(b map[string]any) { delete(b, "expired_token") }, clerktest.CodeFormParamMissing, "expired_token"},
		{"empty refresh_token", func(b map[string]any) { b["refresh_token"] = "" }, clerktest.CodeFormParamMissing, "refresh_token"},
		{"null request_origin", func(b map[string]any) { b["request_origin"] = nil }, clerktest.CodeFormParamMissing, "request_origin"},
		{"expired_token not a string", func(b map[string]any) { b["expired_token"] = 1 }, clerktest.CodeFormParamFormatInvalid, "expired_token"},
		{"request_headers not an object", func(b map[string]any) { b["request_headers"] = "User-Agent: x" }, clerktest.CodeFormParamFormatInvalid, "request_headers"},
		{"bad format", func(b map[string]any) { b["format"] = "json" }, clerktest.CodeFormParamValueInvalid, "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := valid()
			tc.edit(body)
			env := requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), body), http.StatusBadRequest, tc.code)
			require.Equal(t, tc.param, env.Errors[0].Meta["param_name"])
		})
	}
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), "not json"), http.StatusBadRequest, clerktest.CodeRequestBodyInvalid)
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), nil), http.StatusBadRequest, clerktest.CodeFormParamMissing)
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID)+"?suffixed_cookies=yes-please", valid()),
		http.StatusBadRequest, clerktest.CodeFormParamFormatInvalid)
}
