package clerktest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

// everyRoute lists one concrete request per route of the fake.
func everyRoute(sessID string) []struct{ method, path string } {
	return []struct{ method, path string }{
		{http.MethodGet, "/v1/jwks"},
		{http.MethodGet, "/v1/sessions?user_id=user_1"},
		{http.MethodPost, "/v1/sessions"},
		{http.MethodGet, "/v1/sessions/" + sessID},
		{http.MethodPost, "/v1/sessions/" + sessID + "/refresh"},
		{http.MethodPost, "/v1/sessions/" + sessID + "/revoke"},
		{http.MethodPost, "/v1/sessions/" + sessID + "/verify"},
		{http.MethodPost, "/v1/sessions/" + sessID + "/tokens"},
		{http.MethodPost, "/v1/sessions/" + sessID + "/tokens/hasura"},
		{http.MethodGet, "/v1/nothing-here"},
	}
}

func TestSecretKeyEnforcedOnEveryRoute(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	for _, rt := range everyRoute(sess.ID) {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name string
				opt  callOption
				code string
			}{
				{"missing", withoutAuth(), clerktest.CodeAuthenticationInvalid},
				{"basic", withHeader("Authorization", "Basic "+s.SecretKey()), clerktest.CodeAuthenticationInvalid},
				{"empty bearer", withHeader("Authorization", "Bearer "), clerktest.CodeAuthenticationInvalid},
				{"wrong key", withHeader("Authorization", "Bearer sk_test_wrong"), clerktest.CodeClerkKeyInvalid},
				{"other prefix of the key", withHeader("Authorization", "Bearer "+s.SecretKey()[:20]), clerktest.CodeClerkKeyInvalid},
			} {
				res := call(t, s, rt.method, rt.path, "{}", tc.opt)
				requireClerkError(t, res, http.StatusUnauthorized, tc.code)
			}
		})
	}
	status, ok := s.SessionStatus(sess.ID)
	require.True(t, ok)
	require.Equal(t, "active", status, "unauthenticated revoke did nothing")
}

func TestAPIVersionHeader(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, v := range []string{"2021-02-05", "2026-05-12"} {
		require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/v1/jwks", nil, withHeader("Clerk-API-Version", v)).Status)
		require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/v1/jwks?__clerk_api_version="+v, nil).Status)
	}
	requireClerkError(t, call(t, s, http.MethodGet, "/v1/jwks", nil, withHeader("Clerk-API-Version", "2025-04-10")),
		http.StatusBadRequest, clerktest.CodeAPIVersionInvalid)
	requireClerkError(t, call(t, s, http.MethodGet, "/v1/jwks?__clerk_api_version=2026-05-12", nil,
		withHeader("Clerk-API-Version", "2026-05-12")), http.StatusBadRequest, clerktest.CodeAPIVersionInvalid)
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	for _, rt := range []struct{ method, path string }{
		{http.MethodGet, "/v1/users"},
		{http.MethodGet, "/"},
		{http.MethodPost, "/v1/jwks"},
		{http.MethodDelete, "/v1/sessions/" + sess.ID},
		{http.MethodGet, "/v1/sessions/" + sess.ID + "/refresh"},
		{http.MethodGet, "/sessions/" + sess.ID},
		{http.MethodGet, "/v1/sessions/"},
	} {
		requireClerkError(t, call(t, s, rt.method, rt.path, nil), http.StatusNotFound, clerktest.CodeResourceNotFound)
	}
	require.Equal(t, 7, s.Requests(clerktest.RouteUnknown))
}

// sessionObject decodes a Session and checks it has exactly the fields of
// Clerk's schema.
func sessionObject(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), string(raw))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	require.Equal(t, []string{"abandon_at", "actor", "client_id", "created_at", "expire_at", "id",
		"last_active_at", "last_active_organization_id", "latest_activity", "object", "status", "tasks",
		"updated_at", "user_id"}, keys)
	require.Equal(t, "session", m["object"])
	return m
}

func TestCreateAndGetSession(t *testing.T) {
	t.Parallel()
	s := newServer(t, frozenClock())

	res := call(t, s, http.MethodPost, "/v1/sessions", map[string]any{"user_id": "user_1"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	created := sessionObject(t, res.Body)
	id := created["id"].(string)
	require.True(t, strings.HasPrefix(id, "sess_"))
	require.Equal(t, "user_1", created["user_id"])
	require.Equal(t, "active", created["status"])
	require.Nil(t, created["last_active_organization_id"])
	require.Equal(t, float64(frozen.UnixMilli()), created["created_at"], "times are Unix milliseconds")
	require.Equal(t, float64(frozen.Add(7*24*time.Hour).UnixMilli()), created["expire_at"])

	res = call(t, s, http.MethodGet, "/v1/sessions/"+id, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, created, sessionObject(t, res.Body))

	res = call(t, s, http.MethodPost, "/v1/sessions", map[string]any{"user_id": "user_2", "active_organization_id": "org_1"})
	require.Equal(t, http.StatusOK, res.Status)
	withOrg := sessionObject(t, res.Body)
	require.Equal(t, "org_1", withOrg["last_active_organization_id"])
	require.Equal(t, "org_1", claimsOf(t, s.Token(withOrg["id"].(string)))["org_id"])

	// A session made in Go is served the same way.
	sess := s.CreateSession("user_3", clerktest.WithClient("client_shared"))
	res = call(t, s, http.MethodGet, "/v1/sessions/"+sess.ID, nil)
	require.Equal(t, "client_shared", sessionObject(t, res.Body)["client_id"])
}

func TestCreateAndGetSessionErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	requireClerkError(t, call(t, s, http.MethodGet, "/v1/sessions/sess_missing", nil), http.StatusNotFound, clerktest.CodeResourceNotFound)

	env := requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions", map[string]any{}),
		http.StatusUnprocessableEntity, clerktest.CodeFormParamMissing)
	require.Equal(t, "user_id", env.Errors[0].Meta["param_name"])
	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions", map[string]any{"user_id": 7}),
		http.StatusUnprocessableEntity, clerktest.CodeFormParamFormatInvalid)
	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions", "{not json"),
		http.StatusBadRequest, clerktest.CodeRequestBodyInvalid)
	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions", "[1]"),
		http.StatusBadRequest, clerktest.CodeRequestBodyInvalid)
	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions", strings.Repeat(" ", 1<<20+1)),
		http.StatusRequestEntityTooLarge, clerktest.CodeRequestBodyTooLarge)
}

func listIDs(t *testing.T, s *clerktest.Server, query string) []string {
	t.Helper()
	res := call(t, s, http.MethodGet, "/v1/sessions?"+query, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var list []json.RawMessage
	res.decode(t, &list)
	ids := []string{}
	for _, raw := range list {
		ids = append(ids, sessionObject(t, raw)["id"].(string))
	}
	return ids
}

func TestListSessions(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.CreateSession("user_a", clerktest.WithClient("client_1"))
	b := s.CreateSession("user_a", clerktest.WithClient("client_2"))
	c := s.CreateSession("user_b", clerktest.WithClient("client_1"))
	d := s.CreateSession("user_a", clerktest.WithClient("client_1"))
	require.True(t, s.RevokeSession(b.ID))

	require.Equal(t, []string{d.ID, b.ID, a.ID}, listIDs(t, s, "user_id=user_a"), "newest first")
	require.Equal(t, []string{d.ID, c.ID, a.ID}, listIDs(t, s, "client_id=client_1"))
	require.Equal(t, []string{d.ID, a.ID}, listIDs(t, s, "client_id=client_1&user_id=user_a"))
	require.Equal(t, []string{b.ID}, listIDs(t, s, "user_id=user_a&status=revoked"))
	require.Equal(t, []string{d.ID, a.ID}, listIDs(t, s, "user_id=user_a&status=active"))
	require.Equal(t, []string{}, listIDs(t, s, "user_id=user_nobody"), "an empty list is [], not null")
	require.Equal(t, []string{d.ID}, listIDs(t, s, "user_id=user_a&limit=1"))
	require.Equal(t, []string{b.ID}, listIDs(t, s, "user_id=user_a&limit=1&offset=1"))
	require.Equal(t, []string{}, listIDs(t, s, "user_id=user_a&offset=3"))
	require.Equal(t, []string{d.ID, b.ID, a.ID}, listIDs(t, s, "user_id=user_a&paginated=false"))

	res := call(t, s, http.MethodGet, "/v1/sessions?user_id=user_a&paginated=true&limit=2&offset=1", nil)
	require.Equal(t, http.StatusOK, res.Status)
	var page struct {
		Data       []json.RawMessage `json:"data"`
		TotalCount int               `json:"total_count"`
	}
	res.decode(t, &page)
	require.Equal(t, 3, page.TotalCount)
	require.Len(t, page.Data, 2)
	require.Equal(t, b.ID, sessionObject(t, page.Data[0])["id"])
	require.Equal(t, a.ID, sessionObject(t, page.Data[1])["id"])
}

func TestListSessionsDefaultLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for range 12 {
		s.CreateSession("user_many")
	}
	require.Len(t, listIDs(t, s, "user_id=user_many"), 10)
	require.Len(t, listIDs(t, s, "user_id=user_many&limit=500"), 12)
}

func TestListSessionsErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, tc := range []struct{ query, code string }{
		{"", clerktest.CodeFormParamMissing},
		{"status=active", clerktest.CodeFormParamMissing},
		{"user_id=u&status=sleeping", clerktest.CodeFormParamValueInvalid},
		{"user_id=u&limit=0", clerktest.CodeFormParamValueInvalid},
		{"user_id=u&limit=501", clerktest.CodeFormParamValueInvalid},
		{"user_id=u&limit=ten", clerktest.CodeFormParamFormatInvalid},
		{"user_id=u&offset=-1", clerktest.CodeFormParamValueInvalid},
		{"user_id=u&paginated=maybe", clerktest.CodeFormParamFormatInvalid},
	} {
		requireClerkError(t, call(t, s, http.MethodGet, "/v1/sessions?"+tc.query, nil), http.StatusUnprocessableEntity, tc.code)
	}
}

func TestRevokeSession(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	res := call(t, s, http.MethodPost, "/v1/sessions/"+sess.ID+"/revoke", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "revoked", sessionObject(t, res.Body)["status"])
	status, _ := s.SessionStatus(sess.ID)
	require.Equal(t, "revoked", status)

	res = call(t, s, http.MethodGet, "/v1/sessions/"+sess.ID, nil)
	require.Equal(t, "revoked", sessionObject(t, res.Body)["status"])

	// Tokens can still be minted for it (and verify), refresh refuses it:
	// see TestRefreshRefusals.
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), s.Token(sess.ID)))

	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions/sess_missing/revoke", nil),
		http.StatusNotFound, clerktest.CodeResourceNotFound)
	require.False(t, s.RevokeSession("sess_missing"))
}

func TestVerifyIsDeprecated(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	body := map[string]any{"token": s.Token(sess.ID)}
	path := "/v1/sessions/" + sess.ID + "/verify"

	requireClerkError(t, call(t, s, http.MethodPost, path, body), http.StatusGone, clerktest.CodeOperationDeprecated)
	requireClerkError(t, call(t, s, http.MethodPost, path, body, withHeader("Clerk-API-Version", "2026-05-12")),
		http.StatusGone, clerktest.CodeOperationDeprecated)
}

func TestVerifyUnderOldAPIVersion(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	other := s.CreateSession("user_2")
	old := withHeader("Clerk-API-Version", "2021-02-05")
	verify := func(id string, body any) response {
		return call(t, s, http.MethodPost, "/v1/sessions/"+id+"/verify", body, old)
	}

	res := verify(sess.ID, map[string]any{"token": s.Token(sess.ID)})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, sess.ID, sessionObject(t, res.Body)["id"])

	for name, token := range map[string]string{
		"expired":       s.Token(sess.ID, clerktest.Expired()),
		"not yet valid": s.Token(sess.ID, clerktest.IssuedAt(time.Now().Add(time.Minute))),
		"other session": s.Token(other.ID),
		"wrong issuer":  s.Token(sess.ID, clerktest.WithIssuer("https://clerk.other.dev")),
		"garbage":       "a.b.c",
	} {
		t.Run(name, func(t *testing.T) {
			requireClerkError(t, verify(sess.ID, map[string]any{"token": token}), http.StatusUnauthorized, clerktest.CodeSessionTokenInvalid)
		})
	}
	requireClerkError(t, verify(sess.ID, map[string]any{"token": "x", "extra": 1}), http.StatusBadRequest, clerktest.CodeFormParamUnknown)
	requireClerkError(t, verify(sess.ID, map[string]any{}), http.StatusBadRequest, clerktest.CodeFormParamMissing)
	requireClerkError(t, verify("sess_missing", map[string]any{"token": s.Token("sess_missing")}), http.StatusNotFound, clerktest.CodeResourceNotFound)

	token := s.Token(sess.ID)
	s.RevokeSession(sess.ID)
	requireClerkError(t, verify(sess.ID, map[string]any{"token": token}), http.StatusUnauthorized, clerktest.CodeSessionTokenInvalid)
}

func mintOverHTTP(t *testing.T, s *clerktest.Server, path string, body any) string {
	t.Helper()
	res := call(t, s, http.MethodPost, path, body)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var tok map[string]any
	res.decode(t, &tok)
	require.Len(t, tok, 2)
	require.Equal(t, "token", tok["object"])
	jwt, _ := tok["jwt"].(string)
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), jwt))
	return jwt
}

func TestCreateToken(t *testing.T) {
	t.Parallel()
	s := newServer(t, frozenClock())
	sess := s.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "admin"))
	path := "/v1/sessions/" + sess.ID + "/tokens"

	c := claimsOf(t, mintOverHTTP(t, s, path, nil))
	require.Equal(t, sess.ID, c["sid"])
	require.Equal(t, "user_1", c["sub"])
	require.Equal(t, "org_1", c["org_id"])
	require.Equal(t, int64(60), num(t, c, "exp")-num(t, c, "iat"))

	c = claimsOf(t, mintOverHTTP(t, s, path, map[string]any{"expires_in_seconds": 3600}))
	require.Equal(t, int64(3600), num(t, c, "exp")-num(t, c, "iat"))
	c = claimsOf(t, mintOverHTTP(t, s, path, map[string]any{"expires_in_seconds": nil}))
	require.Equal(t, int64(60), num(t, c, "exp")-num(t, c, "iat"))
	mintOverHTTP(t, s, path, map[string]any{"expires_in_seconds": 30})
	mintOverHTTP(t, s, path, map[string]any{"expires_in_seconds": 315360000})

	for _, bad := range []any{29, 315360001, -1} {
		requireClerkError(t, call(t, s, http.MethodPost, path, map[string]any{"expires_in_seconds": bad}),
			http.StatusUnprocessableEntity, clerktest.CodeFormParamValueInvalid)
	}
	for _, bad := range []any{"60", 60.5, true} {
		requireClerkError(t, call(t, s, http.MethodPost, path, map[string]any{"expires_in_seconds": bad}),
			http.StatusUnprocessableEntity, clerktest.CodeFormParamFormatInvalid)
	}
	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions/sess_missing/tokens", nil),
		http.StatusNotFound, clerktest.CodeResourceNotFound)
}

func TestCreateTokenFromTemplate(t *testing.T) {
	t.Parallel()
	s := newServer(t, clerktest.WithTemplate("hasura", map[string]any{
		"https://hasura.io/jwt/claims": map[string]any{"x-hasura-default-role": "user"},
		"role":                         "authenticated",
		"sub":                          "cannot-override",
	}))
	sess := s.CreateSession("user_1")

	c := claimsOf(t, mintOverHTTP(t, s, "/v1/sessions/"+sess.ID+"/tokens/hasura", map[string]any{"expires_in_seconds": 120}))
	require.Equal(t, "authenticated", c["role"])
	require.Equal(t, map[string]any{"x-hasura-default-role": "user"}, c["https://hasura.io/jwt/claims"])
	require.Equal(t, "user_1", c["sub"], "templates cannot override the session claims")
	require.Equal(t, sess.ID, c["sid"])
	require.Equal(t, int64(120), num(t, c, "exp")-num(t, c, "iat"))

	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions/"+sess.ID+"/tokens/nope", nil),
		http.StatusNotFound, clerktest.CodeResourceNotFound)
	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions/sess_missing/tokens/hasura", nil),
		http.StatusNotFound, clerktest.CodeResourceNotFound)
	requireClerkError(t, call(t, s, http.MethodPost, "/v1/sessions/"+sess.ID+"/tokens/hasura", map[string]any{"expires_in_seconds": 10}),
		http.StatusUnprocessableEntity, clerktest.CodeFormParamValueInvalid)
}

func TestRequestRecording(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	call(t, s, http.MethodGet, "/v1/jwks", nil)
	call(t, s, http.MethodGet, "/v1/jwks", nil, withoutAuth())
	call(t, s, http.MethodPost, "/v1/sessions/"+sess.ID+"/tokens?x=1", map[string]any{"expires_in_seconds": 60},
		withHeader("User-Agent", "clerkgate-test"), withHeader("Clerk-API-Version", "2026-05-12"))

	require.Equal(t, 2, s.Requests(clerktest.RouteJWKS), "failed requests count too")
	require.Equal(t, 1, s.Requests("POST /v1/sessions/{id}/tokens"))
	require.Equal(t, 0, s.Requests(clerktest.RouteRefresh))
	require.Equal(t, 3, s.Requests(clerktest.AnyRoute))

	last, ok := s.LastRequest(clerktest.RouteCreateToken)
	require.True(t, ok)
	require.Equal(t, http.MethodPost, last.Method)
	require.Equal(t, "/v1/sessions/"+sess.ID+"/tokens", last.Path)
	require.Equal(t, "1", last.Query.Get("x"))
	require.Equal(t, "clerkgate-test", last.Header.Get("User-Agent"))
	require.Equal(t, "2026-05-12", last.Header.Get("Clerk-API-Version"))
	require.Equal(t, "Bearer "+s.SecretKey(), last.Header.Get("Authorization"))
	require.JSONEq(t, `{"expires_in_seconds":60}`, string(last.Body))

	reqs := s.LastRequests(2)
	require.Len(t, reqs, 2)
	require.Equal(t, clerktest.RouteJWKS, reqs[0].Route)
	require.Empty(t, reqs[0].Header.Get("Authorization"))
	require.Equal(t, clerktest.RouteCreateToken, reqs[1].Route)
	require.Len(t, s.LastRequests(0), 3)

	reqs[1].Header.Set("User-Agent", "changed")
	again, _ := s.LastRequest(clerktest.RouteCreateToken)
	require.Equal(t, "clerkgate-test", again.Header.Get("User-Agent"), "records are copies")

	_, ok = s.LastRequest(clerktest.RouteRefresh)
	require.False(t, ok)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			sess := s.CreateSession("user_c")
			_ = s.Token(sess.ID, clerktest.V2())
			for _, rt := range everyRoute(sess.ID) {
				// A generous timeout: on a loaded machine this runs beside the
				// other parallel tests' RSA key generation.
				_, err := send(s, 30*time.Second, rt.method, rt.path, "{}")
				if err != nil {
					t.Error(err)
				}
			}
			if i%4 == 0 {
				s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: 500, Times: 1})
			}
			_ = s.JWKS()
			_ = s.LastRequests(5)
		})
	}
	wg.Wait()
	require.Equal(t, 16*len(everyRoute("x")), s.Requests(clerktest.AnyRoute))
}
