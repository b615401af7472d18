package clerkgate

import (
	"context"
	"net/netip"

	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/verifier"
)

// Claims are the verified claims of a Clerk session token, in both of
// Clerk's formats: v1 (no "v" claim) and v2 ("v":2). The Claims the Gate
// hands out are the request's own: changing them changes nothing for any
// other request, even one with the same token.
//
// Claims is defined on verifier.Claims (same fields, same methods), so
// the two convert into each other for free: (*verifier.Claims)(c) and
// (*clerkgate.Claims)(vc). It is a type of this package, not an alias,
// so that go doc shows its methods here; its fields are documented on
// verifier.Claims:
//
// Subject (sub, the user id), SessionID (sid), Issuer (iss),
// AuthorizedParty (azp), Expiry, NotBefore and IssuedAt (exp, nbf, iat,
// Unix seconds; 0 when absent), ID (jti), Version (v: 1 or 2),
// SessionStatus (sts: "active" or "pending"), Plans (pla), Features
// (fea), FactorVerificationAge (fva: minutes since each factor was
// verified, -1 for never), Actor (act, when someone impersonates the
// user) and Organization (the active organization, or nil).
//
// Claims built by hand, as a handler's test builds them for
// ContextWithCaller, behave like a token's: an Organization{Role: "admin"}
// has role "org:admin", and Decode reads the known fields.
//
// Every method answers on nil Claims as for no session (no role, no
// permission, zero times, nothing to decode), so a handler behind a
// policy's Optional may call claims.HasRole on what ClaimsFromContext gave
// an anonymous request. Fields are another matter: read the user's id
// with Caller.Subject, which is "" when anonymous.
type Claims verifier.Claims

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

// contextWithClaims returns ctx carrying claims, for ClaimsFromContext.
// Tests of handlers fake a signed-in user with ContextWithCaller.
func contextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the verified claims the middleware attached,
// and false for an anonymous request (a policy's Optional without a token).
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// clientAddrKey is the context key of ContextWithClientAddr.
type clientAddrKey struct{}

// ContextWithClientAddr says which client a bare token comes from (a
// gRPC peer, a WebSocket's remote address), for Policy.AuthenticateToken:
// Backend API calls for credentials never seen pass are bounded per
// client, so one client's flood of made-up credentials spends only its
// own share. Without it, every bare token counts as one client's.
func ContextWithClientAddr(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// clientFrom is the client key ContextWithClientAddr set, or "".
func clientFrom(ctx context.Context) string {
	addr, ok := ctx.Value(clientAddrKey{}).(netip.Addr)
	if !ok || !addr.IsValid() {
		return ""
	}
	return fairshare.ClientKey(addr.String())
}
