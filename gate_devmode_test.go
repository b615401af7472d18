package clerkgate_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestDevModeNeedsNoCertificate: dev mode's fake Frontend API on plain
// http (clerktest.WithPlainFrontendAPI, with fake.Config()), walked by a
// browser that trusts no extra certificate: signed out, the sign-in page,
// signed in, every hop over http. With the TLS Frontend API a fresh
// browser stopped at a certificate warning on the first handshake.
func TestDevModeNeedsNoCertificate(t *testing.T) {
	t.Parallel()
	fake := clerktest.New(clerktest.WithPlainFrontendAPI())
	t.Cleanup(fake.Close)
	require.True(t, strings.HasPrefix(fake.FrontendURL(), "http://127.0.0.1:"), fake.FrontendURL())
	g, err := clerkgate.New(fake.Config())
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	mux := http.NewServeMux()
	mux.Handle("GET /dashboard", g.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		fmt.Fprint(w, "Dashboard of "+caller.Subject())
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	app := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	b := &browser{t: t}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.hops = append(b.hops, req.URL.String())
		require.Equal(t, "http", req.URL.Scheme, "every hop is plain http: %v", b.hops)
		if len(via) > 12 {
			return fmt.Errorf("redirect loop: %v", b.hops)
		}
		return nil
	}}
	p := b.open(app + "/dashboard")
	require.Equal(t, fake.SignInURL(), strings.Split(p.url.String(), "?")[0], "signed out: on to the sign-in page")
	p = b.signIn(&site{rig: &rig{fake: fake, url: app}}, "user_dev", app+"/dashboard")
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Equal(t, "Dashboard of user_dev", p.body)
	require.Positive(t, fake.Requests(clerktest.RouteHandshake))
}
