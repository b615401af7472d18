package session_test

// Tests of the Sessions client against clerktest, the independent fake
// Backend API, over real HTTP: every operation's success path, the error
// statuses the fake produces, retries counted by the fake, bad input that
// must never reach the wire, and request bodies checked against the spec.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/internal/jwktest"
	"github.com/clerkgate/clerkgate/internal/version"
	"github.com/clerkgate/clerkgate/session"
)

// ctSpecBody lists, per route, the request body fields the spec allows
// (clerk-bapi-2026-05-12.yml; verify from clerk-bapi-2021-02-05.yml). A
// route absent from the map takes no body at all.
var ctSpecBody = map[clerktest.Route][]string{
	clerktest.RouteCreateSession:     {"user_id", "active_organization_id"},
	clerktest.RouteRefresh:           {"expired_token", "refresh_token", "request_origin", "request_headers", "format", "request_originating_ip"},
	clerktest.RouteVerify:            {"token"},
	clerktest.RouteCreateToken:       {"expires_in_seconds"},
	clerktest.RouteTokenFromTemplate: {"expires_in_seconds"},
}

const ctOrigin = "https://app.example.com"

// ctFake starts a fake Clerk instance that the test closes.
func ctFake(t *testing.T, opts ...clerktest.Option) *clerktest.Server {
	t.Helper()
	fake := clerktest.New(opts...)
	t.Cleanup(fake.Close)
	return fake
}

// ctClient is a real Client aimed at fake, with the fake's secret key.
func ctClient(t *testing.T, fake *clerktest.Server, tweak ...func(*session.Config)) *session.Client {
	t.Helper()
	cfg := session.Config{SecretKey: fake.SecretKey(), APIURL: fake.URL()}
	for _, fn := range tweak {
		fn(&cfg)
	}
	c, err := session.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func ctAPIVersion(v string) func(*session.Config) {
	return func(c *session.Config) { c.APIVersion = v }
}

// ctLast returns the fake's record of the last request on route and checks
// the headers every request must carry and that its body (if any) holds
// only fields the spec allows. It returns the body's field names, sorted.
func ctLast(t *testing.T, fake *clerktest.Server, route clerktest.Route, apiVersion string) (clerktest.Request, []string) {
	t.Helper()
	r, ok := fake.LastRequest(route)
	require.True(t, ok, "no request on %s", route)
	require.Equal(t, route, r.Route)
	require.Equal(t, "Bearer "+fake.SecretKey(), r.Header.Get("Authorization"))
	require.Equal(t, apiVersion, r.Header.Get("Clerk-API-Version"))
	require.Empty(t, r.Query.Get("__clerk_api_version"), "the version travels only in the header")
	require.Equal(t, "clerkgate/"+version.Version, r.Header.Get("User-Agent"))
	require.Equal(t, "application/json", r.Header.Get("Accept"))

	allowed, hasBody := ctSpecBody[route]
	if !hasBody {
		require.Empty(t, r.Body, "%s takes no body", route)
		return r, nil
	}
	if len(r.Body) == 0 {
		return r, nil
	}
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &fields), "body %q", r.Body)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		require.Contains(t, allowed, k, "%s body field %q is not in the spec", route, k)
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return r, keys
}

// ctClaims verifies jwt against the fake's JWKS (the document GET /v1/jwks
// serves) independently of clerkgate's verifier (crypto/rsa alone) and
// returns its claims, numbers as json.Number.
func ctClaims(t *testing.T, fake *clerktest.Server, jwt string) map[string]any {
	t.Helper()
	payload, err := jwktest.VerifyWithSet(fake.JWKS(), jwt)
	require.NoError(t, err, "token does not verify against the fake's JWKS")
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&claims))
	require.Equal(t, fake.Issuer(), claims["iss"])
	return claims
}

func ctInt(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	require.True(t, ok, "claim %s = %#v is not a number", name, claims[name])
	v, err := n.Int64()
	require.NoError(t, err)
	return v
}

// ctAPIError unwraps the *APIError and checks it carries a Clerk code and a
// trace id, as every error the fake sends does.
func ctAPIError(t *testing.T, err error, status int, code string) *session.APIError {
	t.Helper()
	require.Error(t, err)
	var apiErr *session.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, status, apiErr.StatusCode, "%v", err)
	require.True(t, apiErr.HasCode(code), "want code %s: %v", code, err)
	require.NotEmpty(t, apiErr.TraceID)
	require.Empty(t, apiErr.Body, "a Clerk error document leaves no excerpt")
	require.Contains(t, err.Error(), code)
	return apiErr
}

func ctIDs(list *session.SessionList) []string {
	ids := make([]string, len(list.Data))
	for i, s := range list.Data {
		ids[i] = s.ID
	}
	return ids
}

// ctOp is one call of each operation with valid arguments against a
// session of the fake.
type ctOp struct {
	name  string
	route clerktest.Route
	call  func(ctx context.Context, c *session.Client) error
}

// ctOps calls all eight operations on session sess. Refresh needs a fresh
// expired token per call, so it is minted at call time (v2, so two are
// never equal).
func ctOps(fake *clerktest.Server, sess clerktest.Session, template string) []ctOp {
	return []ctOp{
		{"list", clerktest.RouteListSessions, func(ctx context.Context, c *session.Client) error {
			_, err := c.List(ctx, session.ListParams{UserID: sess.UserID})
			return err
		}},
		{"create", clerktest.RouteCreateSession, func(ctx context.Context, c *session.Client) error {
			_, err := c.Create(ctx, session.CreateParams{UserID: sess.UserID})
			return err
		}},
		{"get", clerktest.RouteGetSession, func(ctx context.Context, c *session.Client) error {
			_, err := c.Get(ctx, sess.ID)
			return err
		}},
		{"refresh", clerktest.RouteRefresh, func(ctx context.Context, c *session.Client) error {
			_, err := c.Refresh(ctx, sess.ID, session.RefreshParams{
				ExpiredToken:  fake.Token(sess.ID, clerktest.Expired(), clerktest.V2()),
				RefreshToken:  sess.RefreshToken,
				RequestOrigin: ctOrigin,
			})
			return err
		}},
		{"revoke", clerktest.RouteRevoke, func(ctx context.Context, c *session.Client) error {
			_, err := c.Revoke(ctx, sess.ID)
			return err
		}},
		{"verify", clerktest.RouteVerify, func(ctx context.Context, c *session.Client) error {
			_, err := c.Verify(ctx, sess.ID, fake.Token(sess.ID)) //nolint:staticcheck // the deprecated call is under test
			return err
		}},
		{"create token", clerktest.RouteCreateToken, func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateToken(ctx, sess.ID, session.TokenParams{ExpiresInSeconds: 60})
			return err
		}},
		{"create token from template", clerktest.RouteTokenFromTemplate, func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateTokenFromTemplate(ctx, sess.ID, template, session.TokenParams{})
			return err
		}},
	}
}

func TestClerktestList(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	c := ctClient(t, fake)
	ctx := t.Context()

	const user = "user_lister"
	s1 := fake.CreateSession(user)
	s2 := fake.CreateSession(user, clerktest.WithClient("client_shared"))
	s3 := fake.CreateSession(user, clerktest.WithClient("client_shared"))
	other := fake.CreateSession("user_other", clerktest.WithClient("client_shared"))
	require.True(t, fake.RevokeSession(s1.ID))

	list, err := c.List(ctx, session.ListParams{UserID: user})
	require.NoError(t, err)
	require.Equal(t, []string{s3.ID, s2.ID, s1.ID}, ctIDs(list), "newest first")
	require.EqualValues(t, 3, list.TotalCount)
	require.Equal(t, session.StatusRevoked, list.Data[2].Status)
	for _, s := range list.Data {
		require.Equal(t, "session", s.Object)
		require.Equal(t, user, s.UserID)
		require.False(t, s.CreatedTime().IsZero())
		require.Equal(t, 7*24*time.Hour, s.ExpireTime().Sub(s.CreatedTime()))
		require.False(t, s.HasActor())
	}
	r, _ := ctLast(t, fake, clerktest.RouteListSessions, session.DefaultAPIVersion)
	require.Equal(t, "/v1/sessions", r.Path)
	require.Equal(t, map[string][]string{"paginated": {"true"}, "user_id": {user}}, map[string][]string(r.Query))

	cases := []struct {
		name  string
		p     session.ListParams
		want  []string
		total int64
	}{
		{"status active", session.ListParams{UserID: user, Status: session.StatusActive}, []string{s3.ID, s2.ID}, 2},
		{"status revoked", session.ListParams{UserID: user, Status: session.StatusRevoked}, []string{s1.ID}, 1},
		{"status ended", session.ListParams{UserID: user, Status: session.StatusEnded}, []string{}, 0},
		{"client", session.ListParams{ClientID: "client_shared"}, []string{other.ID, s3.ID, s2.ID}, 3},
		{"client and user", session.ListParams{ClientID: "client_shared", UserID: user}, []string{s3.ID, s2.ID}, 2},
		{"page", session.ListParams{UserID: user, Limit: 1, Offset: 1}, []string{s2.ID}, 3},
		{"max limit", session.ListParams{UserID: user, Limit: session.MaxListLimit}, []string{s3.ID, s2.ID, s1.ID}, 3},
		{"offset past the end", session.ListParams{UserID: user, Offset: 5}, []string{}, 3},
		{"nobody", session.ListParams{UserID: "user_nobody"}, []string{}, 0},
	}
	for _, tc := range cases {
		list, err := c.List(ctx, tc.p)
		require.NoError(t, err, tc.name)
		require.NotNil(t, list.Data, tc.name)
		require.Equal(t, tc.want, ctIDs(list), tc.name)
		require.Equal(t, tc.total, list.TotalCount, tc.name)
	}
	r, _ = ctLast(t, fake, clerktest.RouteListSessions, session.DefaultAPIVersion)
	require.Equal(t, map[string][]string{"paginated": {"true"}, "user_id": {"user_nobody"}}, map[string][]string(r.Query))

	// Every filter at once, as it goes on the wire.
	_, err = c.List(ctx, session.ListParams{UserID: user, ClientID: "client_shared", Status: session.StatusActive, Limit: 1, Offset: 1})
	require.NoError(t, err)
	r, _ = ctLast(t, fake, clerktest.RouteListSessions, session.DefaultAPIVersion)
	require.Equal(t, map[string][]string{
		"paginated": {"true"}, "user_id": {user}, "client_id": {"client_shared"},
		"status": {"active"}, "limit": {"1"}, "offset": {"1"},
	}, map[string][]string(r.Query))

	// Limit 0 is no limit parameter at all: the server's default page (10).
	const many = "user_many"
	for range 12 {
		fake.CreateSession(many)
	}
	list, err = c.List(ctx, session.ListParams{UserID: many, Limit: 0})
	require.NoError(t, err)
	require.Len(t, list.Data, 10)
	require.EqualValues(t, 12, list.TotalCount)
	r, _ = ctLast(t, fake, clerktest.RouteListSessions, session.DefaultAPIVersion)
	require.NotContains(t, r.Query, "limit")
	require.NotContains(t, r.Query, "offset")
}

// ctRewrite edits each request after the client built it, to reach the
// fake's own answers to queries the client would never send.
type ctRewrite struct {
	base http.RoundTripper
	edit func(q map[string][]string)
}

func (rw ctRewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	rw.edit(q)
	r.URL.RawQuery = q.Encode()
	return rw.base.RoundTrip(r)
}

func TestClerktestListServerSideErrorsAndShapes(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	sess := fake.CreateSession("user_shapes")
	through := func(edit func(q map[string][]string)) *session.Client {
		return ctClient(t, fake, func(c *session.Config) {
			c.HTTPClient = &http.Client{Transport: ctRewrite{base: fake.Client().Transport, edit: edit}}
		})
	}

	// The fake's own 422s, as the client decodes them: not retried, the
	// code and meta.param_name kept.
	cases := []struct {
		name, code, param string
		edit              func(q map[string][]string)
	}{
		{"no filter", clerktest.CodeFormParamMissing, "user_id", func(q map[string][]string) { delete(q, "user_id") }},
		{"limit 0", clerktest.CodeFormParamValueInvalid, "limit", func(q map[string][]string) { q["limit"] = []string{"0"} }},
		{"limit 501", clerktest.CodeFormParamValueInvalid, "limit", func(q map[string][]string) { q["limit"] = []string{"501"} }},
		{"limit not a number", clerktest.CodeFormParamFormatInvalid, "limit", func(q map[string][]string) { q["limit"] = []string{"ten"} }},
		{"negative offset", clerktest.CodeFormParamValueInvalid, "offset", func(q map[string][]string) { q["offset"] = []string{"-1"} }},
		{"status pending", clerktest.CodeFormParamValueInvalid, "status", func(q map[string][]string) { q["status"] = []string{"pending"} }},
	}
	for _, tc := range cases {
		before := fake.Requests(clerktest.RouteListSessions)
		_, err := through(tc.edit).List(t.Context(), session.ListParams{UserID: sess.UserID})
		require.True(t, session.IsUnprocessable(err), "%s: %v", tc.name, err)
		apiErr := ctAPIError(t, err, http.StatusUnprocessableEntity, tc.code)
		require.Len(t, apiErr.Errors, 1)
		require.NotEmpty(t, apiErr.Errors[0].Message)
		require.NotEmpty(t, apiErr.Errors[0].LongMessage)
		var meta map[string]any
		require.NoError(t, json.Unmarshal(apiErr.Errors[0].Meta, &meta), tc.name)
		require.Equal(t, tc.param, meta["param_name"], tc.name)
		require.Equal(t, before+1, fake.Requests(clerktest.RouteListSessions), "%s: a 422 is not retried", tc.name)
	}

	// Without paginated=true the fake answers the bare array of the spec;
	// the client reads it too.
	list, err := through(func(q map[string][]string) { delete(q, "paginated") }).List(t.Context(), session.ListParams{UserID: sess.UserID})
	require.NoError(t, err)
	require.Equal(t, []string{sess.ID}, ctIDs(list))
	require.EqualValues(t, 1, list.TotalCount)
	r, _ := ctLast(t, fake, clerktest.RouteListSessions, session.DefaultAPIVersion)
	require.NotContains(t, r.Query, "paginated")
}

func TestClerktestCreate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	fake := ctFake(t, clerktest.WithClock(func() time.Time { return now }))
	c := ctClient(t, fake)

	s, err := c.Create(t.Context(), session.CreateParams{UserID: "user_created"})
	require.NoError(t, err)
	require.Equal(t, "session", s.Object)
	require.True(t, strings.HasPrefix(s.ID, "sess_"), s.ID)
	require.Equal(t, "user_created", s.UserID)
	require.True(t, strings.HasPrefix(s.ClientID, "client_"), s.ClientID)
	require.Equal(t, session.StatusActive, s.Status)
	require.Nil(t, s.LastActiveOrganizationID)
	require.Equal(t, now.UnixMilli(), s.CreatedAt, "timestamps are Unix milliseconds")
	require.True(t, now.Equal(s.CreatedTime()))
	require.True(t, now.Equal(s.UpdatedTime()))
	require.True(t, now.Equal(s.LastActiveTime()))
	require.True(t, now.Add(7*24*time.Hour).Equal(s.ExpireTime()))
	require.True(t, now.Add(30*24*time.Hour).Equal(s.AbandonTime()))
	status, ok := fake.SessionStatus(s.ID)
	require.True(t, ok, "the fake knows the session")
	require.Equal(t, "active", status)
	r, keys := ctLast(t, fake, clerktest.RouteCreateSession, session.DefaultAPIVersion)
	require.Equal(t, "/v1/sessions", r.Path)
	require.Equal(t, []string{"user_id"}, keys)
	require.JSONEq(t, `{"user_id":"user_created"}`, string(r.Body))

	s, err = c.Create(t.Context(), session.CreateParams{UserID: "user_created", ActiveOrganizationID: "org_1"})
	require.NoError(t, err)
	require.NotNil(t, s.LastActiveOrganizationID)
	require.Equal(t, "org_1", *s.LastActiveOrganizationID)
	_, keys = ctLast(t, fake, clerktest.RouteCreateSession, session.DefaultAPIVersion)
	require.Equal(t, []string{"active_organization_id", "user_id"}, keys)

	// The created session is real: Get finds it.
	got, err := c.Get(t.Context(), s.ID)
	require.NoError(t, err)
	require.Equal(t, s, got)
}

func TestClerktestGet(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	c := ctClient(t, fake)
	sess := fake.CreateSession("user_get", clerktest.WithOrg("org_get", "acme", "admin"))

	s, err := c.Get(t.Context(), sess.ID)
	require.NoError(t, err)
	require.Equal(t, sess.ID, s.ID)
	require.Equal(t, sess.UserID, s.UserID)
	require.Equal(t, sess.ClientID, s.ClientID)
	require.Equal(t, session.StatusActive, s.Status)
	require.NotNil(t, s.LastActiveOrganizationID)
	require.Equal(t, "org_get", *s.LastActiveOrganizationID)
	r, _ := ctLast(t, fake, clerktest.RouteGetSession, session.DefaultAPIVersion)
	require.Equal(t, "/v1/sessions/"+sess.ID, r.Path)
	require.Equal(t, http.MethodGet, r.Method)
	require.Equal(t, 1, fake.Requests(clerktest.AnyRoute))

	before := fake.Requests(clerktest.RouteGetSession)
	_, err = c.Get(t.Context(), "sess_unknown")
	require.True(t, session.IsNotFound(err), "%v", err)
	ctAPIError(t, err, http.StatusNotFound, clerktest.CodeResourceNotFound)
	require.Equal(t, before+1, fake.Requests(clerktest.RouteGetSession), "a 404 is not retried")
}

func TestClerktestRefresh(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	c := ctClient(t, fake)
	ctx := t.Context()

	t.Run("token format", func(t *testing.T) {
		sess := fake.CreateSession("user_refresh_token")
		expired := fake.Token(sess.ID, clerktest.Expired())
		p := session.RefreshParams{ExpiredToken: expired, RefreshToken: sess.RefreshToken, RequestOrigin: ctOrigin}
		res, err := c.Refresh(ctx, sess.ID, p)
		require.NoError(t, err)
		require.Equal(t, "token", res.Object)
		require.Empty(t, res.Cookies)
		claims := ctClaims(t, fake, res.JWT)
		require.Equal(t, sess.ID, claims["sid"])
		require.Equal(t, sess.UserID, claims["sub"])
		require.Equal(t, ctOrigin, claims["azp"])
		require.Greater(t, ctInt(t, claims, "exp"), time.Now().Unix(), "the new token is live")
		require.NotContains(t, claims, "v", "a v1 expired token gets a v1 token")

		r, keys := ctLast(t, fake, clerktest.RouteRefresh, session.DefaultAPIVersion)
		require.Equal(t, "/v1/sessions/"+sess.ID+"/refresh", r.Path)
		require.Empty(t, r.Query)
		require.Equal(t, []string{"expired_token", "refresh_token", "request_origin"}, keys)

		// Clerk consumes the expired token: the same call again is a 401,
		// and the client did not retry either call.
		_, err = c.Refresh(ctx, sess.ID, p)
		require.True(t, session.IsUnauthenticated(err), "%v", err)
		ctAPIError(t, err, http.StatusUnauthorized, clerktest.CodeRefreshTokenConsumed)
		require.Equal(t, 2, fake.Requests(clerktest.RouteRefresh))
	})

	t.Run("cookie format with suffixed cookies and every field", func(t *testing.T) {
		sess := fake.CreateSession("user_refresh_cookie")
		p := session.RefreshParams{
			ExpiredToken:         fake.Token(sess.ID, clerktest.Expired(), clerktest.V2()),
			RefreshToken:         sess.RefreshToken,
			RequestOrigin:        ctOrigin,
			RequestHeaders:       map[string][]string{"User-Agent": {"Mozilla/5.0"}, "Accept-Language": {"en"}},
			RequestOriginatingIP: "203.0.113.7",
			Format:               session.FormatCookie,
			SuffixedCookies:      true,
		}
		res, err := c.Refresh(ctx, sess.ID, p)
		require.NoError(t, err)
		require.Equal(t, "cookies", res.Object)
		require.Empty(t, res.JWT)
		byName := map[string]*http.Cookie{}
		for _, line := range res.Cookies {
			ck, err := http.ParseSetCookie(line)
			require.NoError(t, err, line)
			byName[ck.Name] = ck
		}
		suffix := fake.CookieSuffix()
		require.Len(t, byName, 4)
		for _, name := range []string{"__session", "__session_" + suffix, "__client_uat", "__client_uat_" + suffix} {
			require.Contains(t, byName, name)
			require.Equal(t, "/", byName[name].Path)
			require.True(t, byName[name].Secure)
		}
		require.Equal(t, byName["__session"].Value, byName["__session_"+suffix].Value)
		claims := ctClaims(t, fake, byName["__session_"+suffix].Value)
		require.Equal(t, sess.ID, claims["sid"])
		require.Equal(t, ctOrigin, claims["azp"])
		require.Equal(t, json.Number("2"), claims["v"], "a v2 expired token gets a v2 token")

		r, keys := ctLast(t, fake, clerktest.RouteRefresh, session.DefaultAPIVersion)
		require.Equal(t, []string{"true"}, r.Query["suffixed_cookies"], "suffixed_cookies travels in the query")
		require.Equal(t, []string{"expired_token", "format", "refresh_token", "request_headers", "request_origin", "request_originating_ip"}, keys)
		var body map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &body))
		require.Equal(t, "cookie", body["format"])
		require.Equal(t, "203.0.113.7", body["request_originating_ip"])
	})

	t.Run("cookie format unsuffixed", func(t *testing.T) {
		sess := fake.CreateSession("user_refresh_plain")
		res, err := c.Refresh(ctx, sess.ID, session.RefreshParams{
			ExpiredToken: fake.Token(sess.ID, clerktest.Expired()), RefreshToken: sess.RefreshToken,
			RequestOrigin: ctOrigin, Format: session.FormatCookie,
		})
		require.NoError(t, err)
		require.Len(t, res.Cookies, 2)
		require.True(t, strings.HasPrefix(res.Cookies[0], "__session="), res.Cookies[0])
		require.True(t, strings.HasPrefix(res.Cookies[1], "__client_uat="), res.Cookies[1])
		r, _ := ctLast(t, fake, clerktest.RouteRefresh, session.DefaultAPIVersion)
		require.NotContains(t, r.Query, "suffixed_cookies")
	})

	t.Run("refused", func(t *testing.T) {
		sess := fake.CreateSession("user_refresh_refused")
		otherSess := fake.CreateSession("user_refresh_other")
		revoked := fake.CreateSession("user_refresh_revoked")
		require.True(t, fake.RevokeSession(revoked.ID))
		valid := func(s clerktest.Session) session.RefreshParams {
			return session.RefreshParams{
				ExpiredToken:  fake.Token(s.ID, clerktest.Expired(), clerktest.V2()),
				RefreshToken:  s.RefreshToken,
				RequestOrigin: ctOrigin,
			}
		}
		cases := []struct {
			name, id, code string
			p              session.RefreshParams
		}{
			{"bad refresh token", sess.ID, clerktest.CodeRefreshTokenNotFound, func() session.RefreshParams {
				p := valid(sess)
				p.RefreshToken = "not-the-refresh-token"
				return p
			}()},
			{"refresh token of another session", sess.ID, clerktest.CodeRefreshTokenNotFound, func() session.RefreshParams {
				p := valid(sess)
				p.RefreshToken = otherSess.RefreshToken
				return p
			}()},
			{"sid mismatch", sess.ID, clerktest.CodeRefreshSIDMismatch, func() session.RefreshParams {
				p := valid(otherSess)
				p.RefreshToken = sess.RefreshToken
				return p
			}()},
			{"foreign issuer", sess.ID, clerktest.CodeExpiredSessionTokenInvalid, func() session.RefreshParams {
				p := valid(sess)
				p.ExpiredToken = fake.Token(sess.ID, clerktest.Expired(), clerktest.V2(), clerktest.WithIssuer("https://clerk.evil.example"))
				return p
			}()},
			{"not a jwt", sess.ID, clerktest.CodeExpiredSessionTokenInvalid, func() session.RefreshParams {
				p := valid(sess)
				p.ExpiredToken = "not.a.jwt"
				return p
			}()},
			{"too old", sess.ID, clerktest.CodeRefreshTokenTooOld, func() session.RefreshParams {
				p := valid(sess)
				p.ExpiredToken = fake.Token(sess.ID, clerktest.V2(), clerktest.IssuedAt(time.Now().Add(-time.Hour)))
				return p
			}()},
			{"revoked session", revoked.ID, clerktest.CodeRefreshInactiveSession, valid(revoked)},
		}
		for _, tc := range cases {
			before := fake.Requests(clerktest.RouteRefresh)
			_, err := c.Refresh(ctx, tc.id, tc.p)
			require.True(t, session.IsUnauthenticated(err), "%s: %v", tc.name, err)
			ctAPIError(t, err, http.StatusUnauthorized, tc.code)
			require.Equal(t, before+1, fake.Requests(clerktest.RouteRefresh), "%s: not retried", tc.name)
		}

		// None of those consumed sess's next expired token.
		_, err := c.Refresh(ctx, sess.ID, valid(sess))
		require.NoError(t, err)

		_, err = c.Refresh(ctx, "sess_unknown", valid(sess))
		require.True(t, session.IsNotFound(err), "%v", err)
		ctAPIError(t, err, http.StatusNotFound, clerktest.CodeResourceNotFound)
	})
}

func TestClerktestRevoke(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	var calls []string
	c := ctClient(t, fake, func(cfg *session.Config) {
		cfg.OnRevoked = func(id string) { calls = append(calls, id) } // runs on the caller's goroutine
	})
	sess := fake.CreateSession("user_revoke")

	s, err := c.Revoke(t.Context(), sess.ID)
	require.NoError(t, err)
	require.Equal(t, sess.ID, s.ID)
	require.Equal(t, session.StatusRevoked, s.Status)
	require.Equal(t, []string{sess.ID}, calls, "OnRevoked is called once")
	status, _ := fake.SessionStatus(sess.ID)
	require.Equal(t, "revoked", status)
	r, _ := ctLast(t, fake, clerktest.RouteRevoke, session.DefaultAPIVersion)
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "/v1/sessions/"+sess.ID+"/revoke", r.Path)
	require.Equal(t, 1, fake.Requests(clerktest.AnyRoute))

	got, err := c.Get(t.Context(), sess.ID)
	require.NoError(t, err)
	require.Equal(t, session.StatusRevoked, got.Status)

	_, err = c.Revoke(t.Context(), "sess_unknown")
	require.True(t, session.IsNotFound(err), "%v", err)
	ctAPIError(t, err, http.StatusNotFound, clerktest.CodeResourceNotFound)
	require.Equal(t, []string{sess.ID}, calls, "a failed revoke does not call OnRevoked")
}

func TestClerktestVerify(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	sess := fake.CreateSession("user_verify")

	// The default API version no longer has the endpoint.
	_, err := ctClient(t, fake).Verify(t.Context(), sess.ID, fake.Token(sess.ID)) //nolint:staticcheck // the deprecated call is under test
	require.True(t, session.IsDeprecated(err), "%v", err)
	ctAPIError(t, err, http.StatusGone, clerktest.CodeOperationDeprecated)
	_, keys := ctLast(t, fake, clerktest.RouteVerify, session.DefaultAPIVersion)
	require.Equal(t, []string{"token"}, keys)
	require.Equal(t, 1, fake.Requests(clerktest.RouteVerify))

	// API version 2021-02-05 still answers it.
	const old = "2021-02-05"
	c := ctClient(t, fake, ctAPIVersion(old))
	s, err := c.Verify(t.Context(), sess.ID, fake.Token(sess.ID)) //nolint:staticcheck // the deprecated call is under test
	require.NoError(t, err)
	require.Equal(t, sess.ID, s.ID)
	require.Equal(t, session.StatusActive, s.Status)
	r, keys := ctLast(t, fake, clerktest.RouteVerify, old)
	require.Equal(t, "/v1/sessions/"+sess.ID+"/verify", r.Path)
	require.Equal(t, []string{"token"}, keys)

	other := fake.CreateSession("user_verify_other")
	revoked := fake.CreateSession("user_verify_revoked")
	revokedToken := fake.Token(revoked.ID)
	require.True(t, fake.RevokeSession(revoked.ID))
	cases := []struct{ name, id, token string }{
		{"expired token", sess.ID, fake.Token(sess.ID, clerktest.Expired())},
		{"token of another session", sess.ID, fake.Token(other.ID)},
		{"foreign issuer", sess.ID, fake.Token(sess.ID, clerktest.WithIssuer("https://clerk.evil.example"))},
		{"revoked session", revoked.ID, revokedToken},
	}
	for _, tc := range cases {
		_, err := c.Verify(t.Context(), tc.id, tc.token) //nolint:staticcheck // the deprecated call is under test
		require.True(t, session.IsUnauthenticated(err), "%s: %v", tc.name, err)
		ctAPIError(t, err, http.StatusUnauthorized, clerktest.CodeSessionTokenInvalid)
	}
	_, err = c.Verify(t.Context(), "sess_unknown", fake.Token(sess.ID)) //nolint:staticcheck // the deprecated call is under test
	require.True(t, session.IsNotFound(err), "%v", err)
	ctAPIError(t, err, http.StatusNotFound, clerktest.CodeResourceNotFound)
}

func TestClerktestCreateToken(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	c := ctClient(t, fake)
	sess := fake.CreateSession("user_token", clerktest.WithOrg("org_tok", "acme", "admin", "org:dashboard:read"))

	tok, err := c.CreateToken(t.Context(), sess.ID, session.TokenParams{})
	require.NoError(t, err)
	require.Equal(t, "token", tok.Object)
	claims := ctClaims(t, fake, tok.JWT)
	require.Equal(t, sess.ID, claims["sid"])
	require.Equal(t, sess.UserID, claims["sub"])
	require.Equal(t, "org_tok", claims["org_id"])
	require.EqualValues(t, 60, ctInt(t, claims, "exp")-ctInt(t, claims, "iat"), "the default lifetime")
	r, keys := ctLast(t, fake, clerktest.RouteCreateToken, session.DefaultAPIVersion)
	require.Equal(t, "/v1/sessions/"+sess.ID+"/tokens", r.Path)
	require.Nil(t, keys, "no override, no body")
	require.Empty(t, r.Body)

	for _, secs := range []int{session.MinTokenLifetime, 120, session.MaxTokenLifetime} {
		tok, err := c.CreateToken(t.Context(), sess.ID, session.TokenParams{ExpiresInSeconds: secs})
		require.NoError(t, err, secs)
		claims := ctClaims(t, fake, tok.JWT)
		require.Equal(t, sess.ID, claims["sid"])
		require.EqualValues(t, secs, ctInt(t, claims, "exp")-ctInt(t, claims, "iat"), "expires_in_seconds %d is honoured", secs)
		r, keys := ctLast(t, fake, clerktest.RouteCreateToken, session.DefaultAPIVersion)
		require.Equal(t, []string{"expires_in_seconds"}, keys)
		var body map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &body))
		require.EqualValues(t, secs, body["expires_in_seconds"])
	}

	// Tokens are minted for any known session; an unknown one is a 404.
	_, err = c.CreateToken(t.Context(), "sess_unknown", session.TokenParams{})
	require.True(t, session.IsNotFound(err), "%v", err)
	ctAPIError(t, err, http.StatusNotFound, clerktest.CodeResourceNotFound)
}

func TestClerktestCreateTokenFromTemplate(t *testing.T) {
	t.Parallel()
	hasura := map[string]any{"x-hasura-default-role": "user", "x-hasura-allowed-roles": []any{"user"}}
	fake := ctFake(t, clerktest.WithTemplate("custom_hasura", map[string]any{
		"https://hasura.io/jwt/claims": hasura,
		"role":                         "member",
		"sid":                          "sess_overridden", // reserved: cannot override
	}))
	c := ctClient(t, fake)
	sess := fake.CreateSession("user_template")

	tok, err := c.CreateTokenFromTemplate(t.Context(), sess.ID, "custom_hasura", session.TokenParams{})
	require.NoError(t, err)
	require.Equal(t, "token", tok.Object)
	claims := ctClaims(t, fake, tok.JWT)
	require.Equal(t, sess.ID, claims["sid"])
	require.Equal(t, sess.UserID, claims["sub"])
	require.Equal(t, "member", claims["role"])
	require.Equal(t, hasura, claims["https://hasura.io/jwt/claims"])
	r, keys := ctLast(t, fake, clerktest.RouteTokenFromTemplate, session.DefaultAPIVersion)
	require.Equal(t, "/v1/sessions/"+sess.ID+"/tokens/custom_hasura", r.Path)
	require.Nil(t, keys)

	tok, err = c.CreateTokenFromTemplate(t.Context(), sess.ID, "custom_hasura", session.TokenParams{ExpiresInSeconds: 3600})
	require.NoError(t, err)
	claims = ctClaims(t, fake, tok.JWT)
	require.EqualValues(t, 3600, ctInt(t, claims, "exp")-ctInt(t, claims, "iat"))
	require.Equal(t, "member", claims["role"])
	_, keys = ctLast(t, fake, clerktest.RouteTokenFromTemplate, session.DefaultAPIVersion)
	require.Equal(t, []string{"expires_in_seconds"}, keys)

	_, err = c.CreateTokenFromTemplate(t.Context(), sess.ID, "no_such_template", session.TokenParams{})
	require.True(t, session.IsNotFound(err), "%v", err)
	ctAPIError(t, err, http.StatusNotFound, clerktest.CodeResourceNotFound)
	require.Contains(t, err.Error(), "no_such_template")

	_, err = c.CreateTokenFromTemplate(t.Context(), "sess_unknown", "custom_hasura", session.TokenParams{})
	require.True(t, session.IsNotFound(err), "%v", err)
	ctAPIError(t, err, http.StatusNotFound, clerktest.CodeResourceNotFound)
	require.Equal(t, 4, fake.Requests(clerktest.RouteTokenFromTemplate), "404s are not retried")
}

// TestClerktestWrongSecretKey: every operation, with a key that is not the
// instance's, gets the fake's 401 clerk_key_invalid, once.
func TestClerktestWrongSecretKey(t *testing.T) {
	t.Parallel()
	fake := ctFake(t, clerktest.WithTemplate("tpl", map[string]any{"a": 1}))
	sess := fake.CreateSession("user_wrong_key")
	c := ctClient(t, fake, func(cfg *session.Config) { cfg.SecretKey = "sk_test_not_the_instance_key" })
	for _, op := range ctOps(fake, sess, "tpl") {
		before := fake.Requests(clerktest.AnyRoute)
		err := op.call(t.Context(), c)
		require.True(t, session.IsUnauthenticated(err), "%s: %v", op.name, err)
		ctAPIError(t, err, http.StatusUnauthorized, clerktest.CodeClerkKeyInvalid)
		require.Equal(t, before+1, fake.Requests(clerktest.AnyRoute), "%s: one request, not retried", op.name)
		require.Equal(t, 1, fake.Requests(op.route), op.name)
		r, ok := fake.LastRequest(op.route)
		require.True(t, ok)
		require.Equal(t, "Bearer sk_test_not_the_instance_key", r.Header.Get("Authorization"))
	}
	status, _ := fake.SessionStatus(sess.ID)
	require.Equal(t, "active", status, "nothing took effect")
}

func TestClerktestUnsupportedAPIVersion(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	sess := fake.CreateSession("user_version")
	_, err := ctClient(t, fake, ctAPIVersion("2020-01-01")).Get(t.Context(), sess.ID)
	ctAPIError(t, err, http.StatusBadRequest, clerktest.CodeAPIVersionInvalid)
	require.Equal(t, 1, fake.Requests(clerktest.RouteGetSession), "a 400 is not retried")
	ctLast(t, fake, clerktest.RouteGetSession, "2020-01-01")
}

func TestClerktestRateLimited(t *testing.T) {
	t.Parallel()

	t.Run("get waits out Retry-After once, then succeeds", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t)
		sess := fake.CreateSession("user_429_once")
		fake.SetFault(clerktest.RouteGetSession, clerktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Times: 1})
		start := time.Now()
		s, err := ctClient(t, fake).Get(t.Context(), sess.ID)
		require.NoError(t, err)
		require.Equal(t, sess.ID, s.ID)
		require.Equal(t, 2, fake.Requests(clerktest.RouteGetSession))
		require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "Retry-After: 1 was honoured")
	})

	t.Run("list gives up after three attempts", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t)
		fake.SetFault(clerktest.RouteListSessions, clerktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		start := time.Now()
		_, err := ctClient(t, fake).List(t.Context(), session.ListParams{UserID: "user_429"})
		require.True(t, session.IsRateLimited(err), "%v", err)
		apiErr := ctAPIError(t, err, http.StatusTooManyRequests, clerktest.CodeTooManyRequests)
		require.Equal(t, time.Second, apiErr.RetryAfter)
		require.Equal(t, 3, fake.Requests(clerktest.RouteListSessions))
		require.GreaterOrEqual(t, time.Since(start), 1800*time.Millisecond, "two waits of Retry-After: 1")
	})

	t.Run("a Retry-After too long to wait is left to the caller", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t)
		sess := fake.CreateSession("user_429_long")
		fake.SetFault(clerktest.RouteGetSession, clerktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute})
		_, err := ctClient(t, fake).Get(t.Context(), sess.ID)
		apiErr := ctAPIError(t, err, http.StatusTooManyRequests, clerktest.CodeTooManyRequests)
		require.Equal(t, time.Minute, apiErr.RetryAfter)
		// One request: a client that waited the minute out would have
		// retried into the same fault.
		require.Equal(t, 1, fake.Requests(clerktest.RouteGetSession))
	})

	t.Run("posts are not retried", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t, clerktest.WithTemplate("tpl", map[string]any{"a": 1}))
		sess := fake.CreateSession("user_429_post")
		fake.SetFault(clerktest.AnyRoute, clerktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		c := ctClient(t, fake)
		for _, op := range ctOps(fake, sess, "tpl") {
			if op.route == clerktest.RouteListSessions || op.route == clerktest.RouteGetSession {
				continue
			}
			err := op.call(t.Context(), c)
			require.True(t, session.IsRateLimited(err), "%s: %v", op.name, err)
			apiErr := ctAPIError(t, err, http.StatusTooManyRequests, clerktest.CodeTooManyRequests)
			require.Equal(t, time.Second, apiErr.RetryAfter, op.name)
			require.Equal(t, 1, fake.Requests(op.route), "%s: exactly one request", op.name)
		}
	})
}

func TestClerktestServerErrors(t *testing.T) {
	t.Parallel()

	t.Run("get gives up after three attempts", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t)
		sess := fake.CreateSession("user_500")
		fake.SetFault(clerktest.RouteGetSession, clerktest.Fault{Status: http.StatusInternalServerError})
		_, err := ctClient(t, fake).Get(t.Context(), sess.ID)
		apiErr := ctAPIError(t, err, http.StatusInternalServerError, clerktest.CodeInternalError)
		require.Zero(t, apiErr.RetryAfter)
		require.Equal(t, 3, fake.Requests(clerktest.RouteGetSession))
	})

	t.Run("list recovers on the third attempt", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t)
		sess := fake.CreateSession("user_503")
		fake.SetFault(clerktest.RouteListSessions, clerktest.Fault{Status: http.StatusServiceUnavailable, Times: 2})
		list, err := ctClient(t, fake).List(t.Context(), session.ListParams{UserID: sess.UserID})
		require.NoError(t, err)
		require.Equal(t, []string{sess.ID}, ctIDs(list))
		require.Equal(t, 3, fake.Requests(clerktest.RouteListSessions))
	})

	t.Run("get recovers from a connection reset", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t)
		sess := fake.CreateSession("user_reset")
		fake.SetFault(clerktest.RouteGetSession, clerktest.Fault{Reset: true, Times: 1})
		s, err := ctClient(t, fake).Get(t.Context(), sess.ID)
		require.NoError(t, err)
		require.Equal(t, sess.ID, s.ID)
		require.Equal(t, 2, fake.Requests(clerktest.RouteGetSession))
	})

	t.Run("a non-clerk 502 body becomes an excerpt", func(t *testing.T) {
		t.Parallel()
		fake := ctFake(t)
		sess := fake.CreateSession("user_502")
		fake.SetFault(clerktest.RouteGetSession, clerktest.Fault{Status: http.StatusBadGateway, Body: []byte("<html><body>502 Bad Gateway</body></html>")})
		_, err := ctClient(t, fake).Get(t.Context(), sess.ID)
		var apiErr *session.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
		require.Empty(t, apiErr.Errors)
		require.Contains(t, apiErr.Body, "502 Bad Gateway")
		require.Equal(t, 3, fake.Requests(clerktest.RouteGetSession))
	})

	t.Run("posts are not retried", func(t *testing.T) {
		t.Parallel()
		for _, fault := range []clerktest.Fault{
			{Status: http.StatusInternalServerError},
			{Reset: true},
		} {
			fake := ctFake(t, clerktest.WithTemplate("tpl", map[string]any{"a": 1}))
			sess := fake.CreateSession("user_500_post")
			fake.SetFault(clerktest.AnyRoute, fault)
			c := ctClient(t, fake)
			for _, op := range ctOps(fake, sess, "tpl") {
				if op.route == clerktest.RouteListSessions || op.route == clerktest.RouteGetSession {
					continue
				}
				err := op.call(t.Context(), c)
				require.Error(t, err, op.name)
				if fault.Status != 0 {
					ctAPIError(t, err, fault.Status, clerktest.CodeInternalError)
				} else {
					var apiErr *session.APIError
					require.False(t, errors.As(err, &apiErr), "%s: a reset is a transport error: %v", op.name, err)
				}
				require.Equal(t, 1, fake.Requests(op.route), "%s: exactly one request (%+v)", op.name, fault)
			}
			fake.ClearFaults()
			status, _ := fake.SessionStatus(sess.ID)
			require.Equal(t, "active", status)
		}
	})
}

// TestClerktestBadInputSendsNothing: every argument the spec rules out is
// refused with ErrInvalidInput before any request leaves the client.
func TestClerktestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	fake := ctFake(t, clerktest.WithTemplate("tpl", map[string]any{"a": 1}))
	sess := fake.CreateSession("user_bad_input")
	c := ctClient(t, fake)
	refresh := session.RefreshParams{
		ExpiredToken:  fake.Token(sess.ID, clerktest.Expired()),
		RefreshToken:  sess.RefreshToken,
		RequestOrigin: ctOrigin,
	}
	token := fake.Token(sess.ID)

	type call func(ctx context.Context) (any, error)
	cases := map[string]call{}
	for _, id := range []string{"", "sess/x", "sess?x", "sess#x", "sess..x", "..", "../users", "sess%2Fx", "sess x", "sess\\x"} {
		cases["get "+id] = func(ctx context.Context) (any, error) { return c.Get(ctx, id) }
		cases["revoke "+id] = func(ctx context.Context) (any, error) { return c.Revoke(ctx, id) }
		cases["refresh "+id] = func(ctx context.Context) (any, error) { return c.Refresh(ctx, id, refresh) }
		cases["verify "+id] = func(ctx context.Context) (any, error) {
			return c.Verify(ctx, id, token) //nolint:staticcheck // the deprecated call is under test
		}
		cases["create token "+id] = func(ctx context.Context) (any, error) {
			return c.CreateToken(ctx, id, session.TokenParams{})
		}
		cases["template token, session "+id] = func(ctx context.Context) (any, error) {
			return c.CreateTokenFromTemplate(ctx, id, "tpl", session.TokenParams{})
		}
		cases["template token, template "+id] = func(ctx context.Context) (any, error) {
			return c.CreateTokenFromTemplate(ctx, sess.ID, id, session.TokenParams{})
		}
	}
	for _, secs := range []int{-1, 1, session.MinTokenLifetime - 1, session.MaxTokenLifetime + 1} {
		cases["create token expires "+strconv.Itoa(secs)] = func(ctx context.Context) (any, error) {
			return c.CreateToken(ctx, sess.ID, session.TokenParams{ExpiresInSeconds: secs})
		}
		cases["template token expires "+strconv.Itoa(secs)] = func(ctx context.Context) (any, error) {
			return c.CreateTokenFromTemplate(ctx, sess.ID, "tpl", session.TokenParams{ExpiresInSeconds: secs})
		}
	}
	list := func(p session.ListParams) call {
		return func(ctx context.Context) (any, error) { return c.List(ctx, p) }
	}
	cases["list without filter"] = list(session.ListParams{Status: session.StatusActive})
	cases["list limit 501"] = list(session.ListParams{UserID: sess.UserID, Limit: session.MaxListLimit + 1})
	cases["list limit -1"] = list(session.ListParams{UserID: sess.UserID, Limit: -1})
	cases["list offset -1"] = list(session.ListParams{UserID: sess.UserID, Offset: -1})
	cases["list unknown status"] = list(session.ListParams{UserID: sess.UserID, Status: "bogus"})
	cases["list status pending"] = list(session.ListParams{UserID: sess.UserID, Status: session.StatusPending})
	cases["list status in other case"] = list(session.ListParams{UserID: sess.UserID, Status: "ACTIVE"})
	cases["create without user"] = func(ctx context.Context) (any, error) {
		return c.Create(ctx, session.CreateParams{ActiveOrganizationID: "org_1"})
	}
	cases["verify without token"] = func(ctx context.Context) (any, error) {
		return c.Verify(ctx, sess.ID, "") //nolint:staticcheck // the deprecated call is under test
	}
	for name, edit := range map[string]func(p *session.RefreshParams){
		"no expired token":   func(p *session.RefreshParams) { p.ExpiredToken = "" },
		"no refresh token":   func(p *session.RefreshParams) { p.RefreshToken = "" },
		"no request origin":  func(p *session.RefreshParams) { p.RequestOrigin = "" },
		"unknown format":     func(p *session.RefreshParams) { p.Format = "json" },
		"format in the case": func(p *session.RefreshParams) { p.Format = "Cookie" },
	} {
		p := refresh
		edit(&p)
		cases["refresh "+name] = func(ctx context.Context) (any, error) { return c.Refresh(ctx, sess.ID, p) }
	}

	for name, fn := range cases {
		res, err := fn(t.Context())
		require.ErrorIs(t, err, session.ErrInvalidInput, name)
		require.Nil(t, res, name)
		var apiErr *session.APIError
		require.False(t, errors.As(err, &apiErr), name)
		require.Zero(t, fake.Requests(clerktest.AnyRoute), "%s: a request was sent", name)
	}

	// The same client and session with good arguments do reach the fake,
	// so the silence above is the validation's doing.
	_, err := c.Refresh(t.Context(), sess.ID, refresh)
	require.NoError(t, err)
	require.Equal(t, 1, fake.Requests(clerktest.AnyRoute))
}

// TestClerktestTokenSegmentsAreWhole: the jwt a token call returns is a
// well-formed compact JWS (three base64url parts), as Clerk sends it.
func TestClerktestTokenSegmentsAreWhole(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	sess := fake.CreateSession("user_segments")
	tok, err := ctClient(t, fake).CreateToken(t.Context(), sess.ID, session.TokenParams{})
	require.NoError(t, err)
	parts := strings.Split(tok.JWT, ".")
	require.Len(t, parts, 3)
	var header map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &header))
	require.Equal(t, "RS256", header["alg"])
	require.Equal(t, fake.KeyID(), header["kid"])
}
