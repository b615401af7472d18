package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/verifier"
)

// Verify session tokens with no network at all, against the instance's
// public key (CLERK_JWT_KEY, from the dashboard's API keys page). Here a
// fake Clerk instance mints the tokens and supplies the key.
func Example() {
	fake := clerktest.New(clerktest.WithFrontendHost("clerk.example.com"))
	defer fake.Close()

	keys, err := jwks.NewStatic(fake.PublicKeyPEM())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{
		Keys:   keys,
		Issuer: "https://clerk.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}

	sess := fake.CreateSession("user_123")
	claims, err := v.Verify(context.Background(), fake.Token(sess.ID))
	fmt.Println(claims.Subject, claims.SessionID == sess.ID, err)

	// What the verifier refuses, with the reason an HTTP layer would send.
	other := clerktest.New(clerktest.WithFrontendHost("clerk.example.com"))
	defer other.Close()
	for _, token := range []string{
		fake.Token(sess.ID, clerktest.Expired()),
		other.Token(other.CreateSession("user_123").ID), // another instance's key
		fake.Token(sess.ID, clerktest.WithIssuer("https://clerk.attacker.example")),
		"not-a-token",
	} {
		_, err := v.Verify(context.Background(), token)
		fmt.Println(string(verifier.ReasonOf(err)))
	}

	// An expired token is still authentic: the error carries its claims,
	// which is what a refresh needs.
	_, err = v.Verify(context.Background(), fake.Token(sess.ID, clerktest.Expired()))
	var verr *verifier.Error
	if errors.As(err, &verr) && errors.Is(err, verifier.ReasonTokenExpired) {
		fmt.Println("expired session:", verr.Claims.SessionID == sess.ID)
	}
	// Output:
	// user_123 true <nil>
	// token_expired
	// signature_invalid
	// issuer_invalid
	// token_malformed
	// expired session: true
}
