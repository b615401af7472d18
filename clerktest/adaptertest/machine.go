package adaptertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
)

// MachineTypes returns the types the /machines route accepts: every machine
// credential, no session.
func MachineTypes() []clerkgate.TokenType {
	return []clerkgate.TokenType{clerkgate.M2MToken, clerkgate.APIKey, clerkgate.OAuthToken}
}

// Writers is the route /writers serves: API keys granted the "write"
// scope. Policy.Authenticate applies the policy's checks, so an adapter's
// RequirePolicy refuses a key without the scope as net/http does.
func Writers(gate *clerkgate.Gate) *clerkgate.Policy {
	return gate.Accept(clerkgate.APIKey).With(authz.Scope("write"))
}

// CallerJSON is the JSON body the test apps answer with on the machine
// routes: the caller the adapter's Caller accessor saw (c, ok) and
// whether clerkgate.CallerFromContext on the request's context sees the
// same.
func CallerJSON(ctx context.Context, c *clerkgate.Caller, ok bool) map[string]any {
	fromCtx, ctxOK := clerkgate.CallerFromContext(ctx)
	body := map[string]any{"signed_in": ok, "accessors_agree": ok == ctxOK && c == fromCtx}
	if ok {
		body["token_type"] = string(c.Type)
		body["subject"] = c.Subject()
		body["scopes"] = c.Scopes()
	}
	return body
}

// Credential is a machine credential the fixture's instance issued, and
// what a route that accepts it must see.
type Credential struct {
	Name    string
	Token   string
	Type    clerkgate.TokenType
	Subject string
	Scopes  []string
}

// Credentials issues one credential of every type, in each of its forms:
// an API key, an M2M token (opaque and JWT), an OAuth token (opaque and
// JWT).
func (f *Fixture) Credentials(t testing.TB) []Credential {
	t.Helper()
	target := f.Fake.CreateMachine()
	caller := f.Fake.CreateMachine(target.ID)
	_, key := f.Fake.CreateAPIKey(User, "adapter key", clerktest.CredentialScopes("read", "write"))
	_, mt := f.Fake.CreateM2MToken(caller.ID)
	_, oat := f.Fake.CreateOAuthToken(User, "client_adaptertest", clerktest.CredentialScopes("read"))
	return []Credential{
		{"api key", key, clerkgate.APIKey, User, []string{"read", "write"}},
		{"opaque m2m token", mt, clerkgate.M2MToken, caller.ID, []string{target.ID}},
		{"m2m jwt", f.Fake.M2MJWT(caller.ID), clerkgate.M2MToken, caller.ID, []string{target.ID}},
		{"opaque oauth token", oat, clerkgate.OAuthToken, User, []string{"read"}},
		{"oauth jwt", f.Fake.OAuthJWT(User, "client_adaptertest", clerktest.CredentialScopes("read")),
			clerkgate.OAuthToken, User, []string{"read"}},
	}
}

// RequireCaller checks a CallerJSON answer for c, with both accessors
// agreeing.
func RequireCaller(t testing.TB, c Credential, got Response) {
	t.Helper()
	require.Equal(t, http.StatusOK, got.Status, "body: %s", got.Body)
	body := got.JSON(t)
	require.Equal(t, true, body["signed_in"])
	require.Equal(t, string(c.Type), body["token_type"])
	require.Equal(t, c.Subject, body["subject"])
	scopes := []any{}
	for _, s := range c.Scopes {
		scopes = append(scopes, s)
	}
	require.Equal(t, scopes, body["scopes"])
	require.Equal(t, true, body["accessors_agree"])
}

// MachineRefusals are the refusals of machine credentials, and of
// credentials of the wrong type, every adapter must answer exactly as
// clerkgate's net/http middleware does.
func (f *Fixture) MachineRefusals(t testing.TB) []Case {
	t.Helper()
	challenge := func(reason string) string {
		return `Bearer error="invalid_token", error_description="` + reason + `"`
	}
	m := f.Fake.CreateMachine()
	revokedID, revoked := f.Fake.CreateAPIKey(User, "revoked key")
	require.True(t, f.Fake.RevokeCredential(revokedID))
	_, expired := f.Fake.CreateM2MToken(m.ID, clerktest.CredentialLifetime(-time.Minute))
	forger := clerktest.New()
	defer forger.Close()
	forged := forger.M2MJWT(m.ID, clerktest.CredentialHeader(map[string]any{"kid": f.Fake.KeyID()}))
	return []Case{
		{Name: "missing credential", Request: Request{Path: "/machines"},
			Reason: "token_missing", Challenge: "Bearer"},
		{Name: "session token on a machine route", Request: Request{Path: "/machines", Token: f.Token()},
			Reason: "token_type_invalid", Challenge: challenge("token_type_invalid")},
		{Name: "m2m token on a session route", Request: Request{Path: "/me", Token: f.Fake.M2MJWT(m.ID)},
			Reason: "token_type_invalid", Challenge: challenge("token_type_invalid")},
		{Name: "api key on a session route", Request: Request{Path: "/me", Token: "ak_" + randomHex(t)},
			Reason: "token_type_invalid", Challenge: challenge("token_type_invalid")},
		{Name: "unknown api key", Request: Request{Path: "/machines", Token: "ak_" + randomHex(t)},
			Reason: "token_invalid", Challenge: challenge("token_invalid")},
		{Name: "revoked api key", Request: Request{Path: "/any", Token: revoked},
			Reason: "token_revoked", Challenge: challenge("token_revoked")},
		{Name: "expired m2m token", Request: Request{Path: "/machines", Token: expired},
			Reason: "token_expired", Challenge: challenge("token_expired")},
		{Name: "forged m2m jwt", Request: Request{Path: "/machines", Token: forged},
			Reason: "signature_invalid", Challenge: challenge("signature_invalid")},
		{Name: "bare Bearer on a machine route", Request: Request{Path: "/machines", Authorization: "Bearer "},
			Reason: "token_malformed", Challenge: challenge("token_malformed")},
		{Name: "invalid credential on an optional route", Request: Request{Path: "/maybe-any", Token: "oat_" + randomHex(t)},
			Reason: "token_invalid", Challenge: challenge("token_invalid")},
	}
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// RunAccept checks, over real HTTP against clerktest, what every adapter
// owes for routes that accept chosen token types: each credential type is
// accepted with the Caller both accessors see, each of MachineRefusals is
// the net/http middleware's answer byte for byte, a policy's checks
// (Policy.With) refuse a key without the scope with net/http's 403,
// a page load on a route that accepts sessions goes through Clerk's
// handshake, OptionalPolicy lets anonymous requests through, and with the Backend API down a new opaque credential
// gets the same 503 as from net/http.
func RunAccept(t *testing.T, serve Serve) {
	t.Run("Require", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		for _, c := range f.Credentials(t) {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				RequireCaller(t, c, Get(t, app, "/machines", c.Token))
				RequireCaller(t, c, Get(t, app, "/any", c.Token))
			})
		}
		t.Run("session token", func(t *testing.T) {
			t.Parallel()
			RequireCaller(t, Credential{Type: clerkgate.SessionToken, Subject: User}, Get(t, app, "/any", f.Token()))
		})
		for _, c := range f.MachineRefusals(t) {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				f.RequireRefusal(t, c, Do(t, app, c.Request))
			})
		}
	})

	t.Run("CrossOrigin", func(t *testing.T) {
		t.Parallel()
		runCrossOrigin(t, serve, "/any")
		// A machine credential is never ambient: the header is sent
		// only where the app's CORS policy allows it.
		f := New(t)
		app := serve(t, f.Gate)
		_, key := f.Fake.CreateAPIKey(User, "ci")
		got := Do(t, app, Request{Method: http.MethodPost, Path: "/any", Token: key,
			Cookies: []string{f.SessionCookie()}, Header: CrossSite("https://evil.example")})
		RequireCaller(t, Credential{Type: clerkgate.APIKey, Subject: User}, got)
	})

	t.Run("RouteChecks", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		_, writer := f.Fake.CreateAPIKey(User, "writer", clerktest.CredentialScopes("read", "write"))
		_, reader := f.Fake.CreateAPIKey(User, "reader", clerktest.CredentialScopes("read"))
		RequireCaller(t, Credential{Type: clerkgate.APIKey, Subject: User, Scopes: []string{"read", "write"}},
			Get(t, app, "/writers", writer))
		r := Request{Path: "/writers", Token: reader}
		got := Do(t, app, r)
		require.Equal(t, http.StatusForbidden, got.Status, "body: %s", got.Body)
		require.Equal(t, "forbidden", got.JSON(t)["error"])
		require.Equal(t, "scope_required", got.JSON(t)["reason"])
		f.RequireSameAsNetHTTP(t, r, got)
	})

	t.Run("PageLoad", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		// A route that accepts sessions sends a page load without one
		// through Clerk's handshake, as net/http's Policy.Require does,
		// rather than refuse it.
		r := Request{Path: "/any", Page: true}
		got := Do(t, app, r)
		require.Equal(t, http.StatusTemporaryRedirect, got.Status, "body: %s", got.Body)
		require.Equal(t, "handshake", got.Header.Get("X-Clerk-Auth-Status"))
		want := Do(t, f.ref, r)
		require.Equal(t, want.Status, got.Status)
		wantLoc, err := url.Parse(want.Header.Get("Location"))
		require.NoError(t, err)
		gotLoc, err := url.Parse(got.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "/v1/client/handshake", gotLoc.Path)
		require.Equal(t, wantLoc.Host, gotLoc.Host)
		require.Equal(t, "/any", strings.TrimPrefix(gotLoc.Query().Get("redirect_url"), app.URL))
		// A machine route has no handshake: the page load is refused.
		f.RequireRefusal(t, Case{Request: Request{Path: "/machines", Page: true}, Reason: "token_missing", Challenge: "Bearer"},
			Do(t, app, Request{Path: "/machines", Page: true}))
	})

	t.Run("SignIn", func(t *testing.T) {
		t.Parallel()
		runSignIn(t, serve, map[string]bool{"/any": true, "/machines": false, "/maybe-any": false})
	})

	t.Run("Optional", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		RequireAnonymous(t, Get(t, app, "/maybe-any", ""))
		c := f.Credentials(t)[0]
		RequireCaller(t, c, Get(t, app, "/maybe-any", c.Token))
	})

	t.Run("BackendDown", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		app := serve(t, f.Gate)
		cached := f.Credentials(t)[0]
		RequireCaller(t, cached, Get(t, app, "/machines", cached.Token))
		_, fresh := f.Fake.CreateAPIKey(User, "fresh key")
		f.Fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: http.StatusInternalServerError})
		RequireCaller(t, cached, Get(t, app, "/machines", cached.Token))
		r := Request{Path: "/machines", Token: fresh}
		got := Do(t, app, r)
		require.Equal(t, http.StatusServiceUnavailable, got.Status, "body: %s", got.Body)
		require.Equal(t, "machine_auth_unavailable", got.JSON(t)["error"])
		require.NotEmpty(t, got.Header.Get("Retry-After"))
		f.RequireSameAsNetHTTP(t, r, got)
	})
}
