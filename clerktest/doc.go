// Package clerktest is a fake Clerk instance: its Backend API served over
// real HTTP, and a signing key to mint session tokens the way Clerk does.
//
// Use it in tests, and as the backend of a program running in dev mode (it
// needs no testing.T):
//
//	fake := clerktest.New()
//	defer fake.Close()
//	// Point the code under test at fake.URL() (CLERK_API_URL),
//	// fake.SecretKey() and fake.PublishableKey(): fake.Config() is a
//	// clerkgate.Config that does, for clerkgate.New.
//	sess := fake.CreateSession("user_123")
//	token := fake.Token(sess.ID)                        // a valid __session value
//	expired := fake.Token(sess.ID, clerktest.Expired()) // what a slept tab sends
//
// The package encodes Clerk's wire format by itself and shares no wire types
// with the rest of clerkgate (it imports the root package for Config only),
// so tests of clerkgate's client against this fake check the wire, not a
// shared struct.
//
// # What it serves
//
// Every route lives under /v1 and requires "Authorization: Bearer
// <SecretKey>" (else 401 authentication_invalid, or clerk_key_invalid for a
// wrong key). A Clerk-API-Version header (or __clerk_api_version query, but
// not both) must be 2021-02-05 or 2026-05-12 if present, else 400
// api_version_invalid. Errors use Clerk's envelope,
// {"errors":[{"code","message","long_message","meta"}],"meta":{},"clerk_trace_id"},
// with the trace id also in the Clerk-Trace-Id header. The error codes are
// the Code… constants.
//
//	GET  /v1/jwks                           the JWKS (current key, plus retired ones with WithRetiredKeys)
//	GET  /v1/sessions                       client_id or user_id required (422); status, limit 1–500 (10),
//	                                        offset, paginated=true for {"data","total_count"}; newest first
//	POST /v1/sessions                       {user_id, active_organization_id?} → Session
//	GET  /v1/sessions/{id}                  Session, or 404 resource_not_found
//	POST /v1/sessions/{id}/revoke           Session with status "revoked"
//	POST /v1/sessions/{id}/verify           410 operation_deprecated, except under API version
//	                                        2021-02-05: {token} → Session, 401 session_token_invalid
//	POST /v1/sessions/{id}/tokens           {expires_in_seconds?: 30…315360000} → {"object":"token","jwt"}
//	POST /v1/sessions/{id}/tokens/{name}    the same with a WithTemplate template's claims; unknown → 404
//	POST /v1/sessions/{id}/refresh          see below
//
// Anything else is a 404 resource_not_found. Sessions are never deleted;
// the token routes mint for any known session whatever its status, as
// Server.Token does, while refresh and verify insist on an active one.
//
// # Refresh
//
// The refresh body allows only expired_token, refresh_token and
// request_origin (required), request_headers, request_originating_ip and
// format ("token" or "cookie"); anything else is a 400. Then these checks
// run in order, the first failure answering:
//
//	session {id} exists                              404 resource_not_found
//	expired_token is signed by one of the server's   401 expired_session_token_invalid
//	  last four keys, for its issuer, and has exp
//	its sid is {id}                                  401 refresh_sid_mismatch
//	it expired at most MaxExpiredTokenAge ago        401 session_refresh_expired_session_token_too_old
//	refresh_token is the session's RefreshToken      401 refresh_token_not_found
//	the session is active (not revoked)              401 session_refresh_inactive_session
//	expired_token was never exchanged before         401 session_refresh_expired_session_token_consumed
//
// An expired token works exactly once: a success consumes it, even among
// parallel requests. The token need not have expired yet, so a client whose
// clock runs ahead still gets through. The refresh token does not rotate;
// it stays valid until the session is revoked.
//
// format=token answers {"object":"token","jwt"}; format=cookie answers
// {"object":"cookies","cookies":[…]} with "__session=<jwt>; Path=/;
// SameSite=Lax; Secure" and "__client_uat=<unix seconds>; …", each also
// under its suffixed name (__session_<CookieSuffix>) when the query has
// suffixed_cookies=true. The new token is for the same session, valid for
// 60 s, with azp = request_origin and the expired token's format (v1 or v2).
//
// # The Frontend API
//
// The fake also plays the instance's Frontend API, on an origin of its own
// (FrontendURL, TLS with a certificate Client trusts); with
// WithLocalFrontendAPI the publishable key names its host, so a Gate
// configured from the keys sends its handshakes there. It remembers browsers by its own "__client" cookie on that origin:
//
//	GET  /v1/client/handshake     redirect_url (a loopback http(s) URL, else 400), format,
//	                              suffixed_cookies, __clerk_db_jwt: 307 back to redirect_url with
//	                              __clerk_handshake_nonce (format=nonce) or a signed
//	                              __clerk_handshake token (anything else; see WithHandshakeFormat)
//	GET  /sign-in, POST /sign-in  SignInURL: a form that signs the browser's client in as a user
//	                              and sends it to redirect_url with __clerk_db_jwt (303)
//	GET  /sign-out                SignOutURL: revokes the client's sessions, then the same
//	GET  /.well-known/jwks.json   the JWKS
//
// The handshake's cookies are __session, __client_uat and __clerk_db_jwt
// (the first two also suffixed when suffixed_cookies=true, the last
// always) and __refresh_<suffix>,
// for the client's newest active session, or their removal when it has
// none; Secure only when redirect_url is https. The Backend API trades a
// nonce for them once, within 5 minutes, at GET
// /v1/clients/handshake_payload?nonce=… → {"directives":[…]} (else 404
// resource_not_found). Requests(RouteHandshake) counts handshakes.
// WithTokenLifetime shortens every token's lifetime, to reach expiry fast.
//
// # Faults, records and time
//
// SetFault makes a route fail in the ways a client must survive — error
// statuses with Clerk codes and Retry-After, garbage or malformed bodies,
// an empty key set, bodies over 1 MiB, latency, hangs, slow drips and
// connection resets; see Fault. Requests, LastRequest and LastRequests tell
// what the server received. WithClock drives every time the fake computes,
// so tests reach expiry without sleeping.
package clerktest
