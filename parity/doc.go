// Package parity holds the differential tests of clerkgate against Clerk's
// own code run under Node (see node/): its session-token verifier against
// @clerk/backend's verifyToken and authenticateRequest, and its webhooks
// package against @clerk/backend's verifyWebhook and the standardwebhooks
// package under it (webhooks_test.go). It is a module of its own so that
// the root module never needs Node. The package has no code outside its
// tests.
//
//	cd parity/node && npm ci && cd .. && go test -v .
package parity
