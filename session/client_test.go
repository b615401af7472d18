package session_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/session"
)

func TestNewClientRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cases := map[string]session.Config{
		"empty secret":          {},
		"publishable key":       {SecretKey: "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"},
		"bare secret":           {SecretKey: "c2VjcmV0"},
		"secret with newline":   {SecretKey: "sk_test_abc\r\nX-Evil: 1"},
		"secret with space":     {SecretKey: "sk_test_abc def"},
		"relative url":          {SecretKey: testSecret, APIURL: "api.clerk.com"},
		"ftp url":               {SecretKey: testSecret, APIURL: "ftp://api.clerk.com"},
		"no host":               {SecretKey: testSecret, APIURL: "https://"},
		"url with v1":           {SecretKey: testSecret, APIURL: "https://api.clerk.com/v1"},
		"url with v1 and slash": {SecretKey: testSecret, APIURL: "https://api.clerk.com/v1/"},
		"url with query":        {SecretKey: testSecret, APIURL: "https://api.clerk.com?__clerk_api_version=2021-02-05"},
		"url with fragment":     {SecretKey: testSecret, APIURL: "https://api.clerk.com#x"},
		"url with credentials":  {SecretKey: testSecret, APIURL: "https://u:p@api.clerk.com"},
		"unparsable url":        {SecretKey: testSecret, APIURL: "https://api.clerk.com:port"},
		"version not a date":    {SecretKey: testSecret, APIVersion: "latest"},
		"version bad date":      {SecretKey: testSecret, APIVersion: "2026-13-01"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := session.NewClient(cfg)
			require.Nil(t, c)
			require.ErrorIs(t, err, session.ErrInvalidConfig)
			require.Contains(t, err.Error(), "session: ")
			if cfg.SecretKey != testSecret && len(cfg.SecretKey) > 8 {
				require.NotContains(t, err.Error(), cfg.SecretKey[8:], "the secret is never echoed")
			}
		})
	}
}

func TestNewClientAcceptsGoodConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []session.Config{
		{SecretKey: "sk_live_abc"},
		{SecretKey: testSecret, APIURL: "http://127.0.0.1:8080/"},
		{SecretKey: testSecret, APIURL: "https://proxy.example.com/clerk"},
		{SecretKey: testSecret, APIVersion: "2021-02-05", HTTPClient: &http.Client{}},
	} {
		c, err := session.NewClient(cfg)
		require.NoError(t, err, "%+v", cfg)
		require.NotNil(t, c)
	}
}

func TestAPIURLWithPathPrefixAndTrailingSlash(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
	c := fake.client(t, func(cfg *session.Config) { cfg.APIURL = fake.srv.URL + "/clerk-proxy/" })
	_, err := c.Get(t.Context(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, "/clerk-proxy/v1/sessions/sess_1", fake.requests()[0].Path)
}

func TestConfiguredAPIVersionAndHTTPClient(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
	rt := &countingTransport{}
	c := fake.client(t, func(cfg *session.Config) {
		cfg.APIVersion = "2021-02-05"
		cfg.HTTPClient = &http.Client{Transport: rt}
	})
	_, err := c.Verify(t.Context(), "sess_1", "a.b.c") //nolint:staticcheck // the deprecated call is under test
	require.NoError(t, err)
	require.Equal(t, "2021-02-05", fake.requests()[0].Header.Get("Clerk-API-Version"))
	require.Equal(t, 1, rt.n, "the configured client carried the request")
}

// TestRedirectsAreNotFollowed: the default client hands a redirect back as
// an error instead of re-sending the request, secret key and all,
// somewhere else.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	elsewhere := newFakeClerk(t, reply(http.StatusOK, minimalSession))
	fake := newFakeClerk(t, reply(http.StatusTemporaryRedirect, "", "Location", elsewhere.srv.URL+"/v1/sessions/sess_1"))
	_, err := fake.client(t).Get(t.Context(), "sess_1")
	var apiErr *session.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusTemporaryRedirect, apiErr.StatusCode)
	require.Zero(t, elsewhere.count())
}

func TestClientIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusOK, minimalSession))
	c := fake.client(t)
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := c.Get(t.Context(), "sess_1")
			errs <- err
		}()
	}
	for range 16 {
		require.NoError(t, <-errs)
	}
	require.Equal(t, 16, fake.count())
}

type countingTransport struct{ n int }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return http.DefaultTransport.RoundTrip(r)
}
