// Package jwks supplies the public keys that Clerk session tokens are
// verified with.
//
// A Source answers "which key has this kid?". There are two kinds:
//
//   - Remote fetches a JWKS document from Clerk, either from the Backend API
//     (NewBackendAPI, needs the secret key) or from the instance's Frontend
//     API (NewFrontendAPI, needs only the publishable key), and keeps it in
//     memory. Every request is answered from memory; the network is used by
//     a background refresh and, rate-limited, when a token names a kid that
//     is not in memory (a key rotation).
//   - Static holds the one PEM key from the dashboard (CLERK_JWT_KEY) and
//     never uses the network.
//
// Both prepare each RSA key for verification once, when it is loaded
// (Key.VerifyPKCS1v15), instead of on every token as rsa.VerifyPKCS1v15
// must. A Source of your own should build its Keys with NewKey, which
// applies Remote's checks and prepares them too.
//
// Usage:
//
//	keys, err := jwks.NewBackendAPI(ctx, "", os.Getenv("CLERK_SECRET_KEY"), jwks.RemoteConfig{
//		Logger: slog.Default(),
//	})
//	if err != nil {
//		return err
//	}
//	defer keys.Close()
//
//	key, err := keys.Key(r.Context(), kidFromTokenHeader)
//	switch {
//	case errors.Is(err, jwks.ErrKeyNotFound):
//		// the token names a key this instance does not have: 401
//	case errors.Is(err, jwks.ErrUnavailable):
//		// we could not get the keys: 503, try again later
//	}
//
// # Why a JWK parser of our own
//
// Key sets are parsed here, with the standard library, not by a JOSE
// library. clerkgate used lestrrat-go/jwx/v2 for it until that version was
// deprecated; jwx/v3, its successor, still brings ten modules with it
// (goccy/go-json, segmentio/asm, a secp256k1 package, fastjson, ...), all
// to read a document that at Clerk holds one or two RS256 keys. A JWK is
// small (RFC 7517, RFC 7518 §6, RFC 8037): the parser takes RSA keys, which
// is what Clerk publishes, and keeps ECDSA (P-256, P-384, P-521) and
// Ed25519 keys, which the verifier refuses but a Source of your own may
// use. It is stricter than jwx was, because a key set is the root of trust:
//
//   - the document must be UTF-8, one JSON object whose "keys" is an array;
//   - a member name that appears twice is refused (in a key, the key; at
//     the top, the document), since parsers disagree about which one wins;
//   - base64url values must be unpadded, in the URL alphabet only (no line
//     breaks), with no stray bits; RSA's n and e must have no leading zero
//     octet, EC coordinates exactly the curve's size;
//   - kty must be RSA, EC or OKP (Ed25519); oct keys, private keys (any of
//     d, p, q, dp, dq, qi, oth, k present), keys whose use or key_ops
//     forbids verifying and keys whose alg belongs to another kind of key
//     are left out, as are kid-less keys, RSA keys under 2048 bits and EC
//     points off their curve.
//
// A member that breaks these rules is skipped (and logged) and the rest of
// the set is used, as RFC 7517 §5 asks; a document that is not a JWK Set
// at all is refused as a whole. FuzzParseKeySet checks that whatever comes
// out is a public signature key the verifier may use.
//
// # Why not jwk.Cache
//
// The cache is ours too, because jwx's jwk.Cache gets three things wrong
// for an auth middleware. When its first fetch fails it holds nothing
// usable until its next refresh window (15 minutes by default), so a
// network blip at start-up becomes a quarter of an hour of rejected users; here a failed fetch never sticks,
// and the next unknown kid may retry once MinRefetchInterval has passed.
// Its readers can stall behind a slow refresh; here readers load an
// immutable snapshot through an atomic pointer and never wait for a
// refresh unless they need a key the snapshot lacks. And it never refetches
// because a token names an unknown kid, so a key rotation goes unseen until
// the next scheduled refresh; here the unknown kid triggers a refetch,
// coalesced across callers and rate-limited so that forged kids cannot turn
// into a flood of requests to Clerk.
package jwks
