package clerkgate

import "time"

// maxTokenLifetime is how long a Clerk session token lives. A session
// revoked here stays refused for that long plus the clock skew: by then
// every token issued before the revocation has expired, and Clerk issues
// no new ones for a revoked session.
const maxTokenLifetime = 60 * time.Second

// forgetSession marks a session revoked in this process. Other processes
// learn of it only when the session's current token expires, within 60 s,
// unless they share a coordination store.
func (g *Gate) forgetSession(sessionID string) {
	g.revoked.Add(sessionID, struct{}{}, g.now().Add(maxTokenLifetime+g.skew))
}

func (g *Gate) isRevoked(sessionID string) bool {
	_, ok := g.revoked.Get(sessionID)
	return ok
}
