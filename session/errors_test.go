package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/session"
)

func TestErrorStatusMapping(t *testing.T) {
	t.Parallel()
	get := func(ctx context.Context, c *session.Client) error { _, err := c.Get(ctx, "sess_1"); return err }
	list := func(ctx context.Context, c *session.Client) error {
		_, err := c.List(ctx, session.ListParams{UserID: "user_1"})
		return err
	}
	// POSTs are not retried, so 429 and 5xx cost one request here.
	token := func(ctx context.Context, c *session.Client) error {
		_, err := c.CreateToken(ctx, "sess_1", session.TokenParams{})
		return err
	}
	verify := func(ctx context.Context, c *session.Client) error {
		_, err := c.Verify(ctx, "sess_1", "a.b.c") //nolint:staticcheck // the deprecated call is under test
		return err
	}
	refresh := func(ctx context.Context, c *session.Client) error {
		_, err := c.Refresh(ctx, "sess_1", session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "https://a.example"})
		return err
	}
	helpers := map[string]func(error) bool{
		"IsNotFound":        session.IsNotFound,
		"IsUnauthenticated": session.IsUnauthenticated,
		"IsDeprecated":      session.IsDeprecated,
		"IsRateLimited":     session.IsRateLimited,
		"IsUnprocessable":   session.IsUnprocessable,
	}
	cases := []struct {
		name       string
		call       func(context.Context, *session.Client) error
		status     int
		code       string
		traceBody  string // clerk_trace_id in the body
		traceHdr   string // Clerk-Trace-Id header
		retryAfter string
		helper     string // the one helper that must say yes ("" = none)
		wantTrace  string
		wantWait   time.Duration
	}{
		{name: "400", call: get, status: 400, code: "bad_request", traceBody: "trace-400", wantTrace: "trace-400"},
		{name: "401 secret key", call: get, status: 401, code: "authentication_invalid", traceHdr: "hdr-401", helper: "IsUnauthenticated", wantTrace: "hdr-401"},
		{name: "401 refresh", call: refresh, status: 401, code: "session_refresh_expired_session_token_consumed", traceBody: "t", helper: "IsUnauthenticated", wantTrace: "t"},
		{name: "404", call: get, status: 404, code: "resource_not_found", traceBody: "trace-404", traceHdr: "ignored", helper: "IsNotFound", wantTrace: "trace-404"},
		{name: "404 template", call: token, status: 404, code: "resource_not_found", helper: "IsNotFound"},
		{name: "410 verify", call: verify, status: 410, code: "operation_deprecated", traceHdr: "hdr-410", helper: "IsDeprecated", wantTrace: "hdr-410"},
		{name: "422", call: list, status: 422, code: "form_param_value_invalid", traceBody: "trace-422", helper: "IsUnprocessable", wantTrace: "trace-422"},
		{name: "429", call: token, status: 429, code: "too_many_requests", retryAfter: "7", traceHdr: "hdr-429", helper: "IsRateLimited", wantTrace: "hdr-429", wantWait: 7 * time.Second},
		{name: "500", call: token, status: 500, code: "internal_clerk_error", traceBody: "trace-500", wantTrace: "trace-500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hdrs := []string{}
			if tc.traceHdr != "" {
				hdrs = append(hdrs, "Clerk-Trace-Id", tc.traceHdr)
			}
			if tc.retryAfter != "" {
				hdrs = append(hdrs, "Retry-After", tc.retryAfter)
			}
			fake := newFakeClerk(t, reply(tc.status, clerkError(tc.code, "Something failed", tc.traceBody), hdrs...))
			err := tc.call(t.Context(), fake.client(t))
			require.Error(t, err)
			require.Equal(t, 1, fake.count())

			var apiErr *session.APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tc.status, apiErr.StatusCode)
			require.Len(t, apiErr.Errors, 1)
			require.Equal(t, tc.code, apiErr.Errors[0].Code)
			require.Equal(t, "Something failed", apiErr.Errors[0].Message)
			require.Equal(t, "Something failed (long)", apiErr.Errors[0].LongMessage)
			require.JSONEq(t, `{}`, string(apiErr.Errors[0].Meta))
			require.True(t, apiErr.HasCode(tc.code))
			require.False(t, apiErr.HasCode("some_other_code"))
			require.Equal(t, tc.wantTrace, apiErr.TraceID)
			require.Equal(t, tc.wantWait, apiErr.RetryAfter)
			require.Empty(t, apiErr.Body)

			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, "session: "), msg)
			require.Contains(t, msg, fmt.Sprint(tc.status))
			require.Contains(t, msg, tc.code)
			own, _, _ := strings.Cut(msg, `"`) // the quoted part is Clerk's message
			require.Equal(t, strings.ToLower(own), own, "own text is lower-case")

			for name, is := range helpers {
				require.Equal(t, name == tc.helper, is(err), name)
				require.Equal(t, name == tc.helper, is(fmt.Errorf("wrapped: %w", err)), name+" through wrapping")
			}
		})
	}
}

func TestHelpersOnOtherErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("boom"), session.ErrInvalidInput, context.Canceled} {
		require.False(t, session.IsNotFound(err))
		require.False(t, session.IsUnauthenticated(err))
		require.False(t, session.IsDeprecated(err))
		require.False(t, session.IsRateLimited(err))
		require.False(t, session.IsUnprocessable(err))
	}
	var nilErr *session.APIError
	require.False(t, nilErr.HasCode("x"))
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	e := &session.APIError{
		StatusCode: 404,
		Errors: []session.ErrorDetail{
			{Code: "resource_not_found", Message: "not found", LongMessage: "No session was found with id sess_1"},
			{Code: "second"},
		},
		TraceID: "abc123",
	}
	require.Equal(t, `session: clerk answered 404 not found: resource_not_found: "No session was found with id sess_1" (and 1 more) (trace id abc123)`, e.Error())

	e = &session.APIError{StatusCode: 599}
	require.Equal(t, "session: clerk answered 599 with no clerk error in the body", e.Error())
}

func TestNonClerkErrorBodies(t *testing.T) {
	t.Parallel()
	html := "<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n" +
		strings.Repeat("<!-- padding so the page is long -->\n", 300) + "</body></html>"
	cases := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string // expected start of the excerpt
	}{
		{"proxy html 502", 502, "text/html", html, "<html> <head><title>502 Bad Gateway</title></head> <body>"},
		{"plain text 503", 503, "text/plain", "upstream connect error or disconnect/reset before headers", "upstream connect error"},
		{"json without errors", 500, "application/json", `{"message":"internal"}`, `{"message":"internal"}`},
		{"json errors of the wrong type", 500, "application/json", `{"errors":"nope"}`, `{"errors":"nope"}`},
		{"truncated json", 500, "application/json", `{"errors":[{"code":"x"`, `{"errors":[{"code":"x"`},
		{"binary", 502, "application/octet-stream", "\x00\x01\xff\xfe\x1b[31mred", "\uFFFD [31mred"},
		{"empty", 502, "text/plain", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeClerk(t, reply(tc.status, tc.body, "Content-Type", tc.contentType, "Clerk-Trace-Id", "edge-1"))
			// Refresh is a POST: one attempt, so the test sees the raw answer.
			_, err := fake.client(t).Refresh(t.Context(), "sess_1", session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "https://a.example"})
			var apiErr *session.APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tc.status, apiErr.StatusCode)
			require.Empty(t, apiErr.Errors)
			require.Equal(t, "edge-1", apiErr.TraceID)
			require.LessOrEqual(t, len(apiErr.Body), 200)
			require.True(t, utf8.ValidString(apiErr.Body))
			require.True(t, strings.HasPrefix(apiErr.Body, tc.want), "excerpt %q", apiErr.Body)
			require.NotContains(t, apiErr.Body, "\n")
			require.Contains(t, err.Error(), fmt.Sprintf("%d %s", tc.status, strings.ToLower(http.StatusText(tc.status))))
			if tc.body != "" {
				require.Contains(t, err.Error(), "non-clerk body")
			}
			require.Equal(t, 1, fake.count())
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	when := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	fake := newFakeClerk(t, reply(http.StatusTooManyRequests, clerkError("too_many_requests", "slow down", ""), "Retry-After", when))
	_, err := fake.client(t).CreateToken(t.Context(), "sess_1", session.TokenParams{})
	var apiErr *session.APIError
	require.ErrorAs(t, err, &apiErr)
	require.True(t, session.IsRateLimited(err))
	require.Greater(t, apiErr.RetryAfter, 58*time.Minute)
	require.LessOrEqual(t, apiErr.RetryAfter, time.Hour)
}

func TestUnreadableRetryAfterIsIgnored(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"soon", "-5", "1.5", "Mon, 01 Jan 2001 00:00:00 GMT"} {
		fake := newFakeClerk(t, reply(http.StatusTooManyRequests, clerkError("too_many_requests", "slow down", ""), "Retry-After", v))
		_, err := fake.client(t).CreateToken(t.Context(), "sess_1", session.TokenParams{})
		var apiErr *session.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Zero(t, apiErr.RetryAfter, v)
	}
}

// TestUnexpectedSuccessBodies: a 2xx whose body is not the promised object
// wraps ErrUnexpectedResponse, is not an APIError and is not retried.
func TestUnexpectedSuccessBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		answer string
		call   func(context.Context, *session.Client) error
	}{
		{"get html", "<html>ok</html>", func(ctx context.Context, c *session.Client) error { _, err := c.Get(ctx, "sess_1"); return err }},
		{"get null", "null", func(ctx context.Context, c *session.Client) error { _, err := c.Get(ctx, "sess_1"); return err }},
		{"get no id", `{"object":"session"}`, func(ctx context.Context, c *session.Client) error { _, err := c.Get(ctx, "sess_1"); return err }},
		{"get wrong types", `{"id":1}`, func(ctx context.Context, c *session.Client) error { _, err := c.Get(ctx, "sess_1"); return err }},
		{"list string", `"x"`, func(ctx context.Context, c *session.Client) error {
			_, err := c.List(ctx, session.ListParams{UserID: "u"})
			return err
		}},
		{"list object without data", `{"total_count":3}`, func(ctx context.Context, c *session.Client) error {
			_, err := c.List(ctx, session.ListParams{UserID: "u"})
			return err
		}},
		{"list item without id", `[{"object":"session"}]`, func(ctx context.Context, c *session.Client) error {
			_, err := c.List(ctx, session.ListParams{UserID: "u"})
			return err
		}},
		{"refresh unknown object", `{"object":"session","id":"sess_1"}`, func(ctx context.Context, c *session.Client) error {
			_, err := c.Refresh(ctx, "sess_1", session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "o"})
			return err
		}},
		{"refresh token without jwt", `{"object":"token"}`, func(ctx context.Context, c *session.Client) error {
			_, err := c.Refresh(ctx, "sess_1", session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "o"})
			return err
		}},
		{"refresh cookies empty", `{"object":"cookies","cookies":[]}`, func(ctx context.Context, c *session.Client) error {
			_, err := c.Refresh(ctx, "sess_1", session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "o"})
			return err
		}},
		{"token empty", `{}`, func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateToken(ctx, "sess_1", session.TokenParams{})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeClerk(t, reply(http.StatusOK, tc.answer))
			err := tc.call(t.Context(), fake.client(t))
			require.ErrorIs(t, err, session.ErrUnexpectedResponse)
			var apiErr *session.APIError
			require.False(t, errors.As(err, &apiErr))
			require.Equal(t, 1, fake.count())
		})
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	t.Parallel()
	huge := `{"id":"sess_1","pad":"` + strings.Repeat("x", 11<<20) + `"}`
	fake := newFakeClerk(t, reply(http.StatusOK, huge))
	_, err := fake.client(t).Get(t.Context(), "sess_1")
	require.ErrorIs(t, err, session.ErrUnexpectedResponse)
	require.ErrorContains(t, err, "exceeds")
	require.Equal(t, 1, fake.count(), "a too-large answer is not retried")
}
