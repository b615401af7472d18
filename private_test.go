package clerkgate_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/verifier"
)

// publicPage answers as a handler of a cacheable page does: public, for
// five minutes, whoever asks.
var publicPage = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	caller, _ := clerkgate.CallerFromContext(r.Context())
	io.WriteString(w, caller.Subject())
})

// TestFreshSessionCookiesAreNeverCacheable: a response on which the Gate
// sets the session cookies of a refresh goes out "private, no-store",
// whatever Cache-Control the handler set, through every middleware (a
// shared cache would hand the new session to other visitors). Responses
// that set no cookie keep the handler's caching.
func TestFreshSessionCookiesAreNeverCacheable(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	g := b.gate
	streaming := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		caller, _ := clerkgate.CallerFromContext(r.Context())
		io.WriteString(w, caller.Subject())
		w.(http.Flusher).Flush() // the handler's Flusher survives
	})
	for name, h := range map[string]http.Handler{
		"RequireSession":    g.Accept(clerkgate.SessionToken).Require(publicPage),
		"OptionalSession":   g.Accept(clerkgate.SessionToken).Optional(publicPage),
		"Require":           g.Accept(clerkgate.SessionToken).With(authz.Func(func(*verifier.Claims) bool { return true })).Require(publicPage),
		"Accept().Require":  g.Accept(clerkgate.SessionToken, clerkgate.APIKey).Require(publicPage),
		"Accept().Optional": g.Accept().Optional(publicPage),
		"streaming":         g.Accept(clerkgate.SessionToken).Require(streaming),
		"explicit WriteHeader": g.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public")
			w.WriteHeader(http.StatusAccepted)
		})),
	} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, h)
			s := b.fake.CreateSession("user_1")
			expired := b.fake.Token(s.ID, clerktest.Expired())
			rep := get(t, srv.URL, both(b.sessionCookie(expired), b.refreshCookie(s)))
			require.Less(t, rep.status, 300, rep.body)
			require.NotEmpty(t, rep.header.Values("Set-Cookie"), "the refresh set the new cookies")
			require.Equal(t, []string{"private, no-store"}, rep.header.Values("Cache-Control"))

			// The same page, with a valid token and no cookie to set, is as
			// cacheable as its handler says.
			fresh := get(t, srv.URL, b.sessionCookie(b.fake.Token(s.ID)))
			require.Empty(t, fresh.header.Values("Set-Cookie"))
			if name != "explicit WriteHeader" {
				require.Equal(t, "public, max-age=300", fresh.header.Get("Cache-Control"))
			}
		})
	}
}

// TestAuthenticateMarksFreshCookiesPrivate: an adapter's Authenticate gets
// the header on w, for it to keep.
func TestAuthenticateMarksFreshCookiesPrivate(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired())
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := b.gate.Accept(clerkgate.SessionToken).Authenticate(w, r)
		require.NoError(t, err)
		require.Equal(t, "private, no-store", w.Header().Get("Cache-Control"))
	}))
	rep := get(t, srv.URL, both(b.sessionCookie(expired), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status)
	require.Equal(t, "private, no-store", rep.header.Get("Cache-Control"))
}
