package clerkgate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestWarmBearerRequestAllocates: a request whose Bearer token the Gate
// has verified before allocates twice to be authenticated, with the
// handshake on: the copy of the cached claims that makes them the
// request's own (TestHandlersCannotChangeAnotherRequestsClaims), and the
// Caller that Policy.Authenticate returns them in; the
// page-load path costs a Bearer request nothing. The middleware adds the
// two allocations of handing the claims on (the request copy and its
// context).
func TestWarmBearerRequestAllocates(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
		APIURL:         fake.URL(),
		HTTPClient:     fake.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gate.Close() })
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+fake.Token(fake.CreateSession("user_1").ID))
	req.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	sessions := gate.Accept(clerkgate.SessionToken)
	if _, err := sessions.Authenticate(w, req); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := sessions.Authenticate(w, req); err != nil {
			t.Fatal(err)
		}
	}); n != 2 {
		t.Errorf("Authenticate: %v allocations per warm Bearer request, want 2", n)
	}
	served := 0
	h := gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, req) }); n > 3 {
		t.Errorf("RequireSession: %v allocations per warm Bearer request, want at most 3", n)
	}
	if served == 0 {
		t.Fatal("the handler never ran")
	}
}
