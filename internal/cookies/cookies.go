// Package cookies reads named cookies from Cookie header lines exactly as
// net/http's Request.CookiesNamed reads them, in one pass and within
// bounds (MaxCount, MaxBytes, MaxValue): net/http builds every cookie of
// the header, which costs milliseconds on 1 MiB of tiny cookies. A cookie
// sent twice with different values is Ambiguous, never either value: a
// sibling subdomain can plant a second session cookie, and taking either
// would sign the victim in as whoever planted it.
//
//	var found [2]cookies.Found
//	cookies.Find(r.Header["Cookie"], []string{"__session", "__client_uat"}, found[:])
package cookies

import "strings"

// MaxCount is net/http's limit on the cookies of one request (the
// default of GODEBUG httpcookiemaxnum): past it, net/http reads none, and
// neither does the Gate.
const MaxCount = 3000

// MaxBytes bounds the Cookie headers the Gate reads at all: past it,
// a request is read as carrying no cookies (so it is signed out, and an
// expired session is not refreshed), whatever net/http would make of them.
// Scanning costs time in proportion to the header's size, and no browser
// needs this much: a cookie holds at most 4 KiB, nginx refuses Cookie
// lines over 8 KiB by default, and Node's HTTP server, where Clerk's own
// SDK runs, refuses more than 16 KiB of headers in all.
const MaxBytes = 64 << 10

// Found is what Find read of one name: the cookie's value
// when every occurrence carries the same one, or ambiguous when two
// occurrences carry different values.
type Found struct {
	Value     string
	Found     bool
	Ambiguous bool
}

// FindOne reads the cookie name from the Cookie header lines exactly as
// net/http's Request.CookiesNamed does (within MaxBytes); see
// Find.
func FindOne(lines []string, name string) (value string, ambiguous bool) {
	var found [1]Found
	Find(lines, []string{name}, found[:])
	return found[0].Value, found[0].Ambiguous
}

// Find reads the cookies names from the Cookie header lines in one
// pass, each exactly as net/http's Request.CookiesNamed reads it (within
// MaxBytes), into found[i] for names[i]; it reads only those names:
// net/http builds every cookie of the header, which costs milliseconds on
// 1 MiB of tiny cookies. names must be valid cookie names, and found as
// long as names.
func Find(lines, names []string, found []Found) {
	clear(found)
	size, count := 0, 0
	for _, line := range lines {
		size += len(line)
		if size > MaxBytes {
			return
		}
		count += strings.Count(line, ";") + 1
	}
	if count > MaxCount {
		return
	}
	for _, line := range lines {
		for line != "" {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			for i, name := range names {
				if found[i].Ambiguous {
					continue
				}
				rest, ok := cutName(pair, name)
				if !ok {
					continue
				}
				v, ok := pairValue(trimRight(rest))
				switch {
				case !ok:
				case len(v) > MaxValue:
					found[i] = Found{Ambiguous: true}
				case !found[i].Found:
					found[i] = Found{Value: v, Found: true}
				case v != found[i].Value:
					found[i] = Found{Ambiguous: true}
				}
			}
		}
	}
}

// pairValue reads what follows a cookie's name up to the end of its pair
// (trimmed on the right): optional white space and "=value", or nothing at
// all (net/http reads "name" alone as an empty value). It strips one pair
// of double quotes and refuses the bytes net/http refuses in a value.
func pairValue(rest string) (string, bool) {
	eq := strings.IndexByte(rest, '=')
	if eq < 0 {
		eq = len(rest)
	}
	for i := range eq {
		if !isSpace(rest[i]) {
			return "", false // a longer name, such as __session_other
		}
	}
	if eq == len(rest) {
		return "", true
	}
	v := rest[eq+1:]
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if len(v) > MaxValue {
		return v, true // unusable whatever it holds (Find): not worth checking
	}
	return v, validValue(v)
}

// MaxValue bounds the cookie values the Gate reads: a longer one
// is unusable, as a cookie sent twice with different values is (a session
// cookie is malformed, any other absent), at the cost of its length.
// Browsers keep no cookie
// whose name and value pass 4,096 bytes, and Clerk keeps its session
// token under that for this reason, so no browser sends Clerk a longer
// one; reading them would let any page load cost a scan and a decode of
// each (see TestHostilePageLoadCost).
const MaxValue = 4 << 10

// validValue reports whether v holds only the bytes net/http allows
// in a cookie value: 0x20 to 0x7e, less '"', ';' and '\\'. It looks at
// eight bytes at a time, because a session token is a kilobyte or more
// and is checked on every request: byte by byte, this check alone cost
// more than the rest of the cookie scan.
func validValue(v string) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	// below(x, n) sets the high bit of some byte exactly when a byte of x
	// is below n (for n ≤ 0x80), though not always of that byte; so
	// below(x^c*ones, 1) tells whether some byte equals c.
	below := func(x, n uint64) uint64 { return (x - n*ones) &^ x }
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		bad := x | below(x, 0x20) | below(x^0x7f*ones, 1) |
			below(x^'"'*ones, 1) | below(x^';'*ones, 1) | below(x^'\\'*ones, 1)
		if bad&highs != 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// isSpace is the white space net/http trims around cookie pairs and
// names (textproto.TrimString).
func isSpace(b byte) bool {
	return b <= ' ' && (b == ' ' || b == '\t' || b == '\n' || b == '\r')
}

// cutName returns what follows name in a pair that starts with it after
// white space. Browsers put one space after each ";"; a longer run of
// white space is skipped by searching for the name, at memory speed,
// rather than byte by byte.
func cutName(pair, name string) (string, bool) {
	if pair != "" && isSpace(pair[0]) {
		pair = pair[1:]
		if pair != "" && isSpace(pair[0]) {
			i := strings.Index(pair, name)
			if i < 0 || !onlySpace(pair[:i]) {
				return "", false
			}
			pair = pair[i:]
		}
	}
	return strings.CutPrefix(pair, name)
}

// onlySpace reports whether s is all cookie white space, looking from its
// end: a name found in the middle of a value fails at the first byte.
func onlySpace(s string) bool {
	i := len(s) - 1
	for i >= 0 && isSpace(s[i]) {
		i--
	}
	return i < 0
}

func trimRight(s string) string {
	i := len(s)
	for i > 0 && isSpace(s[i-1]) {
		i--
	}
	return s[:i]
}
