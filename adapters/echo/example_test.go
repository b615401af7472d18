package clerkecho_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/clerkgate/clerkgate"
	clerkecho "github.com/clerkgate/clerkgate/adapters/echo"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Protect an echo route and read the caller's claims in the handler,
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

	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		same, _ := clerkgate.ClaimsFromContext(c.Request().Context())
		return c.String(http.StatusOK, fmt.Sprintf("hello %s (same claims: %v)", claims.Subject, claims == same))
	}, clerkecho.RequireSession(gate))
	srv := httptest.NewServer(e)
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

// Leave some routes of a group unauthenticated with a Skipper, and see the
// refusal as an error in echo's error handler.
func ExampleRequireSessionWithConfig() {
	fake := clerktest.New()
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

	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		fmt.Println("error handler:", err)
		e.DefaultHTTPErrorHandler(err, c) // writes nothing: the response is committed
	}
	api := e.Group("/api", clerkecho.RequireSessionWithConfig(clerkecho.Config{
		Gate:    gate,
		Skipper: func(c echo.Context) bool { return c.Path() == "/api/status" },
	}))
	hello := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	api.GET("/status", hello)
	api.GET("/orders", hello)
	srv := httptest.NewServer(e)
	defer srv.Close()

	for _, path := range []string{"/api/status", "/api/orders"} {
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
		fmt.Printf("%s %d %q\n", path, res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}

	// Output:
	// /api/status 200 ""
	// error handler: code=401, message=no session token in the Authorization header or the session cookie, internal=clerkgate: token_missing
	// /api/orders 401 "Bearer"
}
