package session

import (
	"github.com/clerkgate/clerkgate/internal/backendapi"

	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Limits the spec puts on parameters, checked before sending so a bad value
// fails fast and locally instead of costing a round trip and a 422.
const (
	// MaxListLimit is the largest page List may ask for.
	MaxListLimit = 500
	// MinTokenLifetime is the shortest TokenParams.ExpiresInSeconds (30 s).
	MinTokenLifetime = 30
	// MaxTokenLifetime is the longest TokenParams.ExpiresInSeconds (10 years).
	MaxTokenLifetime = 315360000
)

// ListParams filters List. At least one of ClientID and UserID is required:
// Clerk deprecated unfiltered listing on 2024-01-01.
type ListParams struct {
	// ClientID lists the sessions of one client (browser/device).
	ClientID string
	// UserID lists the sessions of one user.
	UserID string
	// Status keeps only sessions in this state; empty means all. Any
	// Status constant except StatusPending.
	Status Status
	// Limit is the page size, 1 to MaxListLimit; 0 leaves Clerk's default (10).
	Limit int
	// Offset skips that many sessions, for paging together with Limit.
	Offset int
}

// CreateParams is the body of Create.
type CreateParams struct {
	// UserID is the user to sign in. Required.
	UserID string
	// ActiveOrganizationID, when set, makes that organization active in the
	// new session.
	ActiveOrganizationID string
}

// RefreshParams carries what Refresh needs from the incoming request. The
// first three fields are required.
type RefreshParams struct {
	// ExpiredToken is the expired session JWT from the __session cookie. It
	// must belong to the session being refreshed, and Clerk accepts it only
	// once.
	ExpiredToken string
	// RefreshToken is the value of the __refresh_<suffix> cookie.
	RefreshToken string
	// RequestOrigin is the origin of the app request being served, such as
	// "https://app.example.com".
	RequestOrigin string
	// RequestHeaders are the incoming request's headers, which Clerk uses to
	// vet the refresh; optional.
	RequestHeaders map[string][]string
	// RequestOriginatingIP is the end user's IP address; optional.
	RequestOriginatingIP string
	// Format picks the answer's shape: FormatToken (the default when empty)
	// or FormatCookie.
	Format RefreshFormat
	// SuffixedCookies asks Clerk for suffixed cookie names (__session_<suffix>)
	// in a FormatCookie answer. It travels in the query string: the body's
	// schema forbids unknown fields.
	SuffixedCookies bool
}

// TokenParams tunes CreateToken and CreateTokenFromTemplate.
type TokenParams struct {
	// ExpiresInSeconds overrides the token's lifetime; 0 keeps the
	// default, otherwise it must lie in MinTokenLifetime..MaxTokenLifetime.
	ExpiresInSeconds int
}

// Request bodies: exactly the fields the spec allows per operation, with
// optional ones omitted when empty.

type createBody struct {
	UserID               string `json:"user_id"`
	ActiveOrganizationID string `json:"active_organization_id,omitempty"`
}

type refreshBody struct {
	ExpiredToken         string              `json:"expired_token"`
	RefreshToken         string              `json:"refresh_token"`
	RequestOrigin        string              `json:"request_origin"`
	RequestHeaders       map[string][]string `json:"request_headers,omitempty"`
	RequestOriginatingIP string              `json:"request_originating_ip,omitempty"`
	Format               RefreshFormat       `json:"format,omitempty"`
}

type verifyBody struct {
	Token string `json:"token"`
}

type tokenBody struct {
	ExpiresInSeconds int `json:"expires_in_seconds"`
}

// sessionPath builds /v1/sessions/{id}[/suffix...], escaping every segment
// even though checkSegment already refused the characters that matter.
func sessionPath(id string, suffix ...string) string {
	p := "/v1/sessions/" + url.PathEscape(id)
	for _, s := range suffix {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// List returns one page of the sessions of a client or user, newest first.
// It asks for the paginated shape so TotalCount is known, and also accepts
// the bare array older servers send.
func (c *Client) List(ctx context.Context, p ListParams) (*SessionList, error) {
	if p.ClientID == "" && p.UserID == "" {
		return nil, fmt.Errorf("%w: list needs a client id or a user id", ErrInvalidInput)
	}
	if p.Status != "" && !listStatuses[p.Status] {
		return nil, fmt.Errorf("%w: list cannot filter by status %q", ErrInvalidInput, truncate(string(p.Status)))
	}
	if p.Limit < 0 || p.Limit > MaxListLimit {
		return nil, fmt.Errorf("%w: limit %d: want 1..%d, or 0 for the default", ErrInvalidInput, p.Limit, MaxListLimit)
	}
	if p.Offset < 0 {
		return nil, fmt.Errorf("%w: offset %d is negative", ErrInvalidInput, p.Offset)
	}
	q := url.Values{"paginated": {"true"}}
	if p.ClientID != "" {
		q.Set("client_id", p.ClientID)
	}
	if p.UserID != "" {
		q.Set("user_id", p.UserID)
	}
	if p.Status != "" {
		q.Set("status", string(p.Status))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	data, err := c.do(ctx, backendapi.Request{Op: "list", Method: http.MethodGet, Path: "/v1/sessions", Query: q})
	if err != nil {
		return nil, err
	}
	return decode("list", data, decodeSessionList)
}

// Create starts a new active session for a user. Clerk offers it on
// development (sk_test_) instances only, for tests; production instances
// refuse it.
func (c *Client) Create(ctx context.Context, p CreateParams) (*Session, error) {
	if p.UserID == "" {
		return nil, fmt.Errorf("%w: create needs a user id", ErrInvalidInput)
	}
	body := createBody{UserID: p.UserID, ActiveOrganizationID: p.ActiveOrganizationID}
	data, err := c.do(ctx, backendapi.Request{Op: "create", Method: http.MethodPost, Path: "/v1/sessions", Body: body})
	if err != nil {
		return nil, err
	}
	return decode("create", data, decodeSession)
}

// Get fetches one session by id.
func (c *Client) Get(ctx context.Context, id string) (*Session, error) {
	if err := checkSegment("session id", id); err != nil {
		return nil, err
	}
	data, err := c.do(ctx, backendapi.Request{Op: "get", Method: http.MethodGet, Path: sessionPath(id)})
	if err != nil {
		return nil, err
	}
	return decode("get", data, decodeSession)
}

// Refresh exchanges an expired session token plus the refresh-token cookie
// for a new session token. Every validation failure comes back as a 401
// (IsUnauthenticated), which means: fall back to a full handshake.
//
// Refresh is never retried, and callers must not retry it either: Clerk
// consumes the expired token on first use, so a second attempt fails with
// session_refresh_expired_session_token_consumed even when the first one
// succeeded and only its answer was lost. Concurrent requests carrying the
// same expired token must share one Refresh call.
func (c *Client) Refresh(ctx context.Context, id string, p RefreshParams) (*RefreshResult, error) {
	if err := checkSegment("session id", id); err != nil {
		return nil, err
	}
	switch {
	case p.ExpiredToken == "":
		return nil, fmt.Errorf("%w: refresh needs the expired token", ErrInvalidInput)
	case p.RefreshToken == "":
		return nil, fmt.Errorf("%w: refresh needs the refresh token", ErrInvalidInput)
	case p.RequestOrigin == "":
		return nil, fmt.Errorf("%w: refresh needs the request origin", ErrInvalidInput)
	}
	switch p.Format {
	case "", FormatToken, FormatCookie:
	default:
		return nil, fmt.Errorf("%w: refresh format %q: want %q or %q", ErrInvalidInput, truncate(string(p.Format)), FormatToken, FormatCookie)
	}
	var q url.Values
	if p.SuffixedCookies {
		q = url.Values{"suffixed_cookies": {"true"}}
	}
	body := refreshBody{
		ExpiredToken:         p.ExpiredToken,
		RefreshToken:         p.RefreshToken,
		RequestOrigin:        p.RequestOrigin,
		RequestHeaders:       p.RequestHeaders,
		RequestOriginatingIP: p.RequestOriginatingIP,
		Format:               p.Format,
	}
	data, err := c.do(ctx, backendapi.Request{Op: "refresh", Method: http.MethodPost, Path: sessionPath(id, "refresh"), Query: q, Body: body})
	if err != nil {
		return nil, err
	}
	return decode("refresh", data, decodeRefresh)
}

// Revoke ends a session from the back end; Clerk answers with the session,
// now in StatusRevoked. On success it calls Config.OnRevoked, because
// tokens already issued for the session would otherwise stay valid here
// until they expire.
func (c *Client) Revoke(ctx context.Context, id string) (*Session, error) {
	if err := checkSegment("session id", id); err != nil {
		return nil, err
	}
	data, err := c.do(ctx, backendapi.Request{Op: "revoke", Method: http.MethodPost, Path: sessionPath(id, "revoke")})
	if err != nil {
		return nil, err
	}
	s, err := decode("revoke", data, decodeSession)
	if err != nil {
		// Clerk said 200, so the session is revoked even though we cannot
		// read the answer: still tell the hook, then report the problem.
		c.revoked(id)
		return nil, err
	}
	c.revoked(id)
	return s, nil
}

func (c *Client) revoked(id string) {
	if c.onRevoked != nil {
		c.onRevoked(id)
	}
}

// Verify asks Clerk whether token is a valid token of session id.
//
// Deprecated: Clerk retired this endpoint. It exists only in API version
// 2021-02-05, and newer versions, including DefaultAPIVersion, answer 410
// Gone (IsDeprecated). It also costs a network round trip per request
// where none is needed: verify session tokens networklessly with
// clerkgate's verifier package instead.
func (c *Client) Verify(ctx context.Context, id, token string) (*Session, error) {
	if err := checkSegment("session id", id); err != nil {
		return nil, err
	}
	if token == "" {
		return nil, fmt.Errorf("%w: verify needs a token", ErrInvalidInput)
	}
	data, err := c.do(ctx, backendapi.Request{Op: "verify", Method: http.MethodPost, Path: sessionPath(id, "verify"), Body: verifyBody{Token: token}})
	if err != nil {
		return nil, err
	}
	return decode("verify", data, decodeSession)
}

// CreateToken mints a session token for session id with the instance's
// default claims, for calling your own APIs on the user's behalf from the
// back end.
func (c *Client) CreateToken(ctx context.Context, id string, p TokenParams) (*Token, error) {
	if err := checkSegment("session id", id); err != nil {
		return nil, err
	}
	body, err := p.body()
	if err != nil {
		return nil, err
	}
	data, err := c.do(ctx, backendapi.Request{Op: "create token", Method: http.MethodPost, Path: sessionPath(id, "tokens"), Body: body})
	if err != nil {
		return nil, err
	}
	return decode("create token", data, decodeToken)
}

// CreateTokenFromTemplate mints a token for session id shaped by the JWT
// template named template (such as "custom_hasura"). An unknown template
// is a 404 (IsNotFound).
func (c *Client) CreateTokenFromTemplate(ctx context.Context, id, template string, p TokenParams) (*Token, error) {
	if err := checkSegment("session id", id); err != nil {
		return nil, err
	}
	if err := checkSegment("template name", template); err != nil {
		return nil, err
	}
	body, err := p.body()
	if err != nil {
		return nil, err
	}
	data, err := c.do(ctx, backendapi.Request{Op: "create token from template", Method: http.MethodPost, Path: sessionPath(id, "tokens", template), Body: body})
	if err != nil {
		return nil, err
	}
	return decode("create token from template", data, decodeToken)
}

// body returns the request body, or nil (no body at all) when nothing
// overrides the defaults.
func (p TokenParams) body() (any, error) {
	if p.ExpiresInSeconds == 0 {
		return nil, nil
	}
	if p.ExpiresInSeconds < MinTokenLifetime || p.ExpiresInSeconds > MaxTokenLifetime {
		return nil, fmt.Errorf("%w: expires_in_seconds %d: want %d..%d, or 0 for the default",
			ErrInvalidInput, p.ExpiresInSeconds, MinTokenLifetime, MaxTokenLifetime)
	}
	return tokenBody{ExpiresInSeconds: p.ExpiresInSeconds}, nil
}
