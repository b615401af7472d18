package parity_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The request-level test's Backend API: a fake that Clerk's SDK (under
// Node) and the Gate both call, on loopback. It keeps no state between
// calls, so both sides get the same answer for the same question whatever
// order they ask in: what a refresh or a nonce yields is written in the
// refresh token or the nonce itself.

// Refresh tokens (the __refresh_<suffix> cookie), by what the fake answers.
const (
	refreshOK      = "rt_ok"      // a new token for the same session
	refreshBadNew  = "rt_badnew"  // a new token that has already expired
	refreshOther   = "rt_other"   // a new token for another session
	refreshInvalid = "rt_invalid" // 400 with a Clerk error code
	refreshDown    = "rt_down"    // 500 unexpected_error
	refreshGarbage = "rt_garbage" // 200 that is not JSON
)

// refreshErrorCode is the code refreshInvalid answers with.
const refreshErrorCode = "session_refresh_refresh_token_invalid"

// Handshake nonces are "n-<instance>-<variant>": the fake answers the
// variant's directives for that instance; an unknown one is a 404.
const (
	nonceSessionA  = "a"       // signs in as session A
	nonceSessionB  = "b"       // signs in as session B
	nonceSignedOut = "out"     // clears the session cookie
	nonceExpired   = "expired" // a session token that has expired
	nonceUnknown   = "unknown" // 404: the Backend API cannot trade it
)

type fakeAPI struct {
	srv   *httptest.Server
	mint  *minter
	insts map[string]*instance // by name
	byIss map[string]*instance
}

func newFakeAPI(t *testing.T, m *minter, insts []*instance) *fakeAPI {
	f := &fakeAPI{mint: m, insts: map[string]*instance{}, byIss: map[string]*instance{}}
	for _, in := range insts {
		f.insts[in.Name] = in
		f.byIss[in.Issuer] = in
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sessions/{sid}/refresh", f.refresh)
	mux.HandleFunc("GET /v1/clients/handshake_payload", f.handshakePayload)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_") {
			apiError(w, http.StatusUnauthorized, "authentication_invalid")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func apiError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q,"long_message":%q}],"clerk_trace_id":"parity"}`, code, code, code)
}

func (f *fakeAPI) refresh(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ExpiredToken string `json:"expired_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "form_param_missing")
		return
	}
	old := peekClaims(body.ExpiredToken)
	in := f.byIss[old.Iss]
	if in == nil || old.Sid != r.PathValue("sid") {
		apiError(w, http.StatusBadRequest, "session_refresh_expired_session_token_invalid")
		return
	}
	spec := tokenSpec{Sid: old.Sid, Sub: old.Sub, Azp: old.Azp}
	switch body.RefreshToken {
	case refreshOK:
	case refreshBadNew:
		spec.Expired = true
	case refreshOther:
		spec.Sid, spec.Sub = sessionB, userB
	case refreshInvalid:
		apiError(w, http.StatusBadRequest, refreshErrorCode)
		return
	case refreshDown:
		apiError(w, http.StatusInternalServerError, "unexpected_error")
		return
	case refreshGarbage:
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "<html>not json</html>")
		return
	default:
		apiError(w, http.StatusBadRequest, "session_refresh_refresh_token_invalid")
		return
	}
	token := f.mint.token(in, spec)
	suffixed := r.URL.Query().Get("suffixed_cookies") == "true"
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "cookies", "cookies": sessionCookies(in, token, suffixed, f.mint.now)})
}

// sessionCookies are the Set-Cookie values of a new session: plain names,
// and the suffixed ones too when asked for.
func sessionCookies(in *instance, token string, suffixed bool, now int64) []string {
	attrs := "; Path=/; SameSite=Lax; Secure"
	uat := fmt.Sprint(now)
	if token == "" {
		uat = "0"
	}
	out := []string{"__client_uat=" + uat + attrs, "__session=" + token + attrs}
	if suffixed {
		out = append(out, "__client_uat_"+in.suffix+"="+uat+attrs, "__session_"+in.suffix+"="+token+attrs)
	}
	return out
}

func (f *fakeAPI) handshakePayload(w http.ResponseWriter, r *http.Request) {
	name, variant, ok := parseNonce(r.URL.Query().Get("nonce"))
	in := f.insts[name]
	if !ok || in == nil {
		apiError(w, http.StatusNotFound, "resource_not_found")
		return
	}
	directives, ok := f.directives(in, variant)
	if !ok {
		apiError(w, http.StatusNotFound, "resource_not_found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"directives": directives})
}

// directives are what a handshake of the variant sets, for a nonce and a
// handshake token alike.
func (f *fakeAPI) directives(in *instance, variant string) ([]string, bool) {
	suffixed := true
	switch variant {
	case nonceSessionA:
		return sessionCookies(in, f.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA}), suffixed, f.mint.now), true
	case nonceSessionB:
		return sessionCookies(in, f.mint.token(in, tokenSpec{Sid: sessionB, Sub: userB}), suffixed, f.mint.now), true
	case nonceExpired:
		return sessionCookies(in, f.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, Expired: true}), suffixed, f.mint.now), true
	case nonceSignedOut:
		return sessionCookies(in, "", suffixed, f.mint.now), true
	}
	return nil, false
}

func nonceFor(in *instance, variant string) string { return "n-" + in.Name + "-" + variant }

func parseNonce(n string) (inst, variant string, ok bool) {
	rest, ok := strings.CutPrefix(n, "n-")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// Sessions of the corpus.
const (
	sessionA, userA = "sess_2alphaalphaalphaalphaalph", "user_2alphaalphaalphaalphaalph"
	sessionB, userB = "sess_2bravobravobravobravobrav", "user_2bravobravobravobravobrav"
)

// tokenSpec describes a session token of an instance; the zero value of
// each field is a genuine token's.
type tokenSpec struct {
	Sid, Sub, Azp string
	Expired       bool   // expired 30 s ago
	Old           bool   // issued 40 s ago (before a client_uat of 20 s ago)
	NBFFuture     bool   // nbf 30 s ahead
	IATFuture     bool   // iat 30 s ahead
	NoIAT         bool   // no iat claim
	Issuer        string // another issuer ("-" for none)
	Category      string // another cat header
	Pending       bool   // sts pending
	// OrgID and OrgSlug make the organization active (v2's o claim).
	OrgID, OrgSlug string
}

// minter signs the corpus's tokens with the instance key, each once.
type minter struct {
	key *rsa.PrivateKey
	kid string
	now int64

	mu    sync.Mutex
	cache map[string]string
}

func (m *minter) token(in *instance, s tokenSpec) string {
	iss := in.Issuer
	switch s.Issuer {
	case "":
	case "-":
		iss = ""
	default:
		iss = s.Issuer
	}
	claims := map[string]any{"sid": s.Sid, "sub": s.Sub, "v": 2, "sts": "active"}
	if iss != "" {
		claims["iss"] = iss
	}
	if s.Azp != "" {
		claims["azp"] = s.Azp
	}
	iat, exp, nbf := m.now-10, m.now+50, m.now-15
	switch {
	case s.Expired:
		iat, exp, nbf = m.now-90, m.now-30, m.now-95
	case s.Old:
		iat, exp, nbf = m.now-40, m.now+20, m.now-45
	case s.NBFFuture:
		nbf = m.now + 30
	case s.IATFuture:
		iat = m.now + 30
	}
	claims["exp"], claims["nbf"] = exp, nbf
	if !s.NoIAT {
		claims["iat"] = iat
	}
	if s.Pending {
		claims["sts"] = "pending"
	}
	if s.OrgID != "" {
		claims["o"] = map[string]any{"id": s.OrgID, "slg": s.OrgSlug, "rol": "admin"}
	}
	cat := "cl_B7d4PD111AAA"
	if s.Category != "" {
		cat = s.Category
	}
	return m.sign(map[string]any{"alg": "RS256", "kid": m.kid, "typ": "JWT", "cat": cat}, claims)
}

// handshakeToken is a handshake JWT carrying directives; exp is set when
// expiredAt is not 0.
func (m *minter) handshakeToken(directives []string, expiredAt int64, cat string) string {
	claims := map[string]any{"handshake": directives}
	if expiredAt != 0 {
		claims["exp"] = expiredAt
	}
	return m.sign(map[string]any{"alg": "RS256", "kid": m.kid, "typ": "JWT", "cat": cat}, claims)
}

func (m *minter) sign(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := b64(string(h)) + "." + b64(string(c))
	m.mu.Lock()
	defer m.mu.Unlock()
	if tok, ok := m.cache[signed]; ok {
		return tok
	}
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, m.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	tok := signed + "." + base64.RawURLEncoding.EncodeToString(sig)
	m.cache[signed] = tok
	return tok
}

type peekedClaims struct {
	Iss, Sid, Sub, Azp string
}

// peekClaims reads a token's claims without verifying it.
func peekClaims(token string) peekedClaims {
	var c peekedClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c
	}
	var raw struct {
		Iss string `json:"iss"`
		Sid string `json:"sid"`
		Sub string `json:"sub"`
		Azp string `json:"azp"`
	}
	_ = json.Unmarshal(b, &raw)
	return peekedClaims{raw.Iss, raw.Sid, raw.Sub, raw.Azp}
}
