package clerkgate

import (
	"context"

	"github.com/clerkgate/clerkgate/verifier"
)

// Claims are a verified session token's claims: an alias of
// verifier.Claims, so values, errors and authz checks pass between the two
// packages unchanged. go doc does not follow an alias into another package
// (as of Go 1.26), so here is what it holds; the full text of each is at
// go doc github.com/clerkgate/clerkgate/verifier.Claims.
//
// Fields, one per claim: Subject (sub, the user id), SessionID (sid),
// Issuer (iss), AuthorizedParty (azp), Expiry, NotBefore and IssuedAt
// (exp, nbf, iat, Unix seconds), ID (jti), Version (v: 1 or 2),
// SessionStatus (sts: "active" or "pending"), Plans (pla), Features
// (fea), FactorVerificationAge (fva), Actor (act, when someone
// impersonates the user) and Organization (the active organization, or
// nil).
//
// Methods: HasRole, HasPermission, HasFeature and HasPlan answer as
// Clerk's has() does ("admin" and "org:admin" are the same role);
// Pending reports sts "pending"; ExpiresAt, IssuedAtTime and
// NotBeforeTime give the times; Decode reads custom claims of a session
// token template into a struct, Raw into a map, and RawJSON returns the
// payload as signed.
//
// Claims built by hand, as a handler's test builds them for
// ContextWithClaims, behave like a token's: an Organization{Role: "admin"}
// has role "org:admin", and Decode reads the known fields.
type Claims = verifier.Claims

// Organization is the session's active organization (Claims.Organization):
// ID, Slug, Role (compared with exactly one "org:" prefix, so "admin" and
// "org:admin" are one role) and Permissions ("org:<feature>:<permission>").
// An alias of verifier.Organization.
type Organization = verifier.Organization

// Actor is who acts on the user's behalf when the session is an
// impersonation (Claims.Actor): Subject, Issuer and SessionID. An alias of
// verifier.Actor.
type Actor = verifier.Actor

type claimsKey struct{}

// ContextWithClaims returns ctx carrying claims. The middleware calls it;
// tests of handlers can call it too, to fake a signed-in user.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the verified claims the middleware attached,
// and false for an anonymous request (OptionalSession without a token).
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// UserID returns the signed-in user's id (sub), or "" when anonymous.
func UserID(ctx context.Context) string {
	if c, ok := ClaimsFromContext(ctx); ok {
		return c.Subject
	}
	return ""
}

// SessionID returns the session id (sid), or "" when anonymous.
func SessionID(ctx context.Context) string {
	if c, ok := ClaimsFromContext(ctx); ok {
		return c.SessionID
	}
	return ""
}
