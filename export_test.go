package clerkgate

// NewMemoryStore gives the external tests (package clerkgate_test) the
// default Store, to wrap or to drive directly; an app gets it by leaving
// Config.Store nil, and sizes it with Config.Refresh.CacheSize.
func NewMemoryStore() Store { return newMemoryStore(0) }
