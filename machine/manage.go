package machine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
)

var (
	// subjectPattern is the spec's pattern for an API key's subject.
	subjectPattern = regexp.MustCompile(`^(user|org|mch|scim)_\w{27}$`)
	// machinePattern is the spec's pattern for a machine id.
	machinePattern = regexp.MustCompile(`^mch_\w{27}$`)
	// objectID is the spec's pattern for API key and M2M token ids.
	apiKeyID   = regexp.MustCompile(`^ak_[0-9A-Fa-f]{32}$`)
	m2mTokenID = regexp.MustCompile(`^mt_[0-9A-Fa-f]{32}$`)
)

// CreateAPIKeyParams describes a new API key.
type CreateAPIKeyParams struct {
	// Name (required, at least 3 characters) and Subject (required: a
	// "user_", "org_", "mch_" or "scim_" id) say what the key is for and
	// whom it acts for.
	Name    string
	Subject string
	// Description, Scopes and Claims are optional; Claims is any JSON value.
	Description string
	Scopes      []string
	Claims      any
	// SecondsUntilExpiration, when positive, makes the key expire.
	SecondsUntilExpiration int64
}

// CreateAPIKey creates an API key; the answer's Secret is the key.
func (cl *Client) CreateAPIKey(ctx context.Context, p CreateAPIKeyParams) (*APIKeyInfo, error) {
	if len(p.Name) < 3 {
		return nil, fmt.Errorf("%w: name must have at least 3 characters", ErrInvalidInput)
	}
	if !subjectPattern.MatchString(p.Subject) {
		return nil, fmt.Errorf("%w: subject %q is not a user_, org_, mch_ or scim_ id", ErrInvalidInput, truncate(p.Subject))
	}
	if p.SecondsUntilExpiration < 0 {
		return nil, fmt.Errorf("%w: seconds until expiration is negative", ErrInvalidInput)
	}
	body := map[string]any{"name": p.Name, "subject": p.Subject, "scopes": nonNil(p.Scopes)}
	if p.Description != "" {
		body["description"] = p.Description
	}
	if p.Claims != nil {
		body["claims"] = p.Claims
	}
	if p.SecondsUntilExpiration > 0 {
		body["seconds_until_expiration"] = p.SecondsUntilExpiration
	}
	var k APIKeyInfo
	if err := cl.do(ctx, call{op: "create api key", method: http.MethodPost, path: "/v1/api_keys", body: body}, &k); err != nil {
		return nil, err
	}
	if k.Secret == "" || k.ID == "" {
		return nil, fmt.Errorf("machine: create api key: %w: no id or secret", ErrUnexpectedResponse)
	}
	return &k, nil
}

// ListParams pages through a list; zero values mean Clerk's defaults.
type ListParams struct {
	Limit, Offset int
	// IncludeInvalid lists revoked and expired credentials too.
	IncludeInvalid bool
}

func (p ListParams) query(subject string) (url.Values, error) {
	if p.Limit < 0 || p.Limit > 100 || p.Offset < 0 {
		return nil, fmt.Errorf("%w: limit must be 0..100 and offset not negative", ErrInvalidInput)
	}
	q := url.Values{"subject": {subject}}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	return q, nil
}

// ListAPIKeys lists the API keys of subject, and the total count.
func (cl *Client) ListAPIKeys(ctx context.Context, subject string, p ListParams) ([]APIKeyInfo, int, error) {
	if !subjectPattern.MatchString(subject) {
		return nil, 0, fmt.Errorf("%w: subject %q is not a user_, org_, mch_ or scim_ id", ErrInvalidInput, truncate(subject))
	}
	q, err := p.query(subject)
	if err != nil {
		return nil, 0, err
	}
	if p.IncludeInvalid {
		q.Set("include_invalid", "true")
	}
	var page struct {
		Data       []APIKeyInfo `json:"data"`
		TotalCount int          `json:"total_count"`
	}
	if err := cl.do(ctx, call{op: "list api keys", method: http.MethodGet, path: "/v1/api_keys", query: q}, &page); err != nil {
		return nil, 0, err
	}
	return page.Data, page.TotalCount, nil
}

// RevokeAPIKey revokes the API key id ("ak_" and 32 hex digits), then
// calls Config.OnRevoked. A Verifier that cached the key keeps accepting
// it until its entry lapses (VerifierConfig.MaxAge), unless told with
// Verifier.ForgetID, as the hook of clerkgate's Gate.Machines does.
func (cl *Client) RevokeAPIKey(ctx context.Context, id, reason string) (*APIKeyInfo, error) {
	if !apiKeyID.MatchString(id) {
		return nil, fmt.Errorf("%w: api key id %q is not ak_ and 32 hex digits", ErrInvalidInput, truncate(id))
	}
	var k APIKeyInfo
	err := cl.do(ctx, call{op: "revoke api key", method: http.MethodPost, path: "/v1/api_keys/" + id + "/revoke",
		body: map[string]any{"revocation_reason": optional(reason)}}, &k)
	cl.revoked(id, err)
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// TokenFormat is how Clerk issues an M2M token.
type TokenFormat string

// The M2M token formats: opaque ("mt_…", verified by the Backend API,
// revocable) or JWT (verified locally, not revocable).
const (
	FormatOpaque TokenFormat = "opaque"
	FormatJWT    TokenFormat = "jwt"
)

// CreateM2MTokenParams describes a new M2M token. Clerk issues it to the
// machine whose MachineSecretKey the Client holds.
type CreateM2MTokenParams struct {
	// Format is FormatOpaque (the default) or FormatJWT.
	Format TokenFormat
	// SecondsUntilExpiration, when positive, overrides the machine's
	// default lifetime.
	SecondsUntilExpiration int64
	// Claims is any JSON value carried by the token.
	Claims any
}

// CreateM2MToken creates an M2M token with the Client's MachineSecretKey;
// the answer's Token is the credential.
func (cl *Client) CreateM2MToken(ctx context.Context, p CreateM2MTokenParams) (*M2MTokenInfo, error) {
	if cl.machineKey == "" {
		return nil, fmt.Errorf("%w: creating an M2M token needs Config.MachineSecretKey", ErrInvalidInput)
	}
	switch p.Format {
	case "":
		p.Format = FormatOpaque
	case FormatOpaque, FormatJWT:
	default:
		return nil, fmt.Errorf("%w: token format %q is not opaque or jwt", ErrInvalidInput, truncate(string(p.Format)))
	}
	if p.SecondsUntilExpiration < 0 {
		return nil, fmt.Errorf("%w: seconds until expiration is negative", ErrInvalidInput)
	}
	body := map[string]any{"token_format": p.Format}
	if p.SecondsUntilExpiration > 0 {
		body["seconds_until_expiration"] = p.SecondsUntilExpiration
	}
	if p.Claims != nil {
		body["claims"] = p.Claims
	}
	var t M2MTokenInfo
	err := cl.do(ctx, call{op: "create m2m token", method: http.MethodPost, path: "/v1/m2m_tokens", body: body, machineKey: true}, &t)
	if err != nil {
		return nil, err
	}
	if t.Token == "" {
		return nil, fmt.Errorf("machine: create m2m token: %w: no token", ErrUnexpectedResponse)
	}
	return &t, nil
}

// ListM2MTokens lists the opaque M2M tokens of machine subject ("mch_…"),
// and the total count. JWT-format tokens are not stored and never listed.
func (cl *Client) ListM2MTokens(ctx context.Context, subject string, p ListParams) ([]M2MTokenInfo, int, error) {
	if !machinePattern.MatchString(subject) {
		return nil, 0, fmt.Errorf("%w: subject %q is not a machine id", ErrInvalidInput, truncate(subject))
	}
	q, err := p.query(subject)
	if err != nil {
		return nil, 0, err
	}
	if p.IncludeInvalid {
		q.Set("revoked", "true")
		q.Set("expired", "true")
	}
	var page struct {
		Tokens     []M2MTokenInfo `json:"m2m_tokens"`
		TotalCount int            `json:"total_count"`
	}
	err = cl.do(ctx, call{op: "list m2m tokens", method: http.MethodGet, path: "/v1/m2m_tokens", query: q, machineKey: true}, &page)
	if err != nil {
		return nil, 0, err
	}
	return page.Tokens, page.TotalCount, nil
}

// RevokeM2MToken revokes the opaque M2M token id ("mt_" and 32 hex
// digits), then calls Config.OnRevoked. Caches keep it until their
// entries lapse, unless told with Verifier.ForgetID, as the hook of
// clerkgate's Gate.Machines does.
func (cl *Client) RevokeM2MToken(ctx context.Context, id, reason string) (*M2MTokenInfo, error) {
	if !m2mTokenID.MatchString(id) {
		return nil, fmt.Errorf("%w: m2m token id %q is not mt_ and 32 hex digits", ErrInvalidInput, truncate(id))
	}
	var t M2MTokenInfo
	err := cl.do(ctx, call{op: "revoke m2m token", method: http.MethodPost, path: "/v1/m2m_tokens/" + id + "/revoke",
		body: map[string]any{"revocation_reason": optional(reason)}, machineKey: true}, &t)
	cl.revoked(id, err)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// revoked tells Config.OnRevoked of a revocation Clerk accepted: on
// success, and on a 200 whose body does not decode (the credential is
// revoked all the same; forgetting a cached verdict only costs a check).
func (cl *Client) revoked(id string, err error) {
	if cl.onRevoked != nil && (err == nil || errors.Is(err, errUndecodable)) {
		cl.onRevoked(id)
	}
}

func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
