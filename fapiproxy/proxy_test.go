package fapiproxy_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/fapiproxy"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// app is an app server whose every request goes to the proxy, over real
// HTTP: no ServeMux in front cleans a path or refuses a method first, so
// the tests see the proxy's own checks. (Mounted on a ServeMux, as the
// docs show, a request such as /__clerk/../admin is redirected to its
// clean path before the proxy sees it.)
type app struct {
	url      string // http://127.0.0.1:port
	proxyURL string // url + "/__clerk"
	proxy    *fapiproxy.Proxy
	client   *http.Client // follows no redirects
}

// startApp starts the app server first, so that its URL can name the
// fake's proxy, then calls build for the proxy's upstream: a clerktest
// fake, or a hostile server of the test's own.
func startApp(t *testing.T, build func(proxyURL string) fapiproxy.Config) *app {
	t.Helper()
	a := &app{}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	a.proxyURL = srv.URL + "/__clerk"
	cfg := build(a.proxyURL)
	p, err := fapiproxy.New(cfg)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	a.proxy = p
	handler = p
	a.client = &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(a.client.CloseIdleConnections)
	return a
}

// startWithFake starts a fake Clerk whose instance has its proxy at the
// app's /__clerk, and the app with the proxy to the fake's Frontend API.
func startWithFake(t *testing.T, mutate func(*fapiproxy.Config)) (*app, *clerktest.Server) {
	t.Helper()
	var fake *clerktest.Server
	a := startApp(t, func(proxyURL string) fapiproxy.Config {
		fake = clerktest.New(clerktest.WithLocalFrontendAPI(), clerktest.WithProxyURL(proxyURL))
		t.Cleanup(fake.Close)
		cfg := fapiproxy.Config{
			ProxyURL:       proxyURL,
			SecretKey:      fake.SecretKey(),
			PublishableKey: fake.PublishableKey(),
			FrontendAPIURL: fake.FrontendURL(),
			Transport:      fake.Client().Transport,
		}
		if mutate != nil {
			mutate(&cfg)
		}
		return cfg
	})
	return a, fake
}

func (a *app) do(t *testing.T, method, path string, body io.Reader, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := a.client.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// raw sends request bytes as they are, for request lines no HTTP client
// writes (dot segments, absolute-form targets, CONNECT), and reads the
// answer.
func (a *app) raw(t *testing.T, request string) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(a.url)
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

// errorCode is the code of the proxy's JSON error body.
func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Errors []struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), "body %q", body)
	require.Len(t, e.Errors, 1)
	require.NotEmpty(t, e.Errors[0].Message)
	return e.Errors[0].Code
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}

// requireNoSecret checks that nothing of an answer shows the secret key.
func requireNoSecret(t *testing.T, secret string, res *http.Response, body string) {
	t.Helper()
	for name, values := range res.Header {
		for _, v := range values {
			require.NotContains(t, v, secret, "header %s", name)
		}
	}
	for name, values := range res.Trailer {
		for _, v := range values {
			require.NotContains(t, v, secret, "trailer %s", name)
		}
	}
	require.NotContains(t, body, secret)
}

// TestForwardsWithClerksHeaders: a request under the proxy's path reaches
// the Frontend API at the same path and query, with Clerk's proxy headers
// set by the proxy, whatever the client sent in their place, and without
// hop-by-hop headers or the client's own claims about its address.
func TestForwardsWithClerksHeaders(t *testing.T) {
	t.Parallel()
	a, fake := startWithFake(t, nil)
	res := a.do(t, http.MethodGet, "/__clerk/.well-known/jwks.json?_clerk_js_version=5.0.0&x=a%2Fb", nil, http.Header{
		"Clerk-Secret-Key":    {"sk_test_forgedbytheclient"},
		"Clerk-Proxy-Url":     {"https://evil.example/__clerk"},
		"X-Forwarded-For":     {"203.0.113.9"},
		"X-Forwarded-Host":    {"evil.example"},
		"X-Forwarded-Proto":   {"https"},
		"Forwarded":           {"for=203.0.113.9;host=evil.example"},
		"X-Real-Ip":           {"203.0.113.9"},
		"Cf-Connecting-Ip":    {"203.0.113.9"},
		"Connection":          {"X-Hop"},
		"X-Hop":               {"connection-only"},
		"Proxy-Authorization": {"Basic c2VjcmV0"},
		"Cookie":              {"__client_uat=1; __session=abc"},
		"Origin":              {"http://localhost:3000"},
		"User-Agent":          {"browser/1.0"},
	})
	body := readAll(t, res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Contains(t, body, `"keys"`)
	requireNoSecret(t, fake.SecretKey(), res, body)

	got, ok := fake.LastRequest(clerktest.RouteFrontendJWKS)
	require.True(t, ok)
	u, err := url.Parse(fake.FrontendURL())
	require.NoError(t, err)
	app, err := url.Parse(a.url)
	require.NoError(t, err)
	require.Equal(t, u.Host, got.Host)
	require.Equal(t, "/.well-known/jwks.json", got.Path)
	require.Equal(t, url.Values{"_clerk_js_version": {"5.0.0"}, "x": {"a/b"}}, got.Query)
	h := got.Header
	require.Equal(t, a.proxyURL, h.Get("Clerk-Proxy-Url"))
	require.Equal(t, fake.SecretKey(), h.Get("Clerk-Secret-Key"))
	require.Equal(t, []string{"127.0.0.1"}, h.Values("X-Forwarded-For"), "the peer, not the client's claim")
	require.Equal(t, app.Host, h.Get("X-Forwarded-Host"))
	require.Equal(t, "http", h.Get("X-Forwarded-Proto"))
	for _, name := range []string{"Forwarded", "X-Real-Ip", "Cf-Connecting-Ip", "X-Hop", "Proxy-Authorization", "Upgrade"} {
		require.Empty(t, h.Values(name), name)
	}
	require.Equal(t, "__client_uat=1; __session=abc", h.Get("Cookie"))
	require.Equal(t, "http://localhost:3000", h.Get("Origin"))
	require.Equal(t, "browser/1.0", h.Get("User-Agent"))
}

// TestTrustedProxyNamesTheClient: behind a trusted proxy, Clerk hears of
// the rightmost hop that proxy did not write, not the client's own claim.
func TestTrustedProxyNamesTheClient(t *testing.T) {
	t.Parallel()
	a, fake := startWithFake(t, func(c *fapiproxy.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	res := a.do(t, http.MethodGet, "/__clerk/.well-known/jwks.json", nil, http.Header{
		"X-Forwarded-For": {"6.6.6.6, 198.51.100.7", "10.1.2.3"},
	})
	require.Equal(t, http.StatusOK, res.StatusCode)
	got, ok := fake.LastRequest(clerktest.RouteFrontendJWKS)
	require.True(t, ok)
	require.Equal(t, []string{"198.51.100.7"}, got.Header.Values("X-Forwarded-For"))
}

// TestSignInThroughTheProxy walks the fake's sign-in and handshake through
// the proxy as a browser would: the sign-in form posts back through it,
// the Frontend API's client cookie comes back on the app's origin, and
// the handshake finds the client by it.
func TestSignInThroughTheProxy(t *testing.T) {
	t.Parallel()
	a, fake := startWithFake(t, nil)
	back := "http://localhost:3000/dashboard"

	res := a.do(t, http.MethodGet, "/__clerk/sign-in?"+url.Values{"redirect_url": {back}}.Encode(), nil, nil)
	page := readAll(t, res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, page)
	require.Contains(t, page, `action="`+a.proxyURL+`/sign-in"`, "it posts back through the proxy")

	form := url.Values{"redirect_url": {back}, "user_id": {"user_proxied"}}
	res = a.do(t, http.MethodPost, "/__clerk/sign-in", strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, readAll(t, res.Body))
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, back, loc.Scheme+"://"+loc.Host+loc.Path, "a redirect to the app passes as it is")
	devBrowser := loc.Query().Get("__clerk_db_jwt")
	require.NotEmpty(t, devBrowser)
	var client *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "__client" {
			client = c
		}
	}
	require.NotNil(t, client, "the Frontend API's client cookie reaches the browser")

	hs := url.Values{"redirect_url": {back}, "format": {"nonce"}}
	res = a.do(t, http.MethodGet, "/__clerk/v1/client/handshake?"+hs.Encode(), nil,
		http.Header{"Cookie": {client.Name + "=" + client.Value}})
	require.Equal(t, http.StatusTemporaryRedirect, res.StatusCode, readAll(t, res.Body))
	loc, err = url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	nonce := loc.Query().Get("__clerk_handshake_nonce")
	require.NotEmpty(t, nonce)

	// The app trades the nonce for the cookies: a session of the user the
	// form named (so its body went through), issued by the proxy's URL.
	req, err := http.NewRequest(http.MethodGet, fake.URL()+"/v1/clients/handshake_payload?nonce="+nonce, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+fake.SecretKey())
	res, err = a.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var payload struct{ Directives []string }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&payload))
	var claims map[string]any
	for _, d := range payload.Directives {
		if token, ok := strings.CutPrefix(d, "__session="); ok {
			token, _, _ = strings.Cut(token, ";")
			parts := strings.Split(token, ".")
			require.Len(t, parts, 3)
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &claims))
		}
	}
	require.Equal(t, "user_proxied", claims["sub"])
	require.Equal(t, a.proxyURL, claims["iss"])
}

// TestFrontendAPIRefusesAnotherKey: the fake, like Clerk, serves a proxied
// request only with the instance's secret key; the proxy passes its
// refusal on.
func TestFrontendAPIRefusesAnotherKey(t *testing.T) {
	t.Parallel()
	a, fake := startWithFake(t, func(c *fapiproxy.Config) { c.SecretKey = "sk_test_notthisinstancekey" })
	res := a.do(t, http.MethodGet, "/__clerk/.well-known/jwks.json", nil, nil)
	body := readAll(t, res.Body)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Equal(t, clerktest.CodeClerkKeyInvalid, errorCode(t, body))
	requireNoSecret(t, "sk_test_notthisinstancekey", res, body)
	_ = fake
}

// TestRefusesOpenProxyRequests: requests that try to leave the proxy's
// path, reach another host, or use a method that echoes or tunnels are
// refused with a 4xx before anything reaches Clerk; a forged host or an
// absolute-form target still goes to Clerk's Frontend API only.
func TestRefusesOpenProxyRequests(t *testing.T) {
	t.Parallel()
	a, fake := startWithFake(t, nil)
	host := strings.TrimPrefix(a.url, "http://")
	for _, tc := range []struct {
		name, target string
		method       string
		status       int
		code         string
	}{
		{"outside the prefix", "/other", "GET", 400, "proxy_path_mismatch"},
		{"a longer prefix", "/__clerkx/v1/client", "GET", 400, "proxy_path_mismatch"},
		{"dot dot", "/__clerk/../admin", "GET", 400, "proxy_path_invalid"},
		{"dot dot at the end", "/__clerk/v1/..", "GET", 400, "proxy_path_invalid"},
		{"dot", "/__clerk/./v1/client", "GET", 400, "proxy_path_invalid"},
		{"encoded dot dot", "/__clerk/%2e%2E/admin", "GET", 400, "proxy_path_invalid"},
		{"encoded slash", "/__clerk/v1%2f..%2fadmin", "GET", 400, "proxy_path_invalid"},
		{"encoded backslash", "/__clerk/v1%5cadmin", "GET", 400, "proxy_path_invalid"},
		{"protocol-relative", "/__clerk//evil.example/x", "GET", 400, "proxy_path_invalid"},
		{"double slash inside", "/__clerk/v1//client", "GET", 400, "proxy_path_invalid"},
		{"encoded NUL", "/__clerk/v1/%00", "GET", 400, "proxy_path_invalid"},
		{"encoded newline", "/__clerk/v1/%0d%0aX-Injected:%201", "GET", 400, "proxy_path_invalid"},
		{"bad escape", "/__clerk/v1/%zz", "GET", 400, ""},
		{"network-path target", "//evil.example/__clerk/x", "GET", 400, "proxy_path_mismatch"},
		{"TRACE echoes the secret key", "/__clerk/v1/client", "TRACE", 405, "proxy_method_not_allowed"},
		{"CONNECT", "evil.example:443", "CONNECT", 405, "proxy_method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fake.Requests(clerktest.AnyRoute)
			res, body := a.raw(t, tc.method+" "+tc.target+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
			require.Equal(t, tc.status, res.StatusCode, body)
			if tc.code != "" {
				require.Equal(t, tc.code, errorCode(t, body))
				require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			}
			requireNoSecret(t, fake.SecretKey(), res, body)
			require.Equal(t, before, fake.Requests(clerktest.AnyRoute), "nothing reached Clerk")
		})
	}

	fapi, err := url.Parse(fake.FrontendURL())
	require.NoError(t, err)
	for _, tc := range []struct{ name, request string }{
		{"absolute-form target", "GET http://evil.example/__clerk/.well-known/jwks.json HTTP/1.1\r\nHost: evil.example\r\n"},
		{"forged Host", "GET /__clerk/.well-known/jwks.json HTTP/1.1\r\nHost: evil.example\r\n"},
		{"upgrade", "GET /__clerk/.well-known/jwks.json HTTP/1.1\r\nHost: " + host + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fake.Requests(clerktest.RouteFrontendJWKS)
			res, body := a.raw(t, tc.request+"Connection: close\r\n\r\n")
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			require.Equal(t, before+1, fake.Requests(clerktest.RouteFrontendJWKS))
			got, _ := fake.LastRequest(clerktest.RouteFrontendJWKS)
			require.Equal(t, fapi.Host, got.Host, "to Clerk's Frontend API only")
			require.Empty(t, got.Header.Get("Upgrade"))
		})
	}
}

// TestRefusesLargeBodies: a body over MaxRequestBody is refused with 413,
// declared or streamed (chunked, no length), and the streamed one never
// reaches the Frontend API whole.
func TestRefusesLargeBodies(t *testing.T) {
	t.Parallel()
	a, fake := startWithFake(t, func(c *fapiproxy.Config) { c.MaxRequestBody = 1 << 10 })
	big := strings.Repeat("x", 64<<10)

	before := fake.Requests(clerktest.AnyRoute)
	res := a.do(t, http.MethodPost, "/__clerk/sign-in", strings.NewReader(big), nil)
	body := readAll(t, res.Body)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, body)
	require.Equal(t, "proxy_request_too_large", errorCode(t, body))
	require.Equal(t, before, fake.Requests(clerktest.AnyRoute))

	// io.MultiReader hides the length: the client sends it chunked.
	res = a.do(t, http.MethodPost, "/__clerk/sign-in", io.MultiReader(strings.NewReader(big)), nil)
	body = readAll(t, res.Body)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, body)
	require.Equal(t, "proxy_request_too_large", errorCode(t, body))

	// Within the bound, a chunked body goes through.
	form := url.Values{"redirect_url": {"http://localhost:3000/"}}.Encode()
	res = a.do(t, http.MethodPost, "/__clerk/sign-in", io.MultiReader(strings.NewReader(form)),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, readAll(t, res.Body))
}

func ExampleNew() {
	fake := clerktest.New()
	defer fake.Close()

	proxy, err := fapiproxy.New(fapiproxy.Config{
		// The same value as the Gate's clerkgate.Config.ProxyURL.
		ProxyURL:       "https://app.example.com/__clerk",
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proxy.Close()
	mux := http.NewServeMux()
	mux.Handle("/__clerk/", proxy)

	// A path outside the proxy's never reaches Clerk.
	rec := httptest.NewRecorder()
	proxy.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/__clerk/../admin", nil))
	fmt.Println(rec.Code)
	// Output: 400
}
