package clerkgate_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/handshake"
)

// Login CSRF through handshake links: the URL a browser comes back to
// from the Frontend API's handshake carries a nonce (or a signed token)
// that the Gate trades for the session cookies of whoever went through
// the handshake. Clerk's SDKs resolve it in any browser, so an attacker
// who sends a victim their own link signs the victim's browser in as the
// attacker (who then sees what the victim types). The Gate resolves a
// handshake only in the browser whose 307 started it.

func TestHandshakeLinksDoNotSignInAnotherBrowser(t *testing.T) {
	t.Parallel()
	for _, format := range []struct{ name, param string }{
		{"nonce", handshake.CookieHandshakeNonce},
		{"token", handshake.CookieHandshake},
	} {
		t.Run(format.name, func(t *testing.T) {
			t.Parallel()
			s := newSite(t, nil, clerktest.WithHandshakeFormat(format.name))
			attacker := s.browser(t)
			require.Equal(t, "Signed out", attacker.open(s.url+"/").body)
			require.Equal(t, "Dashboard of user_attacker", attacker.signIn(s, "user_attacker", s.url+"/dashboard").body)
			link := handshakeLink(t, s, attacker, format.param)

			// A victim who has never been to the app opens the link: the
			// handshake in it is not theirs. The Gate decides the page as
			// if it were not there: the victim's own handshake, signed
			// out, and never the attacker's cookies.
			stranger := s.browser(t)
			p := stranger.open(link)
			require.Equal(t, http.StatusOK, p.status)
			require.Equal(t, "Signed out", p.body)
			require.Empty(t, stranger.cookie(s, "__session"))
			require.Empty(t, stranger.cookie(s, "__refresh_"+s.fake.CookieSuffix()))
			require.NotContains(t, p.url.RawQuery, format.param, "the ignored handshake does not go round again")

			// A signed-in victim stays themselves.
			victim := s.browser(t)
			victim.open(s.url + "/")
			require.Equal(t, "Dashboard of user_victim", victim.signIn(s, "user_victim", s.url+"/dashboard").body)
			victim.later(s)
			p = victim.open(link)
			require.Equal(t, http.StatusOK, p.status)
			require.Equal(t, "Signed in as user_victim", p.body)

			// The browser that started the handshake completes it: the
			// genuine flow works, and the victims' visits did not use up
			// the attacker's handshake.
			attacker.later(s)
			p = attacker.open(link)
			require.Equal(t, "Signed in as user_attacker", p.body)
			require.Equal(t, "/", p.url.RequestURI(), "on to the clean URL")
			require.Empty(t, attacker.cookie(s, handshake.CookieBinding), "a binding serves once")

			// Replayed in the same browser after that: no longer bound.
			attacker.later(s)
			before := s.fake.Requests(clerktest.RouteHandshakePayload)
			resp := rawGet(t, link, withCookies(&http.Cookie{Name: "__clerk_db_jwt", Value: attacker.cookie(s, "__clerk_db_jwt")}))
			require.Nil(t, setCookieNamed(resp, "__session"))
			require.Equal(t, before, s.fake.Requests(clerktest.RouteHandshakePayload))
		})
	}
}

// TestProductionHandshakeOnlyFromTheCookie: in production the Frontend
// API, on the app's own site, hands the handshake over in a cookie; a
// nonce or token in the query is never the genuine flow's, and is not
// resolved (no Backend API call, no cookies), even bound.
func TestProductionHandshakeOnlyFromTheCookie(t *testing.T) {
	t.Parallel()
	r := newRig(t, withFakeConfig(func(fake *clerktest.Server, c *clerkgate.Config) {
		// A production pair of the fake's instance. The fake refuses this
		// secret key: a nonce trade is a call that fails, which is enough
		// to count calls.
		c.SecretKey = "sk_live_" + strings.TrimPrefix(fake.SecretKey(), "sk_test_")
		c.PublishableKey = "pk_live_" + strings.TrimPrefix(fake.PublishableKey(), "pk_test_")
		c.Logger = slog.New(slog.DiscardHandler)
	}), withHandler(func(g *clerkgate.Gate) http.Handler { return g.Accept(clerkgate.SessionToken).Optional(whoami) }))
	fake, srv := r.fake, r.server

	// The 307 that starts a handshake binds it.
	start := rawGet(t, srv.URL+"/", withCookies(&http.Cookie{Name: "__client_uat", Value: "1"}))
	require.Equal(t, http.StatusTemporaryRedirect, start.StatusCode)
	c := setCookieNamed(start, handshake.CookieBinding)
	require.NotNil(t, c)
	bind := &http.Cookie{Name: c.Name, Value: c.Value}

	calls := func() int { return fake.Requests(clerktest.RouteHandshakePayload) }
	rawGet(t, srv.URL+"/?__clerk_handshake_nonce=n0nceinthequery", withCookies(bind))
	require.Zero(t, calls(), "a nonce in the query is not the genuine flow's")
	token := fake.HandshakeToken("__session=" + fake.Token(fake.CreateSession("user_attacker").ID) + "; Path=/")
	resp := rawGet(t, srv.URL+"/?__clerk_handshake="+url.QueryEscape(token), withCookies(bind))
	require.Nil(t, setCookieNamed(resp, "__session"), "nor a token")

	rawGet(t, srv.URL+"/", withCookies(&http.Cookie{Name: "__clerk_handshake_nonce", Value: "n0nceinacookie"}))
	require.Zero(t, calls(), "a cookie nonce without the binding is not resolved")
	rawGet(t, srv.URL+"/", withCookies(bind, &http.Cookie{Name: "__clerk_handshake_nonce", Value: "n0nceinacookie"}))
	require.Equal(t, 1, calls(), "the genuine return: a cookie nonce in the browser that started the handshake")
}

// TestOutdatedTokenGoesThroughTheHandshake: a page load whose token a
// webhook has made stale (the user's membership changed after it was
// issued) fetches a fresh token through the handshake, as an expired one
// would, instead of ending signed out; a deleted user's, which no fresh
// token would cure, does not.
func TestOutdatedTokenGoesThroughTheHandshake(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	hooks := serve(t, s.gate.Webhooks(nil))
	s.fake.SendWebhooksTo(hooks.URL)
	t.Cleanup(func() { s.fake.SendWebhooksTo("") })
	deliveries := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool {
			d := s.fake.WebhookDeliveries()
			return len(d) >= n && d[n-1].Status == http.StatusOK
		}, 10*time.Second, 5*time.Millisecond)
	}
	handshakes := func() int { return s.fake.Requests(clerktest.RouteHandshake) }

	b := s.browser(t)
	b.open(s.url + "/")
	require.Equal(t, "Dashboard of user_42", b.signIn(s, "user_42", s.url+"/dashboard").body)

	// The user's role changes in Clerk: the webhook marks every token
	// issued up to now outdated.
	now := s.now().UnixMilli()
	s.fake.SendWebhook("organizationMembership.updated", map[string]any{
		"object": "organization_membership", "id": "orgmem_1", "role": "org:member", "permissions": []string{},
		"organization":     map[string]any{"object": "organization", "id": "org_1", "slug": "acme", "name": "acme"},
		"public_user_data": map[string]any{"user_id": "user_42", "identifier": "user_42"},
		"created_at":       now, "updated_at": now,
	})
	deliveries(1)
	s.advance(2 * time.Second) // a token issued now is newer than the change
	b.later(s)
	before := handshakes()
	p := b.open(s.url + "/dashboard")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Dashboard of user_42", p.body, "a fresh token, not the sign-in page")
	require.Equal(t, before+1, handshakes())
	hs, ok := s.fake.LastRequest(clerktest.RouteHandshake)
	require.True(t, ok)
	require.Equal(t, handshake.ReasonSessionTokenOutdated, hs.Query.Get("__clerk_hs_reason"))

	// An API call with the stale token still gets the failure contract.
	resp := rawGet(t, s.url+"/dashboard", func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Dest", "empty")
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Authorization", "Bearer "+s.fake.Token(s.fake.CreateSession("user_43").ID, clerktest.IssuedAt(s.now().Add(-5*time.Second))))
	})
	require.Equal(t, http.StatusOK, resp.StatusCode, "another user is untouched")

	// A deleted user: every token is refused, fresh or not; no handshake
	// would help, and none is made.
	b.later(s)
	s.fake.DeleteUser("user_42")
	deliveries(2)
	b.later(s)
	before = handshakes()
	p = b.open(s.url + "/dashboard")
	require.Equal(t, s.fake.SignInURL(), p.url.Scheme+"://"+p.url.Host+p.url.Path)
	require.Equal(t, before, handshakes())
}
