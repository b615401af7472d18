package clerkgate_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
)

// A route that machines and sessions call: machines pass only the scopes
// they were granted, sessions only the session checks, and neither passes
// for the other's kind of check.
func TestRouteWithChecks(t *testing.T) {
	rig := newMachineRig(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/jobs", rig.gate.Accept(clerkgate.AnyToken).With(authz.Scope("write")).Require(whoamiCaller))
	mux.Handle("/admin", rig.gate.Accept(clerkgate.AnyToken).With(authz.Role("org:admin")).Require(whoamiCaller))
	mux.Handle("/maybe", rig.gate.Accept(clerkgate.AnyToken).With(authz.Scope("write")).Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := clerkgate.CallerFromContext(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]bool{"caller": ok})
	})))
	url := serve(t, mux).URL

	_, writer := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "writer", clerktest.CredentialScopes("read", "write"))
	_, reader := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "reader", clerktest.CredentialScopes("read"))
	// A scope that only looks like the one asked for grants nothing.
	_, lookalike := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "lookalike", clerktest.CredentialScopes("WRITE", "write:all", " write"))
	admin := rig.fake.CreateSession("user_admin")
	adminToken := rig.fake.Token(admin.ID, clerktest.WithOrg("org_1", "acme", "org:admin"))
	member := rig.fake.CreateSession("user_member")
	memberToken := rig.fake.Token(member.ID, clerktest.WithOrg("org_1", "acme", "org:member"))

	for _, tc := range []struct {
		name, path, token string
		status            int
		reason            string
	}{
		{"machine with the scope", "/jobs", writer, http.StatusOK, ""},
		{"machine without the scope", "/jobs", reader, http.StatusForbidden, "scope_required"},
		{"machine with look-alike scopes", "/jobs", lookalike, http.StatusForbidden, "scope_required"},
		{"session on a scope check", "/jobs", adminToken, http.StatusForbidden, "scope_required"},
		{"session with the role", "/admin", adminToken, http.StatusOK, ""},
		{"session without the role", "/admin", memberToken, http.StatusForbidden, "role_required"},
		{"machine on a role check", "/admin", writer, http.StatusForbidden, "role_required"},
		{"no credential", "/jobs", "", http.StatusUnauthorized, "token_missing"},
		{"forged credential", "/jobs", adminToken[:len(adminToken)-4] + "AAAA", http.StatusUnauthorized, "signature_invalid"},
		{"optional, anonymous", "/maybe", "", http.StatusOK, ""},
		{"optional, machine without the scope", "/maybe", reader, http.StatusForbidden, "scope_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr func(*http.Request)
			if tc.token != "" {
				hdr = bearer(tc.token)
			}
			rep := get(t, url+tc.path, hdr)
			require.Equal(t, tc.status, rep.status, rep.body)
			if tc.reason != "" {
				var body map[string]string
				require.NoError(t, json.Unmarshal([]byte(rep.body), &body))
				if tc.status == http.StatusForbidden {
					require.Equal(t, "forbidden", body["error"])
					require.Equal(t, tc.reason, body["reason"])
				} else {
					require.Equal(t, tc.reason, body["error"])
				}
			}
		})
	}
}

func TestRouteWithRefusesBadChecks(t *testing.T) {
	rig := newMachineRig(t, nil)
	require.Panics(t, func() { rig.gate.Accept(clerkgate.APIKey).With() })
	require.Panics(t, func() { rig.gate.Accept(clerkgate.APIKey).With(authz.Scope("")) })
}

// TestHandlersCannotChangeAnotherCallersIdentity: the machine caches hand
// every request with one credential the same verified Identity. A handler
// that grants its caller a scope in place must grant nothing to the next
// request with that credential, opaque or JWT.
func TestHandlersCannotChangeAnotherCallersIdentity(t *testing.T) {
	rig := newMachineRig(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/tamper", rig.gate.Accept(clerkgate.AnyToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := clerkgate.CallerFromContext(r.Context())
		c.Machine.Scopes[0] = "write"
		c.Machine.Scopes = append(c.Machine.Scopes, "write")
		c.Machine.Subject = "mch_mallory"
	})))
	mux.Handle("/jobs", rig.gate.Accept(clerkgate.AnyToken).With(authz.Scope("write")).Require(whoamiCaller))
	url := serve(t, mux).URL

	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "reader", clerktest.CredentialScopes("read"))
	target := rig.fake.CreateMachine()
	caller := rig.fake.CreateMachine(target.ID)
	_, opaqueM2M := rig.fake.CreateM2MToken(caller.ID)
	for name, token := range map[string]string{"API key": key, "opaque M2M token": opaqueM2M, "M2M JWT": rig.fake.M2MJWT(caller.ID)} {
		for range 2 {
			require.Equal(t, http.StatusOK, get(t, url+"/tamper", bearer(token)).status, name)
		}
		rep := get(t, url+"/jobs", bearer(token))
		require.Equal(t, http.StatusForbidden, rep.status, "%s after tampering", name)
		c, err := rig.gate.Accept(clerkgate.AnyToken).AuthenticateToken(t.Context(), token)
		require.NoError(t, err, name)
		require.NotEqual(t, "mch_mallory", c.Machine.Subject, name)
		require.NotContains(t, c.Machine.Scopes, "write", name)
	}
}
