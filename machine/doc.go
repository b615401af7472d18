// Package machine verifies and manages Clerk's machine credentials: M2M
// tokens ("mt_…" opaque, or JWTs whose sub is a machine), API keys
// ("ak_…") and OAuth access tokens ("oat_…" opaque, or at+jwt JWTs).
//
// JWTs are verified locally by package verifier. Opaque credentials can
// only be verified by Clerk's Backend API; a Verifier does that behind a
// bounded cache that coalesces parallel requests for one credential,
// remembers refusals briefly, and bounds per process how often it calls
// Clerk for credentials it has never seen, so a flood of random "ak_…"
// values cannot become a flood of Backend API calls:
//
//	client, err := machine.NewClient(machine.Config{SecretKey: os.Getenv("CLERK_SECRET_KEY")})
//	if err != nil {
//		log.Fatal(err)
//	}
//	v, err := machine.NewVerifier(machine.VerifierConfig{Client: client})
//	if err != nil {
//		log.Fatal(err)
//	}
//	id, err := v.Verify(ctx, "ak_…")
//
// Most apps use clerkgate.Gate.Accept instead, which does all of this
// per request. Client also creates, lists and revokes M2M tokens and API
// keys.
package machine
