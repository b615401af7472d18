package browser_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate/clerktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	// tokenLifetime is the fake's session token lifetime: short, so that
	// the test reaches expiry in seconds rather than Clerk's 60.
	tokenLifetime = 2 * time.Second
	// gateSkew is the Gate's default clock skew: a token counts as expired
	// only this long after its exp.
	gateSkew = 5 * time.Second
	// stepTimeout bounds each browser step.
	stepTimeout = 20 * time.Second
)

// TestSignInAndStaySignedIn walks a user through the life of a browser
// session on the net/http example, as issue 11 §5 lists it, and checks at
// each step what the page says and what the fake Clerk saw: which
// handshakes (and why), refreshes and nonce resolutions the Gate caused.
// A step that needs more handshakes than one is a loop, or a lost cookie.
func TestSignInAndStaySignedIn(t *testing.T) {
	fake := clerktest.New(clerktest.WithLocalFrontendAPI(), clerktest.WithTokenLifetime(tokenLifetime))
	t.Cleanup(fake.Close)
	example := startExample(t,
		"CLERK_SECRET_KEY="+fake.SecretKey(),
		"CLERK_PUBLISHABLE_KEY="+fake.PublishableKey(),
		"CLERK_API_URL="+fake.URL(),
		"CLERK_SIGN_IN_URL="+fake.SignInURL(),
	)
	// localhost, not 127.0.0.1: the fake's Frontend API is on 127.0.0.1,
	// and browsers share a host's cookies among its ports.
	app := localhost(t, example.base)
	b := newBrowser(t, frontendSPKI(t, fake))
	seen := newCounts(fake)

	step(t, "1 signed out, the dashboard sends to sign in", func(t *testing.T) {
		b.open(t, app+"/dashboard")
		b.requireAt(t, fake.SignInURL())
		back, err := url.Parse(b.location(t))
		require.NoError(t, err)
		require.Equal(t, app+"/dashboard", back.Query().Get("redirect_url"))
		// No dev browser yet: one handshake to make one, then signed out.
		seen.require(t, map[string]int{clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1})
		requireReason(t, fake, "dev-browser-missing")
	})

	var sessionID string
	step(t, "2 sign in, back on the dashboard", func(t *testing.T) {
		b.click(t, "sign-in")
		b.requireAt(t, app+"/dashboard")
		require.Equal(t, "user_dev", b.text(t, "user-id"))
		sessionID = b.text(t, "session-id")
		require.True(t, strings.HasPrefix(sessionID, "sess_"), "session id %q", sessionID)
		// The sign-in page sends the dev browser token back; the app syncs
		// through one handshake.
		seen.require(t, map[string]int{
			clerktest.RouteSignInSubmit: 1, clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1,
		})
		requireReason(t, fake, "dev-browser-sync")
		status, _ := fake.SessionStatus(sessionID)
		require.Equal(t, "active", status)
	})

	step(t, "2b a form on another origin of the same site cannot use the session", func(t *testing.T) {
		// localhost on another port is the same site (SameSite=Lax sends
		// the cookies), as a sibling subdomain is, but another origin.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<form method="post" action="%s/me/logout"><button id="forge">win a prize</button></form>`, app)
		}))
		t.Cleanup(evil.Close)
		b.open(t, localhost(t, evil.URL))
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("forge")))
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, int(res.Status), "the forged logout was not refused")
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		require.NoError(t, err)
		require.Contains(t, body, `"reason":"cross_origin_request"`)
		status, _ := fake.SessionStatus(sessionID)
		require.Equal(t, "active", status)
		seen.require(t, map[string]int{})

		b.open(t, app+"/dashboard")
		require.Equal(t, sessionID, b.text(t, "session-id"))
		seen.require(t, map[string]int{})
	})

	step(t, "3 the token expires, a reload refreshes it", func(t *testing.T) {
		b.waitForExpiry(t, app)
		b.reload(t)
		b.requireAt(t, app+"/dashboard")
		require.Equal(t, "user_dev", b.text(t, "user-id"))
		require.Equal(t, sessionID, b.text(t, "session-id"))
		// The refresh cookie is there: one refresh, no handshake.
		seen.require(t, map[string]int{clerktest.RouteRefresh: 1})

		// The refreshed cookies serve the next page as they are: a refresh
		// that left the browser's cookies inconsistent (a suffixed session
		// beside an unsuffixed dev browser token, say) would cost it a
		// handshake here.
		b.open(t, app+"/dashboard")
		b.requireAt(t, app+"/dashboard")
		require.Equal(t, sessionID, b.text(t, "session-id"))
		seen.require(t, map[string]int{})
	})

	step(t, "4 without the refresh cookie, a handshake", func(t *testing.T) {
		b.deleteCookie(t, app, "__refresh_"+fake.CookieSuffix())
		b.waitForExpiry(t, app)
		b.reload(t)
		b.requireAt(t, app+"/dashboard")
		require.Equal(t, "user_dev", b.text(t, "user-id"))
		require.Equal(t, sessionID, b.text(t, "session-id"))
		seen.require(t, map[string]int{clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1})
		requireReason(t, fake, "session-token-expired-refresh-non-eligible-no-refresh-cookie")
	})

	step(t, "5 signed out on the fake, signed out in the app", func(t *testing.T) {
		b.open(t, fake.SignOutURL(app+"/"))
		b.requireAt(t, app+"/")
		require.Equal(t, "Signed out", b.text(t, "status"))
		status, _ := fake.SessionStatus(sessionID)
		require.Equal(t, "revoked", status)
		seen.require(t, map[string]int{
			clerktest.RouteSignOut: 1, clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1,
		})
		requireReason(t, fake, "dev-browser-sync")

		b.open(t, app+"/dashboard")
		b.requireAt(t, fake.SignInURL())
		seen.require(t, map[string]int{}) // signed out for sure: no handshake needed
	})
}

// step runs one step of a walk as a subtest, and ends the walk at the
// first step that fails: the next ones start from where it should have
// left the browser.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// counts follows how many requests of each route the fake has seen.
type counts struct {
	fake *clerktest.Server
	last map[string]int
}

// routes are the fake's routes the test accounts for: every one of them
// must change only as a step expects.
var routes = []string{
	clerktest.RouteHandshake, clerktest.RouteHandshakePayload, clerktest.RouteRefresh,
	clerktest.RouteSignIn, clerktest.RouteSignInSubmit, clerktest.RouteSignOut,
}

func newCounts(fake *clerktest.Server) *counts {
	c := &counts{fake: fake, last: map[string]int{}}
	for _, r := range routes {
		c.last[r] = fake.Requests(r)
	}
	return c
}

// require checks that, since the last call, the fake saw exactly want
// more requests of each route (none for a route want leaves out; the
// sign-in page's GET is not counted).
func (c *counts) require(t *testing.T, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, r := range routes {
		n := c.fake.Requests(r)
		if d := n - c.last[r]; d != 0 && r != clerktest.RouteSignIn {
			got[r] = d
		}
		c.last[r] = n
	}
	require.Equal(t, want, got, "requests the fake saw in this step")
}

// requireReason checks why the Gate sent the browser to the last
// handshake: Clerk's reason, in the redirect's __clerk_hs_reason.
func requireReason(t *testing.T, fake *clerktest.Server, reason string) {
	t.Helper()
	last, ok := fake.LastRequest(clerktest.RouteHandshake)
	require.True(t, ok)
	require.Equal(t, reason, last.Query.Get("__clerk_hs_reason"), "handshake query: %v", last.Query)
}

// localhost is base (http://127.0.0.1:port) as http://localhost:port.
func localhost(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", u.Hostname())
	return "http://localhost:" + u.Port()
}

// tab is one browser tab.
type tab struct {
	ctx context.Context
}

func (b tab) open(t *testing.T, u string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	require.NoError(t, err, "open %s", u)
	require.Equal(t, 200, int(res.Status), "open %s: ended on %s", u, res.URL)
}

func (b tab) reload(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Reload())
	require.NoError(t, err, "reload")
	require.Equal(t, 200, int(res.Status), "reload: ended on %s", res.URL)
}

// click clicks the element with the id and waits for the page it leads to.
func (b tab) click(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID(id)))
	require.NoError(t, err, "click #%s", id)
	require.Equal(t, 200, int(res.Status), "click #%s: ended on %s", id, res.URL)
}

func (b tab) location(t *testing.T) string {
	t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	return loc
}

// requireAt checks that the tab shows want (a URL without its query), and
// that no handshake or dev browser parameter is left in the address bar.
func (b tab) requireAt(t *testing.T, want string) {
	t.Helper()
	loc := b.location(t)
	path, query, _ := strings.Cut(loc, "?")
	require.Equal(t, want, path, "location %s", loc)
	for _, p := range []string{"__clerk_handshake", "__clerk_handshake_nonce", "__clerk_db_jwt"} {
		require.NotContains(t, query, p+"=", "location %s", loc)
	}
}

func (b tab) text(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	require.NoError(t, err, "#%s on %s", id, b.location(t))
	return strings.TrimSpace(s)
}

func (b tab) cookies(t *testing.T, u string) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	require.NoError(t, err)
	return res.Cookies
}

func (b tab) deleteCookie(t *testing.T, u, name string) {
	t.Helper()
	var found bool
	for _, c := range b.cookies(t, u) {
		found = found || c.Name == name
	}
	require.True(t, found, "no cookie %s to delete", name)
	_, err := chromedp.Call(b.ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: u})
	require.NoError(t, err)
	for _, c := range b.cookies(t, u) {
		require.NotEqual(t, name, c.Name, "%s is still there", name)
	}
}

// waitForExpiry waits until the Gate must find the tab's session token
// (the __session cookie of u) expired: its exp and the Gate's skew past.
func (b tab) waitForExpiry(t *testing.T, u string) {
	t.Helper()
	var token string
	for _, c := range b.cookies(t, u) {
		if c.Name == "__session" {
			token = c.Value
		}
	}
	require.NotEmpty(t, token, "no __session cookie")
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Exp int64 `json:"exp"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	wait := time.Until(time.Unix(claims.Exp, 0).Add(gateSkew + time.Second))
	require.Less(t, wait, tokenLifetime+gateSkew+2*time.Second, "the token lives longer than the fake was told")
	time.Sleep(wait)
}
