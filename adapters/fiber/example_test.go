package clerkfiber_test

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"

	"github.com/gofiber/fiber/v3"

	"github.com/clerkgate/clerkgate"
	clerkfiber "github.com/clerkgate/clerkgate/adapters/fiber"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Protect a Fiber route and read the caller's claims in the handler,
// through the adapter or through the request's context.
func Example() {
	fake := clerktest.New() // in production: clerkgate.New(clerkgate.ConfigFromEnv())
	defer fake.Close()
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
		APIURL:         fake.URL(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()

	app := fiber.New()
	app.Get("/me", clerkfiber.RequireSession(gate), func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		same, _ := clerkgate.ClaimsFromContext(c.Context())
		return c.SendString(fmt.Sprintf("hello %s (same claims: %v)", claims.Subject, claims == same))
	})

	sess := fake.CreateSession("user_123")
	for _, token := range []string{fake.Token(sess.ID), ""} {
		req := httptest.NewRequest("GET", "/me", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := app.Test(req) // a real fasthttp exchange, in memory
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("%d %s\n", res.StatusCode, body)
	}

	// Output:
	// 200 hello user_123 (same claims: true)
	// 401 {"error":"token_missing","message":"no session token in the Authorization header or the session cookie"}
}
