// Package parity holds the differential test of clerkgate's verifier
// against Clerk's own, @clerk/backend's verifyToken and authenticateRequest
// run under Node (see node/). It is a module of its own so that the root
// module never needs Node. The package has no code outside its tests.
//
//	cd parity/node && npm ci && cd .. && go test -run TestParityWithClerk -v .
package parity
