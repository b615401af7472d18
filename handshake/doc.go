// Package handshake decides how a browser's page load is authenticated,
// the way Clerk's own backend (authenticateRequest in @clerk/backend)
// decides it: from the request's cookies, query and navigation headers,
// and the instance's configuration, it says whether the request's session
// token should be verified, whether the browser is signed out and why,
// whether it must be sent through the Frontend API's handshake (a 307 to
// /v1/client/handshake that comes back with fresh cookies), or whether it
// is coming back from one that must be resolved.
//
// Every function here is pure: no clock but the one in the Request, no
// network, no state (a caller may remember PeekToken's answers, which
// depend on the token alone, and give them in Cookies.SessionPeek: that
// memory is the caller's). The root package gathers the facts, calls Decide (and
// AfterVerify once the token is checked), and acts on the Decision:
// verifying, refreshing, redirecting and resolving are its job.
//
//	d := handshake.Decide(&req, &cfg)
//	switch d.Action {
//	case handshake.Verify:    // verify d.Token; on failure ask AfterVerify
//	case handshake.SignedOut: // refuse, with d.Reason in the auth headers
//	case handshake.Redirect:  // 307 to d.Location, setting d.Cookies
//	case handshake.Resolve:   // trade d.Nonce or d.HandshakeToken for cookies
//	}
//
// One deliberate difference from Clerk: a request that cannot be
// redirected (anything but a GET for a document) whose cookies would call
// for a handshake is decided as clerkgate decided it before handshakes
// existed: its session token, if any, is verified. Clerk answers such a
// request signed out; clerkgate keeps serving the API clients (and tests)
// that send a valid __session cookie without __client_uat or a dev
// browser token. A request that fails verification is signed out either
// way.
//
// Another: a handshake is resolved only in the browser whose 307 started
// it (Config.BindingKey, CookieBinding), and in production only from the
// cookie the Frontend API sets, never from the query, so a link that
// carries someone's handshake signs no one in (login CSRF).
package handshake
