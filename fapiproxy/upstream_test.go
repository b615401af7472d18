package fapiproxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/fapiproxy"
	"github.com/clerkgate/clerkgate/internal/publishable"
	"github.com/clerkgate/clerkgate/internal/testkit"
)

// The tests in this file put a Frontend API of their own behind the proxy,
// one that misbehaves as Clerk's never should, to show what the proxy
// does when it does: the secret key stays between the proxy and it.

const hostileSecret = "sk_test_hostileupstreamsecretkey0123456789"

// startWithUpstream starts the app with the proxy to upstream (TLS, on
// loopback), at base path base ("" for none).
func startWithUpstream(t *testing.T, upstream http.Handler, base string, mutate func(*fapiproxy.Config)) *app {
	t.Helper()
	srv := httptest.NewTLSServer(upstream)
	t.Cleanup(srv.Close)
	t.Cleanup(srv.CloseClientConnections)
	return startApp(t, func(proxyURL string) fapiproxy.Config {
		cfg := fapiproxy.Config{
			ProxyURL:       proxyURL,
			SecretKey:      hostileSecret,
			PublishableKey: publishable.Encode("clerk.example.com", false),
			FrontendAPIURL: srv.URL + base,
			Transport:      srv.Client().Transport,
		}
		if mutate != nil {
			mutate(&cfg)
		}
		return cfg
	})
}

func TestSecretKeyNeverComesBack(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	a := startWithUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Clerk-Secret-Key")
		w.Header().Set("X-Echo", "your key is "+key)
		w.Header().Add("Set-Cookie", "k="+key+"; Path=/")
		w.Header().Add("Set-Cookie", "__client=abc; Path=/")
		w.Header().Set("X-Fine", "kept")
		w.Header().Set("Trailer", "X-Late")
		io.WriteString(w, "ok")
		w.Header().Set("X-Late", key)
	}), "", func(c *fapiproxy.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	res := a.do(t, http.MethodGet, "/__clerk/v1/client", nil, nil)
	body := readAll(t, res.Body) // trailers arrive with the body's end
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "ok", body)
	requireNoSecret(t, hostileSecret, res, body)
	require.Empty(t, res.Header.Values("X-Echo"))
	require.Empty(t, res.Header.Values("Set-Cookie"), "a header with the key goes whole, all its values")
	require.Equal(t, "kept", res.Header.Get("X-Fine"))
	require.Empty(t, res.Trailer.Get("X-Late"))
	// The app hears of it, without the key.
	require.Contains(t, logs.String(), "header=X-Echo")
	require.NotContains(t, logs.String(), hostileSecret)
}

// syncBuffer is a log the proxy writes from its handlers' goroutines.
// syncBuffer collects log lines written from concurrent goroutines.
type syncBuffer = testkit.SyncBuffer

// TestRedirectsAreNotFollowed: the proxy hands a redirect to the browser,
// which goes there without the secret key; the proxy never goes itself.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var evilSaw atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { evilSaw.Add(1) }))
	t.Cleanup(evil.Close)
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		a := startWithUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, evil.URL+"/steal", status)
		}), "", nil)
		res := a.do(t, http.MethodPost, "/__clerk/v1/client/sign_ins", strings.NewReader("identifier=a"), nil)
		require.Equal(t, status, res.StatusCode)
		require.Equal(t, evil.URL+"/steal", res.Header.Get("Location"))
	}
	require.Zero(t, evilSaw.Load(), "the proxy followed a redirect")
}

// TestRedirectsToTheFrontendAPIComeThroughTheProxy: as Clerk's proxy does,
// a Location on the Frontend API (absolute or relative) becomes the same
// path under the proxy, so the browser stays on the app's origin.
func TestRedirectsToTheFrontendAPIComeThroughTheProxy(t *testing.T) {
	t.Parallel()
	var upstreamURL string
	var gotPath string
	a := startWithUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.EscapedPath()
		switch r.URL.Query().Get("to") {
		case "absolute":
			w.Header().Set("Location", upstreamURL+"/base/v1/client/handshake?redirect_url=x#frag")
		case "relative":
			w.Header().Set("Location", "/base/v1/oauth_callback?code=1")
		case "outside-base":
			w.Header().Set("Location", upstreamURL+"/other")
		}
		w.WriteHeader(http.StatusFound)
	}), "/base", func(c *fapiproxy.Config) { upstreamURL = strings.TrimSuffix(c.FrontendAPIURL, "/base") })

	for to, want := range map[string]string{
		"absolute":     a.proxyURL + "/v1/client/handshake?redirect_url=x#frag",
		"relative":     a.proxyURL + "/v1/oauth_callback?code=1",
		"outside-base": upstreamURL + "/other",
	} {
		res := a.do(t, http.MethodGet, "/__clerk/v1/x%20y?to="+to, nil, nil)
		require.Equal(t, http.StatusFound, res.StatusCode)
		require.Equal(t, want, res.Header.Get("Location"), to)
		require.Equal(t, "/base/v1/x%20y", gotPath, "the request's path, on the base path")
	}
}

func TestNoProtocolSwitch(t *testing.T) {
	t.Parallel()
	a := startWithUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		w.WriteHeader(http.StatusSwitchingProtocols)
	}), "", nil)
	res := a.do(t, http.MethodGet, "/__clerk/v1/client", nil, http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}})
	body := readAll(t, res.Body)
	require.Equal(t, http.StatusBadGateway, res.StatusCode, body)
	require.Equal(t, "proxy_request_failed", errorCode(t, body))
}

// TestTimeout: a Frontend API that does not answer in Timeout gets the
// browser a 504, and its request is canceled, not left hanging.
func TestTimeout(t *testing.T) {
	t.Parallel()
	released := make(chan struct{})
	a := startWithUpstream(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(released)
	}), "", func(c *fapiproxy.Config) { c.Timeout = 200 * time.Millisecond })
	res := a.do(t, http.MethodGet, "/__clerk/v1/client", nil, nil)
	body := readAll(t, res.Body)
	require.Equal(t, http.StatusGatewayTimeout, res.StatusCode, body)
	require.Equal(t, "proxy_timeout", errorCode(t, body))
	requireNoSecret(t, hostileSecret, res, body)
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not canceled")
	}
}

// TestTimeoutCutsADrippingBody: Timeout covers the body too, so a Frontend
// API that sends headers and then nothing cannot hold a request.
func TestTimeoutCutsADrippingBody(t *testing.T) {
	t.Parallel()
	a := startWithUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}), "", func(c *fapiproxy.Config) { c.Timeout = 300 * time.Millisecond })
	res := a.do(t, http.MethodGet, "/__clerk/v1/client", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.Error(t, err, "the cut body must not look complete")
	require.Equal(t, "partial", string(body))
}

// TestInFlightBound: past MaxInFlight, a request is refused at once with
// 503 (never queued), and the bound frees as requests end.
func TestInFlightBound(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a := startWithUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/slow" {
			once.Do(func() { close(arrived) })
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "done")
	}), "", func(c *fapiproxy.Config) { c.MaxInFlight = 1 })

	slow := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, a.url+"/__clerk/v1/slow", nil)
		res, err := a.client.Do(req)
		if err != nil {
			slow <- nil
			return
		}
		slow <- res
	}()
	<-arrived
	res := a.do(t, http.MethodGet, "/__clerk/v1/fast", nil, nil)
	body := readAll(t, res.Body)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, body)
	require.Equal(t, "proxy_busy", errorCode(t, body))
	require.Equal(t, "1", res.Header.Get("Retry-After"))

	close(release)
	first := <-slow
	require.NotNil(t, first)
	require.Equal(t, "done", readAll(t, first.Body))
	first.Body.Close()
	res = a.do(t, http.MethodGet, "/__clerk/v1/fast", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
}

func TestUnreachableFrontendAPI(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	transport := srv.Client().Transport
	dead := srv.URL
	srv.Close()
	a := startApp(t, func(proxyURL string) fapiproxy.Config {
		return fapiproxy.Config{
			ProxyURL: proxyURL, SecretKey: hostileSecret, Transport: transport,
			PublishableKey: publishable.Encode("clerk.example.com", false), FrontendAPIURL: dead,
		}
	})
	res := a.do(t, http.MethodGet, "/__clerk/v1/client", nil, nil)
	body := readAll(t, res.Body)
	require.Equal(t, http.StatusBadGateway, res.StatusCode, body)
	require.Equal(t, "proxy_request_failed", errorCode(t, body))
	requireNoSecret(t, hostileSecret, res, body)
}

// TestStreamsBodies: bodies go through whole both ways, larger than any
// buffer, a request body up to MaxRequestBody and a response of any size.
func TestStreamsBodies(t *testing.T) {
	t.Parallel()
	a := startWithUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.New()
		if _, err := io.Copy(sum, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Request-Sha256", hex.EncodeToString(sum.Sum(nil)))
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
		for range 256 {                                         // 16 MiB
			w.Write(chunk)
		}
	}), "", nil)
	in := bytes.Repeat([]byte("z"), 5<<20)
	res := a.do(t, http.MethodPut, "/__clerk/v1/me/profile_image", io.MultiReader(bytes.NewReader(in)), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	sum := sha256.Sum256(in)
	require.Equal(t, hex.EncodeToString(sum[:]), res.Header.Get("X-Request-Sha256"))
	n, err := io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	require.Equal(t, int64(16<<20), n)
}

// BenchmarkForward measures what the proxy adds to a small Frontend API
// exchange over loopback TLS: compare with BenchmarkDirect.
func BenchmarkForward(b *testing.B) { benchmarkExchange(b, true) }

// BenchmarkDirect is the same exchange without the proxy.
func BenchmarkDirect(b *testing.B) { benchmarkExchange(b, false) }

func benchmarkExchange(b *testing.B, proxied bool) {
	upstream := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"client","sessions":[]}`)
	}))
	defer upstream.Close()
	target, client := upstream.URL+"/v1/client", upstream.Client()
	if proxied {
		var proxy *fapiproxy.Proxy
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxy.ServeHTTP(w, r) }))
		defer app.Close()
		var err error
		proxy, err = fapiproxy.New(fapiproxy.Config{
			ProxyURL: app.URL + "/__clerk", SecretKey: hostileSecret, Transport: upstream.Client().Transport,
			PublishableKey: publishable.Encode("clerk.example.com", false), FrontendAPIURL: upstream.URL,
			MaxInFlight: 1024,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer proxy.Close()
		target, client = app.URL+"/__clerk/v1/client", app.Client()
	}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Get(target)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}
