package clerkgate_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/testkit"
	"github.com/clerkgate/clerkgate/session"
	"github.com/clerkgate/clerkgate/webhooks"
)

// This file holds the root package's test rig and the helpers its tests
// share. A helper used by one file stays in that file; one used by two or
// more lives here.

// rig is the one fixture of the root package's tests: a fake Clerk
// instance (clerktest, over real HTTP), a Gate configured for it, and the
// Gate's handler on a real listener. newRig(t) alone serves whoami behind
// RequireSession; options adjust it, in the order given:
//
//	withConfig(mod)      changes the Gate's Config (a nil mod changes nothing)
//	withFakeConfig(mod)  the same, with the fake at hand (its client, its URLs)
//	withFake(opts...)    starts the fake with these clerktest options
//	withClock(now)       one clock for the fake and the Gate
//	withHandler(h)       what the listener serves, built on the Gate
//	onLocalhost()        the URL names localhost instead of 127.0.0.1
//
// The fixtures below (backend, machineRig, site, hookApp, and the few kept
// beside their one test file) are this rig plus the routes and clocks
// their tests share. A new test starts from newRig, or from the fixture of
// the file it joins.
type rig struct {
	fake   *clerktest.Server
	gate   *clerkgate.Gate
	server *httptest.Server
	url    string // server.URL, or its localhost form
}

// rigOption adjusts a rig before it starts.
type rigOption func(*rigSetup)

type rigSetup struct {
	fake      []clerktest.Option
	config    []func(*clerktest.Server, *clerkgate.Config)
	handler   func(*clerkgate.Gate) http.Handler
	localhost bool
}

func withConfig(mod func(*clerkgate.Config)) rigOption {
	return func(s *rigSetup) {
		if mod != nil {
			s.config = append(s.config, func(_ *clerktest.Server, c *clerkgate.Config) { mod(c) })
		}
	}
}

func withFakeConfig(mod func(*clerktest.Server, *clerkgate.Config)) rigOption {
	return func(s *rigSetup) { s.config = append(s.config, mod) }
}

func withFake(opts ...clerktest.Option) rigOption {
	return func(s *rigSetup) { s.fake = append(s.fake, opts...) }
}

func withClock(now func() time.Time) rigOption {
	return func(s *rigSetup) {
		s.fake = append(s.fake, clerktest.WithClock(now))
		s.config = append(s.config, func(_ *clerktest.Server, c *clerkgate.Config) { c.Clock = now })
	}
}

func withHandler(h func(*clerkgate.Gate) http.Handler) rigOption {
	return func(s *rigSetup) { s.handler = h }
}

// onLocalhost names the app localhost: its cookies and a local fake
// Frontend API's (on 127.0.0.1) must not mix, and cookies ignore ports.
func onLocalhost() rigOption { return func(s *rigSetup) { s.localhost = true } }

// newRig starts a fake, a Gate for it and a listener; the test's cleanup
// closes them, listener first.
func newRig(t testing.TB, opts ...rigOption) *rig {
	t.Helper()
	var s rigSetup
	for _, o := range opts {
		o(&s)
	}
	r := &rig{fake: clerktest.New(s.fake...)}
	t.Cleanup(r.fake.Close)
	cfg := clerkgate.Config{SecretKey: r.fake.SecretKey(), PublishableKey: r.fake.PublishableKey(), APIURL: r.fake.URL()}
	for _, mod := range s.config {
		mod(r.fake, &cfg)
	}
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	r.gate = g
	h := g.Accept(clerkgate.SessionToken).Require(whoami)
	if s.handler != nil {
		h = s.handler(g)
	}
	r.server = httptest.NewServer(h)
	t.Cleanup(r.server.Close)
	r.url = r.server.URL
	if s.localhost {
		r.url = strings.Replace(r.url, "127.0.0.1", "localhost", 1)
	}
	return r
}

// serve runs handler behind the gate's middleware on a real listener.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// whoami answers 200 with the user id the middleware attached, or
// "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if c, ok := clerkgate.ClaimsFromContext(r.Context()); ok {
		io.WriteString(w, c.Subject)
		return
	}
	io.WriteString(w, "anonymous")
})

type reply struct {
	status int
	header http.Header
	body   string
	reason string
}

func get(t *testing.T, url string, mod func(*http.Request)) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if mod != nil {
		mod(req)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	rep := reply{status: res.StatusCode, header: res.Header, body: string(b)}
	if res.StatusCode >= 400 {
		var body struct{ Error, Message string }
		require.NoError(t, json.Unmarshal(b, &body), "error body must be JSON: %s", b)
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))
		require.NotEmpty(t, body.Message)
		rep.reason = body.Error
	}
	return rep
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func cookie(name, value string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

// cookieHeader sends header as the request's whole Cookie header, as it
// is: for cookies no http.Cookie writes (padded, quoted, sent twice).
func cookieHeader(header string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Cookie", header) }
}

// clientUAT is the suffixed __client_uat a browser holds beside its
// suffixed session cookie: Clerk reads __session_<suffix> only with it
// (a lone suffixed session cookie is ignored for the plain pair). The
// client's last change is long before any token.
func clientUAT(suffix string) func(*http.Request) { return cookie("__client_uat_"+suffix, "1") }

// whoamiCaller answers the caller as JSON.
var whoamiCaller = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := clerkgate.CallerFromContext(r.Context())
	if !ok {
		http.Error(w, "no caller", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"type": c.Type, "subject": c.Subject(), "scopes": c.Scopes(), "read": c.HasScope("read")})
})

// send is get with any method and any number of mods, and no check of
// the body: its caller reads it.
func send(t *testing.T, method, url string, mods ...func(*http.Request)) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	for _, m := range mods {
		m(req)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return reply{status: res.StatusCode, header: res.Header, body: string(b)}
}

func both(mods ...func(*http.Request)) func(*http.Request) {
	return func(r *http.Request) {
		for _, m := range mods {
			m(r)
		}
	}
}

// rawGet sends one request without following redirects.
func rawGet(t *testing.T, u string, mod func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Dest", "document")
	if mod != nil {
		mod(req)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func withCookies(cookies ...*http.Cookie) func(*http.Request) {
	return func(r *http.Request) {
		for _, c := range cookies {
			r.AddCookie(c)
		}
	}
}

func setCookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// backend is a Gate in front of a whoami handler, talking to a fake Clerk
// backend over real HTTP.
// It is the rig as it starts, srv being its URL.
type backend struct {
	*rig
	srv string
}

func newBackend(t *testing.T, mod func(*clerkgate.Config)) *backend {
	t.Helper()
	r := newRig(t, withConfig(mod))
	return &backend{rig: r, srv: r.url}
}

func (b *backend) refreshCookie(s clerktest.Session) func(*http.Request) {
	return cookie("__refresh_"+b.fake.CookieSuffix(), s.RefreshToken)
}

// sessionCookie is the suffixed session cookie with its __client_uat
// twin, as a browser holds them: Clerk reads a suffixed session cookie
// only beside a suffixed __client_uat (a lone one is ignored for the
// plain pair). The client's last change is long before any token.
func (b *backend) sessionCookie(token string) func(*http.Request) {
	return both(cookie("__session_"+b.fake.CookieSuffix(), token), cookie("__client_uat_"+b.fake.CookieSuffix(), "1"))
}

func (b *backend) refreshCalls() int { return b.fake.Requests(clerktest.RouteRefresh) }

// fakeClock is a clock tests move by hand; the Gate and clerktest share it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clockedBackend is a backend whose Gate and fake Clerk run on one
// injected clock.
func clockedBackend(t *testing.T, clock *fakeClock, mod func(*clerkgate.Config)) *backend {
	t.Helper()
	r := newRig(t, withClock(clock.Now), withConfig(mod))
	return &backend{rig: r, srv: r.url}
}

func createToken(t *testing.T, b *backend, sessionID string, lifetime time.Duration) string {
	t.Helper()
	tok, err := b.gate.Sessions().CreateToken(context.Background(), sessionID, session.TokenParams{ExpiresInSeconds: int(lifetime / time.Second)})
	require.NoError(t, err)
	return tok.JWT
}

// machineRig is a clerktest instance, a Gate for it, and a server whose
// /any route accepts every token type, /m2m only M2M tokens, /keys only
// API keys, /oauth only OAuth tokens and /session only sessions.
// Its clock stands still until advance moves it.
type machineRig struct {
	*rig
	clock atomic.Int64 // Unix nanoseconds
}

func newMachineRig(t *testing.T, mod func(*clerkgate.Config)) *machineRig {
	t.Helper()
	m := &machineRig{}
	m.clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, m.clock.Load()) }
	m.rig = newRig(t, withClock(now),
		withFakeConfig(func(fake *clerktest.Server, c *clerkgate.Config) { c.HTTPClient = fake.Client() }),
		withConfig(mod),
		withHandler(func(gate *clerkgate.Gate) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/any", gate.Accept(clerkgate.AnyToken).Require(whoamiCaller))
			mux.Handle("/m2m", gate.Accept(clerkgate.M2MToken).Require(whoamiCaller))
			mux.Handle("/keys", gate.Accept(clerkgate.APIKey).Require(whoamiCaller))
			mux.Handle("/oauth", gate.Accept(clerkgate.OAuthToken).Require(whoamiCaller))
			mux.Handle("/session", gate.Accept(clerkgate.SessionToken).Require(whoamiCaller))
			return mux
		}))
	return m
}

func (rig *machineRig) advance(d time.Duration) { rig.clock.Add(int64(d)) }

type callerJSON struct {
	Type    string   `json:"type"`
	Subject string   `json:"subject"`
	Scopes  []string `json:"scopes"`
	Read    bool     `json:"read"`
}

func (rig *machineRig) call(t *testing.T, path, token string) (reply, callerJSON) {
	t.Helper()
	rep := get(t, rig.url+path, bearer(token))
	var c callerJSON
	if rep.status == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(rep.body), &c))
	}
	return rep, c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// site is an app with a public page (/) and a protected one (/dashboard).
// Its clock runs with the real one, advance moving it on; its url is
// http://localhost:port.
type site struct {
	*rig
	offset atomic.Int64
}

func (s *site) now() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }

// advance moves the clock of the fake and the Gate.
func (s *site) advance(d time.Duration) { s.offset.Add(int64(d)) }

func newSite(t *testing.T, mod func(*clerkgate.Config), opts ...clerktest.Option) *site {
	t.Helper()
	s := &site{}
	s.rig = newRig(t, withClock(s.now), withFake(clerktest.WithLocalFrontendAPI()), withFake(opts...),
		withFakeConfig(func(fake *clerktest.Server, c *clerkgate.Config) {
			c.Pages = clerkgate.PagesConfig{SignInURL: fake.SignInURL()}
			c.Refresh = clerkgate.RefreshConfig{Timeout: 2 * time.Second}
			c.WebhookSigningSecret = fake.WebhookSecret()
		}),
		withConfig(mod),
		withHandler(func(g *clerkgate.Gate) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("GET /{$}", g.Accept(clerkgate.SessionToken).Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if claims, ok := clerkgate.ClaimsFromContext(r.Context()); ok {
					fmt.Fprint(w, "Signed in as "+claims.Subject)
					return
				}
				fmt.Fprint(w, "Signed out")
			})))
			mux.Handle("GET /dashboard", g.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				claims, _ := clerkgate.ClaimsFromContext(r.Context())
				fmt.Fprint(w, "Dashboard of "+claims.Subject)
			})))
			return mux
		}),
		// The fake Frontend API is on 127.0.0.1.
		onLocalhost())
	return s
}

// browser follows redirects like a browser navigating: every request says
// it wants a document.
type browser struct {
	t    *testing.T
	c    *http.Client
	hops []string
}

func (s *site) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	b := &browser{t: t}
	c := *s.fake.Client()
	c.Jar = jar
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		b.hops = append(b.hops, req.URL.String())
		if len(via) > 12 {
			return fmt.Errorf("redirect loop: %v", b.hops)
		}
		return nil
	}
	b.c = &c
	return b
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Dest", "document")
	b.hops = nil
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), header: resp.Header}
}

func (b *browser) open(u string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

func (b *browser) signIn(s *site, userID, back string) page {
	b.t.Helper()
	form := url.Values{"user_id": {userID}, "redirect_url": {back}}
	req, err := http.NewRequest(http.MethodPost, s.fake.SignInURL(), strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) cookie(s *site, name string) string {
	u, _ := url.Parse(s.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// later is a visit some seconds after the last: the loop counter, which
// lives 2 s (real time, which the jar keeps), is gone.
func (b *browser) later(s *site) { b.dropCookie(s, "__clerk_redirect_count") }

func (b *browser) dropCookie(s *site, name string) {
	u, _ := url.Parse(s.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Path: "/", MaxAge: -1}})
}

// binding is the cookie that binds a handshake to this browser, as the
// Gate sets it on the 307 that sends a browser without a dev browser
// token to the handshake: a genuine return from the handshake carries it.
func (s *site) binding(t *testing.T) *http.Cookie {
	t.Helper()
	resp := rawGet(t, s.url+"/", nil)
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	c := setCookieNamed(resp, handshake.CookieBinding)
	require.NotNil(t, c, "the handshake's 307 sets the binding cookie")
	return &http.Cookie{Name: c.Name, Value: c.Value}
}

// handshakeLink is the URL the attacker's browser is sent back to from a
// handshake, captured instead of followed: the link an attacker would
// send a victim.
func handshakeLink(t *testing.T, s *site, b *browser, param string) string {
	t.Helper()
	c := *b.c
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), s.url) && req.URL.Query().Has(param) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	// A dev browser token in the URL makes the app sync it through a
	// handshake (dev-browser-sync), whatever the browser's state.
	req, err := http.NewRequest(http.MethodGet, s.url+"/?__clerk_db_jwt="+url.QueryEscape(b.cookie(s, "__clerk_db_jwt")), nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	link := resp.Header.Get("Location")
	require.Contains(t, link, param+"=")
	return link
}

// hookApp is an app behind a Gate that serves Clerk's webhooks at
// /webhooks/clerk and whoami everywhere else, with the fake delivering
// its webhooks there.
type hookApp struct {
	*rig

	mu     sync.Mutex
	events []*webhooks.Event
	fail   error // the app's handler answers with it
}

func newHookApp(t *testing.T, mod func(*clerkgate.Config)) *hookApp {
	t.Helper()
	a := &hookApp{}
	a.rig = newRig(t,
		withFakeConfig(func(fake *clerktest.Server, c *clerkgate.Config) { c.WebhookSigningSecret = fake.WebhookSecret() }),
		withConfig(mod),
		withHandler(func(g *clerkgate.Gate) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/webhooks/clerk", g.Webhooks(func(_ context.Context, e *webhooks.Event) error {
				a.mu.Lock()
				defer a.mu.Unlock()
				if a.fail != nil {
					return a.fail
				}
				a.events = append(a.events, e)
				return nil
			}))
			mux.Handle("/", g.Accept(clerkgate.SessionToken).Require(whoami))
			return mux
		}))
	// The fake's own Close waits for its deliveries; stop them first.
	t.Cleanup(func() { a.fake.SendWebhooksTo("") })
	a.fake.SendWebhooksTo(a.url + "/webhooks/clerk")
	return a
}

func (a *hookApp) handled() []*webhooks.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*webhooks.Event(nil), a.events...)
}

// delivered waits until the fake has made n delivery attempts, and
// returns them.
func (a *hookApp) delivered(t *testing.T, n int) []clerktest.WebhookDelivery {
	t.Helper()
	var d []clerktest.WebhookDelivery
	require.Eventually(t, func() bool { d = a.fake.WebhookDeliveries(); return len(d) >= n }, 10*time.Second, 5*time.Millisecond)
	return d
}

// backendAPI calls the fake's Backend API as an admin's tool would.
func (a *hookApp) backendAPI(t *testing.T, method, path, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, a.fake.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.fake.SecretKey())
	req.Header.Set("Content-Type", "application/json")
	res, err := a.fake.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "%s %s", method, path)
}

// syncBuffer collects log lines written from concurrent goroutines.
type syncBuffer = testkit.SyncBuffer

// captureLogs collects a Gate's log lines.
func captureLogs() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// checkNoGoroutineGrowth registers, as the test's first cleanup and so its
// last to run, a check that every goroutine the test started has ended.
func checkNoGoroutineGrowth(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// refusalOf is the *AuthError that err, a refusal of an exported
// function, must be.
func refusalOf(t testing.TB, err error) *clerkgate.AuthError {
	t.Helper()
	var e *clerkgate.AuthError
	require.ErrorAs(t, err, &e)
	require.NotNil(t, e, "a nil *AuthError inside a non-nil error")
	return e
}

// from returns an HTTP client whose connections come from ip. It keeps no
// idle connections, so nothing outlives the test.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 20 * time.Second}
}

// needLoopback skips t where ip cannot be a local address: Linux answers
// on all of 127.0.0.0/8, macOS only on the aliases given to lo0.
func needLoopback(t *testing.T, ips ...string) {
	t.Helper()
	for _, ip := range ips {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("%s is no local address here (on macOS: sudo ifconfig lo0 alias %s): %v", ip, ip, err)
		}
		l.Close()
	}
}

// getFrom is get from a client of its own.
func getFrom(t *testing.T, c *http.Client, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// publicPage answers as a handler of a cacheable page does: public, for
// five minutes, whoever asks.
var publicPage = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	caller, _ := clerkgate.CallerFromContext(r.Context())
	io.WriteString(w, caller.Subject())
})

// forge keeps token's header and payload and replaces its signature with
// one of the same length that is not the key's.
func forge(token string) string {
	i := strings.LastIndexByte(token, '.')
	sig := []byte(token[i+1:])
	for j := range sig {
		if sig[j] == 'A' {
			sig[j] = 'B'
		} else {
			sig[j] = 'A'
		}
	}
	return token[:i+1] + string(sig)
}

// pageLoads returns a Gate's page-load handler and the two requests.
func pageLoads(tb testing.TB) (h http.Handler, signedIn, hostile *http.Request) {
	tb.Helper()
	fake := clerktest.New()
	tb.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
		MaxTokenLifetime: time.Hour, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { gate.Close() })
	h = gate.Accept(clerkgate.SessionToken).Optional(benchHandler)

	page := func(target string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Accept", "text/html")
		r.Header.Set("Sec-Fetch-Dest", "document")
		r.AddCookie(&http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_bench"})
		return r
	}
	signedIn = page("/dashboard?tab=1")
	token := fake.Token(fake.CreateSession("user_bench").ID, clerktest.ExpiresIn(time.Hour))
	signedIn.AddCookie(&http.Cookie{Name: "__session", Value: token})
	signedIn.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})

	seg := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	// Each hostile value is as long as a cookie can be (4 KiB), so that
	// every one of them is read.
	numbers := "[" + strings.Repeat("0,", 1300) + "0]"
	junk := seg(`{"alg":"RS256","kid":"x","cat":{"a":`+numbers[:200]+`}}`) + "." + seg(`{"sub":`+numbers+`,"iat":1}`) + ".c2ln"
	if len(junk) > 4000 {
		tb.Fatalf("junk of %d bytes", len(junk))
	}
	hostile = page("/dashboard?" + strings.Repeat("a=b&", 200_000))
	sfx := fake.CookieSuffix()
	hostile.AddCookie(&http.Cookie{Name: "__session", Value: junk})
	hostile.AddCookie(&http.Cookie{Name: "__session_" + sfx, Value: junk + "A"})
	hostile.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
	hostile.AddCookie(&http.Cookie{Name: "__clerk_handshake", Value: junk})
	for i := range 5 { // 32 KiB of cookies in all
		hostile.AddCookie(&http.Cookie{Name: fmt.Sprint("__session_", i), Value: junk})
	}
	// Longer values are not read at all.
	hostile.AddCookie(&http.Cookie{Name: "__clerk_handshake_nonce", Value: strings.Repeat("n", 8<<10)})
	return h, signedIn, hostile
}

// serveOnce serves r and checks the answer is no server error and that
// no Location header is longer than a browser would follow.
func serveOnce(tb testing.TB, h http.Handler, r *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code >= 500 {
		tb.Fatalf("status %d", rec.Code)
	}
	if n := len(rec.Header().Get("Location")); n > 16<<10 {
		tb.Fatalf("a Location header of %d bytes", n)
	}
}
