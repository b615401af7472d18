package handshake

import (
	"encoding/base64"
	"math"
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
	issHost  string // iss without its schemes (trimScheme), read once with the token
	hasIss   bool
	iat, exp int64
	hasIat   bool // Clerk compares a missing iat with nothing
	hasExp   bool // and finds a token without exp not expired
	sub      string
	cat, typ string
}

// The categories of a session token (see the verifier).
const (
	catSession = "cl_B7d4PD111AAA"
	catIgnore  = "cl_I7d4PD111III"
)

// iatOr0 is p's iat, 0 when p (a token's peek, nil for no JWT) has none,
// as Clerk compares them.
func (p *peeked) iatOr0() int64 {
	if p == nil {
		return 0
	}
	return p.iat
}

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
	p, ok := peekFast(token)
	if ok && p.hasIss {
		p.issHost = trimScheme(p.iss)
	}
	return p, ok
}

// Unreadable is the value of a Clerk cookie that the request carries but
// the caller cannot read as Clerk does: sent twice with different values,
// longer than a browser keeps, or a value two cookie parsers read
// otherwise (quoted, padded, percent-encoded). In __client_uat
// (Cookies.ClientUAT or ClientUATSuffixed) Clerk may read it as "", "0"
// or a number; its time reads as 0. In __session (Cookies.Session or
// SessionSuffixed) Clerk may read nothing, something that is not a JWT,
// or any JWT; the Gate reads no token there.
const Unreadable = "."

// uatReadings are the classes of value Clerk's choice of cookie pair
// tells apart in a __client_uat: absent, "0", anything else.
var uatReadings = [...]string{"", "0", "1"}

// TokenPeek is what a session token says about itself before
// verification, as Decide reads it: PeekToken's answer, for a caller
// that remembers it (Cookies.SessionPeek).
type TokenPeek struct {
	p    *peeked // nil when the token is no JWT as Clerk mints them
	read bool    // PeekToken's answer, not the zero TokenPeek
}

// PeekToken reads token as Decide does. The answer depends on token
// alone, so that a caller may remember it for the token (Cookies.SessionPeek):
// a browser sends the same token on every page load for a minute, and
// reading it is most of what deciding a signed-in page load costs.
func PeekToken(token string) TokenPeek {
	if p, ok := peek(token); ok {
		return TokenPeek{p: &p, read: true}
	}
	return TokenPeek{read: true}
}

// Sure reports whether the token reads as a JWT as Clerk mints them
// (see peek): an answer worth remembering.
func (t TokenPeek) Sure() bool { return t.p != nil }

// peekCookie is PeekToken(token), as the caller gave it (known) or not,
// nil when it is no JWT as Clerk mints them: a token the caller found no
// JWT is not read again. A peek is a hundred bytes, which a decision
// passes on by reference.
func peekCookie(token string, known TokenPeek) *peeked {
	if known.read {
		return known.p
	}
	if p, ok := peek(token); ok {
		return &p
	}
	return nil
}

// sessionReading is what Clerk's choice of cookie pair looks at in a
// session cookie: whether it is empty, and what decodeJwt makes of it.
type sessionReading struct {
	empty bool
	p     *peeked // nil when it is no JWT
}

// suffixedReadings are the classes of value Clerk's choice of cookie
// pair tells apart in a __session_<suffix> it may have read as anything:
// nothing, no JWT, and a JWT that is the oldest or the newest there is,
// expired or not (its iat is compared with the plain token's, its exp
// with the clock). Its issuer is not looked at.
var suffixedReadings = func() [6]sessionReading {
	jwt := func(iat, exp int64) sessionReading {
		return sessionReading{p: &peeked{iat: iat, hasIat: true, exp: exp, hasExp: true}}
	}
	const never = math.MaxInt64
	return [6]sessionReading{{empty: true}, {}, jwt(0, 0), jwt(0, never), jwt(never, 0), jwt(never, never)}
}()

// usesSuffixedCookies chooses between __session/__client_uat and their
// suffixed twins exactly as Clerk does (clerk-browser-auth.md §3): a
// browser may hold both, from clerk-js versions before and after suffixes.
// With an Unreadable __client_uat, or a __session_<suffix> Clerk may read
// otherwise (unsure), the choice is the one Clerk makes whatever it read
// there; when that depends on what it read, ambiguous is true (the caller
// then reads no session cookie: either pair could be the one Clerk
// serves). Read as the oldest token there is, a planted or padded
// __session_<suffix> made the Gate serve the plain session where Clerk,
// reading a newer token there, chose the suffixed pair. (A plain
// __session peek cannot read chooses the plain pair, rule 1, whose token
// is then refused: it serves no session.)
func usesSuffixedCookies(req *Request, cfg *Config, ps, pss *peeked) (suffixed, ambiguous bool) {
	c := &req.Cookies
	plain := sessionReading{empty: c.Session == "", p: ps}
	suffixedSession := sessionReading{empty: c.SessionSuffixed == "", p: pss}
	suffixedAny := unsure(c.SessionSuffixed, pss != nil)
	if c.ClientUAT != Unreadable && c.ClientUATSuffixed != Unreadable && !suffixedAny {
		return choosePair(req, cfg, plain, suffixedSession, c.ClientUAT, c.ClientUATSuffixed), false
	}
	suffixeds := []sessionReading{suffixedSession}
	if suffixedAny {
		suffixeds = suffixedReadings[:]
	}
	first := true
	for _, u := range readingsOf(c.ClientUAT) {
		for _, su := range readingsOf(c.ClientUATSuffixed) {
			for _, ss := range suffixeds {
				choice := choosePair(req, cfg, plain, ss, u, su)
				if first {
					suffixed, first = choice, false
				} else if choice != suffixed {
					return false, true
				}
			}
		}
	}
	return suffixed, false
}

// unsure reports a session cookie whose token Clerk may read otherwise
// than peek did: Unreadable, or one peek gave up on (it reads only what
// it reads exactly, as Clerk's tokens are written) that Clerk's decodeJwt
// may still decode: three parts, the first two base64 of what may be a
// JSON object. A hand-made token there (a float iat, an escaped claim)
// must not be read as no JWT, the oldest there is.
func unsure(v string, peeked bool) bool {
	if v == Unreadable {
		return true
	}
	if peeked || v == "" || strings.Count(v, ".") != 2 {
		return false
	}
	h, rest, _ := strings.Cut(v, ".")
	p, _, _ := strings.Cut(rest, ".")
	return mayBeObject(h) && mayBeObject(p)
}

// mayBeObject reports whether a JWT segment, read as Clerk's loose
// base64url reads it (either alphabet, padding or not), may decode to a
// JSON object: its first byte other than JSON white space is "{", or the
// first bytes are all white space.
func mayBeObject(seg string) bool {
	var in [4]byte
	n := 0
	for i := 0; i < len(seg) && n < len(in); i++ {
		switch b := seg[i]; {
		case b == '-':
			in[n], n = '+', n+1
		case b == '_':
			in[n], n = '/', n+1
		case b == '=':
			i = len(seg)
		default:
			in[n], n = b, n+1
		}
	}
	var out [3]byte
	m, err := base64.RawStdEncoding.Decode(out[:], in[:n])
	if err != nil || m == 0 {
		return false
	}
	for _, b := range out[:m] {
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		}
		return false
	}
	return true
}

// readingsOf is what Clerk may have read of a __client_uat: the value, or
// each class of value when it is Unreadable.
func readingsOf(v string) []string {
	if v == Unreadable {
		return uatReadings[:]
	}
	return []string{v}
}

// choosePair is Clerk's usesSuffixedCookies with the four cookies as
// read.
func choosePair(req *Request, cfg *Config, session, suffixedSession sessionReading, uat, suffixedUAT string) bool {
	if cfg.CookieSuffix == "" {
		return false
	}
	ps, pss := session.p, suffixedSession.p
	if !session.empty && (ps == nil || !ps.hasIss) {
		return false // 1
	}
	if !session.empty && ps.issHost != cfg.InstanceHost {
		return true // 2
	}
	if suffixedUAT == "" && suffixedSession.empty {
		return false // 3
	}
	if suffixedUAT != "0" && uat != "0" && ps.iatOr0() > pss.iatOr0() {
		return false // 4
	}
	if suffixedUAT == "0" && uat != "0" {
		return false // 5
	}
	// Clerk's sessionExpired: a cookie that is no JWT, or a JWT without
	// exp, is not expired.
	expired := pss != nil && pss.hasExp && pss.exp <= req.Now.Unix()
	if !cfg.Production && suffixedUAT != "0" && uat == "0" && expired {
		return false // 6
	}
	if suffixedUAT == "" && !suffixedSession.empty {
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
