package clerkgate_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/machine"
)

// machineRig is a clerktest instance, a Gate for it, and a server whose
// /any route accepts every token type, /m2m only M2M tokens, /keys only
// API keys, /oauth only OAuth tokens and /session only sessions.
type machineRig struct {
	fake  *clerktest.Server
	gate  *clerkgate.Gate
	url   string
	clock atomic.Int64 // Unix nanoseconds
}

func newMachineRig(t *testing.T, mod func(*clerkgate.Config)) *machineRig {
	t.Helper()
	rig := &machineRig{}
	rig.clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, rig.clock.Load()) }
	rig.fake = clerktest.New(clerktest.WithClock(now))
	t.Cleanup(rig.fake.Close)
	cfg := clerkgate.Config{
		SecretKey:      rig.fake.SecretKey(),
		PublishableKey: rig.fake.PublishableKey(),
		APIURL:         rig.fake.URL(),
		HTTPClient:     rig.fake.Client(),
		Clock:          now,
	}
	if mod != nil {
		mod(&cfg)
	}
	gate, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { gate.Close() })
	rig.gate = gate
	mux := http.NewServeMux()
	mux.Handle("/any", gate.Accept(clerkgate.AnyToken).Require(whoamiCaller))
	mux.Handle("/m2m", gate.Accept(clerkgate.M2MToken).Require(whoamiCaller))
	mux.Handle("/keys", gate.Accept(clerkgate.APIKey).Require(whoamiCaller))
	mux.Handle("/oauth", gate.Accept(clerkgate.OAuthToken).Require(whoamiCaller))
	mux.Handle("/session", gate.Accept(clerkgate.SessionToken).Require(whoamiCaller))
	rig.url = serve(t, mux).URL
	return rig
}

func (rig *machineRig) advance(d time.Duration) { rig.clock.Add(int64(d)) }

// whoamiCaller answers the caller as JSON.
var whoamiCaller = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := clerkgate.CallerFromContext(r.Context())
	if !ok {
		http.Error(w, "no caller", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"type": c.Type, "subject": c.Subject(), "scopes": c.Scopes(), "read": c.HasScope("read")})
})

type callerJSON struct {
	Type    string   `json:"type"`
	Subject string   `json:"subject"`
	Scopes  []string `json:"scopes"`
	Read    bool     `json:"read"`
}

func (rig *machineRig) call(t *testing.T, path, token string) (reply, callerJSON) {
	t.Helper()
	rep := get(t, rig.url+path, bearer(token))
	var c callerJSON
	if rep.status == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(rep.body), &c))
	}
	return rep, c
}

func TestMachineCredentialsAccepted(t *testing.T) {
	rig := newMachineRig(t, nil)
	other := rig.fake.CreateMachine()
	caller := rig.fake.CreateMachine(other.ID)
	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key", clerktest.CredentialScopes("read", "write"))
	_, mt := rig.fake.CreateM2MToken(caller.ID)
	_, oat := rig.fake.CreateOAuthToken("user_2abcdefghijklmnopqrstuvwxyz", "client_1", clerktest.CredentialScopes("read"))
	sess := rig.fake.CreateSession("user_1")

	for _, tc := range []struct {
		name, path, token, typ, subject string
		scopes                          []string
	}{
		{"api key", "/keys", key, "api_key", "user_2abcdefghijklmnopqrstuvwxyz", []string{"read", "write"}},
		{"opaque m2m token", "/m2m", mt, "m2m_token", caller.ID, []string{other.ID}},
		{"m2m jwt", "/m2m", rig.fake.M2MJWT(caller.ID), "m2m_token", caller.ID, []string{other.ID}},
		{"opaque oauth token", "/oauth", oat, "oauth_token", "user_2abcdefghijklmnopqrstuvwxyz", []string{"read"}},
		{"oauth jwt", "/oauth", rig.fake.OAuthJWT("user_3", "client_1", clerktest.CredentialScopes("read")), "oauth_token", "user_3", []string{"read"}},
		{"session on any", "/any", rig.fake.Token(sess.ID), "session_token", "user_1", []string{}},
		{"api key on any", "/any", key, "api_key", "user_2abcdefghijklmnopqrstuvwxyz", []string{"read", "write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, c := rig.call(t, tc.path, tc.token)
			require.Equal(t, http.StatusOK, rep.status, rep.body)
			require.Equal(t, tc.typ, c.Type)
			require.Equal(t, tc.subject, c.Subject)
			require.Equal(t, tc.scopes, c.Scopes)
			require.Equal(t, tc.typ != "session_token" && contains(tc.scopes, "read"), c.Read)
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Every credential of a type the route does not accept is refused by type
// before any Backend API call.
func TestMachineWrongTypeRefusedWithoutCall(t *testing.T) {
	rig := newMachineRig(t, nil)
	m := rig.fake.CreateMachine()
	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
	_, mt := rig.fake.CreateM2MToken(m.ID)
	_, oat := rig.fake.CreateOAuthToken("user_2abcdefghijklmnopqrstuvwxyz", "client_1")
	sess := rig.fake.CreateSession("user_1")
	session := rig.fake.Token(sess.ID)
	m2mJWT := rig.fake.M2MJWT(m.ID)
	oauthJWT := rig.fake.OAuthJWT("user_3", "client_1")
	before := rig.fake.Requests(clerktest.AnyRoute)
	for _, tc := range []struct{ path, token string }{
		{"/keys", mt}, {"/keys", oat}, {"/keys", session}, {"/keys", m2mJWT}, {"/keys", oauthJWT},
		{"/m2m", key}, {"/m2m", oat}, {"/m2m", session}, {"/m2m", oauthJWT},
		{"/oauth", key}, {"/oauth", mt}, {"/oauth", session}, {"/oauth", m2mJWT},
		{"/session", key}, {"/session", mt}, {"/session", oat}, {"/session", m2mJWT}, {"/session", oauthJWT},
	} {
		rep, _ := rig.call(t, tc.path, tc.token)
		require.Equal(t, http.StatusUnauthorized, rep.status, "%s %s", tc.path, tc.token[:8])
		require.Equal(t, "token_type_invalid", rep.reason, "%s %s", tc.path, tc.token[:8])
	}
	// The session route's JWKS fetch at most; no verify call at all.
	for _, r := range []string{clerktest.RouteVerifyAPIKey, clerktest.RouteVerifyM2MToken, clerktest.RouteVerifyOAuthToken} {
		require.Zero(t, rig.fake.Requests(r), r)
	}
	require.LessOrEqual(t, rig.fake.Requests(clerktest.AnyRoute)-before, 1)
	// A route accepting machines only, with no header: token_missing.
	rep := get(t, rig.url+"/m2m", nil)
	require.Equal(t, "token_missing", rep.reason)
}

func TestMachineRefusals(t *testing.T) {
	rig := newMachineRig(t, nil)
	m := rig.fake.CreateMachine()
	keyID, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
	require.True(t, rig.fake.RevokeCredential(keyID))
	_, expiredKey := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "old key", clerktest.CredentialLifetime(-time.Minute))
	mtID, mt := rig.fake.CreateM2MToken(m.ID)
	require.True(t, rig.fake.RevokeCredential(mtID))
	_, expiredMT := rig.fake.CreateM2MToken(m.ID, clerktest.CredentialLifetime(-time.Minute))
	_, expiredOAT := rig.fake.CreateOAuthToken("user_2abcdefghijklmnopqrstuvwxyz", "client_1", clerktest.CredentialLifetime(-time.Minute))
	for _, tc := range []struct{ name, path, token, reason string }{
		{"revoked api key", "/keys", key, "token_revoked"},
		{"expired api key", "/keys", expiredKey, "token_expired"},
		{"unknown api key", "/keys", "ak_" + randomHex(16), "token_invalid"},
		{"revoked m2m token", "/m2m", mt, "token_revoked"},
		{"expired m2m token", "/m2m", expiredMT, "token_expired"},
		{"unknown m2m token", "/m2m", "mt_" + randomHex(16), "token_invalid"},
		{"expired oauth token", "/oauth", expiredOAT, "token_expired"},
		{"unknown oauth token", "/oauth", "oat_" + randomHex(16), "token_invalid"},
		{"api key with a bad byte", "/keys", "ak_abc%20def", "token_malformed"},
		{"bare bearer on a machine route", "/keys", "", "token_malformed"},
		{"bare bearer on a route for any type", "/any", "", "token_malformed"},
		{"expired m2m jwt", "/m2m", rig.fake.M2MJWT(m.ID, clerktest.CredentialLifetime(-time.Minute)), "token_expired"},
		{"m2m jwt with session category", "/m2m", rig.fake.M2MJWT(m.ID, clerktest.CredentialHeader(map[string]any{"cat": "cl_B7d4PD111AAA"})), "token_type_invalid"},
		{"m2m jwt with ignore category", "/m2m", rig.fake.M2MJWT(m.ID, clerktest.CredentialHeader(map[string]any{"cat": "cl_I7d4PD111III"})), "token_type_invalid"},
		{"m2m jwt without exp", "/m2m", rig.fake.M2MJWT(m.ID, clerktest.CredentialClaims(map[string]any{"exp": nil})), "claims_invalid"},
		{"m2m jwt with alg none", "/m2m", rig.fake.M2MJWT(m.ID, clerktest.CredentialHeader(map[string]any{"alg": "none"})), "algorithm_not_allowed"},
		{"expired oauth jwt", "/oauth", rig.fake.OAuthJWT("user_3", "c", clerktest.CredentialLifetime(-time.Minute)), "token_expired"},
		{"oauth jwt for a machine", "/oauth", rig.fake.OAuthJWT("mch_2abc", "c"), "token_type_invalid"},
		{"oauth jwt with a numeric scp", "/oauth", rig.fake.OAuthJWT("user_3", "c", clerktest.CredentialClaims(map[string]any{"scp": []int{1}})), "claims_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, _ := rig.call(t, tc.path, tc.token)
			require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
			require.Equal(t, tc.reason, rep.reason)
			require.Contains(t, rep.header.Get("WWW-Authenticate"), `error="invalid_token"`)
		})
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// A JWT signed by a key the instance never had is refused, whatever its
// class claims.
func TestMachineForgedJWT(t *testing.T) {
	rig := newMachineRig(t, nil)
	m := rig.fake.CreateMachine()
	forged := clerktest.New()
	defer forged.Close()
	fm := forged.CreateMachine()
	for _, tc := range []struct{ path, token string }{
		{"/m2m", forged.M2MJWT(fm.ID)},
		{"/oauth", forged.OAuthJWT("user_3", "c")},
		// The right kid, signed by another key.
		{"/m2m", forged.M2MJWT(m.ID, clerktest.CredentialHeader(map[string]any{"kid": rig.fake.KeyID()}))},
	} {
		rep, _ := rig.call(t, tc.path, tc.token)
		require.Equal(t, http.StatusUnauthorized, rep.status)
		require.Contains(t, []string{"key_not_found", "signature_invalid"}, rep.reason)
	}
}

// One API key used by 10,000 requests costs one Backend API call; a
// revocation reaches the Gate when the cache entry lapses.
func TestMachineCacheOneCallPerCredential(t *testing.T) {
	rig := newMachineRig(t, nil)
	id, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1250 {
				rep := get(t, rig.url+"/keys", bearer(key))
				if rep.status != http.StatusOK {
					t.Errorf("status %d", rep.status)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, rig.fake.Requests(clerktest.RouteVerifyAPIKey), "10,000 requests with one key")
	t.Logf("10,000 requests with one API key: %d Backend API call(s)", rig.fake.Requests(clerktest.RouteVerifyAPIKey))

	rig.fake.RevokeCredential(id)
	rep, _ := rig.call(t, "/keys", key)
	require.Equal(t, http.StatusOK, rep.status, "cached until the entry lapses")
	rig.advance(machine.DefaultMaxAge + time.Second)
	rep, _ = rig.call(t, "/keys", key)
	require.Equal(t, "token_revoked", rep.reason)
}

// 10,000 random API keys make no more calls than the documented bound;
// known keys are served throughout, and a new genuine key is served
// again within a second of the flood's end.
func TestMachineFloodOfRandomKeys(t *testing.T) {
	rig := newMachineRig(t, nil)
	_, known := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "known")
	rep, _ := rig.call(t, "/keys", known)
	require.Equal(t, http.StatusOK, rep.status)
	rig.advance(machine.DefaultMaxAge + time.Second) // the known key's entry lapses: it is re-verified during the flood
	var busy atomic.Int32
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1250 {
				token := "ak_" + randomHex(16)
				if i%250 == 0 && w == 0 {
					token = known
				}
				rep := get(t, rig.url+"/keys", bearer(token))
				switch {
				case token == known && rep.status != http.StatusOK:
					t.Errorf("known key refused during the flood: %d %s", rep.status, rep.reason)
				case token != known && rep.status == http.StatusServiceUnavailable:
					if rep.header.Get("Retry-After") == "" {
						t.Errorf("503 without Retry-After")
					}
					busy.Add(1)
				case token != known && rep.reason != "token_invalid":
					t.Errorf("random key: %d %s", rep.status, rep.reason)
				}
			}
		}()
	}
	wg.Wait()
	calls := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
	// The clock stands still during the flood: the documented bound is the
	// bucket's burst (full again after the 61 s advance), plus one
	// re-verification of the known key, plus its first verification.
	bound := machine.DefaultNewBurst + 1 + 1
	t.Logf("10,000 requests with 10,000 random API keys: %d Backend API calls (bound %d), %d answered 503", calls, bound, busy.Load())
	require.LessOrEqual(t, calls, bound)
	require.Positive(t, busy.Load())

	rig.advance(time.Second)
	_, fresh := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "fresh")
	rep, _ = rig.call(t, "/keys", fresh)
	require.Equal(t, http.StatusOK, rep.status, "a new key one second after the flood")
}

// With the Backend API down, cached credentials keep working until their
// entry lapses; new ones get 503 with Retry-After.
func TestMachineBackendDown(t *testing.T) {
	skipSlowUnderShort(t)
	rig := newMachineRig(t, func(c *clerkgate.Config) { c.Refresh.Timeout = 2 * time.Second })
	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
	_, other := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "other key")
	rep, _ := rig.call(t, "/keys", key)
	require.Equal(t, http.StatusOK, rep.status)
	for _, f := range []clerktest.Fault{{Status: http.StatusInternalServerError}, {Reset: true}, {Status: http.StatusUnauthorized}, {Hang: true}} {
		rig.fake.SetFault(clerktest.RouteVerifyAPIKey, f)
		rig.advance(machine.DefaultOutageWindow) // past the window the last fault opened: this one is called
		rep, _ = rig.call(t, "/keys", key)
		require.Equal(t, http.StatusOK, rep.status, "cached key during %+v", f)
		rep, _ = rig.call(t, "/keys", other)
		require.Equal(t, http.StatusServiceUnavailable, rep.status, "new key during %+v", f)
		require.Equal(t, "machine_auth_unavailable", rep.reason)
		require.NotEmpty(t, rep.header.Get("Retry-After"))
	}
	rig.advance(machine.DefaultMaxAge + time.Second)
	rig.fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: http.StatusBadGateway})
	rep, _ = rig.call(t, "/keys", key)
	require.Equal(t, http.StatusServiceUnavailable, rep.status, "lapsed entry during the outage")
	rig.fake.ClearFaults()
	rig.advance(machine.DefaultOutageWindow) // calls are held that long after a failed one
	rep, _ = rig.call(t, "/keys", other)
	require.Equal(t, http.StatusOK, rep.status, "after the outage")
}

// A revocation through Gate.Machines takes effect in this process at once, not
// when the cache entry lapses; the rest of the cache is untouched.
func TestMachineRevokeThroughMachinesForgetsAtOnce(t *testing.T) {
	rig := newMachineRig(t, nil)
	id, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
	_, other := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "other key")
	m := rig.fake.CreateMachine()
	mtID, mt := rig.fake.CreateM2MToken(m.ID)
	for _, tc := range []struct{ path, token string }{{"/keys", key}, {"/keys", other}, {"/m2m", mt}} {
		rep, _ := rig.call(t, tc.path, tc.token)
		require.Equal(t, http.StatusOK, rep.status, rep.body)
	}

	k, err := rig.gate.Machines().RevokeAPIKey(t.Context(), id, "leaked")
	require.NoError(t, err)
	require.True(t, k.Revoked)
	rep, _ := rig.call(t, "/keys", key)
	require.Equal(t, "token_revoked", rep.reason, "no wait for the entry to lapse")

	tok, err := rig.gate.Machines().RevokeM2MToken(t.Context(), mtID, "")
	require.NoError(t, err)
	require.True(t, tok.Revoked)
	rep, _ = rig.call(t, "/m2m", mt)
	require.Equal(t, "token_revoked", rep.reason)

	before := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
	rep, _ = rig.call(t, "/keys", other)
	require.Equal(t, http.StatusOK, rep.status)
	require.Equal(t, before, rig.fake.Requests(clerktest.RouteVerifyAPIKey), "the other key is still cached")

	_, err = rig.gate.Machines().RevokeAPIKey(t.Context(), "ak_../../users", "")
	require.ErrorIs(t, err, machine.ErrInvalidInput)
}
