package clerkgate

import (
	"context"
	"net/netip"

	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/verifier"
)

// clientAddrKey is the context key of ContextWithClientAddr.
type clientAddrKey struct{}

// ContextWithClientAddr says which client a bare token comes from (a
// gRPC peer, a WebSocket's remote address), for Route.AuthenticateToken:
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

// AuthenticateToken runs the Gate's checks on a bare session token, one
// that did not come with an HTTP request (gRPC metadata, a WebSocket
// message, a queue job): the verifier's checks, then MaxTokenLifetime and
// revocation, exactly as Authenticate applies them. An expired token is
// refused (token_expired): refresh needs the browser's refresh cookie and
// a response to set the new one on, so it belongs to HTTP. An empty token
// is token_missing; an opaque machine credential is token_type_invalid
// (see Route.AuthenticateToken for routes that take machines). The
// decision is reported to Config.Observer as a request's is.
//
// A refusal is always an *AuthError (errors.As finds it); an accepted
// token gives a nil error.
//
// Prefer it to Verifier().Verify, which knows nothing of revocation or of
// the lifetime cap.
func (g *Gate) AuthenticateToken(ctx context.Context, token string) (*Claims, error) {
	claims, err := g.authenticateBare(ctx, token)
	g.observeDecision(ctx, SessionToken, err)
	return claims, asError(err)
}

// authenticateBare is AuthenticateToken, unobserved: Routes observe their
// own decisions.
func (g *Gate) authenticateBare(ctx context.Context, token string) (*Claims, *AuthError) {
	if token == "" {
		return nil, newAuthError(ReasonTokenMissing, false, nil)
	}
	if err := refuseOpaqueMachine(token); err != nil {
		return nil, err
	}
	claims, err := g.verify(ctx, token)
	if err != nil {
		return nil, newAuthError(verifier.ReasonOf(err), true, err)
	}
	if err := g.admit(claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// AuthenticateAuthorization is AuthenticateToken for the values of an
// authorization header or metadata key (gRPC's "authorization"), read as
// a request's Authorization header is: none, or another scheme than
// Bearer, is no token (token_missing); an empty bearer token, or two
// values whatever they hold, are token_malformed. It is how adapters for
// other transports read credentials exactly as HTTP requests do.
func (rt *Route) AuthenticateAuthorization(ctx context.Context, values []string) (*Caller, error) {
	token, _ := bearerOf(values)
	return rt.AuthenticateToken(ctx, token)
}

// AuthenticateToken runs the route's checks on a bare token, as
// Authenticate does on a request's Authorization header but without
// refresh or handshake: a session token goes through
// Gate.AuthenticateToken, a machine credential of an accepted type
// through its own verification, and then the checks of With apply. A
// token of a type the route does not accept is token_type_invalid. The
// decision is reported to Config.Observer as a request's is. A refusal is
// always an *AuthError (errors.As finds it); an accepted token gives a nil
// error.
func (rt *Route) AuthenticateToken(ctx context.Context, token string) (*Caller, error) {
	c, typ, err := rt.decide(ctx, clientFrom(ctx), token, func() (*Caller, *AuthError) {
		claims, err := rt.g.authenticateBare(ctx, token)
		if err != nil {
			return nil, err
		}
		return &Caller{Type: SessionToken, Session: claims}, nil
	})
	c, err = rt.authorized(c, err)
	rt.g.observeDecision(ctx, typ, err)
	return c, asError(err)
}
