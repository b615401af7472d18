package session

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/clerkgate/clerkgate/internal/version"
)

const (
	// DefaultAPIURL is Clerk's Backend API, without the /v1 path prefix
	// (the same form as the CLERK_API_URL environment variable).
	DefaultAPIURL = "https://api.clerk.com"
	// DefaultAPIVersion is the Backend API version this package was written
	// against; it decides the shape of every answer.
	DefaultAPIVersion = "2026-05-12"
	// DefaultTimeout bounds each HTTP attempt of the default client, so a
	// hung connection cannot hold a request forever when the caller's
	// context has no deadline.
	DefaultTimeout = 10 * time.Second
)

// Config sets up a Client. Only SecretKey is required; every zero value
// means a sensible default.
type Config struct {
	// SecretKey is the instance's secret key (sk_test_… or sk_live_…),
	// sent as a bearer token. It is required: the Backend API answers
	// nothing without it.
	SecretKey string

	// APIURL is the Backend API's base URL without /v1, such as
	// "https://api.clerk.com" (the default). Tests point it at a fake
	// backend; it must be an absolute http or https URL.
	APIURL string

	// HTTPClient sends the requests. The default is a new client with a
	// 10 s timeout that does not follow redirects; http.DefaultClient is
	// never used, because it has no timeout and is shared, mutable state.
	HTTPClient *http.Client

	// APIVersion is sent as the Clerk-API-Version header and pins the
	// shape of Clerk's answers; default DefaultAPIVersion. Only the header
	// is used, never the __clerk_api_version query, since Clerk refuses
	// requests that carry both.
	APIVersion string

	// OnRevoked, when set, is called after Revoke succeeds with the revoked
	// session's id (also when Clerk's 2xx answer cannot be decoded: the
	// session is revoked all the same). Session tokens stay valid until they expire (up to a
	// minute) because verification is networkless; clerkgate's middleware
	// uses this hook to reject that session's tokens in this process at
	// once. It runs synchronously on the goroutine that called Revoke.
	OnRevoked func(sessionID string)
}

// Client calls the Sessions operations of Clerk's Backend API. It holds no
// mutable state, so one Client is safe for concurrent use and two Clients
// for two Clerk instances never share anything.
type Client struct {
	baseURL   string // scheme://host[/prefix], no trailing slash
	secretKey string
	version   string
	userAgent string
	http      *http.Client
	onRevoked func(string)
	retry     retryPolicy
}

// NewClient checks cfg, fills in its defaults and returns a Client. Errors
// wrap ErrInvalidConfig and never echo the secret key.
func NewClient(cfg Config) (*Client, error) {
	if err := checkSecretKey(cfg.SecretKey); err != nil {
		return nil, err
	}
	base, err := checkAPIURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	apiVersion := cfg.APIVersion
	if apiVersion == "" {
		apiVersion = DefaultAPIVersion
	}
	// Clerk names versions by release date; anything else is a typo that
	// would otherwise surface as a confusing 4xx on every call.
	if _, err := time.Parse(time.DateOnly, apiVersion); err != nil {
		return nil, fmt.Errorf("%w: api version %q: want a release date such as %q", ErrInvalidConfig, truncate(apiVersion), DefaultAPIVersion)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout: DefaultTimeout,
			// The Backend API does not redirect. A redirect means a
			// misconfigured APIURL or something in between; surface it as
			// an APIError instead of re-sending the request elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Client{
		baseURL:   base,
		secretKey: cfg.SecretKey,
		version:   apiVersion,
		userAgent: "clerkgate/" + version.Version,
		http:      hc,
		onRevoked: cfg.OnRevoked,
		retry:     defaultRetryPolicy,
	}, nil
}

func checkSecretKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: secret key is empty", ErrInvalidConfig)
	}
	if !strings.HasPrefix(key, "sk_") {
		// A publishable key (pk_…) here is the classic mix-up; say so
		// without printing the value.
		return fmt.Errorf("%w: secret key must start with \"sk_\" (sk_test_… or sk_live_)", ErrInvalidConfig)
	}
	for _, r := range key {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%w: secret key contains whitespace or control characters", ErrInvalidConfig)
		}
	}
	return nil
}

// checkAPIURL returns the base URL the request paths are appended to.
func checkAPIURL(raw string) (string, error) {
	if raw == "" {
		return DefaultAPIURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: api url %q: %v", ErrInvalidConfig, truncate(raw), err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: api url %q: want an absolute http or https URL", ErrInvalidConfig, truncate(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: api url %q: must not carry a query, fragment or credentials", ErrInvalidConfig, truncate(raw))
	}
	base := strings.TrimRight(u.String(), "/")
	if strings.HasSuffix(base, "/v1") {
		// The client adds /v1 itself; accepting it here would silently
		// produce /v1/v1/... and a wall of 404s.
		return "", fmt.Errorf("%w: api url %q: leave out /v1, the client adds it", ErrInvalidConfig, truncate(raw))
	}
	return base, nil
}
