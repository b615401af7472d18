package clerkgate

import (
	"github.com/clerkgate/clerkgate/machine"
	"github.com/clerkgate/clerkgate/verifier"
)

// Stats are the Gate's counters, for metrics: what its caches spare and
// what its calls to Clerk cost. Reading them costs the requests nothing;
// package otel's ObserveGate exports them.
type Stats struct {
	// Tokens counts the verified-token cache's lookups
	// (Config.TokenCacheSize): a hit skips the signature check.
	Tokens verifier.CacheStats
	// Refresh counts expired-session refreshes: Backend API calls, and
	// refreshes refused without one, by cause.
	Refresh RefreshStats
	// Machine counts the opaque machine credential cache's lookups
	// (Config.Machine): answered from the cache, by a Backend API call,
	// or refused.
	Machine machine.Stats
}

// Stats reports the Gate's counters.
func (g *Gate) Stats() Stats {
	return Stats{Tokens: g.verifier.CacheStats(), Refresh: g.refreshStats(), Machine: g.machineStats()}
}
