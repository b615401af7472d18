package clerkgin_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/clerkgate/clerkgate"
	clerkgin "github.com/clerkgate/clerkgate/adapters/gin"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Protect a gin route and read the caller's claims in the handler, through
// the adapter or through the request's context.
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

	r := gin.New()
	r.GET("/me", clerkgin.RequireSession(gate), func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		same, _ := clerkgate.ClaimsFromContext(c.Request.Context())
		c.String(http.StatusOK, "hello %s (same claims: %v)", claims.Subject, claims == same)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	sess := fake.CreateSession("user_123")
	for _, token := range []string{fake.Token(sess.ID), ""} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := srv.Client().Do(req)
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
