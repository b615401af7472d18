package session_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/session"
)

// ctNonce runs one handshake on the fake's Frontend API and returns the
// nonce it sends back.
func ctNonce(t *testing.T, fake *clerktest.Server) string {
	t.Helper()
	hc := *fake.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(fake.FrontendURL() + "/v1/client/handshake?format=nonce&redirect_url=" + url.QueryEscape("http://localhost:1/"))
	require.NoError(t, err)
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	nonce := back.Query().Get("__clerk_handshake_nonce")
	require.NotEmpty(t, nonce)
	return nonce
}

func TestHandshakePayload(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	c := ctClient(t, fake)
	nonce := ctNonce(t, fake)

	directives, err := c.HandshakePayload(context.Background(), nonce)
	require.NoError(t, err)
	require.NotEmpty(t, directives)
	require.True(t, strings.HasPrefix(directives[0], "__session="))
	req, ok := fake.LastRequest(clerktest.RouteHandshakePayload)
	require.True(t, ok)
	require.Equal(t, "Bearer "+fake.SecretKey(), req.Header.Get("Authorization"))
	require.Equal(t, session.DefaultAPIVersion, req.Header.Get("Clerk-API-Version"))
	require.Equal(t, nonce, req.Query.Get("nonce"))

	// A nonce is good once.
	_, err = c.HandshakePayload(context.Background(), nonce)
	require.True(t, session.IsNotFound(err), "%v", err)

	_, err = c.HandshakePayload(context.Background(), "")
	require.ErrorIs(t, err, session.ErrInvalidInput)
	require.Equal(t, 2, fake.Requests(clerktest.RouteHandshakePayload))
}

func TestHandshakePayloadIsNeverRetried(t *testing.T) {
	t.Parallel()
	fake := ctFake(t)
	c := ctClient(t, fake)
	fake.SetFault(clerktest.RouteHandshakePayload, clerktest.Fault{Status: http.StatusServiceUnavailable})
	_, err := c.HandshakePayload(context.Background(), "n0nce")
	require.Error(t, err)
	require.Equal(t, 1, fake.Requests(clerktest.RouteHandshakePayload))

	for name, body := range map[string]string{
		"no directives": `{}`,
		"not strings":   `{"directives":[1]}`,
		"too many":      `{"directives":[` + strings.TrimSuffix(strings.Repeat(`"a",`, session.MaxHandshakeDirectives+1), ",") + `]}`,
		"not json":      `<html>`,
	} {
		fake.SetFault(clerktest.RouteHandshakePayload, clerktest.Fault{Status: http.StatusOK, Body: []byte(body)})
		_, err := c.HandshakePayload(context.Background(), "n0nce")
		require.ErrorIs(t, err, session.ErrUnexpectedResponse, name)
	}
}
