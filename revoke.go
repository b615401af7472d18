package clerkgate

import (
	"context"
	"time"
)

// maxTokenLifetime is how long a Clerk session token lives. A session
// revoked here stays refused for that long plus the clock skew: by then
// every token issued before the revocation has expired, and Clerk issues
// no new ones for a revoked session.
const maxTokenLifetime = 60 * time.Second

// forgetSession marks a session revoked, through the Store: at once in this
// process, and in the other replicas as soon as the Store tells them (with
// the default MemoryStore, never: they learn of it only when the session's
// current token expires, within 60 s).
func (g *Gate) forgetSession(sessionID string) {
	ctx, cancel := context.WithTimeout(context.Background(), g.refreshAfter)
	defer cancel()
	if err := g.store.RevokeSession(ctx, sessionID, maxTokenLifetime+g.skew); err != nil {
		g.log.Warn("clerkgate: revocation not shared with other replicas; they accept the session's current token until it expires",
			"session_id", sessionID, "err", err)
	}
}

func (g *Gate) isRevoked(sessionID string) bool {
	return g.store.SessionRevoked(sessionID)
}
