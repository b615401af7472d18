//go:build race

package clerkgate_test

// floodTokens is scaled down under the race detector, which makes each
// request several times slower; the full 100,000 run without it.
const floodTokens = 25_000
