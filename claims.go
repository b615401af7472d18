package clerkgate

import (
	"encoding/json"
	"time"

	"github.com/clerkgate/clerkgate/verifier"
)

// The methods below are verifier.Claims's, declared again here so that
// go doc finds them on clerkgate.Claims (it does not follow a type into
// another package). TestClaimsMethodsMatchVerifier keeps the two sets
// equal.

func (c *Claims) v() *verifier.Claims { return (*verifier.Claims)(c) }

// HasRole reports whether the active organization role is role, as
// Clerk's has({role}) decides: both sides are compared with exactly one
// "org:" prefix, so "admin", "org:admin" and a v1 org_role of "admin" all
// name the same role.
func (c *Claims) HasRole(role string) bool { return c.v().HasRole(role) }

// HasPermission reports whether the active organization grants permission,
// e.g. "org:dashboard:manage", as Clerk's has({permission}) decides: the
// asked permission gets exactly one "org:" prefix ("dashboard:manage"
// asks for the same), the token's list is taken as it is.
func (c *Claims) HasPermission(permission string) bool { return c.v().HasPermission(permission) }

// HasFeature reports whether the fea claim grants feature, as Clerk's
// has({feature}) decides: "o:x" (or "org:x", "organization:x") asks for an
// organization feature, "u:x" (or "user:x") for a user feature, and a bare
// "x" for either. A fea item scoped "ou" or "uo" is both; items with any
// other scope grant nothing, and a fea with an unscoped item grants
// nothing at all.
func (c *Claims) HasFeature(feature string) bool { return c.v().HasFeature(feature) }

// HasPlan reports whether the pla claim lists plan, with the same scopes
// as HasFeature (e.g. "u:free", "o:pro", or a bare "free").
func (c *Claims) HasPlan(plan string) bool { return c.v().HasPlan(plan) }

// Pending reports whether the session still has tasks to complete (sts "pending").
func (c *Claims) Pending() bool { return c.v().Pending() }

// ExpiryTime returns exp as a time.
func (c *Claims) ExpiryTime() time.Time { return c.v().ExpiryTime() }

// IssuedAtTime returns iat as a time, or the zero time when absent.
func (c *Claims) IssuedAtTime() time.Time { return c.v().IssuedAtTime() }

// NotBeforeTime returns nbf as a time, or the zero time when absent.
func (c *Claims) NotBeforeTime() time.Time { return c.v().NotBeforeTime() }

// RawJSON returns a copy of the token's payload exactly as signed. For
// Claims built by hand it returns their known fields encoded.
func (c *Claims) RawJSON() json.RawMessage { return c.v().RawJSON() }

// Raw decodes every claim into a map, afresh on each call. The payload
// passed the Gate's strict reading, so no member name is repeated and the
// map holds exactly what was signed.
func (c *Claims) Raw() (map[string]any, error) { return c.v().Raw() }

// Decode unmarshals the payload into v, for custom claims added through a
// session token template:
//
//	var custom struct{ Email string `json:"email"` }
//	err := claims.Decode(&custom)
//
// Member names match v's field names exactly: a payload with a member
// that matches one of v's field names only ignoring case is an error,
// where encoding/json would fill the field from it. Claims built by hand
// have no signed payload; Decode then reads their known fields encoded as
// a format 1 token would carry them, so custom claims decode as absent.
func (c *Claims) Decode(v any) error { return c.v().Decode(v) }

// Clone returns a copy of c that shares nothing a caller can change (the
// Organization, Actor and slices are copied too).
func (c *Claims) Clone() *Claims { return (*Claims)(c.v().Clone()) }

// verify is the verifier's Verify with the claims in this package's type,
// and the caller's own: the verifier's cache hands every request with one
// token the same claims, and a handler that edits its claims (a role
// normalised in place, a permission appended) must change nothing for the
// next request. One allocation, the price of that guarantee.
func (g *Gate) verify(q *parsedRequest, token string) (*Claims, error) {
	c, err := g.verifier.VerifyAt(q.ctx, token, q.at(g.now))
	if err != nil {
		return nil, err
	}
	return (*Claims)(c.Clone()), nil
}
