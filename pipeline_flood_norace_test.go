//go:build !race

package clerkgate_test

// floodTokens is how many junk tokens TestJunkTokenFlood sends in-process.
const floodTokens = 100_000
