package clerkgate

// These fuzz targets live in the package itself, not in clerkgate_test, so
// that they can ask the Gate which token it extracted (tokenFrom): the
// property "only values actually present" is about that value, which the
// HTTP answer does not show.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate/internal/cookies"
	"github.com/clerkgate/clerkgate/internal/jwktest"
	"github.com/clerkgate/clerkgate/internal/testkit"
)

// FuzzTokenFrom feeds arbitrary Authorization and Cookie header values to
// the token extraction. The properties: no panic; a Bearer header wins
// over every cookie, its token if spelled exactly "Bearer <token>", else
// malformed; otherwise the result is empty, or the value
// of one of this instance's two session cookies exactly as net/http reads
// it, with the suffixed cookie taking precedence, or malformed when the
// cookie that counts carries two different values.
func FuzzTokenFrom(f *testing.F) {
	vec := testkit.LoadVectors(f)
	g, err := New(Config{JWTKey: vec.PublicKeyPEM, PublishableKey: vec.PublishableTest})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { g.Close() })
	suffixed := g.suffixed(sessionCookie)

	for _, s := range [][3]string{
		{"Bearer abc", "", ""},
		{"bearer   abc  ", "__session=cookie", ""},
		{"Bearer ", "__session=cookie", ""},
		{"Bearer", "__session=cookie", ""},
		{"Basic dTpw", "__session=cookie", ""},
		{"Bearer\tabc", "__session=cookie", ""},
		{"Bearer  abc", "__session=cookie", ""},
		{"Bearer abc extra", "__session=cookie", ""},
		{"", "__session=plain; " + suffixed + "=suffixed", ""},
		{"", "__session=plain", suffixed + "=suffixed"},
		{"", suffixed + "=; __session=plain", ""},
		{"", `__session="quoted"`, ""},
		{"", `__session=""`, ""},
		{"", `__session=""quoted""`, ""},
		{"", "__session_other=x; x__session=y; __session =z; __sessionx=w", ""},
		{"", " ;;; __session=a=b=c ;", ""},
		{"", "__session=first; __session=second", "__session=third"},
		{"", "__session=same; __session=same", "__session=same"},
		{"", "__session=bad\\; __session=good", ""},
		{"", suffixed + "=a; " + suffixed + "=b; __session=c", ""},
		{"", "__session", ""},
		{"", "\x00__session=nul", "__session=\xff"},
	} {
		f.Add(s[0], s[1], s[2])
	}

	f.Fuzz(func(t *testing.T, auth, cookie1, cookie2 string) {
		r := &http.Request{Header: http.Header{}}
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		for _, c := range []string{cookie1, cookie2} {
			if c != "" {
				r.Header["Cookie"] = append(r.Header["Cookie"], c)
			}
		}
		got := g.tokenFrom(r)

		v := strings.Trim(auth, " \t")
		words := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(words) > 0 && strings.EqualFold(words[0], "Bearer") {
			// Exactly "Bearer <token>", or malformed: never the cookies.
			want := malformed
			if len(words) == 2 && v == words[0]+" "+words[1] {
				want = words[1]
			}
			if got != want {
				t.Fatalf("Bearer header %q: got %q, want %q whatever the cookies say", auth, got, want)
			}
			return
		}
		// Otherwise the suffixed cookie, when it has a value, then the
		// __session cookie, each as net/http reads it.
		want, ambiguous := testkit.NetHTTPCookie(r, suffixed, cookies.MaxBytes, cookies.MaxCount, cookies.MaxValue)
		if !ambiguous && want == "" {
			want, ambiguous = testkit.NetHTTPCookie(r, sessionCookie, cookies.MaxBytes, cookies.MaxCount, cookies.MaxValue)
		}
		if ambiguous {
			want = malformed
		}
		if got != want {
			t.Fatalf("got %q, want %q from Cookie %q", got, want, r.Header.Values("Cookie"))
		}
	})
}

// fuzzBackend is a fixed Clerk instance for FuzzMiddleware: the vectors'
// RSA key under two kids (RS256 and RS512) and an EC key, served as a JWKS;
// and a refresh endpoint that mints a new token for fuzzRefreshToken and
// refuses anything else, as Clerk does.
type fuzzBackend struct {
	vec    testkit.Vectors
	key    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	kid    string
	rs512  string
	ecKid  string
	server *httptest.Server
}

// fuzzRefreshToken is the only refresh cookie value the fuzz backend
// accepts.
const fuzzRefreshToken = "good_refresh"

func newFuzzBackend(tb testing.TB) *fuzzBackend {
	tb.Helper()
	b := &fuzzBackend{vec: testkit.LoadVectors(tb), rs512: "ins_fuzz_rs512", ecKid: "ins_fuzz_ec"}
	b.key = b.vec.SigningKey(tb)
	var err error
	if b.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(b.vec.JWKS, &doc); err != nil {
		tb.Fatal(err)
	}
	b.kid = doc.Keys[0]["kid"].(string)
	ecJWK := jwktest.Of(&b.ec.PublicKey, "kid", b.ecKid, "alg", "ES256")
	set, err := json.Marshal(map[string]any{"keys": []any{
		doc.Keys[0], testkit.With(doc.Keys[0], "kid", b.rs512, "alg", "RS512"), ecJWK,
	}})
	if err != nil {
		tb.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	})
	mux.HandleFunc("POST /v1/sessions/{id}/refresh", b.refresh)
	b.server = httptest.NewServer(mux)
	tb.Cleanup(b.server.Close)
	return b
}

// refresh answers like Clerk's refresh endpoint, for one refresh token.
func (b *fuzzBackend) refresh(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExpiredToken string `json:"expired_token"`
		RefreshToken string `json:"refresh_token"`
	}
	w.Header().Set("Content-Type", "application/json")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if json.Unmarshal(body, &req) != nil || req.RefreshToken != fuzzRefreshToken {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"code":"refresh_token_not_found","message":"not found","long_message":"not found","meta":{}}]}`)
		return
	}
	// The gate verified the expired token before calling; take its ids.
	var old struct{ Sub, Sid string }
	parts := strings.Split(req.ExpiredToken, ".")
	if len(parts) == 3 {
		if p, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(p, &old)
		}
	}
	claims := b.claims()
	claims["sub"], claims["sid"] = old.Sub, old.Sid
	token := b.sign(claims)
	suffix := r.URL.Query().Get("suffixed_cookies") == "true"
	cookies := []string{"__session=" + token + "; Path=/"}
	if suffix {
		cookies = append(cookies, "__session_"+b.vec.CookieSuffix["pk_test"]+"="+token+"; Path=/")
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "cookies", "cookies": cookies})
}

func (b *fuzzBackend) header() map[string]any { return testkit.Header(b.kid) }

func (b *fuzzBackend) claims() map[string]any { return b.vec.Claims("user_fuzz", "sess_fuzz") }

// sign is an RS256 signature by the trusted key; it needs no testing.TB
// because the refresh handler runs on the server's goroutines.
func (b *fuzzBackend) sign(claims map[string]any) string {
	signed := testkit.Enc(b.header()) + "." + testkit.Enc(claims)
	d := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, b.key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// signedByTrustedKey is the oracle for acceptance, apart from the
// verifier: does the token's signature verify under any trusted key with
// any algorithm the key set could allow?
func (b *fuzzBackend) signedByTrustedKey(token string) bool {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil {
		return false
	}
	input := []byte(token[:i])
	for _, h := range []struct {
		id  crypto.Hash
		new func() hash.Hash
	}{{crypto.SHA256, sha256.New}, {crypto.SHA384, sha512.New384}, {crypto.SHA512, sha512.New}} {
		hh := h.new()
		hh.Write(input)
		if rsa.VerifyPKCS1v15(&b.key.PublicKey, h.id, hh.Sum(nil), sig) == nil {
			return true
		}
	}
	d := sha256.Sum256(input)
	return len(sig) == 64 && ecdsa.Verify(&b.ec.PublicKey, d[:],
		new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// knownReasons is every reason of the failure contract.
var knownReasons = map[Reason]bool{
	ReasonTokenMissing: true, ReasonTokenMalformed: true, ReasonTokenTypeInvalid: true, ReasonAlgorithmNotAllowed: true,
	ReasonKeyNotFound: true, ReasonJWKSUnavailable: true, ReasonSignatureInvalid: true,
	ReasonClaimsInvalid: true, ReasonIssuerInvalid: true, ReasonAuthorizedPartyInvalid: true,
	ReasonSessionPending: true, ReasonTokenExpired: true, ReasonTokenNotYetValid: true,
	ReasonSessionRevoked: true, ReasonRefreshFailed: true,
}

// FuzzMiddleware sends arbitrary Authorization and Cookie values through
// the whole middleware, refresh included, with a fixed key set. The
// properties: no panic; never a 500 or any status outside the contract;
// never a 200 unless the token the Gate picked is validly signed by a
// trusted key; every refusal is the documented JSON and sets no cookie; and
// OptionalSession refuses exactly what RequireSession refuses whenever a
// token is present.
func FuzzMiddleware(f *testing.F) {
	b := newFuzzBackend(f)
	g, err := New(Config{
		SecretKey:         "sk_test_fuzz",
		PublishableKey:    b.vec.PublishableTest,
		APIURL:            b.server.URL,
		AuthorizedParties: []string{b.vec.AuthorizedParty},
		Clock:             func() time.Time { return time.Unix(b.vec.Now, 0) },
		Keys:              KeysConfig{MinRefetchInterval: time.Hour}, // the key set stays the one fetched below
		Refresh:           RefreshConfig{Timeout: 5 * time.Second},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { g.Close() })

	type seen struct{ sub, sid string }
	var got *seen
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := ClaimsFromContext(r.Context()); ok {
			got = &seen{c.Subject, c.SessionID}
		}
		w.WriteHeader(http.StatusOK)
	})
	required, optional := g.Accept(SessionToken).Require(handler), g.Accept(SessionToken).Optional(handler)

	valid := b.sign(b.claims())
	expired := b.sign(testkit.With(b.claims(), "exp", b.vec.Now-120, "iat", b.vec.Now-180, "nbf", b.vec.Now-190))
	// The first request fetches the key set; fuzzing starts once it is in.
	if _, err := g.verifier.Verify(context.Background(), valid); err != nil {
		f.Fatalf("warm-up: %v", err)
	}

	refresh := g.suffixed(refreshCookie) + "=" + fuzzRefreshToken
	f.Add("Bearer "+valid, "")
	f.Add("", g.suffixed(sessionCookie)+"="+valid)
	f.Add("", g.suffixed(sessionCookie)+"="+valid+"; __client_uat_"+b.vec.CookieSuffix["pk_test"]+"=1")
	f.Add("", "__session="+valid)
	f.Add("Basic dTpw", "__session="+valid)
	f.Add("Bearer "+valid[:len(valid)-2], "__session="+valid)
	f.Add("", g.suffixed(sessionCookie)+"="+expired+"; "+refresh)
	f.Add("", g.suffixed(sessionCookie)+"="+expired+"; __client_uat_"+b.vec.CookieSuffix["pk_test"]+"=1; "+refresh)
	f.Add("Bearer "+expired, refresh)
	f.Add("", "__session="+expired+"; "+g.suffixed(refreshCookie)+"=wrong")
	f.Add("", "__session="+expired+"; __refresh="+fuzzRefreshToken)
	f.Add("Bearer ", "")
	f.Add("", "")
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range testkit.Attacks(f, testkit.AttackSetup{
		Trusted: b.key, Kid: b.kid, RS512Kid: b.rs512, ECKid: b.ecKid, Foreign: foreign,
		EvilURL: "http://127.0.0.1:1", Header: b.header(), Claims: b.claims(), Now: b.vec.Now,
	}) {
		if len(a.Token) < 4096 {
			f.Add("Bearer "+a.Token, refresh)
		}
	}

	f.Fuzz(func(t *testing.T, auth, cookie string) {
		req := httptest.NewRequest(http.MethodGet, "http://app.example/me", nil)
		if auth != "" {
			req.Header["Authorization"] = []string{auth}
		}
		if cookie != "" {
			req.Header["Cookie"] = []string{cookie}
		}
		token := g.tokenFrom(req)

		var statuses [2]int
		for i, h := range []http.Handler{required, optional} {
			got = nil
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			statuses[i] = res.StatusCode
			switch res.StatusCode {
			case http.StatusOK:
				if got == nil {
					if i == 1 && token == "" {
						continue // anonymous, as OptionalSession allows
					}
					t.Fatalf("200 without claims for token %q", token)
				}
				if !b.signedByTrustedKey(token) {
					t.Fatalf("accepted a token not signed by a trusted key: %q", token)
				}
				if got.sub == "" || got.sid == "" {
					t.Fatalf("accepted claims without sub or sid: %+v", *got)
				}
			case http.StatusUnauthorized, http.StatusServiceUnavailable:
				checkRefusal(t, res)
			default:
				t.Fatalf("status %d for Authorization %q, Cookie %q", res.StatusCode, auth, cookie)
			}
		}
		if token != "" && statuses[0] != statuses[1] {
			t.Fatalf("RequireSession answered %d, OptionalSession %d, for token %q", statuses[0], statuses[1], token)
		}
	})
}

// checkRefusal checks one refusal against the failure contract.
func checkRefusal(t *testing.T, res *http.Response) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("refusal with Content-Type %q", ct)
	}
	if sc := res.Header.Values("Set-Cookie"); len(sc) > 0 {
		t.Fatalf("refusal sets cookies: %q", sc)
	}
	var body struct {
		Error   Reason `json:"error"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("refusal body: %v", err)
	}
	if !knownReasons[body.Error] || body.Message == "" {
		t.Fatalf("refusal %+v is not in the contract", body)
	}
	if (res.StatusCode == http.StatusServiceUnavailable) != (body.Error == ReasonJWKSUnavailable) {
		t.Fatalf("status %d with reason %s", res.StatusCode, body.Error)
	}
	if res.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("401 without a Bearer challenge")
	}
	if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After")
	}
}
