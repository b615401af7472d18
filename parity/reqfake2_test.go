package parity_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// fake2 answers the second corpus's own refresh tokens and nonces, and
// hands every other call to the first corpus's fake. Like it, it keeps no
// state: the answer is written in the refresh token or the nonce.
type fake2 struct {
	srv   *httptest.Server
	g     *gen2
	byIss map[string]*instance
	byNm  map[string]*instance
}

// Refresh tokens of the second corpus, by how the refresh fails (or not).
const (
	rt2Empty         = "rt2_empty"      // 200, no cookies at all
	rt2NoSession     = "rt2_nosession"  // 200, client_uat only
	rt2Forged        = "rt2_forged"     // 200, a session token whose signature fails
	rt2Unauthorized  = "rt2_unauth"     // 401 with a Clerk error
	rt2NotFound      = "rt2_notfound"   // 404 resource_not_found
	rt2OtherInstance = "rt2_otherinst"  // 200, a token another instance issued
	rt2SuffixedOnly  = "rt2_suffixed"   // 200, suffixed cookies only
	rt2NoErrors      = "rt2_noerrors"   // 422 with an empty errors list
	rt2EmptyToken    = "rt2_emptytoken" // 200, __session= empty
	rt2Pending       = "rt2_pending"    // 200, a pending session's token
)

// Handshake payloads of the second corpus (nonce2 and handshake tokens).
const (
	hs2A            = "a"
	hs2PlainOnly    = "plainonly"
	hs2SuffixedOnly = "suffixedonly"
	hs2NoSession    = "nosession"
	hs2Empty        = "empty"
	hs2OtherInst    = "otherinst"
	hs2ExpiredTok   = "expired"
	hs2NBF          = "nbf"
	hs2Forged       = "forged"
	hs2Pending      = "pending"
	hs2NoIat        = "noiat"
	hs2Template     = "template"
	hs2Order        = "order"     // plain A, then suffixed B: the last __session* wins in Clerk
	hs2Lookalike    = "lookalike" // __session A, then __sessionfoo B
	hs2DevBrowser   = "devbrowser"
)

var hs2Variants = []string{hs2A, hs2PlainOnly, hs2SuffixedOnly, hs2NoSession, hs2Empty, hs2OtherInst, hs2ExpiredTok,
	hs2NBF, hs2Forged, hs2Pending, hs2NoIat, hs2Template, hs2Order, hs2Lookalike, hs2DevBrowser}

func hs2Expired(v string) bool { return v == hs2ExpiredTok || v == hs2NBF }

func nonce2For(in *instance, variant string) string { return "n2-" + in.Name + "-" + variant }

func newFake2(t *testing.T, g *gen2, next *fakeAPI) *fake2 {
	f := &fake2{g: g, byIss: map[string]*instance{}, byNm: map[string]*instance{}}
	for _, in := range g.insts {
		f.byNm[in.Name] = in
		if f.byIss[in.Issuer] == nil {
			f.byIss[in.Issuer] = in
		}
	}
	target, _ := url.Parse(next.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_") {
			apiError(w, http.StatusUnauthorized, "authentication_invalid")
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/clients/handshake_payload" &&
			strings.HasPrefix(r.URL.Query().Get("nonce"), "n2-"):
			f.handshakePayload(w, r)
			return
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/refresh"):
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var b struct {
				ExpiredToken string `json:"expired_token"`
				RefreshToken string `json:"refresh_token"`
			}
			_ = json.Unmarshal(body, &b)
			if strings.HasPrefix(b.RefreshToken, "rt2_") {
				f.refresh(w, r, b.ExpiredToken, b.RefreshToken)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake2) refresh(w http.ResponseWriter, r *http.Request, expired, rt string) {
	old := peekClaims(expired)
	in := f.byIss[old.Iss]
	sid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/sessions/"), "/refresh")
	if in == nil || old.Sid != sid {
		apiError(w, http.StatusBadRequest, "session_refresh_expired_session_token_invalid")
		return
	}
	suffixed := r.URL.Query().Get("suffixed_cookies") == "true"
	spec := tok2{sid: old.Sid, sub: old.Sub, azp: old.Azp, iat: -1, exp: 59}
	var cookies []string
	switch rt {
	case rt2Empty:
	case rt2NoSession:
		cookies = []string{"__client_uat=" + fmt.Sprint(f.g.mint.now) + "; Path=/"}
	case rt2Forged:
		spec.badSig = true
		cookies = sessionCookies(in, f.g.token(in, spec), suffixed, f.g.mint.now)
	case rt2Unauthorized:
		apiError(w, http.StatusUnauthorized, "authentication_invalid")
		return
	case rt2NotFound:
		apiError(w, http.StatusNotFound, "resource_not_found")
		return
	case rt2OtherInstance:
		o := f.g.firstOther(in)
		cookies = sessionCookies(in, f.g.token(o, spec), suffixed, f.g.mint.now)
	case rt2SuffixedOnly:
		tok := f.g.token(in, spec)
		cookies = []string{"__client_uat_" + in.suffix + "=" + fmt.Sprint(f.g.mint.now) + "; Path=/",
			"__session_" + in.suffix + "=" + tok + "; Path=/"}
	case rt2NoErrors:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"errors":[],"clerk_trace_id":"parity"}`)
		return
	case rt2EmptyToken:
		cookies = sessionCookies(in, "", suffixed, f.g.mint.now)
	case rt2Pending:
		spec.sts = "pending"
		cookies = sessionCookies(in, f.g.token(in, spec), suffixed, f.g.mint.now)
	default:
		apiError(w, http.StatusBadRequest, "session_refresh_refresh_token_invalid")
		return
	}
	if cookies == nil {
		cookies = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "cookies", "cookies": cookies})
}

func (f *fake2) handshakePayload(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Query().Get("nonce"), "n2-")
	name, variant, ok := strings.Cut(rest, "-")
	in := f.byNm[name]
	if !ok || in == nil {
		apiError(w, http.StatusNotFound, "resource_not_found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"directives": f.g.directives2(in, variant)})
}

// directives2 are the Set-Cookie directives of a handshake payload variant.
func (g *gen2) directives2(in *instance, variant string) []string {
	now := g.mint.now
	attrs := "; Path=/; SameSite=Lax; Secure"
	uat := fmt.Sprint(now)
	both := func(tok string) []string { return sessionCookies(in, tok, true, now) }
	fresh := tok2{iat: -1, exp: 59}
	switch variant {
	case hs2A:
		return both(g.token(in, fresh))
	case hs2PlainOnly:
		return sessionCookies(in, g.token(in, fresh), false, now)
	case hs2SuffixedOnly:
		return []string{"__client_uat_" + in.suffix + "=" + uat + attrs, "__session_" + in.suffix + "=" + g.token(in, fresh) + attrs}
	case hs2NoSession:
		return []string{"__client_uat=" + uat + attrs, "__client_uat_" + in.suffix + "=" + uat + attrs}
	case hs2Empty:
		return []string{}
	case hs2OtherInst:
		return both(g.token(g.firstOther(in), fresh))
	case hs2ExpiredTok:
		return both(g.token(in, tok2{iat: -120, exp: -60}))
	case hs2NBF:
		nbf := int64(30)
		return both(g.token(in, tok2{nbf: &nbf}))
	case hs2Forged:
		return both(g.token(in, tok2{iat: -1, exp: 59, badSig: true}))
	case hs2Pending:
		return both(g.token(in, tok2{iat: -1, exp: 59, sts: "pending"}))
	case hs2NoIat:
		return both(g.token(in, tok2{noIat: true}))
	case hs2Template:
		return both(g.token(in, tok2{iat: -1, exp: 59, cat: "cl_B7d4PD222AAA"}))
	case hs2Order:
		return []string{"__client_uat=" + uat + attrs, "__session=" + g.token(in, fresh) + attrs,
			"__session_" + in.suffix + "=" + g.token(in, tok2{sid: sessionB, sub: userB, iat: -1, exp: 59}) + attrs}
	case hs2Lookalike:
		return []string{"__client_uat=" + uat + attrs, "__session=" + g.token(in, fresh) + attrs,
			"__sessionfoo=" + g.token(in, tok2{sid: sessionB, sub: userB, iat: -1, exp: 59}) + attrs}
	case hs2DevBrowser:
		return append(both(g.token(in, fresh)), "__clerk_db_jwt=dvb_2fromhandshakefromhandshake"+attrs)
	}
	return nil
}

// firstOther is the first instance with another issuer: the fake's answers
// must not depend on a random draw, so both sides get the same one.
func (g *gen2) firstOther(in *instance) *instance {
	for _, o := range g.insts {
		if o.Issuer != in.Issuer {
			return o
		}
	}
	return in
}
