package jwks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/jwks"
)

// The secrets a configured URL may carry: a user name and password in its
// userinfo, a token in its query. None may reach an error or a log line.
const (
	urlUser  = "USERzq9WvK"
	urlPass  = "PASSmB7pLr"
	urlToken = "TOKENhN8cD"
)

var urlSecrets = []string{urlUser, urlPass, urlToken}

func requireNoURLSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range urlSecrets {
		require.NotContains(t, text, s, "%s shows a secret of the URL: %s", what, text)
	}
}

// withSecrets returns base (http://host:port) with credentials in it.
func withSecrets(base string) string {
	return strings.Replace(base, "://", "://"+urlUser+":"+urlPass+"@", 1)
}

// TestConfigErrorsShowNoURLSecret: URLs refused at construction are named
// in the error, redacted.
func TestConfigErrorsShowNoURLSecret(t *testing.T) {
	t.Parallel()
	creds := urlUser + ":" + urlPass + "@"
	remote := map[string]string{
		"bad scheme":        "ftp://" + creds + "example.com/jwks?t=" + urlToken,
		"no host":           "https://" + creds + "?t=" + urlToken,
		"bad port":          "https://" + creds + "example.com:bad/jwks?t=" + urlToken,
		"slash in password": "https://" + urlUser + ":" + urlPass + "/x@example.com/jwks",
		"bad escape":        "https://" + urlUser + ":" + urlPass + "%zz@example.com/jwks",
		"control character": "https://" + creds + "example.com/\x7f?t=" + urlToken,
		"relative":          creds + "example.com/jwks?t=" + urlToken,
	}
	for name, raw := range remote {
		r, err := jwks.NewRemote(context.Background(), jwks.RemoteConfig{URL: raw, HTTPClient: offlineClient()})
		require.Error(t, err, name)
		require.Nil(t, r)
		requireNoURLSecret(t, name, err.Error())
	}
	backend := map[string]string{
		"query":      "https://" + creds + "api.example.com?token=" + urlToken,
		"fragment":   "https://api.example.com#" + urlToken,
		"bad scheme": "ftp://" + creds + "api.example.com",
		"bad port":   "https://" + creds + "api.example.com:bad",
		"user info":  "https://" + creds + "api.example.com",
	}
	for name, raw := range backend {
		r, err := jwks.NewBackendAPI(context.Background(), raw, "sk_test_x", jwks.RemoteConfig{HTTPClient: offlineClient()})
		require.Error(t, err, name)
		require.Nil(t, r)
		requireNoURLSecret(t, name, err.Error())
	}
}

// TestFetchErrorsShowNoURLSecret: a key set URL with credentials, over real
// HTTP, fails every way a fetch can fail; neither the errors (from Check
// and OnFetch) nor the log show the credentials.
func TestFetchErrorsShowNoURLSecret(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	failures := map[string]http.HandlerFunc{
		"401":               serveStatus(http.StatusUnauthorized),
		"500":               serveStatus(http.StatusInternalServerError),
		"not json":          serveBody([]byte("<html>oops</html>")),
		"no usable keys":    serveBody([]byte(`{"keys":[]}`)),
		"too large":         serveBody([]byte(strings.Repeat(" ", 1<<20+1))),
		"dropped":           dropConnection,
		"no answer in time": hang,
	}
	check := func(t *testing.T, name, url string) {
		log, logs := newLogger()
		var mu sync.Mutex
		var fetchErrs []string
		// NewRemote: a key set URL of the operator's may carry Basic
		// credentials (NewBackendAPI refuses them: the secret key is
		// its credential).
		r, err := jwks.NewRemote(context.Background(), jwks.RemoteConfig{
			URL: url + "/v1/jwks", Header: http.Header{"Authorization": {"Bearer sk_test_x"}},
			Logger: log, FetchTimeout: 300 * time.Millisecond,
			OnFetch: func(_ context.Context, res jwks.FetchResult) {
				if res.Err != nil {
					mu.Lock()
					fetchErrs = append(fetchErrs, res.Err.Error())
					mu.Unlock()
				}
			},
		})
		require.NoError(t, err, "credentials in the URL are the operator's business")
		defer func() { require.NoError(t, r.Close()) }()
		err = r.Check(t.Context())
		require.Error(t, err, name)
		requireNoURLSecret(t, name+": Check", err.Error())
		_, err = r.Key(t.Context(), "kid")
		require.Error(t, err)
		requireNoURLSecret(t, name+": Key", err.Error())
		mu.Lock()
		require.NotEmpty(t, fetchErrs)
		for _, e := range fetchErrs {
			requireNoURLSecret(t, name+": OnFetch", e)
		}
		mu.Unlock()
		require.NotEmpty(t, logs.String(), "the failure was logged")
		requireNoURLSecret(t, name+": log", logs.String())
		require.NotContains(t, logs.String(), "sk_test_x")
	}
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		check(t, "unreachable", withSecrets(closed.URL))
	})
	for name, h := range failures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newKeyServer(t, h)
			check(t, name, withSecrets(srv.URL))
		})
	}
}

// TestGivingUpShowsNoURLSecret: a caller that stops waiting for a fetch is
// told which URL it waited on, redacted.
func TestGivingUpShowsNoURLSecret(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, hang)
	r := newRemote(t, withSecrets(srv.URL)+"/jwks?token="+urlToken, jwks.RemoteConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := r.Check(ctx)
	require.ErrorContains(t, err, "gave up waiting")
	require.ErrorContains(t, err, srv.URL+"/jwks", "the redacted URL still says where")
	requireNoURLSecret(t, "Check", err.Error())
}
