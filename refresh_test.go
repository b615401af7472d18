package clerkgate_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/session"
)

func TestRefreshHappyPath(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired())

	rep := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s), func(r *http.Request) {
		r.Header.Set("User-Agent", "Mozilla/5.0 (test)")
	}))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body, "the handler sees the refreshed session's claims")
	require.Equal(t, 1, b.refreshCalls())

	// Every cookie Clerk returned is on the response, and the new session
	// token verifies.
	setCookies := rep.header.Values("Set-Cookie")
	require.GreaterOrEqual(t, len(setCookies), 2)
	var newToken string
	for _, sc := range setCookies {
		c, err := http.ParseSetCookie(sc)
		require.NoError(t, err)
		if c.Name == "__session_"+b.fake.CookieSuffix() {
			newToken = c.Value
		}
	}
	require.NotEmpty(t, newToken)
	require.NotEqual(t, expired, newToken)
	require.Equal(t, "user_1", get(t, b.srv, bearer(newToken)).body)

	// The call carried what Clerk needs and nothing of the user's credentials.
	req, ok := b.fake.LastRequest(clerktest.RouteRefresh)
	require.True(t, ok)
	require.Equal(t, "/v1/sessions/"+s.ID+"/refresh", req.Path)
	require.Equal(t, "true", req.Query.Get("suffixed_cookies"))
	var body struct {
		ExpiredToken   string              `json:"expired_token"`
		RefreshToken   string              `json:"refresh_token"`
		RequestOrigin  string              `json:"request_origin"`
		Format         string              `json:"format"`
		RequestHeaders map[string][]string `json:"request_headers"`
	}
	require.NoError(t, json.Unmarshal(req.Body, &body))
	require.Equal(t, expired, body.ExpiredToken)
	require.Equal(t, s.RefreshToken, body.RefreshToken)
	require.Equal(t, b.srv, body.RequestOrigin)
	require.Equal(t, "cookie", body.Format)
	require.Equal(t, []string{"Mozilla/5.0 (test)"}, body.RequestHeaders["User-Agent"])
	require.NotContains(t, body.RequestHeaders, "Cookie")
	require.NotContains(t, body.RequestHeaders, "Authorization")
}

func TestRefreshFromAuthorizationHeader(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	rep := get(t, b.srv, both(bearer(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, 1, b.refreshCalls())
}

// Parallel requests with one expired token share one refresh call: Clerk
// consumes the token on first use, so a second call would sign the user out.
func TestRefreshCoalescesParallelRequests(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired())
	// A little latency keeps the call in flight while the others arrive.
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 200 * time.Millisecond})

	statuses := make([]int, 25)
	atOnce(len(statuses), func(i int) {
		statuses[i] = get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s))).status
	})
	for i, st := range statuses {
		require.Equal(t, http.StatusOK, st, "request %d", i)
	}
	require.Equal(t, 1, b.refreshCalls())

	// A straggler with the same expired token succeeds from the remembered
	// result, without a second (consumed) call.
	rep := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.NotEmpty(t, rep.header.Values("Set-Cookie"))
	require.Equal(t, 1, b.refreshCalls())
}

func TestRefreshRefusals(t *testing.T) {
	t.Parallel()
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	cases := []struct {
		name   string
		req    func(b *backend, s clerktest.Session) func(*http.Request)
		status int
		reason string
		calls  int
		msg    string
	}{
		{"bad refresh token", func(b *backend, s clerktest.Session) func(*http.Request) {
			return both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), cookie("__refresh_"+b.fake.CookieSuffix(), "wrong"))
		}, 401, "refresh_failed", 1, "refresh_token_not_found"},
		{"POST is never refreshed", func(b *backend, s clerktest.Session) func(*http.Request) {
			return both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s), func(r *http.Request) { r.Method = http.MethodPost })
		}, 401, "token_expired", 0, ""},
		{"no refresh cookie", func(b *backend, s clerktest.Session) func(*http.Request) {
			return b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired()))
		}, 401, "token_expired", 0, ""},
		{"unsuffixed refresh cookie is not Clerk's", func(b *backend, s clerktest.Session) func(*http.Request) {
			return both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), cookie("__refresh", s.RefreshToken))
		}, 401, "token_expired", 0, ""},
		{"forged expired token", func(b *backend, s clerktest.Session) func(*http.Request) {
			return both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired(), clerktest.SignedWith(foreign, b.fake.KeyID()))), b.refreshCookie(s))
		}, 401, "signature_invalid", 0, ""},
		{"expired token of another instance", func(b *backend, s clerktest.Session) func(*http.Request) {
			return both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired(), clerktest.WithIssuer("https://clerk.other-app.com"))), b.refreshCookie(s))
		}, 401, "issuer_invalid", 0, ""},
		{"consumed elsewhere", func(b *backend, s clerktest.Session) func(*http.Request) {
			expired := b.fake.Token(s.ID, clerktest.Expired())
			// Another app instance already exchanged it.
			_, err := b.gate.Sessions().Refresh(context.Background(), s.ID, sessionRefresh(expired, s.RefreshToken))
			require.NoError(t, err)
			return both(b.sessionCookie(expired), b.refreshCookie(s))
		}, 401, "refresh_failed", 2, "session_refresh_expired_session_token_consumed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, nil)
			s := b.fake.CreateSession("user_1")
			rep := get(t, b.srv, tc.req(b, s))
			require.Equal(t, tc.status, rep.status, rep.body)
			require.Equal(t, tc.reason, rep.reason)
			require.Equal(t, tc.calls, b.refreshCalls())
			require.Empty(t, rep.header.Values("Set-Cookie"), "a refused request sets no session cookie")
			if tc.msg != "" {
				require.Contains(t, rep.body, tc.msg)
			}
		})
	}
}

// The new token earns no trust for coming from the Backend API: a refresh
// answer carrying a forged or mismatched token is refused.
func TestRefreshVerifiesTheNewToken(t *testing.T) {
	t.Parallel()
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for name, mint := range map[string]func(b *backend, s clerktest.Session) string{
		"forged": func(b *backend, s clerktest.Session) string {
			return b.fake.Token(s.ID, clerktest.SignedWith(foreign, b.fake.KeyID()))
		},
		"another session": func(b *backend, s clerktest.Session) string { return b.fake.Token(b.fake.CreateSession("user_2").ID) },
		"already expired": func(b *backend, s clerktest.Session) string { return b.fake.Token(s.ID, clerktest.Expired()) },
		"another instance": func(b *backend, s clerktest.Session) string {
			return b.fake.Token(s.ID, clerktest.WithIssuer("https://clerk.evil.com"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, nil)
			s := b.fake.CreateSession("user_1")
			expired := b.fake.Token(s.ID, clerktest.Expired(), clerktest.IssuedAt(time.Now().Add(-2*time.Minute)))
			answer, err := json.Marshal(map[string]any{"object": "cookies", "cookies": []string{"__session=" + mint(b, s) + "; Path=/"}})
			require.NoError(t, err)
			b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Status: 200, Body: answer})
			rep := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s)))
			require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
			require.Equal(t, "refresh_failed", rep.reason)
			require.Empty(t, rep.header.Values("Set-Cookie"))
		})
	}
}

func TestRefreshHangIsBounded(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(c *clerkgate.Config) { c.Refresh.Timeout = 300 * time.Millisecond })
	s := b.fake.CreateSession("user_1")
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Hang: true})
	start := time.Now()
	rep := get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
	require.Equal(t, http.StatusUnauthorized, rep.status)
	require.Equal(t, "refresh_failed", rep.reason)
	require.Less(t, time.Since(start), 10*time.Second, "a hanging Clerk must not hold the request")
}

func TestNoRefreshWithoutBothKeys(t *testing.T) {
	t.Parallel()
	// A PEM key and a publishable key, but no secret key: nothing to call.
	r := newRig(t, withFakeConfig(func(fake *clerktest.Server, c *clerkgate.Config) {
		*c = clerkgate.Config{JWTKey: fake.PublicKeyPEM(), PublishableKey: fake.PublishableKey()}
	}))
	fake := r.fake
	s := fake.CreateSession("user_1")
	expired := fake.Token(s.ID, clerktest.Expired())
	rep := get(t, r.url, both(cookie("__session", expired), cookie("__refresh_"+fake.CookieSuffix(), s.RefreshToken)))
	require.Equal(t, "token_expired", rep.reason)
	require.Zero(t, fake.Requests(clerktest.RouteRefresh))
}

func TestRevokeThroughGateIsImmediate(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	tok := b.fake.Token(s.ID)
	require.Equal(t, http.StatusOK, get(t, b.srv, bearer(tok)).status)

	revoked, err := b.gate.Sessions().Revoke(context.Background(), s.ID)
	require.NoError(t, err)
	require.EqualValues(t, "revoked", revoked.Status)

	rep := get(t, b.srv, bearer(tok))
	require.Equal(t, http.StatusUnauthorized, rep.status)
	require.Equal(t, "session_revoked", rep.reason)

	// Nor can the revoked session be refreshed back to life.
	rep = get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
	require.Equal(t, "session_revoked", rep.reason)
	require.Zero(t, b.refreshCalls())

	// Other sessions are unaffected.
	other := b.fake.CreateSession("user_1")
	require.Equal(t, http.StatusOK, get(t, b.srv, bearer(b.fake.Token(other.ID))).status)
}

func sessionRefresh(expired, refreshToken string) session.RefreshParams {
	return session.RefreshParams{ExpiredToken: expired, RefreshToken: refreshToken, RequestOrigin: "https://app.example.com", Format: session.FormatCookie}
}

// A remembered refresh outcome belongs to the browser that holds both the
// expired token and its refresh cookie. Someone who replays a stolen
// expired token with any other refresh cookie must not receive the new
// session, neither after the refresh nor while it is in flight.
func TestRefreshOutcomeNeedsTheRefreshCookie(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired())
	forgedCookie := cookie("__refresh_"+b.fake.CookieSuffix(), "made-up")

	// While the browser's refresh is in flight…
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 300 * time.Millisecond, Times: 1})
	var wg sync.WaitGroup
	var owner reply
	wg.Add(1)
	go func() {
		defer wg.Done()
		owner = get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s)))
	}()
	time.Sleep(50 * time.Millisecond)
	during := get(t, b.srv, both(b.sessionCookie(expired), forgedCookie))
	wg.Wait()
	// …and after it.
	after := get(t, b.srv, both(b.sessionCookie(expired), forgedCookie))

	require.Equal(t, http.StatusOK, owner.status, owner.body)
	require.NotEmpty(t, owner.header.Values("Set-Cookie"))
	for _, rep := range []reply{during, after} {
		require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
		require.Equal(t, "refresh_failed", rep.reason)
		require.Empty(t, rep.header.Values("Set-Cookie"), "the new session leaked to a request without the refresh cookie")
	}
	// The browser itself still gets its remembered outcome.
	again := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, again.status, again.body)
}

// Parallel requests with one expired token share one refresh, and must not
// share its claims: each handler gets its own, so one that edits them
// changes nothing for the others.
func TestParallelRefreshesHandOutClaimsOfTheirOwn(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired())
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 200 * time.Millisecond})

	var mu sync.Mutex
	seen := map[*clerkgate.Claims]bool{}
	srv := serve(t, b.gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := clerkgate.ClaimsFromContext(r.Context())
		mu.Lock()
		defer mu.Unlock()
		seen[c] = true
		io.WriteString(w, c.Subject)
		c.Subject = "user_mallory"
	}))).URL

	bodies := make([]string, 8)
	atOnce(len(bodies), func(i int) {
		bodies[i] = get(t, srv, both(b.sessionCookie(expired), b.refreshCookie(s))).body
	})
	require.Equal(t, 1, b.refreshCalls(), "the requests shared one refresh")
	require.Len(t, seen, len(bodies), "each request got claims of its own")
	for i, body := range bodies {
		require.Equal(t, "user_1", body, "request %d", i)
	}
}

// atOnce runs f(0) … f(n-1) on n goroutines released together, and waits
// for them all.
func atOnce(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}
