package clerkgate_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/handshake"
)

// Requests decided as Clerk's authenticateRequest decides them, each over
// real HTTP against clerktest: the cases the request-level differential
// test (parity/request_test.go) found the Gate deciding otherwise.

// TestSatelliteCookiesAreItsOwn: on a production satellite the tokens'
// issuer is clerk.<Domain>, not the host the publishable key names. Clerk
// chooses between plain and suffixed cookies by that issuer; compared
// with the key's host, a satellite's valid __session looked like another
// instance's and its page loads were served signed out.
func TestSatelliteCookiesAreItsOwn(t *testing.T) {
	t.Parallel()
	const issuer = "https://clerk.satellite.example"
	r := newRig(t, withFakeConfig(func(fake *clerktest.Server, c *clerkgate.Config) {
		*c = clerkgate.Config{
			SecretKey:      "sk_live_satellitesatellitesatellite",
			PublishableKey: "pk_live_" + base64.StdEncoding.EncodeToString([]byte(fake.FrontendHost()+"$")),
			JWTKey:         fake.PublicKeyPEM(), APIURL: fake.URL(), Issuer: issuer,
			Pages: clerkgate.PagesConfig{IsSatellite: true, SatelliteDomain: "satellite.example"},
		}
	}), withHandler(func(g *clerkgate.Gate) http.Handler { return g.Accept(clerkgate.SessionToken).Optional(whoami) }))
	fake, srv := r.fake, r.server

	token := fake.Token(fake.CreateSession("user_sat").ID, clerktest.WithIssuer(issuer))
	rep := get(t, srv.URL, func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Dest", "document")
		r.Header.Set("Accept", "text/html")
		r.AddCookie(&http.Cookie{Name: "__session", Value: token})
		r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
	})
	require.Equal(t, http.StatusOK, rep.status)
	require.Equal(t, "user_sat", rep.body)
}

// TestAPICallPicksTheCookiePairAsClerkDoes: an API call with both session
// cookies reads the pair Clerk's rules choose, not always the suffixed
// one: a suffixed session cookie without its __client_uat is ignored, and
// beside it the suffixed pair wins.
func TestAPICallPicksTheCookiePairAsClerkDoes(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	plain := b.fake.Token(b.fake.CreateSession("user_plain").ID)
	suffixed := b.fake.Token(b.fake.CreateSession("user_suffixed").ID)
	sfx := b.fake.CookieSuffix()
	both2 := both(cookie("__session", plain), cookie("__client_uat", "1"), cookie("__session_"+sfx, suffixed))

	rep := get(t, b.srv, both2)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_plain", rep.body, "no __client_uat_<suffix>: the plain pair")

	rep = get(t, b.srv, both(both2, clientUAT(sfx)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_suffixed", rep.body)
}

// TestUntradableNonceSignsOut: a handshake nonce the Backend API does not
// know sets no cookies and signs the request out (session-token-missing),
// however valid the cookies beside it; in development the browser goes on
// to the page without the nonce. The Gate used to decide such a request
// as if it carried no nonce, and signed it in.
func TestUntradableNonceSignsOut(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	token := s.fake.Token(s.fake.CreateSession("user_1").ID)
	resp := rawGet(t, s.url+"/?__clerk_handshake_nonce=nobodyknowsthisnonce", withCookies(
		&http.Cookie{Name: "__session", Value: token},
		&http.Cookie{Name: "__client_uat", Value: "1"},
		&http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_1"},
		s.binding(t),
	))
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.Equal(t, s.url+"/", resp.Header.Get("Location"))
	require.Equal(t, "signed-out", resp.Header.Get("X-Clerk-Auth-Status"))
	require.Equal(t, "session-token-missing", resp.Header.Get("X-Clerk-Auth-Reason"))
	require.Len(t, resp.Cookies(), 1, "no cookie but the binding cookie's removal")
	require.Equal(t, handshake.CookieBinding, resp.Cookies()[0].Name)
	require.Equal(t, -1, resp.Cookies()[0].MaxAge)
	require.Equal(t, 1, s.fake.Requests(clerktest.RouteHandshakePayload))
}

// TestExpiredBearerRefreshesTheSessionCookie: an expired Authorization
// token beside the browser's cookies refreshes the session cookie's token
// with the refresh cookie, as Clerk does (the pair belongs together),
// not the header's.
func TestExpiredBearerRefreshesTheSessionCookie(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_cookie")
	other := b.fake.CreateSession("user_header")
	rep := get(t, b.srv, both(bearer(b.fake.Token(other.ID, clerktest.Expired())),
		b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_cookie", rep.body)
	require.Equal(t, 1, b.refreshCalls())
}

// TestRefreshAsksForClerksCookieChoice: a browser on plain cookies gets
// its refresh answered in plain cookies (suffixed_cookies is Clerk's
// choice for the request, not always true).
func TestRefreshAsksForClerksCookieChoice(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	for _, tc := range []struct {
		name    string
		session func(string) func(*http.Request)
		want    string
	}{
		{"plain pair", func(tok string) func(*http.Request) {
			return both(cookie("__session", tok), cookie("__client_uat", "1"))
		}, ""},
		{"suffixed pair", b.sessionCookie, "true"},
	} {
		rep := get(t, b.srv, both(tc.session(b.fake.Token(s.ID, clerktest.Expired(), clerktest.V2())), b.refreshCookie(s)))
		require.Equal(t, http.StatusOK, rep.status, "%s: %s", tc.name, rep.body)
		last, ok := b.fake.LastRequest(clerktest.RouteRefresh)
		require.True(t, ok)
		require.Equal(t, tc.want, last.Query.Get("suffixed_cookies"), tc.name)
	}
}

// TestAuthReasonsAreClerks: x-clerk-auth-reason on a request that is not
// a page load carries Clerk's names for a header token's failure, while
// the JSON failure contract keeps clerkgate's reasons. A HEAD is not
// refreshed (Clerk refreshes GETs only).
func TestAuthReasonsAreClerks(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	now := time.Now().Unix()
	for _, tc := range []struct {
		name, method string
		mod          func(*http.Request)
		reason       clerkgate.Reason
		header       string
	}{
		{"expired, no refresh cookie", http.MethodGet, bearer(b.fake.Token(s.ID, clerktest.Expired())),
			clerkgate.ReasonTokenExpired, "session-token-expired-refresh-non-eligible-no-refresh-cookie"},
		{"expired, a POST", http.MethodPost, both(bearer(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)),
			clerkgate.ReasonTokenExpired, "session-token-expired-refresh-non-eligible-non-get"},
		{"expired, a HEAD", http.MethodHead, both(bearer(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)),
			clerkgate.ReasonTokenExpired, "session-token-expired-refresh-non-eligible-non-get"},
		{"not yet valid", http.MethodGet, bearer(b.fake.Token(s.ID, clerktest.WithClaims(map[string]any{"nbf": now + 60}))),
			clerkgate.ReasonTokenNotYetValid, "session-token-nbf"},
		{"issued in the future", http.MethodGet, bearer(b.fake.Token(s.ID, clerktest.WithClaims(map[string]any{"iat": now + 60}))),
			clerkgate.ReasonTokenNotYetValid, "session-token-iat-in-the-future"},
	} {
		req := httptest.NewRequest(tc.method, b.srv+"/", nil)
		tc.mod(req)
		rec := httptest.NewRecorder()
		_, err := b.gate.Accept(clerkgate.SessionToken).Authenticate(rec, req)
		var ae *clerkgate.AuthError
		require.ErrorAs(t, err, &ae, tc.name)
		require.Equal(t, tc.reason, ae.Reason, tc.name)
		require.Equal(t, "signed-out", rec.Header().Get("X-Clerk-Auth-Status"), tc.name)
		require.Equal(t, tc.header, rec.Header().Get("X-Clerk-Auth-Reason"), tc.name)
	}
	require.Zero(t, b.refreshCalls())
}
