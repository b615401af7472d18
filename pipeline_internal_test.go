package clerkgate

import (
	"net/http"
	"testing"

	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/cookies"
)

// TestPageLoadIsEligible: pageLoad, which skips header lookups that
// handshake.Eligible would not look at, decides every request as Eligible
// does on the full headers.
func TestPageLoadIsEligible(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, "get", ""} {
		for _, dest := range []string{"", "document", "iframe", "empty", "DOCUMENT", "script"} {
			for _, accept := range []string{"", "text/html", "text/html,application/xhtml+xml", "application/json", "TEXT/HTML", "*/*"} {
				r := &http.Request{Method: method, Header: http.Header{}}
				if dest != "" {
					r.Header.Set("Sec-Fetch-Dest", dest)
				}
				if accept != "" {
					r.Header.Set("Accept", accept)
				}
				want := handshake.Eligible(r.Method, r.Header.Get("Sec-Fetch-Dest"), r.Header.Get("Accept"))
				if got := pageLoad(r); got != want {
					t.Errorf("%s, Sec-Fetch-Dest %q, Accept %q: pageLoad %v, Eligible %v", method, dest, accept, got, want)
				}
			}
		}
	}
}

// tokenFrom is the session token the Gate decides r by: the Authorization
// header's, else the cookies' (see cookieToken).
func (g *Gate) tokenFrom(r *http.Request) string {
	q := g.httpRequest(nil, r)
	if q.hasBearer {
		return q.bearer
	}
	return g.cookieToken(&q)
}

// suffixed is the instance's name for the cookie name.
func (g *Gate) suffixed(name string) string { return name + "_" + g.cookieSuffix }

// cookieValue is the value of the cookie name, or "" when the request has
// none, or has it twice with different values (see malformed).
func cookieValue(r *http.Request, name string) string {
	v, _ := cookies.FindOne(r.Header["Cookie"], name)
	return v
}
