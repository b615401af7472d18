package handshake

import (
	"strings"
)

// maxPeekSize bounds the session cookies peek looks into. Browsers keep
// no cookie whose name and value pass 4,096 bytes, so a longer __session
// was never set by Clerk: it is not read, and the page is signed out
// (token-invalid) at the cost of a length check.
const maxPeekSize = 4 << 10

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
// Clerk's decodeJwt does, with the strict, size-capped reader of
// peekFast: ok is false for anything that is not a JWT as Clerk mints
// them, and for anything longer than a browser keeps in a cookie. It
// reads only the members the decision needs, and allocates one buffer,
// whatever the token holds.
func peek(token string) (peeked, bool) {
	return peekFast(token)
}

// Unreadable is the value of a __client_uat (Cookies.ClientUAT or
// ClientUATSuffixed) that the request carries but the caller cannot read
// as Clerk does: sent twice with different values, or a value two cookie
// parsers read otherwise (quoted, padded, percent-encoded). Clerk may read
// it as "", "0" or a number; its time reads as 0.
const Unreadable = "."

// uatReadings are the classes of value Clerk's choice of cookie pair
// tells apart in a __client_uat: absent, "0", anything else.
var uatReadings = [...]string{"", "0", "1"}

// TokenPeek is what a session token says about itself before
// verification, as Decide reads it: PeekToken's answer, for a caller
// that remembers it (Config.Peek).
type TokenPeek struct {
	p  peeked
	ok bool
}

// PeekToken reads token as Decide does. The answer depends on token
// alone, so that a caller may remember it for the token (Config.Peek):
// a browser sends the same token on every page load for a minute, and
// reading it is most of what deciding a signed-in page load costs.
func PeekToken(token string) TokenPeek {
	p, ok := peek(token)
	return TokenPeek{p: p, ok: ok}
}

// Sure reports whether the token reads as a JWT as Clerk mints them
// (see peek): an answer worth remembering.
func (t TokenPeek) Sure() bool { return t.ok }

// peek is PeekToken(token), remembered or not (Config.Peek).
func (cfg Config) peek(token string) (peeked, bool) {
	if cfg.Peek == nil || token == "" {
		return peek(token)
	}
	t := cfg.Peek(token)
	return t.p, t.ok
}

// usesSuffixedCookies chooses between __session/__client_uat and their
// suffixed twins exactly as Clerk does (clerk-browser-auth.md §3): a
// browser may hold both, from clerk-js versions before and after suffixes.
// With an Unreadable __client_uat, the choice is the one Clerk makes
// whatever it read there; when that depends on what it read, ambiguous is
// true (the caller then reads no session cookie: either pair could be
// the one Clerk serves).
func usesSuffixedCookies(req Request, cfg Config, ps peeked, sessionOK bool, pss peeked) (suffixed, ambiguous bool) {
	uat, suffixedUAT := req.Cookies.ClientUAT, req.Cookies.ClientUATSuffixed
	if uat != Unreadable && suffixedUAT != Unreadable {
		return choosePair(req, cfg, ps, sessionOK, pss, uat, suffixedUAT), false
	}
	first := true
	for _, u := range readingsOf(uat) {
		for _, su := range readingsOf(suffixedUAT) {
			s := choosePair(req, cfg, ps, sessionOK, pss, u, su)
			if first {
				suffixed, first = s, false
			} else if s != suffixed {
				return false, true
			}
		}
	}
	return suffixed, false
}

// readingsOf is what Clerk may have read of a __client_uat: the value, or
// each class of value when it is Unreadable.
func readingsOf(v string) []string {
	if v == Unreadable {
		return uatReadings[:]
	}
	return []string{v}
}

// choosePair is Clerk's usesSuffixedCookies with the two __client_uat
// values as read.
func choosePair(req Request, cfg Config, ps peeked, sessionOK bool, pss peeked, uat, suffixedUAT string) bool {
	c := req.Cookies
	if cfg.CookieSuffix == "" {
		return false
	}
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
