// Package soak holds clerkgate's soak test. It has no API; the package
// exists so the test can run on its own, and is a module of its own, never
// released, because it builds another module (examples/nethttp) as a
// program.
//
// The test builds examples/nethttp in its folder, starts it as a separate process
// configured (CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, CLERK_API_URL) for a
// fake Clerk backend from clerktest that the test controls, and sends it
// mixed traffic over loopback: valid session tokens, expired tokens with
// refresh cookies, forged tokens and requests without a token. Meanwhile
// the backend's signing key rotates once and its refresh endpoint fails
// for a while. The test passes only if no answer is unexpected: every
// valid request is let through except refresh-needing ones during the
// refresh outage, and no forged request ever is. It reports requests per
// second and latency percentiles.
//
// CI runs the short form, 10 s of traffic. The long run is
//
//	CLERKGATE_SOAK=60s go test ./soak/ -run Soak -v
//
// With 60 s the refresh endpoint fails for 10 s in the middle; shorter
// runs scale the outage down in proportion. The rotation comes a quarter
// of the way in, but never sooner than the example's key refetch limit
// (10 s, clerkgate's default) after its last key fetch: before that, a
// Gate cannot see a new key by design, and tokens signed with it would be
// refused as key_not_found. The short form therefore runs a little longer
// than 10 s, so that traffic continues after the rotation.
package soak
