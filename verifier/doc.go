// Package verifier decides whether a Clerk session token is valid, without
// calling Clerk: the token's signature is checked against keys from a
// jwks.Source, and its claims against the configuration.
//
// The checks run in a fixed order, cheapest and most fundamental first:
//
//  1. shape: compact serialization, three segments of the base64url
//     alphabet only (a CR, LF, space, "+", "/" or "=" anywhere is
//     malformed, so one token has exactly one spelling), at most
//     MaxTokenSize bytes, a header that is a strict JSON object (see
//     below) whose alg, kid and typ are strings, whose typ (if any) is JWT
//     and which names no crit extensions;
//  2. token type: the header's cat must be absent, Clerk's session
//     category or its "ignore categories" value, and typ must not be an
//     OAuth access token's: the instance key also signs JWT templates,
//     M2M and OAuth tokens (ReasonTokenTypeInvalid);
//  3. algorithm: only RS256/RS384/RS512; "none", HMAC and everything else
//     are refused before any key is looked up;
//  4. key: the kid must name a key of the source, and that key decides the
//     algorithm: it must be RSA and declare the header's alg (or none, which
//     means RS256). jku, jwk, x5u and x5c headers are never used;
//  5. signature;
//  6. payload: a strict JSON object (ReasonTokenMalformed), read only now
//     that it is known to be signed;
//  7. claim types: exp, sub and sid present, every claim the verifier
//     reads of its JSON type, null never standing in for absent; then a
//     machine's subject (sub "mch_…") is ReasonTokenTypeInvalid;
//  8. issuer, authorized party (azp) and session status (sts);
//  9. time: exp, nbf and iat with a clock skew (5 s by default).
//
// Strict JSON means what every parser reading the token would agree on:
// member names match exactly (encoding/json would let "SUB" or "ſub" stand
// in for "sub"); a name that appears twice in one object, at any depth,
// refuses the token (parsers differ on which one counts); the text is
// valid UTF-8 with no byte order mark and no \u escape of half a surrogate
// pair; nesting is at most 64 deep. Claims.Decode and Claims.Raw read the
// same payload by the same rules.
//
// Time is last on purpose: an expired token whose every other check passed
// is authentic, and the caller may refresh it (see Error.Claims).
//
// Usage:
//
//	v, err := verifier.New(verifier.Config{
//		Keys:              keys, // a jwks.Source
//		Issuer:            "https://clerk.example.com",
//		AuthorizedParties: []string{"https://app.example.com"},
//	})
//	…
//	claims, err := v.Verify(ctx, token)
//	if errors.Is(err, verifier.ReasonTokenExpired) { … }
//
// The package knows nothing of HTTP; the root clerkgate package maps each
// Reason to a response.
package verifier
