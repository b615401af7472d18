// Package verifier decides whether a Clerk session token is valid, without
// calling Clerk: the token's signature is checked against keys from a
// jwks.Source, and its claims against the configuration.
//
// The checks run in a fixed order, cheapest and most fundamental first:
//
//  1. shape: compact serialization, three base64url segments, at most
//     MaxTokenSize bytes, a JSON header whose typ (if any) is JWT and which
//     names no crit extensions;
//  2. algorithm: only RS256/RS384/RS512; "none", HMAC and everything else
//     are refused before any key is looked up;
//  3. key: the kid must name a key of the source, and that key decides the
//     algorithm: it must be RSA and declare the header's alg (or none, which
//     means RS256). jku, jwk, x5u and x5c headers are never used;
//  4. signature;
//  5. claim types: exp, sub and sid present, every claim of its JSON type;
//  6. issuer, authorized party (azp) and session status (sts);
//  7. time: exp, nbf and iat with a clock skew (5 s by default).
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
