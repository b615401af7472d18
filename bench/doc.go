// Package bench compares clerkgate with the other ways Go programs verify
// Clerk session tokens. It is a module of its own, so that the peers it
// measures (clerk-sdk-go, golang-jwt, jwx's high-level API, auth0's
// go-jwt-middleware) never enter clerkgate's go.mod.
//
// It holds:
//
//   - benchmarks (this package's tests) of one verification, on the same
//     Clerk-shaped RS256 token, next to the bare rsa.VerifyPKCS1v15 floor,
//     and cmd/benchtable, which turns their output into a table of medians
//     and ratios to the floor:
//
//     go test -run '^$' -bench . -count 10 . | go run ./cmd/benchtable
//
//   - cmd/load, a load generator that drives HTTP servers over loopback
//     and compares their requests per second, CPU per request and memory;
//
//   - the servers cmd/load measures besides examples/nethttp: cmd/sdkserver
//     (the same routes behind clerk-sdk-go's middleware) and cmd/gateserver
//     (clerkgate over a handler as cheap as /healthz).
//
// docs/BENCHMARKS.md at the repository root holds the results and the
// exact commands.
package bench
