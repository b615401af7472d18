package jwks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/clerkgate/clerkgate/internal/publishable"
	"github.com/clerkgate/clerkgate/internal/redact"
)

// DefaultAPIURL is Clerk's Backend API base URL, without the /v1.
const DefaultAPIURL = "https://api.clerk.com"

// NewBackendAPI returns a Remote reading the instance's keys from Clerk's
// Backend API ({apiURL}/v1/jwks), authenticated with the secret key.
// apiURL may be empty for DefaultAPIURL; a trailing slash is fine. cfg.URL
// must be left empty. The secret key travels only in the Authorization
// header and never appears in errors or logs.
func NewBackendAPI(ctx context.Context, apiURL, secretKey string, cfg RemoteConfig) (*Remote, error) {
	if cfg.URL != "" {
		return nil, errors.New("jwks: NewBackendAPI builds the URL itself; leave RemoteConfig.URL empty")
	}
	if secretKey == "" {
		return nil, errors.New("jwks: NewBackendAPI: empty secret key")
	}
	for _, c := range secretKey {
		// A secret pasted with a trailing newline or quotes would otherwise
		// surface later as an opaque transport error on every fetch. The
		// key itself is never echoed.
		if c <= ' ' || c > '~' {
			return nil, errors.New("jwks: NewBackendAPI: secret key contains whitespace or non-ASCII characters")
		}
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if err := checkHTTPURL(apiURL); err != nil {
		return nil, fmt.Errorf("jwks: Backend API URL: %w", err)
	}
	if strings.ContainsAny(apiURL, "?#") {
		return nil, fmt.Errorf("jwks: Backend API URL %q: want a base URL without query or fragment", redact.URL(apiURL))
	}
	if u, err := url.Parse(apiURL); err == nil && u.User != nil {
		// The secret key is the Backend API's credential; one in the URL
		// would only ever be sent as Basic auth beside it, and shown
		// wherever the URL is.
		return nil, fmt.Errorf("jwks: Backend API URL %q: want no user or password in it; the secret key authenticates", redact.URL(apiURL))
	}
	cfg.URL = strings.TrimRight(apiURL, "/") + "/v1/jwks"
	cfg.Header = cfg.Header.Clone()
	if cfg.Header == nil {
		cfg.Header = make(http.Header)
	}
	cfg.Header.Set("Authorization", "Bearer "+secretKey)
	return NewRemote(ctx, cfg)
}

// NewFrontendAPI returns a Remote reading the instance's public keys from
// its Frontend API (https://<host>/.well-known/jwks.json), where the host
// is decoded from the publishable key. No secret is needed, which suits
// deployments that only hold the publishable key. cfg.URL must be left
// empty.
func NewFrontendAPI(ctx context.Context, publishableKey string, cfg RemoteConfig) (*Remote, error) {
	if cfg.URL != "" {
		return nil, errors.New("jwks: NewFrontendAPI builds the URL itself; leave RemoteConfig.URL empty")
	}
	pk, err := publishable.Parse(publishableKey)
	if err != nil {
		return nil, fmt.Errorf("jwks: NewFrontendAPI: %w", err)
	}
	cfg.URL = "https://" + pk.Host + "/.well-known/jwks.json"
	return NewRemote(ctx, cfg)
}
