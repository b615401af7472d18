package clerkgate_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/verifier"
)

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

// Handlers that answer in unusual ways, on a response where the Gate set
// fresh session cookies (a refresh): flushing through
// http.ResponseController before anything is written, an Early Hints
// response first, a Cache-Control added rather than set. Every one goes
// out "private, no-store". CDN-Cache-Control and Surrogate-Control,
// which some CDNs obey over Cache-Control, are logged as they go out.
func TestReviewFreshCookiesStayPrivate(t *testing.T) {
	b := newBackend(t, nil)
	for name, h := range map[string]http.HandlerFunc{
		"ResponseController flush first": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=300")
			require.NoError(t, http.NewResponseController(w).Flush())
			fmt.Fprint(w, "streamed")
		},
		"early hints, then the page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=300")
			w.Header().Set("Link", "</app.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			fmt.Fprint(w, "page")
		},
		"Cache-Control added twice": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Cache-Control", "public")
			w.Header().Add("Cache-Control", "max-age=300")
			w.WriteHeader(http.StatusOK)
		},
		"CDN headers": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("CDN-Cache-Control", "public, max-age=300")
			w.Header().Set("Surrogate-Control", "max-age=300")
			fmt.Fprint(w, "page")
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, b.gate.Accept(clerkgate.SessionToken).Require(h))
			s := b.fake.CreateSession("user_1")
			rep := get(t, srv.URL, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
			require.Equal(t, http.StatusOK, rep.status, rep.body)
			require.NotEmpty(t, rep.header.Values("Set-Cookie"))
			require.Equal(t, []string{"private, no-store"}, rep.header.Values("Cache-Control"))
			// A CDN reads these before Cache-Control: they must not let it
			// keep a new session either.
			require.Empty(t, rep.header.Values("CDN-Cache-Control"))
			require.Empty(t, rep.header.Values("Surrogate-Control"))
		})
	}
}

// A page load that brings a handshake token in its cookie (Clerk's token
// format) gets the session cookies set; that response is never
// cacheable, whatever the page's handler says.
func TestReviewHandshakeCookiesStayPrivate(t *testing.T) {
	s := newSite(t, nil, clerktest.WithHandshakeFormat("token"))
	mux := http.NewServeMux()
	mux.Handle("/", s.gate.Accept(clerkgate.SessionToken).Optional(publicPage))
	srv := serve(t, mux)
	b := s.browser(t)
	require.Equal(t, "Signed out", b.open(s.url+"/").body)
	p := b.signIn(s, "user_7", s.url+"/dashboard")
	require.Equal(t, "Dashboard of user_7", p.body)
	sess := s.fake.CreateSession("user_8")
	hs := s.fake.HandshakeToken(
		(&http.Cookie{Name: "__session", Value: s.fake.Token(sess.ID), Path: "/"}).String(),
		(&http.Cookie{Name: "__client_uat", Value: fmt.Sprint(time.Now().Unix()), Path: "/"}).String())
	binding := s.binding(t) // a genuine return, in the browser that started it
	resp := rawGet(t, srv.URL+"/", func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Dest", "document")
		r.AddCookie(binding)
		r.AddCookie(&http.Cookie{Name: "__clerk_handshake", Value: hs})
		r.AddCookie(&http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_x"})
	})
	t.Logf("handshake in a cookie: %d, %d Set-Cookie, Cache-Control %q", resp.StatusCode, len(resp.Header.Values("Set-Cookie")), resp.Header.Values("Cache-Control"))
	require.NotEmpty(t, resp.Header.Values("Set-Cookie"))
	cc := strings.Join(resp.Header.Values("Cache-Control"), ",")
	require.Contains(t, cc, "no-store")
	require.NotContains(t, cc, "public")
}
