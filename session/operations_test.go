package session_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/version"
	"github.com/clerkgate/clerkgate/session"
)

// Body fields each operation's request schema allows, copied from
// clerk-bapi-2026-05-12.yml (verify: clerk-bapi-2021-02-05.yml). Revoke, Get
// and List have no body.
var specBodyFields = map[string][]string{
	"create":  {"user_id", "active_organization_id"},
	"refresh": {"expired_token", "refresh_token", "request_origin", "request_headers", "format", "request_originating_ip"},
	"verify":  {"token"},
	"token":   {"expires_in_seconds"},
}

type opCase struct {
	name      string
	call      func(ctx context.Context, c *session.Client) error
	answer    string
	method    string
	path      string
	query     url.Values // exact; nil means none
	bodyKeys  []string   // exact, sorted; nil means no body at all
	specField string     // key into specBodyFields
}

func operationCases() []opCase {
	fullRefresh := session.RefreshParams{
		ExpiredToken:         "expired.jwt.value",
		RefreshToken:         "refresh-token-value",
		RequestOrigin:        "https://app.example.com",
		RequestHeaders:       map[string][]string{"User-Agent": {"test"}},
		RequestOriginatingIP: "203.0.113.7",
		Format:               session.FormatCookie,
		SuffixedCookies:      true,
	}
	minRefresh := session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "https://app.example.com"}
	return []opCase{
		{
			name: "list",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.List(ctx, session.ListParams{UserID: "user_1", ClientID: "client_1", Status: session.StatusActive, Limit: 20, Offset: 40})
				return err
			},
			answer: `{"data":[],"total_count":0}`,
			method: http.MethodGet, path: "/v1/sessions",
			query: url.Values{"paginated": {"true"}, "user_id": {"user_1"}, "client_id": {"client_1"}, "status": {"active"}, "limit": {"20"}, "offset": {"40"}},
		},
		{
			name: "list minimal",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.List(ctx, session.ListParams{UserID: "user_1"})
				return err
			},
			answer: `[]`,
			method: http.MethodGet, path: "/v1/sessions",
			query: url.Values{"paginated": {"true"}, "user_id": {"user_1"}},
		},
		{
			name: "create",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.Create(ctx, session.CreateParams{UserID: "user_1", ActiveOrganizationID: "org_1"})
				return err
			},
			answer: minimalSession, method: http.MethodPost, path: "/v1/sessions",
			bodyKeys: []string{"active_organization_id", "user_id"}, specField: "create",
		},
		{
			name: "create minimal",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.Create(ctx, session.CreateParams{UserID: "user_1"})
				return err
			},
			answer: minimalSession, method: http.MethodPost, path: "/v1/sessions",
			bodyKeys: []string{"user_id"}, specField: "create",
		},
		{
			name: "get",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.Get(ctx, "sess_1")
				return err
			},
			answer: minimalSession, method: http.MethodGet, path: "/v1/sessions/sess_1",
		},
		{
			name: "refresh full",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.Refresh(ctx, "sess_1", fullRefresh)
				return err
			},
			answer: `{"object":"cookies","cookies":["__session=x; Path=/"]}`,
			method: http.MethodPost, path: "/v1/sessions/sess_1/refresh",
			query:     url.Values{"suffixed_cookies": {"true"}},
			bodyKeys:  []string{"expired_token", "format", "refresh_token", "request_headers", "request_origin", "request_originating_ip"},
			specField: "refresh",
		},
		{
			name: "refresh minimal",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.Refresh(ctx, "sess_1", minRefresh)
				return err
			},
			answer: tokenBody, method: http.MethodPost, path: "/v1/sessions/sess_1/refresh",
			bodyKeys: []string{"expired_token", "refresh_token", "request_origin"}, specField: "refresh",
		},
		{
			name: "revoke",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.Revoke(ctx, "sess_1")
				return err
			},
			answer: minimalSession, method: http.MethodPost, path: "/v1/sessions/sess_1/revoke",
		},
		{
			name: "verify",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.Verify(ctx, "sess_1", "a.jwt.token") //nolint:staticcheck // the deprecated call is under test
				return err
			},
			answer: minimalSession, method: http.MethodPost, path: "/v1/sessions/sess_1/verify",
			bodyKeys: []string{"token"}, specField: "verify",
		},
		{
			name: "create token",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.CreateToken(ctx, "sess_1", session.TokenParams{ExpiresInSeconds: 120})
				return err
			},
			answer: tokenBody, method: http.MethodPost, path: "/v1/sessions/sess_1/tokens",
			bodyKeys: []string{"expires_in_seconds"}, specField: "token",
		},
		{
			name: "create token default lifetime",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.CreateToken(ctx, "sess_1", session.TokenParams{})
				return err
			},
			answer: tokenBody, method: http.MethodPost, path: "/v1/sessions/sess_1/tokens",
		},
		{
			name: "create token from template",
			call: func(ctx context.Context, c *session.Client) error {
				_, err := c.CreateTokenFromTemplate(ctx, "sess_1", "custom_hasura", session.TokenParams{ExpiresInSeconds: 30})
				return err
			},
			answer: tokenBody, method: http.MethodPost, path: "/v1/sessions/sess_1/tokens/custom_hasura",
			bodyKeys: []string{"expires_in_seconds"}, specField: "token",
		},
	}
}

// TestRequestsOnTheWire checks method, path, query, headers and body of
// every operation against the spec.
func TestRequestsOnTheWire(t *testing.T) {
	t.Parallel()
	for _, tc := range operationCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeClerk(t, reply(http.StatusOK, tc.answer))
			require.NoError(t, tc.call(t.Context(), fake.client(t)))

			reqs := fake.requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			require.Equal(t, tc.method, r.Method)
			require.Equal(t, tc.path, r.Path)
			if tc.query == nil {
				require.Empty(t, r.RawQuery)
			} else {
				require.Equal(t, tc.query, r.Query)
			}
			require.NotContains(t, r.RawQuery, "__clerk_api_version")

			require.Equal(t, "Bearer "+testSecret, r.Header.Get("Authorization"))
			require.Equal(t, session.DefaultAPIVersion, r.Header.Get("Clerk-API-Version"))
			require.Equal(t, "clerkgate/"+version.Version, r.Header.Get("User-Agent"))
			require.Equal(t, "application/json", r.Header.Get("Accept"))

			require.Equal(t, tc.bodyKeys, r.bodyKeys(t))
			if tc.bodyKeys == nil {
				require.Empty(t, r.Body)
				require.Empty(t, r.Header.Get("Content-Type"), "no body, no content type")
				return
			}
			require.Equal(t, "application/json", r.Header.Get("Content-Type"))
			require.Subset(t, specBodyFields[tc.specField], tc.bodyKeys, "a body field the spec does not allow")
		})
	}
}

func TestRefreshBodyValuesAndSuffixedCookiesInQuery(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, `{"object":"cookies","cookies":["__session=new; Path=/; SameSite=Lax","__session_MqCvchyS=new; Path=/"]}`))
	res, err := fake.client(t).Refresh(t.Context(), "sess_1", session.RefreshParams{
		ExpiredToken:         "expired.jwt.value",
		RefreshToken:         "refresh-token-value",
		RequestOrigin:        "https://app.example.com",
		RequestHeaders:       map[string][]string{"Cookie": {"a=b"}, "X-Forwarded-For": {"203.0.113.7", "10.0.0.1"}},
		RequestOriginatingIP: "203.0.113.7",
		Format:               session.FormatCookie,
		SuffixedCookies:      true,
	})
	require.NoError(t, err)
	require.Equal(t, "cookies", res.Object)
	require.Empty(t, res.JWT)
	require.Equal(t, []string{"__session=new; Path=/; SameSite=Lax", "__session_MqCvchyS=new; Path=/"}, res.Cookies)

	r := fake.requests()[0]
	require.Equal(t, "suffixed_cookies=true", r.RawQuery)
	require.NotContains(t, string(r.Body), "suffixed")
	require.JSONEq(t, `{
		"expired_token": "expired.jwt.value",
		"refresh_token": "refresh-token-value",
		"request_origin": "https://app.example.com",
		"request_headers": {"Cookie": ["a=b"], "X-Forwarded-For": ["203.0.113.7", "10.0.0.1"]},
		"request_originating_ip": "203.0.113.7",
		"format": "cookie"
	}`, string(r.Body))
}

func TestRefreshTokenFormat(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, tokenBody))
	res, err := fake.client(t).Refresh(t.Context(), "sess_1", session.RefreshParams{
		ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "https://app.example.com", Format: session.FormatToken,
	})
	require.NoError(t, err)
	require.Equal(t, &session.RefreshResult{Object: "token", JWT: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, res)
	require.JSONEq(t, `{"expired_token":"e","refresh_token":"r","request_origin":"https://app.example.com","format":"token"}`,
		string(fake.requests()[0].Body))
}

func TestTokens(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, tokenBody))
	c := fake.client(t)

	tok, err := c.CreateToken(t.Context(), "sess_1", session.TokenParams{ExpiresInSeconds: session.MaxTokenLifetime})
	require.NoError(t, err)
	require.Equal(t, &session.Token{Object: "token", JWT: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, tok)

	tok, err = c.CreateTokenFromTemplate(t.Context(), "sess_1", "supabase", session.TokenParams{ExpiresInSeconds: session.MinTokenLifetime})
	require.NoError(t, err)
	require.Equal(t, "token", tok.Object)

	reqs := fake.requests()
	require.JSONEq(t, `{"expires_in_seconds":315360000}`, string(reqs[0].Body))
	require.JSONEq(t, `{"expires_in_seconds":30}`, string(reqs[1].Body))
}

// TestSessionFixtureDecodes decodes a Session carrying every field of the
// spec's schema and checks each one, plus the time helpers.
func TestSessionFixtureDecodes(t *testing.T) {
	t.Parallel()
	body := fixture(t)
	fake := newFakeClerk(t, reply(http.StatusOK, body))
	s, err := fake.client(t).Get(t.Context(), "sess_2wT8hXq3VbN6mZk1pLr4cY9dFjE")
	require.NoError(t, err)

	require.Equal(t, "session", s.Object)
	require.Equal(t, "sess_2wT8hXq3VbN6mZk1pLr4cY9dFjE", s.ID)
	require.Equal(t, "user_2wT8fJ1kPq7nVx3sLm5rB0cYhGd", s.UserID)
	require.Equal(t, "client_2wT8gR4tYu6iOp8aSd0fGh2jKlZ", s.ClientID)
	require.True(t, s.HasActor())
	require.JSONEq(t, `{"iss":"https://dashboard.clerk.com","sid":"sess_2wT8aAdminImpersonator00001","sub":"user_2wT8aAdminImpersonator0001"}`, string(s.Actor))
	require.Equal(t, session.StatusPending, s.Status)
	require.NotNil(t, s.LastActiveOrganizationID)
	require.Equal(t, "org_2wT8kLmN0pQrStUvWxYz1a2B3c4", *s.LastActiveOrganizationID)
	require.Equal(t, &session.SessionActivity{
		Object: "session_activity", ID: "sess_activity_2wT8mNbVcXz1aSdFgHjKl3qWeRt",
		DeviceType: "iPhone", IsMobile: true, BrowserName: "Safari", BrowserVersion: "18.4",
		IPAddress: "203.0.113.7", City: "Lisbon", Country: "PT",
	}, s.LatestActivity)
	require.Equal(t, []session.SessionTask{{Key: "choose-organization"}}, s.Tasks)

	created := time.Date(2026, 5, 12, 12, 0, 0, 0, time.UTC)
	require.Equal(t, int64(1778587200000), s.CreatedAt, "timestamps are milliseconds")
	require.True(t, s.CreatedTime().Equal(created))
	require.True(t, s.LastActiveTime().Equal(created.Add(time.Hour)))
	require.True(t, s.UpdatedTime().Equal(created.Add(time.Hour+5*time.Second)))
	require.True(t, s.ExpireTime().Equal(created.Add(7*24*time.Hour)))
	require.True(t, s.AbandonTime().Equal(created.Add(30*24*time.Hour)))

	// Nothing is lost: encoding the decoded session gives the fixture back.
	again, err := json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, body, string(again))
}

func TestSessionNullsDecode(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
	s, err := fake.client(t).Get(t.Context(), "sess_1")
	require.NoError(t, err)
	require.False(t, s.HasActor())
	require.Nil(t, s.Actor, "a JSON null actor becomes nil")
	require.Nil(t, s.LastActiveOrganizationID)
	require.Nil(t, s.LatestActivity)
	require.Nil(t, s.Tasks)
	require.Equal(t, session.StatusActive, s.Status)

	var zero session.Session
	require.True(t, zero.ExpireTime().IsZero(), "an unset timestamp is the zero time, not 1970")
}

func TestListShapes(t *testing.T) {
	t.Parallel()
	two := "[" + minimalSession + "," + fixture(t) + "]"
	cases := []struct {
		name      string
		answer    string
		wantTotal int64
	}{
		{"paginated", `{"data":` + two + `,"total_count":57}`, 57},
		{"bare array", two, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeClerk(t, reply(http.StatusOK, tc.answer))
			list, err := fake.client(t).List(t.Context(), session.ListParams{UserID: "user_1", Limit: 2})
			require.NoError(t, err)
			require.Equal(t, tc.wantTotal, list.TotalCount)
			require.Len(t, list.Data, 2)
			require.Equal(t, "sess_1", list.Data[0].ID)
			require.Equal(t, "sess_2wT8hXq3VbN6mZk1pLr4cY9dFjE", list.Data[1].ID)
			require.Nil(t, list.Data[0].Actor)
			require.Equal(t, "true", fake.requests()[0].Query.Get("paginated"))
		})
	}
}

func TestListEmpty(t *testing.T) {
	t.Parallel()
	for _, answer := range []string{`[]`, `{"data":[],"total_count":0}`, `{"data":null,"total_count":0}`} {
		fake := newFakeClerk(t, reply(http.StatusOK, answer))
		list, err := fake.client(t).List(t.Context(), session.ListParams{ClientID: "client_1"})
		require.NoError(t, err, answer)
		require.NotNil(t, list.Data)
		require.Empty(t, list.Data)
		require.Zero(t, list.TotalCount)
	}
}

func TestListEveryStatusFilter(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, `[]`))
	c := fake.client(t)
	statuses := []session.Status{
		session.StatusAbandoned, session.StatusActive, session.StatusEnded, session.StatusExpired,
		session.StatusRemoved, session.StatusReplaced, session.StatusRevoked,
	}
	for _, st := range statuses {
		_, err := c.List(t.Context(), session.ListParams{UserID: "user_1", Status: st})
		require.NoError(t, err, st)
	}
	for i, r := range fake.requests() {
		require.Equal(t, string(statuses[i]), r.Query.Get("status"))
	}
}

func TestOnRevoked(t *testing.T) {
	t.Parallel()
	t.Run("called once on success", func(t *testing.T) {
		t.Parallel()
		fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
		var got []string
		c := fake.client(t, func(cfg *session.Config) { cfg.OnRevoked = func(id string) { got = append(got, id) } })
		s, err := c.Revoke(t.Context(), "sess_1")
		require.NoError(t, err)
		require.Equal(t, "sess_1", s.ID)
		require.Equal(t, []string{"sess_1"}, got)
	})
	t.Run("not called on failure", func(t *testing.T) {
		t.Parallel()
		for _, status := range []int{http.StatusNotFound, http.StatusUnauthorized, http.StatusInternalServerError} {
			fake := newFakeClerk(t, reply(status, clerkError("resource_not_found", "not found", "")))
			called := 0
			c := fake.client(t, func(cfg *session.Config) { cfg.OnRevoked = func(string) { called++ } })
			_, err := c.Revoke(t.Context(), "sess_1")
			require.Error(t, err)
			require.Zero(t, called, "status %d", status)
			require.Equal(t, 1, fake.count())
		}
	})
	t.Run("not called for bad input", func(t *testing.T) {
		t.Parallel()
		fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
		called := 0
		c := fake.client(t, func(cfg *session.Config) { cfg.OnRevoked = func(string) { called++ } })
		_, err := c.Revoke(t.Context(), "sess_1/../x")
		require.ErrorIs(t, err, session.ErrInvalidInput)
		require.Zero(t, called)
	})
	t.Run("nil hook is fine", func(t *testing.T) {
		t.Parallel()
		fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
		_, err := fake.client(t).Revoke(t.Context(), "sess_1")
		require.NoError(t, err)
	})
}

// TestIDsArePathEscaped: an id that passes validation but holds characters
// outside the unreserved set still reaches the server as one escaped
// segment.
func TestIDsArePathEscaped(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, tokenBody))
	_, err := fake.client(t).CreateTokenFromTemplate(t.Context(), "sess_ü;1", "tmpl;ü", session.TokenParams{})
	require.NoError(t, err)
	require.Equal(t, "/v1/sessions/sess_%C3%BC%3B1/tokens/tmpl%3B%C3%BC", fake.requests()[0].Path)
}
