package clerkgate_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/verifier"
)

// Routes for organization admins, and a step-up route that Clerk's
// frontend answers by asking the user to verify again.
func ExamplePolicy_With() {
	fake := clerktest.New()
	defer fake.Close()
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()

	done := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "done") })
	mux := http.NewServeMux()
	mux.Handle("GET /admin", gate.Accept(clerkgate.SessionToken).With(authz.Role("org:admin")).Require(done))
	mux.Handle("POST /transfer", gate.Accept(clerkgate.SessionToken).With(authz.Reverification(authz.Strict)).Require(done))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	member := fake.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "member"))
	for _, req := range []struct{ method, path, token string }{
		{"GET", "/admin", fake.Token(member.ID)},
		{"POST", "/transfer", fake.Token(member.ID, clerktest.WithFactorVerificationAge(0, 30))},
		{"POST", "/transfer", fake.Token(member.ID, clerktest.WithFactorVerificationAge(0, 2))},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, nil)
		r.Header.Set("Authorization", "Bearer "+req.token)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("%d %s\n", res.StatusCode, body)
	}
	// Output:
	// 403 {"error":"forbidden","reason":"role_required","message":"the session's organization role does not allow this"}
	//
	// 403 {"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}
	// 200 done
}

// Checks on a caller in code of the app's own, as a policy's With applies
// them to a route: a refusal is an *AuthError naming the failed check.
func ExampleAuthorize() {
	member := &clerkgate.Caller{Type: clerkgate.SessionToken, Session: &clerkgate.Claims{
		Subject: "user_1",
	}}
	err := clerkgate.Authorize(member, authz.Role("org:admin"))
	var refused *clerkgate.AuthError
	if errors.As(err, &refused) {
		fmt.Println(refused.Status, string(refused.Reason))
	}
	owner := authz.Func(func(c *verifier.Claims) bool { return c.Subject == "user_1" })
	fmt.Println(clerkgate.Authorize(member, owner))
	// Output:
	// 403 role_required
	// <nil>
}
