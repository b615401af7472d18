package clerkgate_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/internal/jwktest"
	"github.com/clerkgate/clerkgate/internal/testkit"
)

// instance is a Clerk instance as the middleware sees it: a Backend API
// serving a JWKS over real HTTP, and the key that signs its tokens. It is
// the one fixture that is not the rig (helpers_test.go): its key set holds
// an RS512 twin of the signing key and an EC key, which testkit's attacks
// need and clerktest does not publish.
type instance struct {
	vec     testkit.Vectors
	key     *rsa.PrivateKey
	foreign *rsa.PrivateKey
	kid     string
	api     *httptest.Server
	fetches atomic.Int32
}

const (
	ecKid    = "ins_ec_key"
	rs512Kid = "ins_rs512_key"
)

func newInstance(t *testing.T) *instance {
	t.Helper()
	in := &instance{vec: testkit.LoadVectors(t)}
	in.key = in.vec.SigningKey(t)
	var err error
	in.foreign, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	// The key set: the vectors' RSA key, the same key declared RS512 under
	// another kid, and an EC key.
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(in.vec.JWKS, &doc))
	in.kid = doc.Keys[0]["kid"].(string)
	rs512 := testkit.With(doc.Keys[0], "kid", rs512Kid, "alg", "RS512")
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecMap := jwktest.Of(&ec.PublicKey, "kid", ecKid, "alg", "ES256")
	body, err := json.Marshal(map[string]any{"keys": []any{doc.Keys[0], rs512, ecMap}})
	require.NoError(t, err)

	in.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/jwks" || r.Header.Get("Authorization") != "Bearer sk_test_instance" {
			http.Error(w, `{"errors":[{"code":"resource_not_found"}]}`, http.StatusNotFound)
			return
		}
		in.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(in.api.Close)
	return in
}

func (in *instance) config() clerkgate.Config {
	return clerkgate.Config{
		SecretKey:         "sk_test_instance",
		PublishableKey:    in.vec.PublishableTest,
		APIURL:            in.api.URL,
		AuthorizedParties: []string{in.vec.AuthorizedParty},
		Clock:             func() time.Time { return time.Unix(in.vec.Now, 0) },
	}
}

func (in *instance) gate(t *testing.T, mod func(*clerkgate.Config)) *clerkgate.Gate {
	t.Helper()
	cfg := in.config()
	if mod != nil {
		mod(&cfg)
	}
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	return g
}

func (in *instance) header() map[string]any { return testkit.Header(in.kid) }

func (in *instance) claims() map[string]any { return in.vec.Claims("user_1", "sess_1") }

func (in *instance) token(t *testing.T, claims map[string]any) string {
	return testkit.SignRS(t, in.key, crypto.SHA256, in.header(), claims)
}

// issuerOf is the iss claim of a token, read without verifying it.
func issuerOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	_ = json.Unmarshal(b, &c)
	return c.Iss
}

func TestAttacksOverHTTP(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	var contacted atomic.Int32
	evil := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { contacted.Add(1) }))
	srv := serve(t, in.gate(t, nil).Accept(clerkgate.SessionToken).Require(whoami))

	attacks := testkit.Attacks(t, testkit.AttackSetup{
		Trusted: in.key, Kid: in.kid, RS512Kid: rs512Kid, ECKid: ecKid, Foreign: in.foreign,
		EvilURL: evil.URL, Header: in.header(), Claims: in.claims(), Now: in.vec.Now,
	})
	for _, a := range attacks {
		if a.Token == "" {
			continue // over HTTP an empty token is no token: TestTokenSources covers it
		}
		if strings.ContainsAny(a.Token, "\r\n") {
			continue // no HTTP header can carry CR or LF; the verifier's TestAttacks covers them
		}
		t.Run(a.Name, func(t *testing.T) {
			for i, send := range []func(*http.Request){bearer(a.Token), cookie("__session", a.Token)} {
				rep := get(t, srv.URL, send)
				require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
				want := a.Reason
				if i == 1 && want == clerkgate.ReasonIssuerInvalid && issuerOf(a.Token) != "" {
					// A plain __session issued by another instance is that
					// instance's cookie: Clerk reads this instance's
					// suffixed pair instead, and there is none.
					want = clerkgate.ReasonTokenMissing
				}
				require.Equal(t, string(want), rep.reason)
				if want != clerkgate.ReasonTokenMissing {
					require.Contains(t, rep.header.Get("WWW-Authenticate"), `error="invalid_token"`)
				}
			}
		})
	}
	require.Zero(t, contacted.Load(), "a URL from a token header was contacted")
}

func TestTokenSources(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	srv := serve(t, in.gate(t, nil).Accept(clerkgate.SessionToken).Require(whoami))
	good := in.token(t, in.claims())
	forged := testkit.SignRS(t, in.foreign, crypto.SHA256, in.header(), testkit.With(in.claims(), "sub", "user_admin"))
	sfx := in.vec.CookieSuffix["pk_test"]
	suffixed := "__session_" + sfx

	cases := []struct {
		name   string
		mods   []func(*http.Request)
		status int
		want   string
	}{
		{"bearer", []func(*http.Request){bearer(good)}, 200, "user_1"},
		{"scheme is case-insensitive", []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "bEaReR "+good) }}, 200, "user_1"},
		{"__session cookie", []func(*http.Request){cookie("__session", good)}, 200, "user_1"},
		{"suffixed cookie", []func(*http.Request){cookie(suffixed, good), clientUAT(sfx)}, 200, "user_1"},
		{"suffixed pair wins over __session", []func(*http.Request){cookie("__session", forged), cookie(suffixed, good), clientUAT(sfx)}, 200, "user_1"},
		{"a suffixed cookie without its __client_uat is ignored, as Clerk does", []func(*http.Request){cookie(suffixed, good)}, 401, "token_missing"},
		{"header wins over cookie", []func(*http.Request){bearer(forged), cookie("__session", good)}, 401, "signature_invalid"},
		{"no token", nil, 401, "token_missing"},
		{"Basic is not a session token", []func(*http.Request){func(r *http.Request) { r.SetBasicAuth("u", "p") }}, 401, "token_missing"},
		{"Basic falls through to the cookie", []func(*http.Request){func(r *http.Request) { r.SetBasicAuth("u", "p") }, cookie("__session", good)}, 200, "user_1"},
		{"empty bearer", []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }}, 401, "token_malformed"},
		// Spellings parsers split otherwise (Clerk takes "Bearer" as the
		// token of the first, the whole value of the second, the good
		// token of the third): refused, never the cookie's session.
		{"two spaces after Bearer", []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "Bearer  "+good) }, cookie("__session", good)}, 401, "token_malformed"},
		{"a tab after Bearer", []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "Bearer\t"+good) }, cookie("__session", good)}, 401, "token_malformed"},
		{"a word after the token", []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+good+" extra") }, cookie("__session", good)}, 401, "token_malformed"},
		{"other instance's suffixed cookie is ignored", []func(*http.Request){cookie("__session_other123", good)}, 401, "token_missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := get(t, srv.URL, func(r *http.Request) {
				for _, m := range tc.mods {
					m(r)
				}
			})
			require.Equal(t, tc.status, rep.status, rep.body)
			if tc.status == 200 {
				require.Equal(t, tc.want, rep.body)
			} else {
				require.Equal(t, tc.want, rep.reason)
			}
		})
	}
}

func TestMissingTokenChallenge(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	rep := get(t, serve(t, in.gate(t, nil).Accept(clerkgate.SessionToken).Require(whoami)).URL, nil)
	require.Equal(t, http.StatusUnauthorized, rep.status)
	require.Equal(t, "Bearer", rep.header.Get("WWW-Authenticate"), "no invalid_token without a token")
	require.Equal(t, "token_missing", rep.reason)
}

func TestOptionalSession(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	srv := serve(t, in.gate(t, nil).Accept(clerkgate.SessionToken).Optional(whoami))

	require.Equal(t, reply{status: 200, body: "anonymous"}, stripHeader(get(t, srv.URL, nil)))
	require.Equal(t, "user_1", get(t, srv.URL, bearer(in.token(t, in.claims()))).body)
	// A present but invalid token is refused, never downgraded to anonymous.
	forged := testkit.SignRS(t, in.foreign, crypto.SHA256, in.header(), in.claims())
	rep := get(t, srv.URL, bearer(forged))
	require.Equal(t, http.StatusUnauthorized, rep.status)
	require.Equal(t, "signature_invalid", rep.reason)
	rep = get(t, srv.URL, cookie("__session", in.token(t, testkit.With(in.claims(), "exp", in.vec.Now-60))))
	require.Equal(t, "token_expired", rep.reason)
}

func stripHeader(r reply) reply { r.header = nil; return r }

func TestJWKSUnavailableIs503(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(down.Close)
	g := in.gate(t, func(c *clerkgate.Config) { c.APIURL = down.URL; c.Keys.FetchTimeout = time.Second })
	rep := get(t, serve(t, g.Accept(clerkgate.SessionToken).Require(whoami)).URL, bearer(in.token(t, in.claims())))
	require.Equal(t, http.StatusServiceUnavailable, rep.status)
	require.Equal(t, "jwks_unavailable", rep.reason)
	require.NotEmpty(t, rep.header.Get("Retry-After"))
}

func TestExpiredWithoutRefreshCookieIs401(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	srv := serve(t, in.gate(t, nil).Accept(clerkgate.SessionToken).Require(whoami))
	rep := get(t, srv.URL, cookie("__session", in.token(t, testkit.With(in.claims(), "exp", in.vec.Now-60))))
	require.Equal(t, http.StatusUnauthorized, rep.status)
	require.Equal(t, "token_expired", rep.reason)
}

func TestCustomErrorHandler(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	g := in.gate(t, func(c *clerkgate.Config) {
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, e *clerkgate.AuthError) {
			http.Redirect(w, r, "/sign-in?reason="+string(e.Reason), http.StatusFound)
		}
	})
	srv := serve(t, g.Accept(clerkgate.SessionToken).Require(whoami))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(srv.URL)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	require.Equal(t, "/sign-in?reason=token_missing", res.Header.Get("Location"))
}

// Two Gates for two Clerk instances must never share keys: a token signed
// by instance B, with the same kid, must fail on instance A's Gate.
func TestInstancesShareNothing(t *testing.T) {
	t.Parallel()
	a, b := newInstance(t), newInstance(t)
	b.key = b.foreign // instance B signs with its own key under the same kid
	gateA := a.gate(t, nil)
	srvA := serve(t, gateA.Accept(clerkgate.SessionToken).Require(whoami))
	require.Equal(t, 200, get(t, srvA.URL, bearer(a.token(t, a.claims()))).status)
	rep := get(t, srvA.URL, bearer(b.token(t, b.claims())))
	require.Equal(t, "signature_invalid", rep.reason)
}

// With CLERK_JWT_KEY, verification never touches the network.
func TestStaticKeyNeedsNoNetwork(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	g, err := clerkgate.New(clerkgate.Config{
		JWTKey:         in.vec.PublicKeyPEM,
		PublishableKey: in.vec.PublishableTest,
		Clock:          func() time.Time { return time.Unix(in.vec.Now, 0) },
	})
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	rep := get(t, serve(t, g.Accept(clerkgate.SessionToken).Require(whoami)).URL, bearer(in.vec.Token("valid")))
	require.Equal(t, 200, rep.status, rep.body)
	require.Equal(t, "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr", rep.body)
	require.Zero(t, in.fetches.Load())
	require.Nil(t, g.Sessions(), "no secret key, no Backend API client")
}

// Two Authorization headers are refused as malformed, whatever they hold:
// a proxy or a handler may honour the other one. (The gRPC adapter
// refuses two authorization values alike.)
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	t.Parallel()
	rig := newMachineRig(t, nil)
	alice := rig.fake.Token(rig.fake.CreateSession("user_alice").ID)
	bob := rig.fake.Token(rig.fake.CreateSession("user_bob").ID)
	_, key := rig.fake.CreateAPIKey("user_alice", "ci")
	mux := http.NewServeMux()
	mux.Handle("/me", rig.gate.Accept(clerkgate.SessionToken).Require(whoami))
	mux.Handle("/any", rig.gate.Accept(clerkgate.AnyToken).Require(whoamiCaller))
	url := serve(t, mux).URL
	for name, values := range map[string][]string{
		"two sessions":         {"Bearer " + alice, "Bearer " + bob},
		"the same token twice": {"Bearer " + alice, "Bearer " + alice},
		"Basic, then Bearer":   {"Basic dXNlcjpwYXNz", "Bearer " + alice},
		"API key and session":  {"Bearer " + key, "Bearer " + alice},
	} {
		for _, path := range []string{"/me", "/any"} {
			rep := get(t, url+path, func(r *http.Request) { r.Header["Authorization"] = values })
			require.Equal(t, http.StatusUnauthorized, rep.status, "%s %s", name, path)
			require.Equal(t, "token_malformed", rep.reason, "%s %s", name, path)
		}
	}
	// One header still works.
	require.Equal(t, http.StatusOK, get(t, url+"/me", bearer(alice)).status)
}
