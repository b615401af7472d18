package machine

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/clerkgate/clerkgate/verifier"
)

// Identity is a verified machine credential: who is calling and what it
// may do. A Verifier hands every request with one credential the same
// Identity, the one its cache keeps: treat it as read-only, as it is
// shared between goroutines, and Clone it for a copy that is yours to
// change. (The clerkgate package clones for you: the Identity a handler
// gets is its own.)
type Identity struct {
	// Type is M2MToken, APIKey or OAuthToken.
	Type TokenType
	// ID is the credential's id ("mt_…", "ak_…", "oat_…"), or a JWT's jti
	// ("" when it has none). It is never the secret itself.
	ID string
	// Subject is who the credential acts for: a machine ("mch_…") for
	// M2M tokens, a user, organization or machine for API keys, a user
	// for OAuth tokens.
	Subject string
	// Scopes are what the credential grants: for M2M tokens, the machines
	// it may call; for API keys and OAuth tokens, the scopes granted.
	Scopes []string
	// Name is an API key's name ("" for other types).
	Name string
	// ClientID is an OAuth token's application ("" for other types).
	ClientID string
	// ExpiresAt is when the credential expires; zero means never.
	ExpiresAt time.Time

	// claims is the custom claims as JSON: an opaque credential's
	// "claims", or a JWT's whole payload (stripRegistered set), shared
	// with the verifier's cache rather than copied for every request.
	claims          string
	stripRegistered bool
}

// Clone returns a copy of id that shares nothing a caller can change.
func (id *Identity) Clone() *Identity {
	c := new(Identity)
	id.CloneInto(c, nil)
	return c
}

// CloneInto makes *dst a copy of id that shares nothing a caller can
// change, as Clone does, with the scopes in room when they fit. It lets
// the copy live in memory of the caller's own: the clerkgate package hands
// each request its Caller, Identity and scopes in one allocation.
func (id *Identity) CloneInto(dst *Identity, room []string) {
	*dst = *id
	dst.Scopes = cloneInto(room, id.Scopes)
}

// cloneInto copies s into room when it fits, else into a new array; it
// is nil only when s is.
func cloneInto(room, s []string) []string {
	if s == nil || len(s) > cap(room) {
		return slices.Clone(s)
	}
	return append(room[:0], s...)
}

// HasScope reports whether the credential grants scope exactly.
func (id *Identity) HasScope(scope string) bool {
	return id != nil && scope != "" && slices.Contains(id.Scopes, scope)
}

// Claims decodes the credential's custom claims, or returns nil when it
// has none. For an M2M JWT they are every claim but iss, sub, exp, nbf,
// iat and jti, as Clerk's SDK reports them. It decodes afresh on each
// call, so requests that never read claims never pay for them.
func (id *Identity) Claims() (map[string]any, error) {
	if id.claims == "" || id.claims == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(id.claims), &m); err != nil {
		return nil, err
	}
	if id.stripRegistered {
		for _, name := range []string{"iss", "sub", "exp", "nbf", "iat", "jti"} {
			delete(m, name)
		}
		if len(m) == 0 {
			return nil, nil
		}
	}
	return m, nil
}

// FromJWT makes the Identity of a machine JWT that package verifier
// verified; it is the caller's own.
func FromJWT(c *verifier.MachineClaims) *Identity {
	id := new(Identity)
	FromJWTInto(id, nil, c)
	return id
}

// FromJWTInto is FromJWT into *dst, with the scopes in room when they
// fit (see CloneInto). The verifier's cache keeps c, so *dst shares none
// of c's memory a caller can change.
func FromJWTInto(dst *Identity, room []string, c *verifier.MachineClaims) {
	*dst = Identity{
		ID:        c.ID,
		Subject:   c.Subject,
		Scopes:    cloneInto(room, c.Scopes),
		ClientID:  c.ClientID,
		ExpiresAt: c.ExpiryTime(),
	}
	switch c.Kind {
	case verifier.KindM2M:
		dst.Type = M2MToken
		dst.claims, dst.stripRegistered = c.RawString(), true
	default:
		dst.Type = OAuthToken
	}
}
