package session_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/session"
)

// unsafeSegments are ids and template names that could steer the request
// path, or are otherwise no identifier; each must be refused locally.
var unsafeSegments = map[string]string{
	"empty":            "",
	"slash":            "sess_1/revoke",
	"traversal":        "../users/user_1",
	"dot dot inside":   "sess..1",
	"single dot":       ".",
	"backslash":        `sess_1\..\x`,
	"query":            "sess_1?x=1",
	"fragment":         "sess_1#x",
	"percent":          "sess_%2e%2e",
	"encoded slash":    "sess_1%2Frevoke",
	"space":            "sess 1",
	"tab":              "sess\t1",
	"newline":          "sess_1\nX-Injected: 1",
	"nul":              "sess_1\x00",
	"del":              "sess_1\x7f",
	"unicode space":    "sess\u00a01",
	"line separator":   "sess\u20281",
	"invalid utf-8":    "sess_\xff",
	"absurdly long id": "sess_" + strings.Repeat("a", 300),
}

func TestBadInputIsRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	okRefresh := session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "https://app.example.com"}
	type call func(ctx context.Context, c *session.Client) error
	cases := map[string]call{}

	for name, bad := range unsafeSegments {
		cases["get: "+name] = func(ctx context.Context, c *session.Client) error { _, err := c.Get(ctx, bad); return err }
		cases["refresh: "+name] = func(ctx context.Context, c *session.Client) error {
			_, err := c.Refresh(ctx, bad, okRefresh)
			return err
		}
		cases["revoke: "+name] = func(ctx context.Context, c *session.Client) error { _, err := c.Revoke(ctx, bad); return err }
		cases["verify: "+name] = func(ctx context.Context, c *session.Client) error {
			_, err := c.Verify(ctx, bad, "tok") //nolint:staticcheck // the deprecated call is under test
			return err
		}
		cases["token: "+name] = func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateToken(ctx, bad, session.TokenParams{})
			return err
		}
		cases["template session id: "+name] = func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateTokenFromTemplate(ctx, bad, "tmpl", session.TokenParams{})
			return err
		}
		cases["template name: "+name] = func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateTokenFromTemplate(ctx, "sess_1", bad, session.TokenParams{})
			return err
		}
	}

	for _, secs := range []int{-1, 1, 29, session.MaxTokenLifetime + 1} {
		cases["token lifetime "+strconv.Itoa(secs)] = func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateToken(ctx, "sess_1", session.TokenParams{ExpiresInSeconds: secs})
			return err
		}
		cases["template token lifetime "+strconv.Itoa(secs)] = func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateTokenFromTemplate(ctx, "sess_1", "tmpl", session.TokenParams{ExpiresInSeconds: secs})
			return err
		}
	}

	list := map[string]session.ListParams{
		"no client or user":  {},
		"only a status":      {Status: session.StatusActive},
		"limit too high":     {UserID: "user_1", Limit: 501},
		"negative limit":     {UserID: "user_1", Limit: -1},
		"negative offset":    {UserID: "user_1", Offset: -1},
		"unknown status":     {UserID: "user_1", Status: "sleeping"},
		"status wrong case":  {UserID: "user_1", Status: "Active"},
		"pending not listed": {UserID: "user_1", Status: session.StatusPending},
	}
	for name, p := range list {
		cases["list: "+name] = func(ctx context.Context, c *session.Client) error { _, err := c.List(ctx, p); return err }
	}

	cases["create: no user id"] = func(ctx context.Context, c *session.Client) error {
		_, err := c.Create(ctx, session.CreateParams{ActiveOrganizationID: "org_1"})
		return err
	}

	refresh := map[string]func(*session.RefreshParams){
		"no expired token":  func(p *session.RefreshParams) { p.ExpiredToken = "" },
		"no refresh token":  func(p *session.RefreshParams) { p.RefreshToken = "" },
		"no request origin": func(p *session.RefreshParams) { p.RequestOrigin = "" },
		"unknown format":    func(p *session.RefreshParams) { p.Format = "cookies" },
		"format wrong case": func(p *session.RefreshParams) { p.Format = "Token" },
	}
	for name, mutate := range refresh {
		cases["refresh: "+name] = func(ctx context.Context, c *session.Client) error {
			p := okRefresh
			mutate(&p)
			_, err := c.Refresh(ctx, "sess_1", p)
			return err
		}
	}

	cases["verify: no token"] = func(ctx context.Context, c *session.Client) error {
		_, err := c.Verify(ctx, "sess_1", "") //nolint:staticcheck // the deprecated call is under test
		return err
	}

	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
			err := fn(t.Context(), fake.client(t))
			require.ErrorIs(t, err, session.ErrInvalidInput)
			require.True(t, strings.HasPrefix(err.Error(), "session: "), err.Error())
			require.Zero(t, fake.count(), "a refused call must not reach the server")
		})
	}
}

// TestBadInputMessages: the error says what was wrong without
// echoing a token.
func TestBadInputMessages(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
	c := fake.client(t)

	_, err := c.Get(t.Context(), "sess_1/revoke")
	require.ErrorContains(t, err, `"sess_1/revoke"`)
	require.ErrorContains(t, err, `'/'`)

	_, err = c.List(t.Context(), session.ListParams{UserID: "u", Limit: 900})
	require.ErrorContains(t, err, "limit 900")

	_, err = c.Refresh(t.Context(), "sess_1", session.RefreshParams{ExpiredToken: "secret.expired.jwt", RefreshToken: "r"})
	require.ErrorContains(t, err, "request origin")
	require.NotContains(t, err.Error(), "secret.expired.jwt")
	require.Zero(t, fake.count())
}

func TestAcceptedEdgeInputs(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, `[]`))
	c := fake.client(t)
	for _, p := range []session.ListParams{
		{ClientID: "client_1"},
		{UserID: "user_1", Limit: 1},
		{UserID: "user_1", Limit: session.MaxListLimit, Offset: 1_000_000},
	} {
		_, err := c.List(t.Context(), p)
		require.NoError(t, err, "%+v", p)
	}
	require.Equal(t, 3, fake.count())
}
