package clerkgate_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// A token that came without a request, here with a queue job. The error
// is nil for an accepted token, so a function of your own can return it
// as it is; a refusal is an *AuthError.
func ExamplePolicy_AuthenticateToken() {
	fake := clerktest.New()
	defer fake.Close()
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:         fake.SecretKey(),
		PublishableKey:    fake.PublishableKey(),
		APIURL:            fake.URL(),
		AuthorizedParties: []string{"https://app.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()

	sessions := gate.Accept(clerkgate.SessionToken)
	userOf := func(ctx context.Context, token string) (string, error) {
		caller, err := sessions.AuthenticateToken(ctx, token)
		if err != nil {
			return "", err
		}
		return caller.Subject(), nil
	}

	session := fake.CreateSession("user_1")
	app := clerktest.WithAuthorizedParty("https://app.example.com")
	for _, token := range []string{fake.Token(session.ID, app), fake.Token(session.ID, app, clerktest.Expired())} {
		user, err := userOf(context.Background(), token)
		var refusal *clerkgate.AuthError
		switch {
		case err == nil:
			fmt.Println("job of", user)
		case errors.As(err, &refusal):
			fmt.Println("refused:", refusal.Status, string(refusal.Reason))
		}
	}
	// Output:
	// job of user_1
	// refused: 401 token_expired
}
