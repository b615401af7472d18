package clerkgate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
)

// appOrigin is the front end the session tokens were minted for
// (clerktest's default azp), and the Gate's one authorized party.
const appOrigin = "http://localhost:3000"

// crossOriginApp is a Gate trusting appOrigin in front of one handler,
// served on real HTTP, which counts the requests that reach it.
type crossOriginApp struct {
	*rig
	srv     *httptest.Server // the rig's server
	reached atomic.Int32
	decided *decisions
}

// decisions records what the Observer was told.
type decisions struct {
	n      atomic.Int32
	status atomic.Int32
	reason atomic.Value
}

func newCrossOriginApp(t *testing.T, mod func(*clerkgate.Config), wrap func(*clerkgate.Gate, http.Handler) http.Handler) *crossOriginApp {
	t.Helper()
	a := &crossOriginApp{decided: &decisions{}}
	a.rig = newRig(t, withConfig(func(c *clerkgate.Config) {
		c.AuthorizedParties = []string{appOrigin}
		c.Observer = &clerkgate.Observer{Decided: func(_ context.Context, d clerkgate.Decision) {
			a.decided.n.Add(1)
			a.decided.status.Store(int32(d.Status))
			a.decided.reason.Store(string(d.Reason))
		}}
	}), withConfig(mod), withHandler(func(g *clerkgate.Gate) http.Handler {
		counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.reached.Add(1)
			whoami.ServeHTTP(w, r)
		})
		return wrap(g, counted)
	}))
	a.srv = a.server
	return a
}

func requireSession(g *clerkgate.Gate, h http.Handler) http.Handler {
	return g.Accept(clerkgate.SessionToken).Require(h)
}

// sessionCookie is the instance's suffixed session cookie with a token for
// a new session of user.
func (a *crossOriginApp) sessionCookie(user string) func(*http.Request) {
	return both(cookie("__session_"+a.fake.CookieSuffix(), a.fake.Token(a.fake.CreateSession(user).ID)), clientUAT(a.fake.CookieSuffix()))
}

// fetchFrom sets what a browser sends with a request from a page at
// origin: Sec-Fetch-Site as site says ("" for a browser too old to send
// it) and Origin.
func fetchFrom(site, origin string) func(*http.Request) {
	return func(r *http.Request) {
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
	}
}

// requireCrossOriginRefusal checks the 403 a forged request gets: the
// body of the Gate's other 403s, no challenge (new credentials change
// nothing), not cached.
func requireCrossOriginRefusal(t *testing.T, got reply, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, http.StatusForbidden, got.status, msgAndArgs...)
	var body struct{ Error, Reason, Message string }
	require.NoError(t, json.Unmarshal([]byte(got.body), &body), "body %q", got.body)
	require.Equal(t, "forbidden", body.Error, msgAndArgs...)
	require.Equal(t, string(clerkgate.ReasonCrossOrigin), body.Reason, msgAndArgs...)
	require.NotEmpty(t, body.Message)
	require.Equal(t, "application/json", got.header.Get("Content-Type"))
	require.Equal(t, "no-store", got.header.Get("Cache-Control"))
	require.Empty(t, got.header.Get("WWW-Authenticate"))
}

var unsafeMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// TestCrossOriginCookieRequestsAreRefused: a page on another origin makes
// the victim's browser send a state-changing request, which carries the
// session cookie. azp cannot tell (the token was minted for the app's own
// front end), so the Gate refuses it by where the request came from, and
// the handler never runs.
func TestCrossOriginCookieRequestsAreRefused(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, nil, requireSession)
	forged := map[string]func(*http.Request){
		"cross-site":                     fetchFrom("cross-site", "https://evil.example"),
		"same-site sibling subdomain":    fetchFrom("same-site", "http://evil.localhost:3000"),
		"cross-site without Origin":      fetchFrom("cross-site", ""),
		"old browser, foreign Origin":    fetchFrom("", "https://evil.example"),
		"old browser, opaque Origin":     fetchFrom("", "null"),
		"authorized party, other scheme": fetchFrom("cross-site", "https://localhost:3000"),
		"authorized party, trailing /":   fetchFrom("cross-site", appOrigin+"/"),
		"old browser, other port":        fetchFrom("", "http://127.0.0.1:1"),
	}
	for name, from := range forged {
		for _, method := range unsafeMethods {
			for _, jar := range []func(*http.Request){a.sessionCookie("user_victim"), cookie("__session", a.fake.Token(a.fake.CreateSession("user_victim").ID))} {
				got := send(t, method, a.srv.URL, jar, from)
				requireCrossOriginRefusal(t, got, "%s %s", method, name)
			}
		}
	}
	require.Zero(t, a.reached.Load(), "a forged request reached the handler")
	require.Equal(t, int32(len(forged)*len(unsafeMethods)*2), a.decided.n.Load(), "each refusal is one decision")
	require.Equal(t, int32(http.StatusForbidden), a.decided.status.Load())
	require.Equal(t, string(clerkgate.ReasonCrossOrigin), a.decided.reason.Load())
}

// TestCrossOriginCheckRunsBeforeVerification: a forged request is refused
// for where it came from before its token is looked at, so it costs no
// signature check and no call to Clerk, whatever the cookie holds.
func TestCrossOriginCheckRunsBeforeVerification(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, nil, requireSession)
	s := a.fake.CreateSession("user_victim")
	suffixed := "__session_" + a.fake.CookieSuffix()
	evil := fetchFrom("cross-site", "https://evil.example")
	for name, jar := range map[string]func(*http.Request){
		"forged token": cookie(suffixed, adaptertest.Forge(t, a.fake.Token(s.ID))),
		"expired token, refresh cookie": both(cookie(suffixed, a.fake.Token(s.ID, clerktest.Expired())),
			cookie("__refresh_"+a.fake.CookieSuffix(), s.RefreshToken)),
		"not a JWT":       cookie(suffixed, "junk"),
		"planted cookies": both(cookie(suffixed, a.fake.Token(s.ID)), cookie(suffixed, "other")),
	} {
		requireCrossOriginRefusal(t, send(t, http.MethodPost, a.srv.URL, both(clientUAT(a.fake.CookieSuffix()), jar), evil), name)
	}
	require.Zero(t, a.fake.Requests(clerktest.RouteRefresh))
	require.Zero(t, a.reached.Load())
}

// TestSameOriginAndTrustedRequestsPass: what the check must let through,
// on every unsafe method: the app's own pages, its authorized front ends
// on other origins (an SPA on app.example.com calling api.example.com
// with cookies), user-initiated requests, and clients that are not
// browsers.
func TestSameOriginAndTrustedRequestsPass(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, nil, requireSession)
	for name, from := range map[string]func(*http.Request){
		"same-origin":                    fetchFrom("same-origin", a.srv.URL),
		"user-initiated (none)":          fetchFrom("none", ""),
		"authorized party, same-site":    fetchFrom("same-site", appOrigin),
		"authorized party, cross-site":   fetchFrom("cross-site", appOrigin),
		"old browser, Origin is Host":    fetchFrom("", a.srv.URL),
		"old browser, authorized party":  fetchFrom("", appOrigin),
		"no browser headers (curl)":      fetchFrom("", ""),
		"same-origin without Origin set": fetchFrom("same-origin", ""),
	} {
		for _, method := range unsafeMethods {
			got := send(t, method, a.srv.URL, a.sessionCookie("user_1"), from)
			require.Equal(t, http.StatusOK, got.status, "%s %s: %s", method, name, got.body)
			require.Equal(t, "user_1", got.body, "%s %s", method, name)
		}
	}
}

// TestCrossOriginCheckIsForCookiesOnUnsafeMethods: a token in the
// Authorization header is not ambient (a page sets it only where the
// app's CORS policy allows), and safe methods must not change state, so
// neither is refused for its origin; a request with no session at all
// has nothing to forge.
func TestCrossOriginCheckIsForCookiesOnUnsafeMethods(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, nil, requireSession)
	evil := fetchFrom("cross-site", "https://evil.example")
	token := a.fake.Token(a.fake.CreateSession("user_1").ID)

	for _, method := range unsafeMethods {
		got := send(t, method, a.srv.URL, bearer(token), evil)
		require.Equal(t, http.StatusOK, got.status, "%s: %s", method, got.body)
		require.Equal(t, "user_1", got.body)
		// The header wins over the cookie, so the cookie beside it is
		// not used and the request is not refused for it.
		got = send(t, method, a.srv.URL, bearer(token), a.sessionCookie("user_victim"), evil)
		require.Equal(t, http.StatusOK, got.status, "%s: %s", method, got.body)
		require.Equal(t, "user_1", got.body)
		// No session: the usual 401.
		got = send(t, method, a.srv.URL, evil)
		require.Equal(t, http.StatusUnauthorized, got.status, got.body)
		require.Contains(t, got.body, string(clerkgate.ReasonTokenMissing))
	}
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
		got := send(t, method, a.srv.URL, a.sessionCookie("user_1"), evil)
		require.Equal(t, http.StatusOK, got.status, "%s: %s", method, got.body)
	}
}

// TestOptionalSessionRefusesCrossOriginCookies: on an optional route a
// forged request is refused rather than served as anonymous. Serving it
// anonymously would be as safe for the session, but the handler would
// then act for nobody on a request the user's browser was tricked into
// sending, and an app that treats "no claims" as "show the public
// version" could still be steered; a refusal is simpler to reason about.
// Anonymous and Bearer requests pass as before.
func TestOptionalSessionRefusesCrossOriginCookies(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, nil, func(g *clerkgate.Gate, h http.Handler) http.Handler {
		return g.Accept(clerkgate.SessionToken).Optional(h)
	})
	evil := fetchFrom("cross-site", "https://evil.example")

	requireCrossOriginRefusal(t, send(t, http.MethodPost, a.srv.URL, a.sessionCookie("user_victim"), evil))
	require.Zero(t, a.reached.Load())

	got := send(t, http.MethodPost, a.srv.URL, evil)
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Equal(t, "anonymous", got.body)
	got = send(t, http.MethodPost, a.srv.URL, bearer(a.fake.Token(a.fake.CreateSession("user_1").ID)), evil)
	require.Equal(t, "user_1", got.body)
	got = send(t, http.MethodPost, a.srv.URL, a.sessionCookie("user_1"), fetchFrom("same-origin", a.srv.URL))
	require.Equal(t, "user_1", got.body)
}

// TestRoutesRefuseCrossOriginCookies: routes from Accept that take
// sessions refuse a forged cookie request as RequireSession does; machine
// credentials, always in the Authorization header, are never refused for
// their origin.
func TestRoutesRefuseCrossOriginCookies(t *testing.T) {
	t.Parallel()
	evil := fetchFrom("cross-site", "https://evil.example")
	for name, wrap := range map[string]func(*clerkgate.Gate, http.Handler) http.Handler{
		"Require":  func(g *clerkgate.Gate, h http.Handler) http.Handler { return g.Accept(clerkgate.AnyToken).Require(h) },
		"Optional": func(g *clerkgate.Gate, h http.Handler) http.Handler { return g.Accept(clerkgate.AnyToken).Optional(h) },
		"sessions": func(g *clerkgate.Gate, h http.Handler) http.Handler { return g.Accept().Require(h) },
	} {
		a := newCrossOriginApp(t, nil, wrap)
		requireCrossOriginRefusal(t, send(t, http.MethodPost, a.srv.URL, a.sessionCookie("user_victim"), evil), name)
		require.Zero(t, a.reached.Load(), name)
		require.Equal(t, string(clerkgate.ReasonCrossOrigin), a.decided.reason.Load(), name)

		got := send(t, http.MethodPost, a.srv.URL, a.sessionCookie("user_1"), fetchFrom("same-origin", a.srv.URL))
		require.Equal(t, http.StatusOK, got.status, "%s: %s", name, got.body)
		if name == "sessions" {
			continue
		}
		_, key := a.fake.CreateAPIKey("user_1", "ci")
		got = send(t, http.MethodDelete, a.srv.URL, bearer(key), a.sessionCookie("user_victim"), evil)
		require.Equal(t, http.StatusOK, got.status, "%s: %s", name, got.body)
	}
}

// TestAuthenticateRefusesCrossOriginCookies: Policy.Authenticate, which the
// framework adapters call, returns the refusal for the caller to write.
func TestAuthenticateRefusesCrossOriginCookies(t *testing.T) {
	t.Parallel()
	var refusal atomic.Pointer[clerkgate.AuthError]
	a := newCrossOriginApp(t, nil, func(g *clerkgate.Gate, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := g.Accept(clerkgate.SessionToken).Authenticate(w, r); err != nil {
				var e *clerkgate.AuthError
				if !errors.As(err, &e) {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				refusal.Store(e)
				w.WriteHeader(e.Status)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	got := send(t, http.MethodPatch, a.srv.URL, a.sessionCookie("user_victim"), fetchFrom("same-site", "http://evil.localhost:3000"))
	require.Equal(t, http.StatusForbidden, got.status)
	err := refusal.Load()
	require.NotNil(t, err)
	require.ErrorIs(t, err, clerkgate.ReasonCrossOrigin)
	require.True(t, err.TokenPresented)
	require.Nil(t, err.Check)
	require.Contains(t, err.Error(), "Sec-Fetch-Site", "the cause names what gave the request away")
}

// TestDisableCrossOriginProtection: the opt-out lets forged requests
// through, as before the check existed.
func TestDisableCrossOriginProtection(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, func(c *clerkgate.Config) { c.DisableCrossOriginProtection = true }, requireSession)
	for _, method := range unsafeMethods {
		got := send(t, method, a.srv.URL, a.sessionCookie("user_victim"), fetchFrom("cross-site", "https://evil.example"))
		require.Equal(t, http.StatusOK, got.status, "%s: %s", method, got.body)
		require.Equal(t, "user_victim", got.body)
	}
}

// TestCrossOriginCheckWithoutAuthorizedParties: with no authorized
// parties only the app's own origin is trusted.
func TestCrossOriginCheckWithoutAuthorizedParties(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, func(c *clerkgate.Config) { c.AuthorizedParties = nil }, requireSession)
	requireCrossOriginRefusal(t, send(t, http.MethodPost, a.srv.URL, a.sessionCookie("user_1"), fetchFrom("cross-site", appOrigin)))
	got := send(t, http.MethodPost, a.srv.URL, a.sessionCookie("user_1"), fetchFrom("same-origin", a.srv.URL))
	require.Equal(t, http.StatusOK, got.status, got.body)
}

// TestCrossOriginCheckBehindTrustedProxy: behind a proxy that rewrites
// Host, a browser without Sec-Fetch-Site sends an Origin that matches the
// host it asked for, which the proxy passes on in X-Forwarded-Host. The
// Gate compares with that host only when it trusts the proxy.
func TestCrossOriginCheckBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	viaProxy := func(r *http.Request) {
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		r.Header.Set("X-Forwarded-Proto", "https")
	}
	trusting := newCrossOriginApp(t, func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true }, requireSession)
	got := send(t, http.MethodPost, trusting.srv.URL, trusting.sessionCookie("user_1"), viaProxy, fetchFrom("", "https://api.example.com"))
	require.Equal(t, http.StatusOK, got.status, got.body)
	requireCrossOriginRefusal(t, send(t, http.MethodPost, trusting.srv.URL, trusting.sessionCookie("user_1"), viaProxy, fetchFrom("", "https://evil.example")))
	// Sec-Fetch-Site, when sent, decides alone.
	requireCrossOriginRefusal(t, send(t, http.MethodPost, trusting.srv.URL, trusting.sessionCookie("user_1"), viaProxy, fetchFrom("cross-site", "https://api.example.com")))

	plain := newCrossOriginApp(t, nil, requireSession)
	requireCrossOriginRefusal(t, send(t, http.MethodPost, plain.srv.URL, plain.sessionCookie("user_1"), viaProxy, fetchFrom("", "https://api.example.com")))
}
