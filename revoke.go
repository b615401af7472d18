package clerkgate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// defaultMaxTokenLifetime is how long a Clerk session token lives: the
// default Config.MaxTokenLifetime.
const defaultMaxTokenLifetime = 60 * time.Second

// A revoked session must stay refused for as long as any token of it
// passes every other check. Clerk mints no token for a revoked session, so
// every such token was issued (iat) before the revocation, give or take the
// skew between Clerk's clock and ours; it lives at most maxLifetime, and
// is accepted until skew after its exp. Hence a revocation lasts
// maxLifetime + 2·skew, and tokens that live longer are refused outright:
// without that cap, a token from CreateToken (up to 10 years) would
// outlive any revocation.

// maxMaxTokenLifetime and maxClockSkew are the longest MaxTokenLifetime
// and ClockSkew New accepts: together they keep the revocation term far
// from overflowing.
const (
	maxMaxTokenLifetime = 365 * 24 * time.Hour
	maxClockSkew        = time.Hour
)

// revocationTerm is how long a revocation made through this Gate lasts.
func (g *Gate) revocationTerm() time.Duration { return g.maxLifetime + 2*g.skew }

// setMaxLifetime adopts Config.MaxTokenLifetime.
func (g *Gate) setMaxLifetime(d time.Duration) error {
	if d < 0 {
		return errors.New("clerkgate: MaxTokenLifetime must not be negative")
	}
	if d > maxMaxTokenLifetime {
		// Every revocation is kept this long: past a year it protects
		// nothing, and near the largest Duration the term overflows.
		return fmt.Errorf("clerkgate: MaxTokenLifetime (%s) is %s: at most %s (a revocation is kept as long as the longest token lives)",
			envMaxTokenLifetime, d, maxMaxTokenLifetime)
	}
	g.maxLifetime = orDefault(d, defaultMaxTokenLifetime)
	return nil
}

// checkLifetime refuses a token that lives longer than the Gate accepts,
// or that does not say when it was issued. Clerk's tokens always carry
// iat, and without it nothing bounds how long ago the token was made.
func (g *Gate) checkLifetime(c *Claims) error {
	if c.IssuedAt == 0 {
		return errors.New("the token carries no iat, so its lifetime is unknown")
	}
	if life := time.Duration(c.Expiry-c.IssuedAt) * time.Second; life > g.maxLifetime {
		return fmt.Errorf("the token lives %s, longer than MaxTokenLifetime (%s)", life, g.maxLifetime)
	}
	return nil
}

// forgetSession marks a session revoked, through the Store: at once in this
// process, and in the other replicas as soon as the Store tells them (with
// the default in-memory store, never: they learn of it only when the session's
// current token expires, within MaxTokenLifetime).
func (g *Gate) forgetSession(sessionID string) {
	ctx, cancel := context.WithTimeout(context.Background(), g.refreshAfter)
	defer cancel()
	if err := g.store.RevokeSession(ctx, sessionID, g.revocationTerm()); err != nil {
		g.log.Warn("clerkgate: revocation not shared with other replicas; they accept the session's current token until it expires",
			"session_id", sessionID, "err", err)
	}
}

// admit applies the Gate's own checks to claims the verifier accepted:
// the lifetime cap, then revocation. Every path that accepts a session
// token (API calls, page loads, bare tokens) ends here, so they cannot
// drift apart.
func (g *Gate) admit(c *Claims) *AuthError {
	if err := g.checkLifetime(c); err != nil {
		return newAuthError(ReasonTokenLifetimeInvalid, true, err)
	}
	if g.isRevoked(c.SessionID) {
		return newAuthError(ReasonSessionRevoked, true, nil)
	}
	// Markers from Clerk's webhooks (webhooks.go): no allocation, like the
	// check above.
	if g.store.UserRevoked(c.Subject, time.Unix(c.IssuedAt, 0)) {
		return newAuthError(ReasonTokenOutdated, true, nil)
	}
	return nil
}

func (g *Gate) isRevoked(sessionID string) bool {
	return g.store.SessionRevoked(sessionID)
}
