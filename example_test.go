package clerkgate_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// A protected route. The fake Clerk backend stands in for Clerk here; in
// production the same Config comes from ConfigFromEnv.
func ExamplePolicy_Require() {
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

	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	})
	srv := httptest.NewServer(gate.Accept(clerkgate.SessionToken).Require(me))
	defer srv.Close()

	token := fake.Token(fake.CreateSession("user_42").ID)
	for _, auth := range []string{"Bearer " + token, ""} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("%d %s\n", res.StatusCode, body)
	}
	// Output:
	// 200 hello user_42
	// 401 {"error":"token_missing","message":"no session token in the Authorization header or the session cookie"}
}

// Handlers behind a policy's Optional tell signed-in users from anonymous
// ones by whether claims are present.
func ExampleClaimsFromContext() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := clerkgate.ClaimsFromContext(r.Context()); ok {
			fmt.Println("signed in as", claims.Subject, "admin:", claims.HasRole("org:admin"))
			return
		}
		fmt.Println("anonymous")
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	handler(nil, r)
	r = r.WithContext(clerkgate.ContextWithCaller(r.Context(), &clerkgate.Caller{
		Type:    clerkgate.SessionToken,
		Session: &clerkgate.Claims{Subject: "user_1"},
	}))
	handler(nil, r)
	// Output:
	// anonymous
	// signed in as user_1 admin: false
}
