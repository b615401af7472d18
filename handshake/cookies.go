package handshake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// maxPeekSize bounds the tokens peek looks into, as the verifier bounds
// the tokens it verifies.
const maxPeekSize = 16 << 10

// peeked is what a session token says about itself before verification:
// enough to choose between cookie names and to spot a stale or foreign
// token. None of it is trusted beyond that; the token is verified later.
type peeked struct {
	iss      string
	hasIss   bool
	iat, exp int64
	hasIat   bool // Clerk compares a missing iat with nothing
	sub      string
	cat, typ string
}

// The categories of a session token (see the verifier).
const (
	catSession = "cl_B7d4PD111AAA"
	catIgnore  = "cl_I7d4PD111III"
)

// otherClass reports a token of a class other than a session token that
// Clerk signs with the same key: machine tokens, JWT templates, OAuth
// access tokens.
func (p peeked) otherClass() bool {
	return strings.HasPrefix(p.sub, "mch_") ||
		(p.cat != "" && p.cat != catSession && p.cat != catIgnore) ||
		p.typ == "at+jwt" || p.typ == "application/at+jwt"
}

// peek decodes a JWT's header and payload without verifying anything, as
// Clerk's decodeJwt does; ok is false for anything that is not a JWT.
// Tokens as Clerk mints them are read by peekFast; peekJSON, with
// encoding/json, is the reference for everything else.
func peek(token string) (peeked, bool) {
	if p, sure := peekFast(token); sure {
		return p, true
	}
	return peekJSON(token)
}

// peekJSON is peek through encoding/json: one pass to find the value and
// another to decode it, with reflection, for each segment. It costs about
// ten times what peekFast costs, and tens of allocations.
func peekJSON(token string) (peeked, bool) {
	var p peeked
	if token == "" || len(token) > maxPeekSize {
		return p, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return p, false
	}
	var h struct {
		Cat any `json:"cat"`
		Typ any `json:"typ"`
	}
	var c struct {
		Iss *json.RawMessage `json:"iss"`
		Iat json.Number      `json:"iat"`
		Exp json.Number      `json:"exp"`
		Sub any              `json:"sub"`
	}
	if !decodeSegment(parts[0], &h) || !decodeSegment(parts[1], &c) {
		return p, false
	}
	p.cat, _ = h.Cat.(string)
	if h.Cat != nil && p.cat == "" {
		p.cat = "?" // a cat that is not a string is not the session category
	}
	p.typ, _ = h.Typ.(string)
	p.sub, _ = c.Sub.(string)
	if c.Iss != nil {
		var iss any
		_ = json.Unmarshal(*c.Iss, &iss)
		p.iss, _ = iss.(string)
		p.hasIss = iss != nil && iss != "" && iss != false
	}
	p.iat, p.hasIat = number(c.Iat), c.Iat != ""
	p.exp = number(c.Exp)
	return p, true
}

func decodeSegment(seg string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v) == nil
}

func number(n json.Number) int64 {
	if i, err := n.Int64(); err == nil {
		return i
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0
	}
	return int64(f)
}

// usesSuffixedCookies chooses between __session/__client_uat and their
// suffixed twins exactly as Clerk does (clerk-browser-auth.md §3): a
// browser may hold both, from clerk-js versions before and after suffixes.
func usesSuffixedCookies(req Request, cfg Config, ps peeked, sessionOK bool, pss peeked) bool {
	c := req.Cookies
	if cfg.CookieSuffix == "" {
		return false
	}
	uat, suffixedUAT := c.ClientUAT, c.ClientUATSuffixed
	session, suffixedSession := c.Session, c.SessionSuffixed
	if session != "" && (!sessionOK || !ps.hasIss) {
		return false // 1
	}
	if session != "" && trimScheme(ps.iss) != cfg.InstanceHost {
		return true // 2
	}
	if suffixedUAT == "" && suffixedSession == "" {
		return false // 3
	}
	if suffixedUAT != "0" && uat != "0" && ps.iat > pss.iat {
		return false // 4
	}
	if suffixedUAT == "0" && uat != "0" {
		return false // 5
	}
	if !cfg.Production && suffixedUAT != "0" && uat == "0" && suffixedSession != "" && pss.exp <= req.Now.Unix() {
		return false // 6
	}
	if suffixedUAT == "" && suffixedSession != "" {
		return false // 7
	}
	return true // 8
}

// trimScheme removes every http:// and https://, in any case, as Clerk's
// iss.replace(/https?:\/\//gi, "") does; a Clerk issuer has one, at its
// start, which costs no allocation.
func trimScheme(iss string) string {
	rest := iss
	for _, p := range []string{"https://", "http://"} {
		if len(rest) >= len(p) && strings.EqualFold(rest[:len(p)], p) {
			rest = rest[len(p):]
			break
		}
	}
	if !strings.Contains(rest, "://") {
		return rest
	}
	var b strings.Builder
	for i := 0; i < len(iss); {
		if n := schemeAt(iss[i:]); n > 0 {
			i += n
			continue
		}
		b.WriteByte(iss[i])
		i++
	}
	return b.String()
}

// schemeAt is the length of an http:// or https:// (any case) at the start
// of s, or 0.
func schemeAt(s string) int {
	for _, p := range []string{"https://", "http://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return len(p)
		}
	}
	return 0
}

// knownClerkReferer reports a Referer from Clerk itself: the Frontend API,
// the instance's account portal, or (outside production) Clerk's
// development account portals.
func knownClerkReferer(referer string, cfg Config) bool {
	u, err := url.Parse(referer)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	fapi := cfg.FrontendAPI
	if strings.HasPrefix(fapi, "http") {
		if f, err := url.Parse(fapi); err == nil {
			fapi = f.Hostname()
		}
	} else if h, _, ok := strings.Cut(fapi, ":"); ok {
		fapi = h
	}
	if host == fapi {
		return true
	}
	if !cfg.Production && devAccountPortal(host) {
		return true
	}
	accounts := accountsOrigin(cfg.FrontendAPI)
	return accounts != "" && u.Scheme+"://"+u.Host == accounts
}

// accountsOrigin is the account portal of a Frontend API host, as Clerk's
// buildAccountsBaseUrl derives it.
func accountsOrigin(fapi string) string {
	if fapi == "" || strings.HasPrefix(fapi, "http") {
		return ""
	}
	host := fapi
	switch {
	case strings.HasPrefix(host, "clerk.accountsstage."):
		host = strings.Replace(host, "clerk.accountsstage.", "accountsstage.", 1)
	case strings.Contains(host, "clerk.accounts."):
		host = strings.Replace(host, "clerk.accounts.", "accounts.", 1)
	case strings.Contains(host, "clerk."):
		host = strings.Replace(host, "clerk.", "accounts.", 1)
	}
	return "https://" + host
}

func devAccountPortal(host string) bool {
	if strings.HasPrefix(host, "accounts.") {
		for _, s := range []string{".lcl.dev", ".lclstage.dev", ".lclclerk.com"} {
			if strings.HasSuffix(host, s) {
				return true
			}
		}
	}
	for _, s := range []string{".accounts.dev", ".accountsstage.dev", ".accounts.lclclerk.com"} {
		if strings.HasSuffix(host, s) && !strings.HasSuffix(host, ".clerk"+s) {
			return true
		}
	}
	return false
}
