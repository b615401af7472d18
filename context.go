package clerkgate

import (
	"context"

	"github.com/clerkgate/clerkgate/verifier"
)

// Claims are a verified session token's claims. See verifier.Claims.
type Claims = verifier.Claims

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
