package clerkgate_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// The fault tests put one failure at a time into a fake Clerk backend over
// real HTTP and check the four promises of the failure contract:
//
//   - a token whose key is cached keeps working;
//   - a token naming an unknown kid gets a bounded answer: 503
//     jwks_unavailable when the key set cannot be fetched, 401 key_not_found
//     when it can and the kid is not in it;
//   - a refresh that fails gives 401 refresh_failed, naming Clerk's code,
//     within Refresh.Timeout;
//   - nothing is left running once the Gate and the backend are closed.
//
// The cases run one after another, not in parallel, so that the goroutine
// check of each sees only what that case started.

const (
	// faultTimeout is the Gate's Keys.FetchTimeout and Refresh.Timeout.
	faultTimeout = 500 * time.Millisecond
	// faultMinRefetch is short so that every unknown kid reaches the
	// faulty endpoint instead of the rate limit.
	faultMinRefetch = 20 * time.Millisecond
	// faultBound is the generous upper bound asserted on any answer: the
	// timeouts plus ample room for a loaded machine running -race.
	faultBound = 10 * faultTimeout
)

// faultForeignKey signs tokens that no fake knows: RSA generation is slow,
// and the tests need a foreign key, not a fresh one.
var faultForeignKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// faultRig is a Gate in front of a handler, on a real listener, talking to
// a clerktest backend.
type faultRig struct {
	fake   *clerktest.Server
	gate   *clerkgate.Gate
	srv    *httptest.Server
	client *http.Client
}

// newFaultRig starts a backend and a Gate. apiURL, when not empty, is
// where the Gate looks for the Backend API instead of the fake's address.
// Everything is closed by the test's cleanup, in order, before the
// goroutine check that checkNoGoroutineGrowth registered earlier.
func newFaultRig(t *testing.T, apiURL string, opts ...clerktest.Option) *faultRig {
	t.Helper()
	r := &faultRig{fake: clerktest.New(opts...)}
	t.Cleanup(r.fake.Close)
	if apiURL == "" {
		apiURL = r.fake.URL()
	}
	var err error
	r.gate, err = clerkgate.New(clerkgate.Config{
		SecretKey:      r.fake.SecretKey(),
		PublishableKey: r.fake.PublishableKey(),
		APIURL:         apiURL,
		Keys:           clerkgate.KeysConfig{FetchTimeout: faultTimeout, MinRefetchInterval: faultMinRefetch},
		Refresh:        clerkgate.RefreshConfig{Timeout: faultTimeout},
	})
	require.NoError(t, err)
	t.Cleanup(func() { r.gate.Close() })
	r.srv = httptest.NewServer(r.gate.Accept(clerkgate.SessionToken).Require(whoami))
	t.Cleanup(r.srv.Close)
	r.client = &http.Client{Transport: &http.Transport{}, Timeout: 4 * faultBound}
	t.Cleanup(r.client.CloseIdleConnections)
	return r
}

// checkNoGoroutineGrowth registers, as the test's first cleanup and so its
// last to run, a check that every goroutine the test started has ended.
func checkNoGoroutineGrowth(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// faultAnswer is one answer of the Gate, timed.
type faultAnswer struct {
	status  int
	reason  string
	message string
	header  http.Header
	took    time.Duration
	err     error
}

func (a faultAnswer) String() string {
	return fmt.Sprintf("%d %s (%s) after %v, err %v", a.status, a.reason, a.message, a.took, a.err)
}

// call sends one GET and reads the answer. It returns errors instead of
// failing, so that goroutines may use it.
func (r *faultRig) call(mods ...func(*http.Request)) faultAnswer {
	req, err := http.NewRequest(http.MethodGet, r.srv.URL+"/me", nil)
	if err != nil {
		return faultAnswer{err: err}
	}
	for _, m := range mods {
		m(req)
	}
	start := time.Now()
	res, err := r.client.Do(req)
	if err != nil {
		return faultAnswer{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	a := faultAnswer{status: res.StatusCode, header: res.Header, took: time.Since(start), err: err}
	if res.StatusCode != http.StatusOK && err == nil {
		var doc struct{ Error, Message string }
		if a.err = json.Unmarshal(body, &doc); a.err == nil {
			a.reason, a.message = doc.Error, doc.Message
		}
	}
	return a
}

func (r *faultRig) withBearer(token string) func(*http.Request) {
	return func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+token) }
}

// withExpiredSession sends what a browser whose token expired sends: the
// expired token in the session cookie and the refresh cookie. Each call
// mints a distinct token (v2 tokens carry a random jti), because Clerk
// exchanges an expired token only once.
func (r *faultRig) withExpiredSession(s clerktest.Session) func(*http.Request) {
	expired := r.fake.Token(s.ID, clerktest.Expired(), clerktest.V2())
	return func(req *http.Request) {
		req.AddCookie(&http.Cookie{Name: "__session_" + r.fake.CookieSuffix(), Value: expired})
		req.AddCookie(&http.Cookie{Name: "__refresh_" + r.fake.CookieSuffix(), Value: s.RefreshToken})
		req.AddCookie(&http.Cookie{Name: "__client_uat_" + r.fake.CookieSuffix(), Value: "1"})
	}
}

// unknownKid is a token signed by a key the backend never had, under a kid
// it never published.
func (r *faultRig) unknownKid(t *testing.T, s clerktest.Session) string {
	t.Helper()
	return r.fake.Token(s.ID, clerktest.SignedWith(faultForeignKey(), "ins_unknown_"+fmt.Sprint(time.Now().UnixNano())))
}

// warmUp waits until the Gate has fetched the key set once.
func (r *faultRig) warmUp(t *testing.T, s clerktest.Session) {
	t.Helper()
	require.Eventually(t, func() bool {
		return r.call(r.withBearer(r.fake.Token(s.ID))).status == http.StatusOK
	}, 4*faultBound, 10*time.Millisecond, "the Gate never got the key set")
}

// requireOK asserts a request was let through.
func faultRequireOK(t *testing.T, a faultAnswer, what string) {
	t.Helper()
	require.NoError(t, a.err, what)
	require.Equal(t, http.StatusOK, a.status, "%s: %v", what, a)
	require.Less(t, a.took, faultBound, what)
}

// requireRefused asserts a refusal by the contract, within faultBound.
func faultRequireRefused(t *testing.T, a faultAnswer, status int, reason, what string) {
	t.Helper()
	require.NoError(t, a.err, what)
	require.Equal(t, status, a.status, "%s: %v", what, a)
	require.Equal(t, reason, a.reason, "%s: %v", what, a)
	require.Less(t, a.took, faultBound, "%s: %v", what, a)
	require.Empty(t, a.header.Values("Set-Cookie"), "%s: a refusal sets no cookie", what)
	if status == http.StatusServiceUnavailable {
		require.NotEmpty(t, a.header.Get("Retry-After"), what)
	}
}

// faultCase is one fault and what the Gate must answer while it lasts.
type faultCase struct {
	name  string
	route clerktest.Route
	fault clerktest.Fault
	// jwksDown: the key set cannot be fetched while the fault lasts.
	jwksDown bool
	// refreshCode: "" when refresh still works; else the Clerk code the
	// refusal must name, or faultNoCode.
	refreshCode string
	// atLeast is a lower bound on the failed refresh's duration, for
	// faults that make the Gate wait out its timeout.
	atLeast time.Duration
	// forgedAnswer makes the refresh answer a success whose session cookie
	// holds a token signed by a key the backend never had.
	forgedAnswer bool
}

// faultNoCode marks a refresh failure that carries no Clerk error code.
const faultNoCode = "-"

func TestFaults(t *testing.T) {
	skipSlowUnderShort(t)
	cases := []faultCase{
		{name: "JWKS 500", route: clerktest.RouteJWKS, fault: clerktest.Fault{Status: 500}, jwksDown: true},
		{name: "JWKS 429", route: clerktest.RouteJWKS, fault: clerktest.Fault{Status: 429, RetryAfter: time.Minute}, jwksDown: true},
		{name: "JWKS garbage JSON", route: clerktest.RouteJWKS, fault: clerktest.Fault{Body: []byte(`{"keys":[{"kty":`)}, jwksDown: true},
		{name: "JWKS empty set", route: clerktest.RouteJWKS, fault: clerktest.Fault{EmptyKeys: true}, jwksDown: true},
		{name: "JWKS body over 1 MiB", route: clerktest.RouteJWKS, fault: clerktest.Fault{Oversize: true}, jwksDown: true},
		{name: "JWKS hang", route: clerktest.RouteJWKS, fault: clerktest.Fault{Hang: true}, jwksDown: true},
		{name: "JWKS slow drip", route: clerktest.RouteJWKS, fault: clerktest.Fault{Drip: 50 * time.Millisecond}, jwksDown: true},
		{name: "JWKS connection reset", route: clerktest.RouteJWKS, fault: clerktest.Fault{Reset: true}, jwksDown: true},

		// A Retry-After far beyond Refresh.Timeout: the Gate must not sleep
		// through it (refresh is never retried) but answer at once.
		{name: "refresh 429 with Retry-After", route: clerktest.RouteRefresh, fault: clerktest.Fault{Status: 429, RetryAfter: time.Minute}, refreshCode: clerktest.CodeTooManyRequests},
		{name: "refresh 500", route: clerktest.RouteRefresh, fault: clerktest.Fault{Status: 500}, refreshCode: clerktest.CodeInternalError},
		{name: "refresh hang", route: clerktest.RouteRefresh, fault: clerktest.Fault{Hang: true}, refreshCode: faultNoCode, atLeast: faultTimeout * 8 / 10},
		{name: "refresh connection reset", route: clerktest.RouteRefresh, fault: clerktest.Fault{Reset: true}, refreshCode: faultNoCode},
		{name: "refresh truncated success body", route: clerktest.RouteRefresh, fault: clerktest.Fault{Status: 200, Body: []byte(`{"object":"cookies","cookies":["__session=`)}, refreshCode: faultNoCode},
		{name: "refresh success body of the wrong shape", route: clerktest.RouteRefresh, fault: clerktest.Fault{Status: 200, Body: []byte(`{"object":"cookies","cookies":"__session=x"}`)}, refreshCode: faultNoCode},
		{name: "refresh success without a session cookie", route: clerktest.RouteRefresh, fault: clerktest.Fault{Status: 200, Body: []byte(`{"object":"cookies","cookies":["__client_uat=1; Path=/"]}`)}, refreshCode: faultNoCode},
		{name: "refresh success with a forged session cookie", route: clerktest.RouteRefresh, refreshCode: faultNoCode, forgedAnswer: true},
	}
	// Clerk's refresh codes, each as a 401.
	for _, code := range []string{
		clerktest.CodeRefreshTokenNotFound,
		clerktest.CodeExpiredSessionTokenInvalid,
		clerktest.CodeRefreshSIDMismatch,
		clerktest.CodeRefreshInactiveSession,
		clerktest.CodeRefreshTokenTooOld,
		clerktest.CodeRefreshTokenConsumed,
	} {
		cases = append(cases, faultCase{name: "refresh 401 " + code, route: clerktest.RouteRefresh, fault: clerktest.Fault{Status: 401, Code: code}, refreshCode: code})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkNoGoroutineGrowth(t)
			r := newFaultRig(t, "")
			s := r.fake.CreateSession("user_fault")
			r.warmUp(t, s)
			fault := tc.fault
			if tc.forgedAnswer {
				forged := r.fake.Token(s.ID, clerktest.SignedWith(faultForeignKey(), r.fake.KeyID()))
				fault.Body = []byte(`{"object":"cookies","cookies":["__session_` + r.fake.CookieSuffix() + `=` + forged + `; Path=/"]}`)
			}
			jwksBefore := r.fake.Requests(clerktest.RouteJWKS)
			r.fake.SetFault(tc.route, fault)
			time.Sleep(2 * faultMinRefetch) // the next unknown kid may refetch

			// An unknown kid, with cached-key requests sent while its refetch
			// may be in flight: they are answered from memory regardless.
			unknown := make(chan faultAnswer, 1)
			go func() { unknown <- r.call(r.withBearer(r.unknownKid(t, s))) }()
			for i := range 5 {
				faultRequireOK(t, r.call(r.withBearer(r.fake.Token(s.ID, clerktest.V2()))), fmt.Sprintf("cached key, request %d", i))
			}
			u := <-unknown
			t.Logf("unknown kid: %v", u)
			if tc.jwksDown {
				faultRequireRefused(t, u, http.StatusServiceUnavailable, "jwks_unavailable", "unknown kid")
				require.Greater(t, r.fake.Requests(clerktest.RouteJWKS), jwksBefore, "the unknown kid reached the faulty endpoint")
			} else {
				faultRequireRefused(t, u, http.StatusUnauthorized, "key_not_found", "unknown kid")
			}
			// Straight after, the refetch is rate-limited: still bounded,
			// still the same verdict.
			if tc.jwksDown {
				faultRequireRefused(t, r.call(r.withBearer(r.unknownKid(t, s))), http.StatusServiceUnavailable, "jwks_unavailable", "unknown kid again")
			}
			// The failed fetch did not cost the cached key.
			faultRequireOK(t, r.call(r.withBearer(r.fake.Token(s.ID, clerktest.V2()))), "cached key after the failed fetch")

			// Refresh of an expired session.
			refreshes := r.fake.Requests(clerktest.RouteRefresh)
			a := r.call(r.withExpiredSession(s))
			t.Logf("refresh: %v", a)
			if tc.refreshCode == "" {
				faultRequireOK(t, a, "refresh")
				require.NotEmpty(t, a.header.Values("Set-Cookie"), "refresh copies Clerk's cookies")
			} else {
				faultRequireRefused(t, a, http.StatusUnauthorized, "refresh_failed", "refresh")
				require.Less(t, a.took, faultTimeout+faultBound/2, "refresh is bounded by Refresh.Timeout")
				require.GreaterOrEqual(t, a.took, tc.atLeast, "refresh")
				if tc.refreshCode != faultNoCode {
					require.Contains(t, a.message, tc.refreshCode)
				}
			}
			require.Equal(t, refreshes+1, r.fake.Requests(clerktest.RouteRefresh), "one refresh call, never retried")

			// Recovery: once the fault is gone a rotated key is picked up and
			// refresh works again, for the sessions whose refresh did not
			// just fail; that one waits out the failure window.
			r.fake.ClearFaults()
			time.Sleep(2 * faultMinRefetch)
			r.fake.RotateKey()
			faultRequireOK(t, r.call(r.withBearer(r.fake.Token(s.ID))), "new key after recovery")
			if tc.refreshCode != "" {
				refreshes := r.fake.Requests(clerktest.RouteRefresh)
				faultRequireRefused(t, r.call(r.withExpiredSession(s)), http.StatusUnauthorized, "refresh_failed", "refresh within the failure window")
				require.Equal(t, refreshes, r.fake.Requests(clerktest.RouteRefresh), "no call within the failure window")
				s = r.fake.CreateSession("user_fault")
			}
			faultRequireOK(t, r.call(r.withExpiredSession(s)), "refresh after recovery")
		})
	}
}

// The Backend API is unreachable when the Gate starts (connection refused),
// then comes up. Before any key set was fetched every token is a 503 (our
// fault, not the user's), fast; the failure does not stick, so the first
// request after recovery succeeds.
func TestFaultBackendUnreachableAtStartup(t *testing.T) {
	checkNoGoroutineGrowth(t)
	// Reserve a port and free it: nothing listens there until recovery.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	r := newFaultRig(t, "http://"+addr)
	s := r.fake.CreateSession("user_fault")

	for i := range 3 {
		faultRequireRefused(t, r.call(r.withBearer(r.fake.Token(s.ID, clerktest.V2()))), http.StatusServiceUnavailable, "jwks_unavailable", fmt.Sprintf("valid token while down, %d", i))
		time.Sleep(2 * faultMinRefetch)
	}
	faultRequireRefused(t, r.call(r.withBearer(r.unknownKid(t, s))), http.StatusServiceUnavailable, "jwks_unavailable", "unknown kid while down")
	// An expired session cannot even be checked without keys: 503, and no
	// refresh call.
	faultRequireRefused(t, r.call(r.withExpiredSession(s)), http.StatusServiceUnavailable, "jwks_unavailable", "refresh while down")
	require.Zero(t, r.fake.Requests(clerktest.AnyRoute), "nothing reached the backend")

	// Recovery: the Backend API appears at the address the Gate knows.
	target, err := url.Parse(r.fake.URL())
	require.NoError(t, err)
	var up net.Listener
	require.Eventually(t, func() bool { up, err = net.Listen("tcp", addr); return err == nil },
		faultBound, 10*time.Millisecond, "port %s was taken meanwhile", addr)
	proxy := &httptest.Server{Listener: up, Config: &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}}
	proxy.Start()
	t.Cleanup(proxy.Close)
	time.Sleep(2 * faultMinRefetch)

	faultRequireOK(t, r.call(r.withBearer(r.fake.Token(s.ID, clerktest.V2()))), "valid token after recovery")
	faultRequireOK(t, r.call(r.withExpiredSession(s)), "refresh after recovery")
	time.Sleep(2 * faultMinRefetch)
	faultRequireRefused(t, r.call(r.withBearer(r.unknownKid(t, s))), http.StatusUnauthorized, "key_not_found", "unknown kid after recovery")
}
