// Package session is clerkgate's client for the Sessions resource of Clerk's
// Backend API: List, Create, Get, Refresh, Revoke, the deprecated Verify,
// CreateToken and CreateTokenFromTemplate; and HandshakePayload, which
// trades the nonce of a browser's handshake for its cookies.
//
// clerkgate's middleware needs only Refresh, as the fallback when a session
// token has expired, and HandshakePayload, for page loads; the other operations are here for applications that
// manage sessions from their back end. The package uses nothing but the
// standard library and keeps no package-level state: every setting lives in
// the Client, so clients for two Clerk instances never interfere.
//
// # Usage
//
//	c, err := session.NewClient(session.Config{
//		SecretKey: os.Getenv("CLERK_SECRET_KEY"),
//		OnRevoked: func(id string) { log.Printf("revoked %s", id) },
//	})
//	if err != nil {
//		return err
//	}
//	s, err := c.Get(ctx, "sess_2abc")
//	switch {
//	case session.IsNotFound(err):
//		// no such session
//	case err != nil:
//		return err
//	}
//	fmt.Println(s.Status, s.ExpireTime())
//
// # Requests
//
// Every request carries the secret key as a bearer token, the
// Clerk-API-Version header (never the __clerk_api_version query: Clerk
// refuses a request that has both), a clerkgate User-Agent and
// "Accept: application/json". Arguments are checked before anything is sent:
// a session id or template name that could change the request's path (one
// holding "/", "..", "?", "#", "%", whitespace or control characters) is
// refused with an error wrapping ErrInvalidInput, as is any value outside
// the ranges the spec allows. Answers are read through a size cap.
//
// # Retries
//
// List and Get, which only read, are retried on network errors, 429 and 5xx:
// at most three attempts, with capped exponential backoff and jitter, waiting
// as long as a Retry-After header asks. Retries stay inside the caller's
// context; when its deadline leaves no room for the wait, the last error is
// returned at once instead of sleeping into a timeout. A Retry-After longer
// than 10 s is not waited out either: the *APIError comes back with RetryAfter
// set, and the caller decides.
//
// The POST operations are never retried, because repeating them is not safe:
// a request whose answer was lost may well have taken effect. Refresh is the
// sharpest case. Clerk consumes the expired session token on its first use,
// so a retried refresh fails with
// session_refresh_expired_session_token_consumed even when the first attempt
// worked, and the user is pushed through a needless sign-in handshake. Create
// would make a second session and CreateToken a second token. Callers that
// know better may retry these themselves.
//
// # Errors
//
// A non-2xx answer is an *APIError holding the status, Clerk's error codes,
// the trace id and any Retry-After; IsNotFound, IsUnauthenticated,
// IsDeprecated, IsRateLimited and IsUnprocessable test for the common
// statuses through wrapping, and (*APIError).HasCode for a specific code. A
// body that is not a Clerk error document (a proxy's HTML 502, say) becomes a
// short excerpt in APIError.Body. A 2xx answer that cannot be decoded wraps
// ErrUnexpectedResponse.
package session
