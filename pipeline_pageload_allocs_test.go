package clerkgate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestWarmPageLoadAllocates: a signed-in browser's page load (the token
// in its cookies, Clerk's browser decision before the cached
// verification) allocates at most one more time than a Bearer request
// with the same token: the page's URL for the decision. Reading the
// cookies, peeking at the token (remembered after the first page load)
// and deciding cost none.
func TestWarmPageLoadAllocates(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(), HTTPClient: fake.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gate.Close() })
	token := fake.Token(fake.CreateSession("user_1").ID)
	bearer := httptest.NewRequest(http.MethodGet, "/me", nil)
	bearer.Header.Set("Authorization", "Bearer "+token)
	page := httptest.NewRequest(http.MethodGet, "/dashboard?tab=1", nil)
	page.Header.Set("Accept", "text/html")
	page.Header.Set("Sec-Fetch-Dest", "document")
	for _, c := range []http.Cookie{{Name: "__session", Value: token}, {Name: "__client_uat", Value: "1"}, {Name: "__clerk_db_jwt", Value: "dvb_1"}} {
		page.AddCookie(&c)
	}
	sessions := gate.Accept(clerkgate.SessionToken)
	allocs := func(r *http.Request) float64 {
		w := httptest.NewRecorder()
		if _, err := sessions.Authenticate(w, r); err != nil {
			t.Fatalf("%s: %v (Location %q)", r.URL, err, w.Header().Get("Location"))
		}
		return testing.AllocsPerRun(100, func() {
			if _, err := sessions.Authenticate(w, r); err != nil {
				t.Fatal(err)
			}
		})
	}
	b, p := allocs(bearer), allocs(page)
	if p > b+1 {
		t.Errorf("a warm page load allocates %v times, a Bearer request %v: want at most one more", p, b)
	}
}
