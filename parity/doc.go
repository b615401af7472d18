// Package parity holds the differential tests of clerkgate against Clerk's
// own code, @clerk/backend run under Node (see node/): token by token
// against verifyToken (parity_test.go, node/verify.mjs), request by request
// against authenticateRequest (request_test.go, node/request.mjs; the
// differences it allows are the table in ../docs/differences.md), and its
// webhooks package against verifyWebhook and the standardwebhooks package
// under it (webhooks_test.go, node/webhooks.mjs). It is a module of its own
// so that the root module never needs Node. The package has no code outside
// its tests.
//
//	cd parity/node && npm ci && cd .. && go test -v .
package parity
