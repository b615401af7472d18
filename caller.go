package clerkgate

import (
	"context"
	"time"

	"github.com/clerkgate/clerkgate/machine"
)

// TokenType is a class of credential, named as Clerk names it.
type TokenType = machine.TokenType

// The token types a route can accept (see Gate.Accept). AnyToken stands
// for all four, as Clerk's acceptsToken: 'any'.
const (
	SessionToken = machine.SessionToken
	M2MToken     = machine.M2MToken
	APIKey       = machine.APIKey
	OAuthToken   = machine.OAuthToken
	AnyToken     = machine.Any
)

// Identity is a verified machine credential. See machine.Identity.
type Identity = machine.Identity

// Caller is who is calling: a signed-in user's session, or a machine
// credential. Exactly one of Session and Machine is set, as Type says.
type Caller struct {
	// Type is SessionToken, M2MToken, APIKey or OAuthToken.
	Type TokenType
	// Session holds a session token's claims.
	Session *Claims
	// Machine holds a machine credential's identity.
	Machine *Identity
}

// Subject is the user id of a session, or the subject of a machine
// credential (a machine, user or organization id).
func (c *Caller) Subject() string {
	switch {
	case c == nil:
		return ""
	case c.Session != nil:
		return c.Session.Subject
	case c.Machine != nil:
		return c.Machine.Subject
	}
	return ""
}

// Scopes are a machine credential's scopes; sessions have none (their
// rights are organization roles and permissions: see Claims).
func (c *Caller) Scopes() []string {
	if c == nil || c.Machine == nil {
		return []string{}
	}
	return c.Machine.Scopes
}

// HasScope reports whether a machine credential grants scope. It is false
// for sessions, as Clerk's has() is for machine credentials.
func (c *Caller) HasScope(scope string) bool {
	return c != nil && c.Machine.HasScope(scope)
}

// ExpiryTime is when the credential expires; zero means never.
func (c *Caller) ExpiryTime() time.Time {
	switch {
	case c == nil:
		return time.Time{}
	case c.Session != nil:
		return c.Session.ExpiryTime()
	case c.Machine != nil:
		return c.Machine.ExpiresAt
	}
	return time.Time{}
}

// machineCaller is a machine credential's Caller with its own Identity
// and room for a few scopes, so that handing a request a copy no other
// request shares (TestHandlersCannotChangeAnotherCallersIdentity) costs
// one allocation, not three: cached machine credentials then cost what a
// cached session token costs (BenchmarkCallerKinds).
type machineCaller struct {
	caller Caller
	id     Identity
	scopes [4]string
}

func newMachineCaller(typ TokenType) *machineCaller {
	m := &machineCaller{}
	m.caller = Caller{Type: typ, Machine: &m.id}
	return m
}

type callerKey struct{}

// ContextWithCaller returns ctx carrying c (and, for a session, its
// claims, for ClaimsFromContext). The middleware calls it; tests of
// handlers call it too, to fake a signed-in user or a machine:
//
//	ctx = clerkgate.ContextWithCaller(ctx, &clerkgate.Caller{
//		Type:    clerkgate.SessionToken,
//		Session: &clerkgate.Claims{Subject: "user_1"},
//	})
func ContextWithCaller(ctx context.Context, c *Caller) context.Context {
	if c != nil && c.Session != nil {
		ctx = contextWithClaims(ctx, c.Session)
	}
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns who is calling, and false for an anonymous
// request. Behind a policy of session tokens alone, the caller is always
// a session.
func CallerFromContext(ctx context.Context) (*Caller, bool) {
	if c, ok := ctx.Value(callerKey{}).(*Caller); ok && c != nil {
		return c, true
	}
	if claims, ok := ClaimsFromContext(ctx); ok {
		return &Caller{Type: SessionToken, Session: claims}, true
	}
	return nil, false
}
