package clerkgate_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// A route for services: it accepts M2M tokens and API keys, and refuses
// session tokens by type, before any call to Clerk.
func ExampleGate_Accept() {
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

	jobs := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		fmt.Fprintf(w, "%s for %s, may write: %v", caller.Type, caller.Subject(), caller.HasScope("write"))
	})
	srv := httptest.NewServer(gate.Accept(clerkgate.M2MToken, clerkgate.APIKey).Require(jobs))
	defer srv.Close()

	_, key := fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key", clerktest.CredentialScopes("write"))
	worker := fake.CreateMachine()
	session := fake.Token(fake.CreateSession("user_42").ID)
	for _, token := range []string{key, fake.M2MJWT(worker.ID), session} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("%d %s\n", res.StatusCode, strings.ReplaceAll(string(body), worker.ID, "mch_worker"))
	}
	// Output:
	// 200 api_key for user_2abcdefghijklmnopqrstuvwxyz, may write: true
	// 200 m2m_token for mch_worker, may write: false
	// 401 {"error":"token_type_invalid","message":"this route does not accept this type of token"}
}

// One handler for people and services: the Caller says which, with the
// session's claims or the machine credential's identity.
func ExampleCallerFromContext() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		caller, ok := clerkgate.CallerFromContext(r.Context())
		switch {
		case !ok:
			fmt.Fprintln(w, "anonymous")
		case caller.Type == clerkgate.SessionToken:
			fmt.Fprintf(w, "user %s in session %s\n", caller.Subject(), caller.Session.SessionID)
		default:
			fmt.Fprintf(w, "%s %s with scopes %v\n", caller.Type, caller.Machine.ID, caller.Scopes())
		}
	}
	for _, c := range []*clerkgate.Caller{
		nil,
		{Type: clerkgate.SessionToken, Session: &clerkgate.Claims{Subject: "user_42", SessionID: "sess_7"}},
		{Type: clerkgate.APIKey, Machine: &clerkgate.Identity{Type: clerkgate.APIKey, ID: "ak_1", Subject: "user_42", Scopes: []string{"read"}}},
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/whoami", nil)
		if c != nil {
			r = r.WithContext(clerkgate.ContextWithCaller(r.Context(), c))
		}
		w := httptest.NewRecorder()
		handler(w, r)
		fmt.Print(w.Body.String())
	}
	// Output:
	// anonymous
	// user user_42 in session sess_7
	// api_key ak_1 with scopes [read]
}
