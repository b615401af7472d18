package clerkotel

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// Span names and metric attributes are built from these: an ID, or
// anything a path may carry that is not a word of Clerk's routes, must
// not get through.
func TestURLTemplate(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"":                                     "/",
		"/":                                    "/",
		"/v1/jwks":                             "/v1/jwks",
		"/.well-known/jwks.json":               "/.well-known/jwks.json",
		"/v1/sessions/sess_2abc/refresh":       "/v1/sessions/{id}/refresh",
		"/v1/sessions/sess_2abc/tokens/my-tpl": "/v1/sessions/{id}/tokens/{id}",
		"/v1/clients/handshake_payload":        "/v1/clients/handshake_payload",
		"/v1/api_keys/ak_123/revoke":           "/v1/api_keys/{id}/revoke",
		"/v1/oauth_applications/access_tokens/verify": "/v1/oauth_applications/access_tokens/verify",
		"/clerk-proxy/v1/jwks":                        "/{id}/v1/jwks",
		"/v1/sessions/eyJhbGciOi.payload.sig":         "/v1/sessions/{id}",
		"/v1//jwks":                                   "/v1/{id}/jwks",
	} {
		require.Equal(t, want, urlTemplate(path), path)
	}
}

func TestRedactedURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://api.clerk.com/v1/jwks":                                         "https://api.clerk.com/v1/jwks",
		"https://api.clerk.com/v1/clients/handshake_payload?nonce=secret_nonce": "https://api.clerk.com/v1/clients/handshake_payload?nonce=REDACTED",
		"https://user:pass@api.clerk.com/v1/jwks?a=1&a=2#frag":                  "https://api.clerk.com/v1/jwks?a=REDACTED",
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, want, redactedURL(u), raw)
	}
}

func TestClerkCode(t *testing.T) {
	t.Parallel()
	require.Equal(t, "refresh_token_not_found", clerkCode("refresh_token_not_found"))
	for _, bad := range []string{"", "Has Capitals", "sess_1; DROP", string(make([]byte, 65)), "ünïcode"} {
		require.Equal(t, "_OTHER", clerkCode(bad), bad)
	}
}
