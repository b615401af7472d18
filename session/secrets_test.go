package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/session"
)

// TestAPIURLErrorsShowNoSecret: an API URL from the environment may carry a
// user name and password, or a token in its query. NewClient refuses such
// URLs, and says so without repeating them: the error stops start-up and
// lands in its logs.
func TestAPIURLErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	// internal/backendapi's tests try every way a URL can be refused;
	// these check that NewClient passes on its redacted messages.
	const user, pass, token = "USERzq9WvK", "PASSmB7pLr", "TOKENhN8cD"
	for _, raw := range []string{
		"https://" + user + ":" + pass + "@api.example.com?token=" + token,
		"https://" + user + ":" + pass + "/x@api.example.com:bad",
	} {
		c, err := session.NewClient(session.Config{SecretKey: testSecret, APIURL: raw})
		require.Nil(t, c)
		require.ErrorIs(t, err, session.ErrInvalidConfig)
		require.NotContains(t, err.Error(), user)
		require.NotContains(t, err.Error(), pass)
		require.NotContains(t, err.Error(), token)
	}
}

// TestCallErrorsShowNoSecret: whatever goes wrong with a call, over real
// HTTP, its error never shows what the call carried: the secret key, a
// handshake nonce (in the query: unused, it is still good), the tokens of
// a refresh (in the body).
func TestCallErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	const nonce, expired, refresh = "NONCEzq9WvK", "EXPIREDmB7pLr", "REFRESHhN8cD"
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	calls := map[string]func(context.Context, *session.Client) error{
		"handshake payload": func(ctx context.Context, c *session.Client) error {
			_, err := c.HandshakePayload(ctx, nonce)
			return err
		},
		"refresh": func(ctx context.Context, c *session.Client) error {
			_, err := c.Refresh(ctx, "sess_1", session.RefreshParams{ExpiredToken: expired, RefreshToken: refresh, RequestOrigin: "https://a.example"})
			return err
		},
	}
	answers := map[string]responder{
		"hang up":     hangUp,
		"500":         serverError,
		"401":         reply(http.StatusUnauthorized, clerkError("authentication_invalid", "no", "t")),
		"502 html":    reply(http.StatusBadGateway, "<html>bad gateway</html>", "Content-Type", "text/html"),
		"not json":    reply(http.StatusOK, "<html>ok</html>"),
		"empty 2xx":   reply(http.StatusOK, `{}`),
		"unreachable": nil,
	}
	for cname, call := range calls {
		for aname, answer := range answers {
			t.Run(cname+" "+aname, func(t *testing.T) {
				t.Parallel()
				var c *session.Client
				if answer == nil {
					var err error
					c, err = session.NewClient(session.Config{SecretKey: testSecret, APIURL: closed.URL})
					require.NoError(t, err)
				} else {
					c = newFakeClerk(t, answer).client(t)
				}
				err := call(t.Context(), c)
				require.Error(t, err)
				for _, secret := range []string{testSecret, nonce, expired, refresh} {
					require.NotContains(t, err.Error(), secret)
				}
			})
		}
	}
}
