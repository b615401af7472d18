package clerkgate_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/webhooks"
)

// Clerk's webhooks, verified: the Gate acts on the revocations among them
// (here none) and hands every event to the app's handler. The fake Clerk
// delivers as Clerk does, signed with the instance's signing secret.
func ExampleGate_Webhooks() {
	fake := clerktest.New()
	defer fake.Close()

	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:            fake.SecretKey(),
		PublishableKey:       fake.PublishableKey(),
		APIURL:               fake.URL(),
		WebhookSigningSecret: fake.WebhookSecret(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()

	got := make(chan string, 1)
	srv := httptest.NewServer(gate.Webhooks(func(_ context.Context, e *webhooks.Event) error {
		got <- e.Type
		return nil
	}))
	defer srv.Close()

	fake.SendWebhooksTo(srv.URL)
	fake.SendWebhook("user.created", map[string]any{"id": "user_42", "object": "user"})
	fmt.Println("received", <-got)
	// Output:
	// received user.created
}
