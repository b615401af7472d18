package clerkgate_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// appOf serves the machine routes of a Gate on rig's fake with mod applied.
func (rig *machineRig) appOf(t *testing.T, mod func(*clerkgate.Config)) string {
	t.Helper()
	cfg := clerkgate.Config{SecretKey: rig.fake.SecretKey(), PublishableKey: rig.fake.PublishableKey(),
		APIURL: rig.fake.URL(), HTTPClient: rig.fake.Client(), Clock: func() time.Time { return time.Unix(0, rig.clock.Load()) }}
	mod(&cfg)
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	mux := http.NewServeMux()
	mux.Handle("/m2m", g.Accept(clerkgate.M2MToken).Require(whoamiCaller))
	mux.Handle("/oauth", g.Accept(clerkgate.OAuthToken).Require(whoamiCaller))
	return serve(t, mux).URL
}

// An M2M token machine A minted for machine B is refused by machine C's
// app, in JWT form as in opaque form, and accepted by B's.
func TestM2MJWTGrantedToThisMachineOnly(t *testing.T) {
	rig := newMachineRig(t, nil)
	b, c := rig.fake.CreateMachine(), rig.fake.CreateMachine()
	a := rig.fake.CreateMachine(b.ID)
	jwt := rig.fake.M2MJWT(a.ID)
	_, opaque := rig.fake.CreateM2MToken(a.ID)
	appB := rig.appOf(t, func(cfg *clerkgate.Config) { cfg.Machine.SecretKey, cfg.Machine.Audience = b.SecretKey, []string{b.ID} })
	appC := rig.appOf(t, func(cfg *clerkgate.Config) { cfg.Machine.SecretKey, cfg.Machine.Audience = c.SecretKey, []string{c.ID} })
	// C's app without Audience cannot tell whom a JWT was granted to.
	appCBare := rig.appOf(t, func(cfg *clerkgate.Config) { cfg.Machine.SecretKey = c.SecretKey })

	for _, tc := range []struct {
		name, app, token string
		status           int
		reason           string
	}{
		{"jwt at B", appB, jwt, http.StatusOK, ""},
		{"opaque at B", appB, opaque, http.StatusOK, ""},
		{"jwt at C", appC, jwt, http.StatusUnauthorized, "claims_invalid"},
		{"opaque at C", appC, opaque, http.StatusUnauthorized, "token_invalid"},
		{"jwt at C without Audience", appCBare, jwt, http.StatusUnauthorized, "claims_invalid"},
		{"jwt granted to C by aud, at C", appC, rig.fake.M2MJWT(a.ID, clerktest.CredentialClaims(map[string]any{"scopes": nil, "aud": []string{c.ID}})), http.StatusOK, ""},
		{"jwt scoped to C with aud for B, at C", appC, rig.fake.M2MJWT(a.ID, clerktest.CredentialScopes(c.ID), clerktest.CredentialClaims(map[string]any{"aud": b.ID})), http.StatusUnauthorized, "claims_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := get(t, tc.app+"/m2m", bearer(tc.token))
			require.Equal(t, tc.status, rep.status, rep.body)
			require.Equal(t, tc.reason, rep.reason)
		})
	}
	// Without a machine secret key or Audience, any M2M JWT of the
	// instance passes, as in Clerk's SDK.
	require.Equal(t, http.StatusOK, get(t, rig.url+"/m2m", bearer(jwt)).status)
}

// With Audience, an OAuth JWT must carry an aud naming one of them; an
// M2M JWT's aud, when it has one, must too.
func TestMachineJWTAudience(t *testing.T) {
	rig := newMachineRig(t, nil)
	app := rig.appOf(t, func(cfg *clerkgate.Config) { cfg.Machine.Audience = []string{"https://api.example.com"} })
	m := rig.fake.CreateMachine()
	oauth := func(aud any) string {
		return rig.fake.OAuthJWT("user_1", "client_1", clerktest.CredentialClaims(map[string]any{"aud": aud}))
	}
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"oauth aud matches", "/oauth", oauth("https://api.example.com"), http.StatusOK},
		{"oauth aud array matches", "/oauth", oauth([]string{"x", "https://api.example.com"}), http.StatusOK},
		{"oauth aud for another api", "/oauth", oauth("https://other.example.com"), http.StatusUnauthorized},
		{"oauth without aud", "/oauth", rig.fake.OAuthJWT("user_1", "client_1"), http.StatusUnauthorized},
		{"oauth aud with an empty string", "/oauth", oauth([]string{"", "https://api.example.com"}), http.StatusUnauthorized},
		{"m2m without aud", "/m2m", rig.fake.M2MJWT(m.ID), http.StatusOK},
		{"m2m aud matches", "/m2m", rig.fake.M2MJWT(m.ID, clerktest.CredentialClaims(map[string]any{"aud": "https://api.example.com"})), http.StatusOK},
		{"m2m aud for another api", "/m2m", rig.fake.M2MJWT(m.ID, clerktest.CredentialClaims(map[string]any{"aud": "https://other.example.com"})), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := get(t, app+tc.path, bearer(tc.token))
			require.Equal(t, tc.status, rep.status, rep.body)
		})
	}
	_, err := clerkgate.New(clerkgate.Config{SecretKey: rig.fake.SecretKey(), APIURL: rig.fake.URL(), Machine: clerkgate.MachineConfig{Audience: []string{" mch_x"}}})
	require.ErrorContains(t, err, "Machine.Audience")
}

// Machine JWTs presented to an app they were not minted for.
func TestReviewMachineJWTAudience(t *testing.T) {
	rig := newMachineRig(t, nil)
	b, c := rig.fake.CreateMachine(), rig.fake.CreateMachine()
	a := rig.fake.CreateMachine(b.ID)
	appC := rig.appOf(t, func(cfg *clerkgate.Config) {
		cfg.Machine.SecretKey, cfg.Machine.Audience = c.SecretKey, []string{c.ID, "https://api.c.example"}
	})
	appCBare := rig.appOf(t, func(cfg *clerkgate.Config) { cfg.Machine.SecretKey = c.SecretKey })
	oauth := func(claims map[string]any) string {
		return rig.fake.OAuthJWT("user_1", "client_1", clerktest.CredentialClaims(claims))
	}
	for _, tc := range []struct {
		name, app, path, token string
		status                 int
	}{
		{"M2M JWT for B at C", appC, "/m2m", rig.fake.M2MJWT(a.ID), http.StatusUnauthorized},
		{"M2M JWT for B at C without Audience", appCBare, "/m2m", rig.fake.M2MJWT(a.ID), http.StatusUnauthorized},
		{"C's own M2M JWT for B, at C", appC, "/m2m", rig.fake.M2MJWT(rig.fake.CreateMachine(b.ID).ID), http.StatusUnauthorized},
		{"M2M JWT with scopes naming C as a prefix", appC, "/m2m", rig.fake.M2MJWT(a.ID, clerktest.CredentialScopes(c.ID+"x")), http.StatusUnauthorized},
		{"M2M JWT with empty scopes and aud for B", appC, "/m2m", rig.fake.M2MJWT(a.ID, clerktest.CredentialClaims(map[string]any{"scopes": "", "aud": b.ID})), http.StatusUnauthorized},
		{"M2M JWT scoped to C", appC, "/m2m", rig.fake.M2MJWT(a.ID, clerktest.CredentialScopes(c.ID)), http.StatusOK},
		{"OAuth JWT without aud", appC, "/oauth", oauth(map[string]any{"aud": nil}), http.StatusUnauthorized},
		{"OAuth JWT with aud \"\"", appC, "/oauth", oauth(map[string]any{"aud": ""}), http.StatusUnauthorized},
		{"OAuth JWT with aud [\"\", ours]", appC, "/oauth", oauth(map[string]any{"aud": []string{"", "https://api.c.example"}}), http.StatusUnauthorized},
		{"OAuth JWT with aud a number", appC, "/oauth", oauth(map[string]any{"aud": 7}), http.StatusUnauthorized},
		{"OAuth JWT with aud another API", appC, "/oauth", oauth(map[string]any{"aud": "https://api.b.example"}), http.StatusUnauthorized},
		{"OAuth JWT with aud differing in case", appC, "/oauth", oauth(map[string]any{"aud": "https://API.c.example"}), http.StatusUnauthorized},
		{"OAuth JWT for us", appC, "/oauth", oauth(map[string]any{"aud": []string{"x", "https://api.c.example"}}), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := get(t, tc.app+tc.path, bearer(tc.token))
			require.Equal(t, tc.status, rep.status, rep.body)
		})
	}
}
