package fapiproxy

import (
	"github.com/clerkgate/clerkgate/internal/proxytrust"

	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Proxy forwards requests under its path to Clerk's Frontend API. It is an
// http.Handler, safe for concurrent use. Close it when done.
type Proxy struct {
	s          settings
	trusted    proxytrust.Trust
	timeout    time.Duration
	maxBody    int64
	slots      chan struct{} // one per request in flight
	rp         *httputil.ReverseProxy
	ownedTrans *http.Transport // nil when Config.Transport was given
	log        *slog.Logger
}

// New validates cfg and returns a Proxy. Bad configuration (a missing or
// malformed key, keys of two instances, a ProxyURL that is not an absolute
// http(s) URL, a FrontendAPIURL that would send the secret key in clear
// text) fails here, never on a request.
func New(cfg Config) (*Proxy, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		s:       s,
		trusted: s.trusted,
		timeout: cmp.Or(cfg.Timeout, defaultTimeout),
		maxBody: cmp.Or(cfg.MaxRequestBody, defaultMaxRequestBody),
		slots:   make(chan struct{}, cmp.Or(cfg.MaxInFlight, defaultMaxInFlight)),
		log:     cmp.Or(cfg.Logger, slog.Default()),
	}
	transport := cfg.Transport
	if transport == nil {
		p.ownedTrans = newTransport(p.timeout)
		transport = p.ownedTrans
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.upstreamFailed,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		BufferPool:     newBufferPool(),
	}
	return p, nil
}

func newTransport(timeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// bufferPool reuses the buffers that copy response bodies, which
// ReverseProxy otherwise allocates (32 KiB) for every request.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (p *bufferPool) Get() []byte { return *p.pool.Get().(*[]byte) }

func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// Close closes the idle upstream connections of the proxy's own transport.
// Requests in flight finish; the Proxy still serves after Close, opening
// new connections.
func (p *Proxy) Close() {
	if p.ownedTrans != nil {
		p.ownedTrans.CloseIdleConnections()
	}
}

// methods are the ones clerk-js uses. TRACE would have a server echo the
// request, secret key and all; CONNECT would make a tunnel.
var methods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

// ServeHTTP forwards r to the Frontend API, or refuses it with a 4xx (a
// path outside the proxy's, a refused method, a body too large), a 503
// (too many requests in flight) or, when the Frontend API fails, a 502 or
// 504, each with a JSON body like Clerk's: {"errors":[{"code","message"}]}.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowedMethod(r.Method) {
		w.Header().Set("Allow", methods)
		writeError(w, http.StatusMethodNotAllowed, "proxy_method_not_allowed",
			fmt.Sprintf("method %s is not proxied to Clerk's Frontend API", r.Method))
		return
	}
	target, err := p.s.upstreamPath(r.URL.EscapedPath())
	switch {
	case errors.Is(err, errPathMismatch):
		writeError(w, http.StatusBadRequest, "proxy_path_mismatch",
			fmt.Sprintf("request path does not match proxy path %q", cmp.Or(p.s.prefix, "/")))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "proxy_path_invalid", "request path is not forwarded: "+err.Error())
		return
	}
	if r.ContentLength > p.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "proxy_request_too_large", p.tooLarge())
		return
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "proxy_busy", "too many requests to Clerk's Frontend API in flight; try again shortly")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	out := r.WithContext(context.WithValue(ctx, targetKey{}, target))
	if r.Body != nil && r.Body != http.NoBody {
		out.Body = http.MaxBytesReader(w, r.Body, p.maxBody)
	}
	p.rp.ServeHTTP(w, out)
}

func allowedMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func (p *Proxy) tooLarge() string {
	return "request body larger than " + strconv.FormatInt(p.maxBody, 10) + " bytes"
}

// targetKey carries the checked upstream path from ServeHTTP to rewrite.
type targetKey struct{}

// clientHeaders name the client's address in ways Clerk's proxy and
// Frontend API may read; the client writes them, so only the proxy's own
// X-Forwarded-For goes upstream.
var clientHeaders = []string{"X-Real-Ip", "Cf-Connecting-Ip", "True-Client-Ip", "Forwarded"}

// rewrite builds the upstream request: the Frontend API's host and the
// checked path (nothing of the request's host or authority), the query as
// it came, the client's headers less hop-by-hop and forwarding ones (the
// ReverseProxy drops those before rewrite runs), and the headers Clerk's
// proxy adds.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	target, _ := pr.In.Context().Value(targetKey{}).(string)
	u := *p.s.upstream
	u.Path, _ = url.PathUnescape(target) // upstreamPath checked it unescapes
	u.RawPath = target
	u.RawQuery = pr.In.URL.RawQuery
	pr.Out.URL = &u
	pr.Out.Host = "" // the Host header is u.Host

	h := pr.Out.Header
	// No protocol switch: a tunnel would outlive every bound here.
	h.Del("Upgrade")
	h.Del("Connection")
	for _, name := range clientHeaders {
		h.Del(name)
	}
	h.Set("Clerk-Proxy-Url", p.s.proxyURL)
	h.Set("Clerk-Secret-Key", p.s.secret)
	h.Set("X-Forwarded-Host", p.s.proxyHost)
	h.Set("X-Forwarded-Proto", p.s.proxyScheme)
	if ip := p.trusted.ClientIP(pr.In); ip != "" {
		h.Set("X-Forwarded-For", ip)
	}
}

var errUpgrade = errors.New("fapiproxy: the Frontend API switched protocols, which the proxy does not forward")

// modifyResponse makes the Frontend API's answer the browser's: redirects
// to the Frontend API come back through the proxy, and no header or
// trailer that could carry the secret key passes.
func (p *Proxy) modifyResponse(res *http.Response) error {
	if res.StatusCode == http.StatusSwitchingProtocols {
		return errUpgrade
	}
	for name, values := range res.Header {
		for _, v := range values {
			if strings.Contains(v, p.s.secret) {
				p.log.Error("fapiproxy: the Frontend API answered with the secret key in a header; header dropped", "header", name)
				delete(res.Header, name)
				break
			}
		}
	}
	// Trailers arrive with the body's end, past the check above; the
	// Frontend API sends none, so none pass.
	res.Trailer = nil
	res.Body = upstreamBody{res.Body, res}
	if loc := res.Header.Get("Location"); loc != "" {
		if rewritten, ok := p.throughProxy(loc); ok {
			res.Header.Set("Location", rewritten)
		}
	}
	return nil
}

// upstreamBody is the Frontend API's body as the browser gets it. Its
// trailers are forgotten as it closes: the transport fills them in as it
// reads the body's end, and ReverseProxy sends what is left after it
// closes the body. And an end read after Timeout is the cut it is: the
// transport's cancel races the Frontend API's own last chunk (the Frontend
// API may end its body on seeing the connection go), and a body the
// timeout cut must not reach the browser looking complete.
type upstreamBody struct {
	io.ReadCloser
	res *http.Response
}

func (b upstreamBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && b.res.Request != nil { // a RoundTripper of the app's may leave Request unset
		if cut := b.res.Request.Context().Err(); cut != nil {
			return n, cut
		}
	}
	return n, err
}

func (b upstreamBody) Close() error {
	err := b.ReadCloser.Close()
	b.res.Trailer = nil
	return err
}

// throughProxy maps a redirect to the Frontend API (absolute, or relative
// to it) onto the proxy's URL, as Clerk's proxy does; other redirects,
// such as back to the app, pass as they are.
func (p *Proxy) throughProxy(loc string) (string, bool) {
	u, err := p.s.upstream.Parse(loc)
	if err != nil || !strings.EqualFold(u.Host, p.s.upstream.Host) {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), p.s.upstream.Path)
	if !ok || rest != "" && rest[0] != '/' {
		return "", false
	}
	out := p.s.proxyURL + rest
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	return out, true
}

// upstreamFailed answers a request the Frontend API did not: 413 for a
// body that grew past the bound while streaming, 504 when the exchange
// outlived Timeout, 502 otherwise. The message names no upstream detail.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "proxy_request_too_large", p.tooLarge())
	case errors.Is(r.Context().Err(), context.Canceled):
		// The client left; nobody reads the answer.
		writeError(w, http.StatusBadGateway, "proxy_request_failed", "the request was canceled")
	case errors.Is(r.Context().Err(), context.DeadlineExceeded):
		p.log.Warn("fapiproxy: Clerk's Frontend API did not answer in time", "timeout", p.timeout, "path", r.URL.Path)
		writeError(w, http.StatusGatewayTimeout, "proxy_timeout", "Clerk's Frontend API did not answer in time")
	default:
		p.log.Warn("fapiproxy: request to Clerk's Frontend API failed", "error", err, "path", r.URL.Path)
		writeError(w, http.StatusBadGateway, "proxy_request_failed", "failed to proxy the request to Clerk's Frontend API")
	}
}
