package clerktest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestHandlerWithFakeConfig is docs/TESTING.md's handler test, as written
// there: a Gate from fake.Config(), the handler behind it on real HTTP, a
// signed-in request, an anonymous one, and the cleanup that compiles.
func TestHandlerWithFakeConfig(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	gate, err := clerkgate.New(fake.Config())
	require.NoError(t, err)
	t.Cleanup(func() { gate.Close() })

	srv := httptest.NewServer(gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		io.WriteString(w, "hello "+caller.Subject())
	})))
	t.Cleanup(srv.Close)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+fake.Token(fake.CreateSession("user_1").ID))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "hello user_1", string(body))

	res, err = http.Get(srv.URL)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

// TestConfigPointsAtTheFake: the Config names the fake's keys and Backend
// API, so the Gate fetches the fake's keys and refreshes through it; with
// WithLocalFrontendAPI it names the fake's sign-in page too.
func TestConfigPointsAtTheFake(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	cfg := fake.Config()
	require.Equal(t, clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()}, cfg)
	gate, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { gate.Close() })
	require.NoError(t, gate.Check(t.Context()))
	require.Positive(t, fake.Requests(clerktest.RouteJWKS))

	local := clerktest.New(clerktest.WithLocalFrontendAPI())
	t.Cleanup(local.Close)
	require.Equal(t, local.SignInURL(), local.Config().Pages.SignInURL)
}
