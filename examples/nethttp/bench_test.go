package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
)

// BenchmarkMeOverHealthz serves the example's /me (a signed-in user,
// the token cached) and /healthz in turn, in-process: the ratio of the
// two is what the load generator's "auth overhead" target measures over
// HTTP, without the HTTP.
func BenchmarkMeOverHealthz(b *testing.B) {
	b.Setenv("ADDR", "127.0.0.1:0")
	app, err := exampleapp.New("net/http")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.Close)
	h := routes(app)
	token := app.DevToken(false).Body.(map[string]string)["token"]
	me := httptest.NewRequest(http.MethodGet, "/me", nil)
	me.Header.Set("Authorization", "Bearer "+token)
	health := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	for _, c := range []struct {
		name string
		r    *http.Request
	}{{"me", me}, {"healthz", health}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, c.r)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.name, w.Code, w.Body)
				}
			}
		})
	}
}
