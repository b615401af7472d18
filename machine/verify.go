package machine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Verdicts of the verify calls. A 2xx answer that says the credential is
// revoked or expired is ErrRevoked or ErrExpired; a 400, 404 or 422 is
// ErrNotFound. Every other failure (network, 401, 403, 429, 5xx, an answer
// that does not parse) says nothing about the credential: the caller must
// treat it as an outage.
var (
	ErrNotFound = errors.New("machine: credential not found")
	ErrRevoked  = errors.New("machine: credential revoked")
	ErrExpired  = errors.New("machine: credential expired")
)

// VerifyAPIKey asks Clerk whether secret ("ak_…") is a live API key.
func (cl *Client) VerifyAPIKey(ctx context.Context, secret string) (*Identity, error) {
	if err := checkCredential(secret, APIKeyPrefix); err != nil {
		return nil, err
	}
	var k APIKeyInfo
	err := cl.do(ctx, call{op: "verify api key", method: http.MethodPost, path: "/v1/api_keys/verify",
		body: map[string]string{"secret": secret}}, &k)
	if err != nil {
		return nil, verdict(err)
	}
	if k.ID == "" || k.Subject == "" {
		return nil, fmt.Errorf("machine: verify api key: %w: no id or subject", ErrUnexpectedResponse)
	}
	if err := flags(k.Revoked, k.Expired); err != nil {
		return nil, err
	}
	return &Identity{Type: APIKey, ID: k.ID, Subject: k.Subject, Scopes: nonNil(k.Scopes), Name: k.Name,
		ExpiresAt: clerkTime(k.Expiration), claims: string(k.Claims)}, nil
}

// VerifyM2MToken asks Clerk whether token ("mt_…") is a live M2M token.
// With a MachineSecretKey the call sees only tokens that machine may use.
func (cl *Client) VerifyM2MToken(ctx context.Context, token string) (*Identity, error) {
	if err := checkCredential(token, M2MTokenPrefix); err != nil {
		return nil, err
	}
	var t M2MTokenInfo
	err := cl.do(ctx, call{op: "verify m2m token", method: http.MethodPost, path: "/v1/m2m_tokens/verify",
		body: map[string]string{"token": token}, machineKey: true}, &t)
	if err != nil {
		return nil, verdict(err)
	}
	if t.ID == "" || t.Subject == "" {
		return nil, fmt.Errorf("machine: verify m2m token: %w: no id or subject", ErrUnexpectedResponse)
	}
	if err := flags(t.Revoked, t.Expired); err != nil {
		return nil, err
	}
	return &Identity{Type: M2MToken, ID: t.ID, Subject: t.Subject, Scopes: nonNil(t.Scopes),
		ExpiresAt: clerkTime(t.Expiration), claims: string(t.Claims)}, nil
}

// VerifyOAuthToken asks Clerk whether token ("oat_…") is a live OAuth
// access token. Clerk's {"active":false} is ErrExpired.
func (cl *Client) VerifyOAuthToken(ctx context.Context, token string) (*Identity, error) {
	if err := checkCredential(token, OAuthTokenPrefix); err != nil {
		return nil, err
	}
	var t oauthTokenJSON
	err := cl.do(ctx, call{op: "verify oauth token", method: http.MethodPost, path: "/v1/oauth_applications/access_tokens/verify",
		body: map[string]string{"access_token": token}}, &t)
	if err != nil {
		return nil, verdict(err)
	}
	if t.Active != nil && !*t.Active {
		return nil, ErrExpired
	}
	if t.ID == "" || t.Subject == "" {
		return nil, fmt.Errorf("machine: verify oauth token: %w: no id or subject", ErrUnexpectedResponse)
	}
	if err := flags(t.Revoked, t.Expired); err != nil {
		return nil, err
	}
	return &Identity{Type: OAuthToken, ID: t.ID, Subject: t.Subject, Scopes: nonNil(t.Scopes), ClientID: t.ClientID,
		ExpiresAt: clerkTime(t.Expiration)}, nil
}

// MaxCredentialSize is the longest opaque credential sent to Clerk. Clerk's
// are well under 100 bytes; anything longer is refused without a call.
const MaxCredentialSize = 512

// checkCredential refuses, before any call, what cannot be a credential of
// the given prefix: too long, or a byte outside the base64url alphabet.
func checkCredential(s, prefix string) error {
	if !strings.HasPrefix(s, prefix) || len(s) == len(prefix) {
		return fmt.Errorf("%w: want a credential starting %q", ErrInvalidInput, prefix)
	}
	if len(s) > MaxCredentialSize {
		return fmt.Errorf("%w: credential is %d bytes, over %d", ErrInvalidInput, len(s), MaxCredentialSize)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: credential has a byte outside [A-Za-z0-9_-] at offset %d", ErrInvalidInput, i)
		}
	}
	return nil
}

// verdict turns Clerk's refusals of a credential into ErrNotFound; other
// failures pass through unchanged.
func verdict(err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		switch apiErr.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
	}
	return err
}

// flags takes the verdict from Clerk's own flags, never from a timestamp
// whose unit is in doubt.
func flags(revoked, expired bool) error {
	switch {
	case revoked:
		return ErrRevoked
	case expired:
		return ErrExpired
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
