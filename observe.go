package clerkgate

import (
	"context"
	"net/http"

	"github.com/clerkgate/clerkgate/internal/refresh"
	"github.com/clerkgate/clerkgate/jwks"
)

// Observer receives what a Gate decides and what it costs, for metrics
// and traces: package github.com/clerkgate/clerkgate/otel turns it into
// OpenTelemetry. Every field is optional; a Gate without an Observer (the
// default) pays one nil check per event and nothing else.
//
// The funcs run on the goroutine doing the work they report, with its
// context, so they must return quickly and must not block. They are given
// reasons and outcomes, never tokens, claims or user IDs. Leave an
// Observer unchanged once New has it.
//
// The network calls themselves (key fetches, refreshes, handshake
// payloads, machine credential checks) all go through Config.HTTPClient;
// wrap its Transport to trace them.
type Observer struct {
	// Decided is called once for each request a Gate or a Policy
	// authenticates (a Policy's Require, Optional and Authenticate, and
	// the framework adapters), and once for
	// each bare token (Policy.AuthenticateToken and so the gRPC
	// interceptors, once per call or stream), with the outcome. A bare
	// token is reported exactly as a request whose Authorization header
	// carried it (see Decision), with AuthenticateToken's context.
	//
	// The outcome is the final one: a credential that passes but fails an
	// authorization check (Policy.With) is reported once, as refused with
	// 403 and the check's reason, never also as let through.
	// Policy.Authenticate reports what it decides, the policy's checks
	// included; a check an app applies afterwards itself (Authorize) is its
	// own and is not reported, so give checks to Policy.With to have their
	// refusals heard. The framework adapters do: their Require is a session
	// Policy.With's.
	Decided func(context.Context, Decision)

	// Refreshed is called after each attempt to refresh an expired
	// session, whether it called Clerk, shared another request's call, or
	// was refused by the refresh limits. Tokens too old to refresh are
	// refused without an attempt (Stats.Refresh.TooOld counts them).
	Refreshed func(context.Context, RefreshAttempt)

	// HandshakeResolved is called when a page load comes back from the
	// Frontend API's handshake, with whether it could be resolved.
	HandshakeResolved func(context.Context, HandshakeResolution)

	// KeysFetched is called after each fetch of the signing keys from the
	// Backend or Frontend API (start-up, background, unknown kid), with
	// the fetch's own context: fetches are shared, never a request's.
	KeysFetched func(context.Context, jwks.FetchResult)
}

// Decision is the outcome of authenticating one request or bare token.
type Decision struct {
	// TokenType is the type the credential was taken for (on a policy
	// that takes sessions alone, SessionToken whatever it was); "" when there was none (token_missing), or when a route
	// that takes no sessions got an empty bearer token.
	TokenType TokenType
	// Status is 0 when the credential was let through, else the refusal's
	// status: 401, 503, 403 for a failed authorization check or a
	// cross-origin request with the session cookie (ReasonCrossOrigin),
	// or 307 for a redirect through the handshake. For a bare token it is
	// the returned AuthError's Status, the one a request with that
	// credential would get (401, 503, or 403 for a failed check of
	// Policy.With; never 307, as bare tokens have no handshake and no
	// cookie); package github.com/clerkgate/clerkgate/adapters/grpc turns
	// it into a gRPC code.
	Status int
	// Reason is the refusal's reason ("" when let through): a 403's names
	// the kind of check that failed (ReasonRoleRequired,
	// ReasonScopeRequired, …) or is ReasonCrossOrigin; a redirect's is
	// ReasonHandshake.
	Reason Reason
}

// RefreshAttempt is the outcome of one attempt to refresh an expired
// session.
type RefreshAttempt struct {
	// Err is why the refresh failed, or nil.
	Err error
	// ClerkCode is the Backend API's error code for a refused refresh
	// (e.g. "session_refresh_token_invalid"), or "".
	ClerkCode string
}

// HandshakeResolution is the outcome of a page load's return from the
// handshake.
type HandshakeResolution struct {
	// Nonce reports that the handshake came back as a nonce, traded
	// through the Backend API, rather than as a signed handshake token.
	Nonce bool
	// Resolved reports that the handshake's cookies were taken; when
	// false, the request was decided as if there had been no handshake.
	Resolved bool
}

// observeDecision reports the outcome of authenticating a request or a
// bare token.
func (g *Gate) observeDecision(ctx context.Context, typ TokenType, err *AuthError) {
	o := g.observer
	if o == nil || o.Decided == nil {
		return
	}
	d := Decision{TokenType: typ}
	if err != nil {
		d.Status, d.Reason = err.Status, err.Reason
		if !err.TokenPresented && err.Reason == ReasonTokenMissing {
			d.TokenType = ""
		}
	}
	o.Decided(ctx, d)
}

func (g *Gate) observeRefresh(ctx context.Context, err error) {
	if o := g.observer; o != nil && o.Refreshed != nil {
		o.Refreshed(ctx, RefreshAttempt{Err: err, ClerkCode: refresh.Code(err)})
	}
}

func (g *Gate) observeHandshake(r *http.Request, nonce, resolved bool) {
	if o := g.observer; o != nil && o.HandshakeResolved != nil {
		o.HandshakeResolved(r.Context(), HandshakeResolution{Nonce: nonce, Resolved: resolved})
	}
}

// onKeyFetch is the jwks hook for Observer.KeysFetched, or nil.
func (o *Observer) onKeyFetch() func(context.Context, jwks.FetchResult) {
	if o == nil {
		return nil
	}
	return o.KeysFetched
}
