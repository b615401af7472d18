package fapiproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/internal/proxytrust"
	"github.com/clerkgate/clerkgate/internal/publishable"
)

// Config configures a Proxy. ProxyURL, SecretKey and PublishableKey are
// required; the zero value of every other field is a sensible default.
type Config struct {
	// ProxyURL is the proxy's public URL, as browsers reach it (e.g.
	// "https://app.example.com/__clerk"): the same value as the Gate's
	// clerkgate.Config.ProxyURL. Its path is the prefix the proxy serves
	// (requests outside it are refused), and the proxy sends it to Clerk
	// as Clerk-Proxy-Url. Clerk's own proxy derives that header from the
	// request's X-Forwarded-Host and X-Forwarded-Proto, which a client can
	// forge; this one takes it from configuration.
	ProxyURL string

	// SecretKey is the instance's secret key (sk_test_…/sk_live_…). It is
	// sent to the Frontend API, and only there, as Clerk-Secret-Key.
	SecretKey string

	// PublishableKey (pk_test_…/pk_live_…) picks the Frontend API to
	// forward to, as Clerk's proxy does: https://frontend-api.clerk.dev for
	// every instance, except Clerk's own staging and local environments.
	PublishableKey string

	// FrontendAPIURL overrides the Frontend API that PublishableKey picks
	// (Clerk's proxy reads it from CLERK_FAPI_URL): an https URL without
	// user, query or fragment, or an http one on a loopback host, for tests
	// against a local fake (the secret key never travels in clear text to
	// another machine).
	FrontendAPIURL string

	// TrustedProxies are the addresses of the proxies in front of the app
	// whose X-Forwarded-For counts, as in clerkgate.Config: the client's
	// address sent to Clerk is then the rightmost X-Forwarded-For hop that
	// is not one of them. Empty means the client is the peer. Clerk's own
	// proxy believes the first X-Forwarded-For hop (or CF-Connecting-IP, or
	// X-Real-IP), which the client writes; Clerk rate-limits by it.
	TrustedProxies []netip.Prefix

	// Timeout bounds one proxied exchange, from the request to the last
	// byte of the response. Default 30 s.
	Timeout time.Duration

	// MaxRequestBody bounds a request body; a larger one is refused with
	// 413. Default 10 MiB, enough for a profile image upload.
	MaxRequestBody int64

	// MaxInFlight bounds the requests forwarded at once; past it a request
	// is refused with 503 at once, never queued. Default 256.
	MaxInFlight int

	// Transport makes the upstream requests. Nil means a transport of the
	// proxy's own, which Close closes. The proxy never follows redirects
	// whatever the transport (it hands them to the browser).
	Transport http.RoundTripper

	// Logger receives upstream failures. Nil means slog.Default().
	Logger *slog.Logger
}

// Clerk's Frontend APIs for proxies, as @clerk/shared's constants name them.
const (
	prodFrontendAPI    = "https://frontend-api.clerk.dev"
	stagingFrontendAPI = "https://frontend-api.clerkstage.dev"
	localFrontendAPI   = "https://frontend-api.lclclerk.com"
)

const (
	defaultTimeout        = 30 * time.Second
	defaultMaxRequestBody = 10 << 20
	defaultMaxInFlight    = 256
)

// frontendAPIFor is the Frontend API Clerk's proxy forwards to for an
// instance (fapiUrlFromPublishableKey in @clerk/backend): the instance's
// own host is not used, as Clerk routes proxied requests by their
// Clerk-Secret-Key.
func frontendAPIFor(host string) string {
	host = strings.ToLower(host)
	endsWithAny := func(suffixes ...string) bool {
		for _, s := range suffixes {
			if strings.HasSuffix(host, s) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(host, "clerk.") && endsWithAny(".lcl.dev", ".lclstage.dev", ".lclclerk.com"):
		return prodFrontendAPI // legacy development instances
	case endsWithAny(".lcl.dev", "lclstage.dev", ".lclclerk.com", ".accounts.lclclerk.com"):
		return localFrontendAPI
	case endsWithAny(".accountsstage.dev"):
		return stagingFrontendAPI
	}
	return prodFrontendAPI
}

// settings is a validated Config.
type settings struct {
	proxyURL               string // without a trailing slash
	proxyHost, proxyScheme string
	prefix                 string   // ProxyURL's escaped path without a trailing slash: "" or "/__clerk"
	upstream               *url.URL // scheme, host and a base path without a trailing slash
	secret                 string
	trusted                proxytrust.Trust // TrustedProxies
}

func (c Config) validate() (settings, error) {
	var s settings
	if !strings.HasPrefix(c.SecretKey, "sk_test_") && !strings.HasPrefix(c.SecretKey, "sk_live_") {
		return s, errors.New("fapiproxy: SecretKey: want the instance's secret key, sk_test_… or sk_live_…")
	}
	s.secret = c.SecretKey
	pk, err := publishable.Parse(c.PublishableKey)
	if err != nil {
		return s, fmt.Errorf("fapiproxy: PublishableKey: %w", err)
	}
	if pk.Live != strings.HasPrefix(c.SecretKey, "sk_live_") {
		return s, errors.New("fapiproxy: SecretKey and PublishableKey are of different instances (one is live, the other test)")
	}

	p, err := url.Parse(c.ProxyURL)
	switch {
	case c.ProxyURL == "":
		return s, errors.New("fapiproxy: ProxyURL is required, e.g. https://app.example.com/__clerk")
	case err != nil:
		return s, fmt.Errorf("fapiproxy: ProxyURL: %w", err)
	case p.Scheme != "https" && p.Scheme != "http", p.Host == "", p.Opaque != "":
		return s, fmt.Errorf("fapiproxy: ProxyURL %q: want an absolute http(s) URL such as https://app.example.com/__clerk", c.ProxyURL)
	case p.User != nil, p.RawQuery != "", p.ForceQuery, p.Fragment != "":
		return s, fmt.Errorf("fapiproxy: ProxyURL %q: want no user, query or fragment", c.ProxyURL)
	}
	s.prefix = strings.TrimRight(p.EscapedPath(), "/")
	if err := checkPath(s.prefix); err != nil || strings.Contains(s.prefix, "%") {
		return s, fmt.Errorf("fapiproxy: ProxyURL %q: its path must be plain segments such as /__clerk", c.ProxyURL)
	}
	s.proxyURL = p.Scheme + "://" + p.Host + s.prefix
	s.proxyHost, s.proxyScheme = p.Host, p.Scheme

	raw := c.FrontendAPIURL
	if raw == "" {
		raw = frontendAPIFor(pk.Host)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return s, fmt.Errorf("fapiproxy: FrontendAPIURL: %w", err)
	case u.Host == "", u.Opaque != "", u.Scheme != "https" && u.Scheme != "http":
		return s, fmt.Errorf("fapiproxy: FrontendAPIURL %q: want an absolute https URL", raw)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return s, fmt.Errorf("fapiproxy: FrontendAPIURL %q: the secret key goes there; want https (http only on a loopback host)", raw)
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return s, fmt.Errorf("fapiproxy: FrontendAPIURL %q: want no user, query or fragment", raw)
	}
	base := strings.TrimRight(u.EscapedPath(), "/")
	if err := checkPath(base); err != nil || strings.Contains(base, "%") {
		return s, fmt.Errorf("fapiproxy: FrontendAPIURL %q: its path must be plain segments", raw)
	}
	s.upstream = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: base}

	switch {
	case c.Timeout < 0, c.MaxRequestBody < 0, c.MaxInFlight < 0:
		return s, errors.New("fapiproxy: Timeout, MaxRequestBody and MaxInFlight must not be negative (zero means the default)")
	}
	if s.trusted, err = proxytrust.New(false, c.TrustedProxies); err != nil {
		return s, fmt.Errorf("fapiproxy: TrustedProxies: %w", err)
	}
	return s, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
