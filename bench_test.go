package clerkgate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// The two benchmarks below are read as a pair: the middleware's cost per
// request is BenchmarkMiddlewareWarm minus BenchmarkBareHandler, measured
// in the same run. Both serve one request in-process through a
// httptest.ResponseRecorder; the token is already in the verified-token
// cache, which is what a browser's 60-second token hits for all but its
// first request.

// benchHandler is the app: it reads the claims, as any protected handler
// would, and answers 204 so that writing a body costs nothing.
var benchHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = clerkgate.ClaimsFromContext(r.Context())
	w.WriteHeader(http.StatusNoContent)
})

// serveBench runs h once per iteration on one prepared request.
func serveBench(b *testing.B, h http.Handler, req *http.Request, want int) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("status %d, want %d", rec.Code, want)
		}
	}
}

// benchRequest is a GET carrying a fresh session token of a clerktest
// instance, and a Gate configured for that instance.
func benchRequest(b *testing.B, mods ...func(*clerkgate.Config)) (*clerkgate.Gate, *http.Request) {
	b.Helper()
	fake := clerktest.New()
	b.Cleanup(fake.Close)
	cfg := clerkgate.Config{
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
		APIURL:         fake.URL(),
		// An hour, not Clerk's 60 s, so that a long -benchtime cannot outlive it.
		MaxTokenLifetime: time.Hour,
	}
	for _, mod := range mods {
		mod(&cfg)
	}
	gate, err := clerkgate.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gate.Close() })
	sess := fake.CreateSession("user_bench")
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	// An hour, not Clerk's 60 s, so that a long -benchtime cannot outlive it.
	req.Header.Set("Authorization", "Bearer "+fake.Token(sess.ID, clerktest.ExpiresIn(time.Hour)))
	return gate, req
}

// BenchmarkBareHandler is the baseline: the handler with no middleware.
func BenchmarkBareHandler(b *testing.B) {
	_, req := benchRequest(b)
	serveBench(b, benchHandler, req, http.StatusNoContent)
}

// BenchmarkMiddlewareWarm is RequireSession over the same handler, with a
// token the Gate has verified before.
func BenchmarkMiddlewareWarm(b *testing.B) {
	gate, req := benchRequest(b)
	serveBench(b, gate.RequireSession(benchHandler), req, http.StatusNoContent)
}

// BenchmarkPageLoadWarm is a signed-in browser's page load: the same
// token in its cookies with __client_uat and the dev browser, so the Gate
// runs Clerk's browser decision before the (cached) verification. Read it
// against BenchmarkMiddlewareWarm.
func BenchmarkPageLoadWarm(b *testing.B) {
	gate, req := benchRequest(b)
	token := req.Header.Get("Authorization")[len("Bearer "):]
	req.Header.Del("Authorization")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.AddCookie(&http.Cookie{Name: "__session", Value: token})
	req.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
	req.AddCookie(&http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_bench"})
	serveBench(b, gate.RequireSession(benchHandler), req, http.StatusNoContent)
}

// BenchmarkCookiePost is a browser's same-origin API POST with the token
// in its cookie, with the cross-origin check ("checked") and without it
// ("unchecked"), and a forged cross-site one that the check refuses
// ("refused"), with no verification. Read checked against unchecked.
func BenchmarkCookiePost(b *testing.B) {
	for _, c := range []struct {
		name    string
		site    string
		disable bool
		want    int
	}{
		{"checked", "same-origin", false, http.StatusNoContent},
		{"unchecked", "same-origin", true, http.StatusNoContent},
		{"refused", "cross-site", false, http.StatusForbidden},
	} {
		b.Run(c.name, func(b *testing.B) {
			gate, req := benchRequest(b, func(cfg *clerkgate.Config) { cfg.DisableCrossOriginProtection = c.disable })
			token := req.Header.Get("Authorization")[len("Bearer "):]
			req.Header.Del("Authorization")
			req.Method = http.MethodPost
			req.Header.Set("Sec-Fetch-Site", c.site)
			req.Header.Set("Origin", "https://evil.example")
			req.AddCookie(&http.Cookie{Name: "__session", Value: token})
			serveBench(b, gate.RequireSession(benchHandler), req, c.want)
		})
	}
}

// BenchmarkCookieWarm is a signed-in browser's API call: a fetch
// (Sec-Fetch-Dest: empty) with the same token in its __session cookie,
// among the other cookies such a browser sends. It is no page load, so it
// is decided on the token alone. Read it against BenchmarkMiddlewareWarm.
func BenchmarkCookieWarm(b *testing.B) {
	gate, req := benchRequest(b)
	token := req.Header.Get("Authorization")[len("Bearer "):]
	req.Header.Del("Authorization")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	req.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1700000000"})
	req.AddCookie(&http.Cookie{Name: "__session", Value: token})
	req.AddCookie(&http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_bench"})
	req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	serveBench(b, gate.RequireSession(benchHandler), req, http.StatusNoContent)
}
