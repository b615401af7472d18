package clerkgate_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/verifier"
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

// A Policy reports the credential's type, and a refusal by type costs no
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

// A bare token (gRPC, WebSocket, queue job) is one decision, reported
// exactly as a request carrying the same token in its Authorization
// header on the same route: same type, status and reason. A credential
// that fails a With check is reported once, as its 403, on both paths.
func TestObserverHearsBareTokens(t *testing.T) {
	t.Parallel()
	var ev events
	rig := newMachineRig(t, func(c *clerkgate.Config) { c.Observer = ev.observer() })
	ctx := context.Background()
	s := rig.fake.CreateSession("user_1")
	gone := rig.fake.CreateSession("user_2")
	goneToken := rig.fake.Token(gone.ID)
	_, err := rig.gate.Sessions().Revoke(ctx, gone.ID)
	require.NoError(t, err)
	_, writer := rig.fake.CreateAPIKey("user_1", "writer", clerktest.CredentialScopes("write"))
	_, reader := rig.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
	revokedID, revokedKey := rig.fake.CreateAPIKey("user_1", "revoked", clerktest.CredentialScopes("write"))
	require.True(t, rig.fake.RevokeCredential(revokedID))
	_, m2m := rig.fake.CreateM2MToken(rig.fake.CreateMachine().ID)
	valid := rig.fake.Token(s.ID)

	// Each route is served over HTTP at its name, and taken bare.
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	routes := map[string]*clerkgate.Policy{
		"/session": rig.gate.Accept(),
		"/keys":    rig.gate.Accept(clerkgate.APIKey),
		"/writers": rig.gate.Accept(clerkgate.APIKey, clerkgate.SessionToken).With(authz.Scope("write")),
	}
	mux := http.NewServeMux()
	mux.Handle("/gate", rig.gate.Accept(clerkgate.SessionToken).Require(ok))
	for path, rt := range routes {
		mux.Handle(path, rt.Require(ok))
	}
	srv := serve(t, mux).URL
	bare := func(path, token string) error {
		if path == "/gate" {
			_, err := rig.gate.Accept(clerkgate.SessionToken).AuthenticateToken(ctx, token)
			return err
		}
		_, err := routes[path].AuthenticateToken(ctx, token)
		return err
	}

	refused := func(typ clerkgate.TokenType, r clerkgate.Reason) clerkgate.Decision {
		return clerkgate.Decision{TokenType: typ, Status: http.StatusUnauthorized, Reason: r}
	}
	forbidden := func(typ clerkgate.TokenType, r clerkgate.Reason) clerkgate.Decision {
		return clerkgate.Decision{TokenType: typ, Status: http.StatusForbidden, Reason: r}
	}
	for _, tc := range []struct {
		name, path, token string
		status            int // of the refusal, 200 when let through
		want              clerkgate.Decision
	}{
		{"valid session", "/gate", valid, 200, clerkgate.Decision{TokenType: clerkgate.SessionToken}},
		{"valid session on a route", "/session", valid, 200, clerkgate.Decision{TokenType: clerkgate.SessionToken}},
		{"no token", "/gate", "", 401, refused("", clerkgate.ReasonTokenMissing)},
		{"no token on a machine route", "/keys", "", 401, refused("", clerkgate.ReasonTokenMissing)},
		{"malformed", "/gate", "not.a.jwt", 401, refused(clerkgate.SessionToken, clerkgate.ReasonTokenMalformed)},
		{"forged", "/session", valid[:len(valid)-4] + "AAAA", 401, refused(clerkgate.SessionToken, clerkgate.ReasonSignatureInvalid)},
		{"expired", "/gate", rig.fake.Token(s.ID, clerktest.Expired()), 401, refused(clerkgate.SessionToken, clerkgate.ReasonTokenExpired)},
		{"revoked session", "/gate", goneToken, 401, refused(clerkgate.SessionToken, clerkgate.ReasonSessionRevoked)},
		{"API key on a session route", "/gate", writer, 401, refused(clerkgate.SessionToken, clerkgate.ReasonTokenTypeInvalid)},
		{"API key on a session Policy", "/session", writer, 401, refused(clerkgate.SessionToken, clerkgate.ReasonTokenTypeInvalid)},
		{"API key accepted", "/keys", writer, 200, clerkgate.Decision{TokenType: clerkgate.APIKey}},
		{"API key revoked", "/keys", revokedKey, 401, refused(clerkgate.APIKey, clerkgate.ReasonTokenRevoked)},
		{"API key unknown", "/keys", "ak_" + randomHex(16), 401, refused(clerkgate.APIKey, clerkgate.ReasonTokenInvalid)},
		{"M2M token on an API key route", "/keys", m2m, 401, refused(clerkgate.M2MToken, clerkgate.ReasonTokenTypeInvalid)},
		{"session on a machine route", "/keys", valid, 401, refused(clerkgate.SessionToken, clerkgate.ReasonTokenTypeInvalid)},
		{"API key with the scope", "/writers", writer, 200, clerkgate.Decision{TokenType: clerkgate.APIKey}},
		{"API key without the scope", "/writers", reader, 403, forbidden(clerkgate.APIKey, clerkgate.ReasonScopeRequired)},
		{"session on a scope check", "/writers", valid, 403, forbidden(clerkgate.SessionToken, clerkgate.ReasonScopeRequired)},
	} {
		err := bare(tc.path, tc.token)
		status := 200
		if err != nil {
			status = refusalOf(t, err).Status
		}
		require.Equal(t, tc.status, status, "%s, bare: %v", tc.name, err)
		d, r, h, _ := ev.take()
		require.Equal(t, []clerkgate.Decision{tc.want}, d, "%s, bare", tc.name)
		require.Empty(t, r, tc.name)
		require.Empty(t, h, tc.name)

		var mod func(*http.Request)
		if tc.token != "" {
			mod = bearer(tc.token)
		}
		rep := get(t, srv+tc.path, mod)
		require.Equal(t, tc.status, rep.status, "%s, over HTTP: %s", tc.name, rep.body)
		d, _, _, _ = ev.take()
		require.Equal(t, []clerkgate.Decision{tc.want}, d, "%s, over HTTP", tc.name)
	}
}

// BenchmarkMiddlewareWarmObserved is BenchmarkMiddlewareWarm with an
// Observer that does nothing: read against it, the cost of the hook.
func BenchmarkMiddlewareWarmObserved(b *testing.B) {
	gate, req := benchRequest(b, func(c *clerkgate.Config) {
		c.Observer = &clerkgate.Observer{Decided: func(context.Context, clerkgate.Decision) {}}
	})
	serveBench(b, gate.Accept(clerkgate.SessionToken).Require(benchHandler), req, http.StatusNoContent)
}

// meanAllocs is the mean number of allocations per call of f over n calls,
// on one P, as testing.AllocsPerRun counts them but without truncating.
func meanAllocs(n int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n)
}

// The hook adds no allocation to the warm path: a Gate with an Observer
// allocates per request, or per bare token, exactly what a Gate without
// one does. Not parallel: AllocsPerRun counts every goroutine's
// allocations.
func TestObserverAddsNoAllocation(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	token := fake.Token(fake.CreateSession("user_1").ID)
	_, apiKey := fake.CreateAPIKey("user_1", "ci", clerktest.CredentialScopes("write"))
	serveHTTPStatus := func(h http.Handler, token string, status int) func() {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != status {
				panic(rec.Body.String())
			}
		}
	}
	serveHTTP := func(h http.Handler, token string) func() { return serveHTTPStatus(h, token, http.StatusOK) }
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	ctx := context.Background()
	paths := map[string]func(*clerkgate.Gate) func(){
		"request": func(g *clerkgate.Gate) func() {
			return serveHTTP(g.Accept(clerkgate.SessionToken).Require(whoami), token)
		},
		"request on Require": func(g *clerkgate.Gate) func() {
			return serveHTTP(g.Accept(clerkgate.SessionToken).With(authz.Func(func(*verifier.Claims) bool { return true })).Require(whoami), token)
		},
		"request refused by Require": func(g *clerkgate.Gate) func() {
			return serveHTTPStatus(g.Accept(clerkgate.SessionToken).With(authz.Role("org:admin")).Require(whoami), token, http.StatusForbidden)
		},
		"machine request with checks": func(g *clerkgate.Gate) func() {
			return serveHTTP(g.Accept(clerkgate.APIKey).With(authz.Scope("write")).Require(whoamiCaller), apiKey)
		},
		"machine request": func(g *clerkgate.Gate) func() {
			return serveHTTP(g.Accept(clerkgate.APIKey).Require(whoamiCaller), apiKey)
		},
		"bare token": func(g *clerkgate.Gate) func() {
			return func() { _, err := g.Accept(clerkgate.SessionToken).AuthenticateToken(ctx, token); must(err) }
		},
		"bare token on a route": func(g *clerkgate.Gate) func() {
			rt := g.Accept(clerkgate.AnyToken)
			return func() { _, err := rt.AuthenticateToken(ctx, token); must(err) }
		},
		"bare token on a route with checks": func(g *clerkgate.Gate) func() {
			rt := g.Accept(clerkgate.AnyToken).With(authz.Scope("write"))
			return func() { _, err := rt.AuthenticateToken(ctx, apiKey); must(err) }
		},
		"bare machine token": func(g *clerkgate.Gate) func() {
			rt := g.Accept(clerkgate.APIKey)
			return func() { _, err := rt.AuthenticateToken(ctx, apiKey); must(err) }
		},
	}
	for name, path := range paths {
		allocs := func(o *clerkgate.Observer) float64 {
			g, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(),
				APIURL: fake.URL(), Observer: o})
			require.NoError(t, err)
			defer g.Close()
			run := path(g)
			run() // fetches the keys, fills the token or credential cache
			return meanAllocs(1000, run)
		}
		decided := 0
		observed := allocs(&clerkgate.Observer{Decided: func(context.Context, clerkgate.Decision) { decided++ }})
		require.Positive(t, decided, name)
		// Means, not AllocsPerRun's truncated counts: some paths allocate
		// now and then (sync.Pool refills after a GC), which can tip a
		// truncated count by one. An Observer that allocated would add at
		// least one per request.
		require.InDelta(t, allocs(nil), observed, 0.5, name)
	}
}

// A request refused by an authorization check is one decision, its 403
// with the check's reason, never also an accepted one: on Policy.With
// for each kind of check, on a Policy's With checks (Require and Optional,
// machines and sessions), and for a cross-origin 403 on a route with
// checks, which is refused before any check. A request that passes is one
// accepted decision.
func TestObserverHearsForbiddenRequests(t *testing.T) {
	t.Parallel()
	var ev events
	rig := newMachineRig(t, func(c *clerkgate.Config) { c.Observer = ev.observer() })
	mux := http.NewServeMux()
	for path, checks := range authzRoutes {
		mux.Handle(path, rig.gate.Accept(clerkgate.SessionToken).With(checks...).Require(whoami))
	}
	writers := rig.gate.Accept(clerkgate.AnyToken).With(authz.Scope("write"))
	mux.Handle("/writers", writers.Require(whoamiCaller))
	mux.Handle("/maybe-writers", writers.Optional(whoami))
	mux.Handle("/route-admin", rig.gate.Accept().With(authz.Role("org:admin")).Require(whoamiCaller))
	srv := serve(t, mux).URL

	admin := rig.fake.CreateSession("user_admin", clerktest.WithOrg("org_1", "acme", "admin", "org:billing:manage"))
	member := rig.fake.CreateSession("user_member", clerktest.WithOrg("org_1", "acme", "member", "org:billing:read"))
	alone := rig.fake.CreateSession("user_alone")
	_, writer := rig.fake.CreateAPIKey("user_1", "writer", clerktest.CredentialScopes("write"))
	_, reader := rig.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
	m2mReader := rig.fake.M2MJWT(rig.fake.CreateMachine().ID, clerktest.CredentialScopes("read"))
	session := clerkgate.Decision{TokenType: clerkgate.SessionToken}
	forbidden := func(typ clerkgate.TokenType, r clerkgate.Reason) clerkgate.Decision {
		return clerkgate.Decision{TokenType: typ, Status: http.StatusForbidden, Reason: r}
	}
	tok := func(s clerktest.Session, opts ...clerktest.TokenOption) func(*http.Request) {
		return bearer(rig.fake.Token(s.ID, opts...))
	}

	for _, tc := range []struct {
		name, path string
		req        func(*http.Request)
		want       clerkgate.Decision
	}{
		{"role", "/admin", tok(member), forbidden(clerkgate.SessionToken, clerkgate.ReasonRoleRequired)},
		{"role passed", "/admin", tok(admin), session},
		{"permission", "/billing", tok(member), forbidden(clerkgate.SessionToken, clerkgate.ReasonPermissionRequired)},
		{"feature", "/chat", tok(alone, clerktest.V2(), clerktest.WithFeatures("o:chat")), forbidden(clerkgate.SessionToken, clerkgate.ReasonFeatureRequired)},
		{"feature passed", "/chat", tok(alone, clerktest.V2(), clerktest.WithFeatures("u:chat")), session},
		{"plan", "/pro", tok(admin, clerktest.V2(), clerktest.WithPlans("u:pro")), forbidden(clerkgate.SessionToken, clerkgate.ReasonPlanRequired)},
		{"reverification", "/sensitive", tok(alone, clerktest.WithFactorVerificationAge(0, 10)), forbidden(clerkgate.SessionToken, clerkgate.ReasonReverificationRequired)},
		{"reverification passed", "/sensitive", tok(alone, clerktest.WithFactorVerificationAge(200, 9)), session},
		{"role before reverification", "/admin-step", tok(member, clerktest.WithFactorVerificationAge(0, 60)), forbidden(clerkgate.SessionToken, clerkgate.ReasonRoleRequired)},
		{"scope on a session", "/scope", tok(admin), forbidden(clerkgate.SessionToken, clerkgate.ReasonScopeRequired)},
		{"func", "/func", tok(alone), forbidden(clerkgate.SessionToken, clerkgate.ReasonCheckFailed)},
		{"no session on a checked route", "/admin", nil, clerkgate.Decision{Status: 401, Reason: clerkgate.ReasonTokenMissing}},

		{"API key without the scope", "/writers", bearer(reader), forbidden(clerkgate.APIKey, clerkgate.ReasonScopeRequired)},
		{"M2M token without the scope", "/writers", bearer(m2mReader), forbidden(clerkgate.M2MToken, clerkgate.ReasonScopeRequired)},
		{"session on a scope route", "/writers", tok(admin), forbidden(clerkgate.SessionToken, clerkgate.ReasonScopeRequired)},
		{"API key with the scope", "/writers", bearer(writer), clerkgate.Decision{TokenType: clerkgate.APIKey}},
		{"optional, without the scope", "/maybe-writers", bearer(reader), forbidden(clerkgate.APIKey, clerkgate.ReasonScopeRequired)},
		{"optional, with the scope", "/maybe-writers", bearer(writer), clerkgate.Decision{TokenType: clerkgate.APIKey}},
		{"session route, role", "/route-admin", tok(member), forbidden(clerkgate.SessionToken, clerkgate.ReasonRoleRequired)},
		{"session route, role passed", "/route-admin", tok(admin), session},
	} {
		var mods []func(*http.Request)
		if tc.req != nil {
			mods = append(mods, tc.req)
		}
		// send, not get: a failed reverification's body is Clerk's, not
		// the failure contract's.
		rep := send(t, http.MethodGet, srv+tc.path, mods...)
		wantStatus := tc.want.Status
		if wantStatus == 0 {
			wantStatus = http.StatusOK
		}
		require.Equal(t, wantStatus, rep.status, "%s: %s", tc.name, rep.body)
		d, _, _, _ := ev.take()
		require.Equal(t, []clerkgate.Decision{tc.want}, d, tc.name)
	}

	// A forged cross-site POST with a member's cookie: refused before the
	// checks, and heard once, as the cross-origin refusal.
	cookieOf := both(cookie("__session_"+rig.fake.CookieSuffix(), rig.fake.Token(member.ID)), clientUAT(rig.fake.CookieSuffix()))
	for _, path := range []string{"/admin", "/route-admin"} {
		got := send(t, http.MethodPost, srv+path, cookieOf, fetchFrom("cross-site", "https://evil.example"))
		requireCrossOriginRefusal(t, got, path)
		d, _, _, _ := ev.take()
		require.Equal(t, []clerkgate.Decision{forbidden(clerkgate.SessionToken, clerkgate.ReasonCrossOrigin)}, d, path)
	}
}

// A bare token on a route with checks is one decision too: its 403 and
// the check's reason when it fails them, as over HTTP.
func TestObserverHearsForbiddenBareTokens(t *testing.T) {
	t.Parallel()
	var ev events
	rig := newMachineRig(t, func(c *clerkgate.Config) { c.Observer = ev.observer() })
	ctx := context.Background()
	admin := rig.fake.CreateSession("user_admin", clerktest.WithOrg("org_1", "acme", "admin"))
	member := rig.fake.CreateSession("user_member", clerktest.WithOrg("org_1", "acme", "member"))
	_, reader := rig.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
	admins := rig.gate.Accept(clerkgate.AnyToken).With(authz.Role("org:admin"))
	stepUp := rig.gate.Accept().With(authz.Reverification(authz.Strict))

	for _, tc := range []struct {
		name  string
		route *clerkgate.Policy
		token string
		want  clerkgate.Decision
	}{
		{"member", admins, rig.fake.Token(member.ID), clerkgate.Decision{TokenType: clerkgate.SessionToken, Status: 403, Reason: clerkgate.ReasonRoleRequired}},
		{"admin", admins, rig.fake.Token(admin.ID), clerkgate.Decision{TokenType: clerkgate.SessionToken}},
		{"a machine has no role", admins, reader, clerkgate.Decision{TokenType: clerkgate.APIKey, Status: 403, Reason: clerkgate.ReasonRoleRequired}},
		{"stale", stepUp, rig.fake.Token(admin.ID, clerktest.WithFactorVerificationAge(0, 60)),
			clerkgate.Decision{TokenType: clerkgate.SessionToken, Status: 403, Reason: clerkgate.ReasonReverificationRequired}},
		{"no token", stepUp, "", clerkgate.Decision{Status: 401, Reason: clerkgate.ReasonTokenMissing}},
	} {
		_, err := tc.route.AuthenticateToken(ctx, tc.token)
		if tc.want.Status == 0 {
			require.NoError(t, err, tc.name)
		} else {
			e := refusalOf(t, err)
			require.Equal(t, tc.want.Status, e.Status, tc.name)
			require.Equal(t, tc.want.Reason, e.Reason, tc.name)
		}
		d, _, _, _ := ev.take()
		require.Equal(t, []clerkgate.Decision{tc.want}, d, tc.name)
	}
}
