package session

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/clerkgate/clerkgate/internal/backendapi"
)

const (
	// DefaultAPIURL is Clerk's Backend API, without the /v1 path prefix
	// (the same form as the CLERK_API_URL environment variable).
	DefaultAPIURL = backendapi.DefaultURL
	// DefaultAPIVersion is the Backend API version this package was written
	// against; it decides the shape of every answer.
	DefaultAPIVersion = backendapi.DefaultVersion
	// DefaultTimeout bounds each HTTP attempt of the default client, so a
	// hung connection cannot hold a request forever when the caller's
	// context has no deadline.
	DefaultTimeout = backendapi.DefaultTimeout
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
	api       *backendapi.Client
	secretKey string
	onRevoked func(string)
}

// NewClient checks cfg, fills in its defaults and returns a Client. Errors
// wrap ErrInvalidConfig and never echo the secret key.
func NewClient(cfg Config) (*Client, error) {
	if err := checkSecretKey(cfg.SecretKey); err != nil {
		return nil, err
	}
	base, err := backendapi.BaseURL(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
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
	api := backendapi.New(backendapi.Config{
		Package:    "session",
		BaseURL:    base,
		Version:    apiVersion,
		HTTPClient: cfg.HTTPClient,
		MaxBody:    maxBody,
		Unexpected: ErrUnexpectedResponse,
		APIError:   func(f *backendapi.Failure) error { return newAPIError(f) },
	})
	return &Client{api: api, secretKey: cfg.SecretKey, onRevoked: cfg.OnRevoked}, nil
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
