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
// # Why not jwx's jwk.Cache
//
// Parsing is delegated to jwx (jwk.Parse), but the cache around it is ours,
// because jwk.Cache gets three things wrong for an auth middleware. When
// its first fetch fails it holds nothing usable until its next refresh
// window (15 minutes by default), so a network blip at start-up becomes a
// quarter of an hour of rejected users; here a failed fetch never sticks,
// and the next unknown kid may retry once MinRefetchInterval has passed.
// Its readers can stall behind a slow refresh; here readers load an
// immutable snapshot through an atomic pointer and never wait for a
// refresh unless they need a key the snapshot lacks. And it never refetches
// because a token names an unknown kid, so a key rotation goes unseen until
// the next scheduled refresh; here the unknown kid triggers a refetch,
// coalesced across callers and rate-limited so that forged kids cannot turn
// into a flood of requests to Clerk.
package jwks
