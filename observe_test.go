package clerkgate_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/jwks"
)

// events is an Observer that keeps what it hears.
type events struct {
	mu         sync.Mutex
	decisions  []clerkgate.Decision
	refreshes  []clerkgate.RefreshAttempt
	handshakes []clerkgate.HandshakeResolution
	fetches    []jwks.FetchResult
}

func (e *events) observer() *clerkgate.Observer {
	return &clerkgate.Observer{
		Decided: func(ctx context.Context, d clerkgate.Decision) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.decisions = append(e.decisions, d)
		},
		Refreshed: func(ctx context.Context, a clerkgate.RefreshAttempt) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.refreshes = append(e.refreshes, a)
		},
		HandshakeResolved: func(ctx context.Context, h clerkgate.HandshakeResolution) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.handshakes = append(e.handshakes, h)
		},
		KeysFetched: func(ctx context.Context, f jwks.FetchResult) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.fetches = append(e.fetches, f)
		},
	}
}

// take returns what was heard and forgets it.
func (e *events) take() (d []clerkgate.Decision, r []clerkgate.RefreshAttempt, h []clerkgate.HandshakeResolution, f []jwks.FetchResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, r, h, f = e.decisions, e.refreshes, e.handshakes, e.fetches
	e.decisions, e.refreshes, e.handshakes, e.fetches = nil, nil, nil, nil
	return d, r, h, f
}

// Each request is one decision, with the refusal's reason; the first one
// waited for the start-up key fetch, which was heard once.
func TestObserverHearsDecisionsAndKeyFetches(t *testing.T) {
	t.Parallel()
	var ev events
	b := newBackend(t, func(c *clerkgate.Config) { c.Observer = ev.observer() })
	s := b.fake.CreateSession("user_1")
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	cases := []struct {
		name string
		req  func(*http.Request)
		want clerkgate.Decision
	}{
		{"valid", bearer(b.fake.Token(s.ID)), clerkgate.Decision{TokenType: clerkgate.SessionToken}},
		{"no token", nil, clerkgate.Decision{Status: 401, Reason: clerkgate.ReasonTokenMissing}},
		{"forged", bearer(b.fake.Token(s.ID, clerktest.SignedWith(foreign, b.fake.KeyID()))),
			clerkgate.Decision{TokenType: clerkgate.SessionToken, Status: 401, Reason: clerkgate.ReasonSignatureInvalid}},
		{"expired, no refresh cookie", b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())),
			clerkgate.Decision{TokenType: clerkgate.SessionToken, Status: 401, Reason: clerkgate.ReasonTokenExpired}},
		{"API key on a session route", bearer("ak_" + "0123456789abcdef0123456789abcdef"),
			clerkgate.Decision{TokenType: clerkgate.SessionToken, Status: 401, Reason: clerkgate.ReasonTokenTypeInvalid}},
	}
	var fetches []jwks.FetchResult
	for _, tc := range cases {
		rep := get(t, b.srv, tc.req)
		d, r, h, f := ev.take()
		require.Equal(t, []clerkgate.Decision{tc.want}, d, "%s: %d %s", tc.name, rep.status, rep.reason)
		require.Empty(t, r, tc.name)
		require.Empty(t, h, tc.name)
		fetches = append(fetches, f...)
	}
	require.Len(t, fetches, 1)
	require.NoError(t, fetches[0].Err)
	require.Positive(t, fetches[0].Keys)
}

// A refresh is heard with its outcome, and Clerk's code when it fails.
func TestObserverHearsRefreshes(t *testing.T) {
	t.Parallel()
	var ev events
	b := newBackend(t, func(c *clerkgate.Config) { c.Observer = ev.observer() })
	s := b.fake.CreateSession("user_1")

	rep := get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	d, r, _, _ := ev.take()
	require.Equal(t, []clerkgate.Decision{{TokenType: clerkgate.SessionToken}}, d)
	require.Equal(t, []clerkgate.RefreshAttempt{{}}, r)

	rep = get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), cookie("__refresh_"+b.fake.CookieSuffix(), "forged")))
	require.Equal(t, http.StatusUnauthorized, rep.status)
	d, r, _, _ = ev.take()
	require.Equal(t, []clerkgate.Decision{{TokenType: clerkgate.SessionToken, Status: 401, Reason: clerkgate.ReasonRefreshFailed}}, d)
	require.Len(t, r, 1)
	require.Error(t, r[0].Err)
	require.Equal(t, "refresh_token_not_found", r[0].ClerkCode)
}

// A Route reports the credential's type, and a refusal by type costs no
// call.
func TestObserverHearsMachineDecisions(t *testing.T) {
	t.Parallel()
	var ev events
	b := newBackend(t, func(c *clerkgate.Config) { c.Observer = ev.observer() })
	_, apiKey := b.fake.CreateAPIKey("user_1", "ci")
	_, m2m := b.fake.CreateM2MToken(b.fake.CreateMachine().ID)
	srv := serve(t, b.gate.Accept(clerkgate.APIKey).Require(whoami)).URL

	require.Equal(t, http.StatusOK, get(t, srv, bearer(apiKey)).status)
	require.Equal(t, http.StatusUnauthorized, get(t, srv, bearer(m2m)).status)
	require.Equal(t, http.StatusUnauthorized, get(t, srv, bearer("ak_"+"ffffffffffffffffffffffffffffffff")).status)
	d, _, _, _ := ev.take()
	require.Equal(t, []clerkgate.Decision{
		{TokenType: clerkgate.APIKey},
		{TokenType: clerkgate.M2MToken, Status: 401, Reason: clerkgate.ReasonTokenTypeInvalid},
		{TokenType: clerkgate.APIKey, Status: 401, Reason: clerkgate.ReasonTokenInvalid},
	}, d)
}

// A page load back from the handshake is heard, once, as resolved.
func TestObserverHearsHandshakes(t *testing.T) {
	t.Parallel()
	var ev events
	s := newSite(t, func(c *clerkgate.Config) { c.Observer = ev.observer() })
	br := s.browser(t)
	require.Equal(t, "Signed out", br.open(s.url+"/").body)
	_, _, h, _ := ev.take()
	require.Equal(t, []clerkgate.HandshakeResolution{{Nonce: true, Resolved: true}}, h)

	require.Equal(t, "Dashboard of user_7", br.signIn(s, "user_7", s.url+"/dashboard").body)
	d, _, h, _ := ev.take()
	require.Equal(t, []clerkgate.HandshakeResolution{{Nonce: true, Resolved: true}}, h)
	require.Contains(t, d, clerkgate.Decision{TokenType: clerkgate.SessionToken, Status: http.StatusTemporaryRedirect, Reason: clerkgate.ReasonHandshake})
	require.Equal(t, clerkgate.Decision{TokenType: clerkgate.SessionToken}, d[len(d)-1])
}

// BenchmarkMiddlewareWarmObserved is BenchmarkMiddlewareWarm with an
// Observer that does nothing: read against it, the cost of the hook.
func BenchmarkMiddlewareWarmObserved(b *testing.B) {
	gate, req := benchRequest(b, func(c *clerkgate.Config) {
		c.Observer = &clerkgate.Observer{Decided: func(context.Context, clerkgate.Decision) {}}
	})
	serveBench(b, gate.RequireSession(benchHandler), req, http.StatusNoContent)
}

// The hook adds no allocation to the warm path: a Gate with an Observer
// allocates per request exactly what a Gate without one does. Not
// parallel: AllocsPerRun counts every goroutine's allocations.
func TestObserverAddsNoAllocation(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	token := fake.Token(fake.CreateSession("user_1").ID)
	allocs := func(o *clerkgate.Observer) float64 {
		g, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(),
			APIURL: fake.URL(), Observer: o})
		require.NoError(t, err)
		defer g.Close()
		h := g.RequireSession(whoami)
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		serve := func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				panic(rec.Body.String())
			}
		}
		serve() // fetches the keys, fills the token cache
		return testing.AllocsPerRun(200, serve)
	}
	decided := 0
	observed := allocs(&clerkgate.Observer{Decided: func(context.Context, clerkgate.Decision) { decided++ }})
	require.Positive(t, decided)
	require.Equal(t, allocs(nil), observed)
}
