package clerktest_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// whoami is the application's handler under test: it answers with the
// signed-in user's id and whether they administer the active organization.
func whoami(w http.ResponseWriter, r *http.Request) {
	claims, _ := clerkgate.ClaimsFromContext(r.Context())
	fmt.Fprintf(w, "%s admin=%t", claims.Subject, claims.HasRole("org:admin"))
}

// A test of your own handler behind a real Gate: the fake stands in for
// Clerk (keys, sessions, tokens), and the Gate talks to it over HTTP exactly
// as it would talk to Clerk, so the handler sees what it sees in production.
// In a test function, compare with t.Errorf instead of printing.
func Example_handlerTest() {
	fake := clerktest.New()
	defer fake.Close()

	cfg := fake.Config() // the fake's keys and Backend API URL
	cfg.Logger = slog.New(slog.DiscardHandler)
	gate, err := clerkgate.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()
	handler := gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(whoami))

	admin := fake.CreateSession("user_admin")
	member := fake.CreateSession("user_member")
	for _, token := range []string{
		fake.Token(admin.ID, clerktest.WithOrg("org_1", "acme", "org:admin")),
		fake.Token(member.ID, clerktest.WithOrg("org_1", "acme", "org:member")),
		fake.Token(member.ID, clerktest.Expired()), // no refresh cookie: refused
		"",
	} {
		req := httptest.NewRequest(http.MethodGet, "/whoami", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		fmt.Println(rec.Code, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 user_admin admin=true
	// 200 user_member admin=false
	// 401 {"error":"token_expired","message":"the session token has expired"}
	// 401 {"error":"token_missing","message":"no session token in the Authorization header or the session cookie"}
}
