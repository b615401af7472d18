package adaptertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
)

// AuthzRoutes returns the routes RunAuthorization expects an adapter's
// app to serve (GET), each behind the adapter's Require with these checks
// and ending in a handler that answers with Whoami. (A function, so that
// no test can change another's routes.)
func AuthzRoutes() map[string][]authz.Check {
	return map[string][]authz.Check{
		"/admin":     {authz.Role("org:admin")},
		"/sensitive": {authz.Reverification(authz.Strict)},
		"/both":      {authz.Reverification(authz.Strict), authz.Role("org:admin")},
	}
}

// RunAuthorization checks an adapter's Require against clerkgate's own
// Policy.With over real HTTP: the same requests get the same status,
// headers and body, byte for byte, whether allowed, refused with 403 (the
// forbidden body, Clerk's reverification payload) or unauthenticated
// (401). The Gate's Observer hears each request once, exactly as it hears
// the same request to Policy.With: a 403 as refused with its reason,
// never also as accepted.
func RunAuthorization(t *testing.T, serve func(t *testing.T, gate *clerkgate.Gate) *httptest.Server) {
	t.Helper()
	heard := &Recorder[clerkgate.Decision]{}
	f := New(t, func(c *clerkgate.Config) {
		c.Observer = &clerkgate.Observer{Decided: func(_ context.Context, d clerkgate.Decision) { heard.Add(d) }}
	})
	// decided is what the Observer heard during get: the Gate reports a
	// decision before it answers, so the answer's arrival orders them.
	decided := func(get func() Response) (Response, []clerkgate.Decision) {
		before := len(heard.All())
		got := get()
		return got, heard.All()[before:]
	}
	app := serve(t, f.Gate)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux := http.NewServeMux()
	for path, checks := range AuthzRoutes() {
		mux.Handle(path, f.Gate.Accept(clerkgate.SessionToken).With(checks...).Require(ok))
	}
	ref := httptest.NewServer(mux)
	t.Cleanup(ref.Close)

	admin := f.Fake.CreateSession(User, clerktest.WithOrg("org_1", "acme", "admin"))
	member := f.Fake.CreateSession(User, clerktest.WithOrg("org_1", "acme", "member"))
	tokens := map[string]string{
		"anonymous":           "",
		"forged":              Forge(t, f.Fake.Token(admin.ID, clerktest.WithFactorVerificationAge(0, 0))),
		"admin, no fva":       f.Fake.Token(admin.ID),
		"admin, fresh":        f.Fake.Token(admin.ID, clerktest.V2(), clerktest.WithFactorVerificationAge(0, 0)),
		"admin, stale":        f.Fake.Token(admin.ID, clerktest.WithFactorVerificationAge(0, 10)),
		"member, fresh":       f.Fake.Token(member.ID, clerktest.WithFactorVerificationAge(0, 0)),
		"member, stale":       f.Fake.Token(member.ID, clerktest.V2(), clerktest.WithFactorVerificationAge(0, 10)),
		"no organization, v2": f.Fake.Token(f.Session.ID, clerktest.V2(), clerktest.WithFactorVerificationAge(3, -1)),
	}
	allowed := map[string]bool{
		"/admin admin, no fva": true, "/admin admin, fresh": true, "/admin admin, stale": true,
		"/sensitive admin, fresh": true, "/sensitive member, fresh": true, "/sensitive no organization, v2": true,
		"/both admin, fresh": true,
	}
	for path := range AuthzRoutes() {
		for name, token := range tokens {
			got, heardApp := decided(func() Response { return Get(t, app, path, token) })
			if allowed[path+" "+name] {
				require.Equal(t, http.StatusOK, got.Status, "%s %s: %s", path, name, got.Body)
				require.Equal(t, true, got.JSON(t)["signed_in"], "%s %s", path, name)
				require.Equal(t, true, got.JSON(t)["accessors_agree"], "%s %s", path, name)
				require.Equal(t, []clerkgate.Decision{{TokenType: clerkgate.SessionToken}}, heardApp, "%s %s", path, name)
				continue
			}
			want, heardRef := decided(func() Response { return Get(t, ref, path, token) })
			require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, want.Status, "%s %s", path, name)
			require.Len(t, heardRef, 1, "%s %s", path, name)
			require.Equal(t, want.Status, heardRef[0].Status, "%s %s", path, name)
			require.Equal(t, heardRef, heardApp, "%s %s: the Observer hears the adapter as it hears Policy.With", path, name)
			require.Equal(t, want.Status, got.Status, "%s %s: %s", path, name, got.Body)
			require.Equal(t, string(want.Body), string(got.Body), "%s %s", path, name)
			for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate"} {
				require.Equal(t, want.Header.Values(h), got.Header.Values(h), "%s %s: %s", path, name, h)
			}
		}
	}
}
