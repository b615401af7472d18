// Package cookies reads named cookies from Cookie header lines in one
// pass and within bounds (MaxCount, MaxBytes, MaxValue): net/http builds
// every cookie of the header, which costs milliseconds on 1 MiB of tiny
// cookies. It reads a cookie's value only where net/http and Clerk's
// parser (the cookie package of Node) agree on it: a value of RFC 6265
// cookie-octets without '%' (no quote, which net/http strips and Clerk
// keeps; no space, which Clerk trims; no '%', which Clerk decodes). A
// cookie with any other value, or sent twice with different values, is
// Unusable, never either value: a sibling subdomain can plant a second
// session cookie, and taking either would sign the victim in as whoever
// planted it.
//
//	var found [2]cookies.Found
//	cookies.Find(r.Header["Cookie"], []string{"__session", "__client_uat"}, found[:], nil)
package cookies

import (
	"encoding/binary"
	"strings"
)

// MaxCount bounds the cookies of one request: past it, the Gate reads
// none. Browsers keep at most 180 cookies for a site (Chrome, Firefox),
// so no browser sends more; net/http's own limit is 3,000, and every pair
// read costs time (see TestReviewHostilePageLoads).
const MaxCount = 300

// MaxBytes bounds the Cookie headers the Gate reads at all: past it,
// a request is read as carrying no cookies (so it is signed out, and an
// expired session is not refreshed), whatever net/http would make of them.
// Scanning costs time in proportion to the header's size, and no browser
// needs this much: a cookie holds at most 4 KiB, nginx refuses Cookie
// lines over 8 KiB by default, and Node's HTTP server, where Clerk's own
// SDK runs, refuses more than 16 KiB of headers in all.
const MaxBytes = 64 << 10

// Found is what Find read of one name: the cookie's value when every
// occurrence carries the same one, or Unusable when an occurrence's value
// is not plain cookie-octets (or is over MaxValue), or two occurrences
// carry different values.
type Found struct {
	Value    string
	Found    bool
	Unusable bool
}

// FindOne reads the cookie name from the Cookie header lines (within
// MaxBytes); see Find.
func FindOne(lines []string, name string) (value string, unusable bool) {
	var found [1]Found
	Find(lines, []string{name}, found[:], nil)
	return found[0].Value, found[0].Unusable
}

// Find reads the cookies names from the Cookie header lines in one
// pass, into found[i] for names[i]; it reads only those names, each
// pair's name once. Names and pairs are trimmed of white space, as both
// net/http and Clerk trim them; a pair without "=" has the empty value.
// names must be valid cookie names, and found as long as names.
//
// known, when not nil, vouches for long values the caller has read
// before: a value it knows skips the octet check, which is most of what
// reading a kilobyte session token on every page load costs. It must know
// only values that ValidValue accepts.
func Find(lines, names []string, found []Found, known func(value string) bool) {
	clear(found)
	size, count := 0, 0
	for _, line := range lines {
		if size += len(line); size > MaxBytes {
			return
		}
		count += strings.Count(line, ";") + 1
	}
	if count > MaxCount {
		return
	}
	for _, line := range lines {
		for line != "" {
			// strings.IndexByte, not strings.Cut: a header of MaxCount
			// tiny cookies is two searches a pair, and Cut's general
			// separator costs a third of the pair.
			pair := line
			if j := strings.IndexByte(line, ';'); j >= 0 {
				pair, line = line[:j], line[j+1:]
			} else {
				line = ""
			}
			name, v := pair, ""
			if j := strings.IndexByte(pair, '='); j >= 0 {
				name, v = pair[:j], pair[j+1:]
			}
			i := indexOf(names, trimSpace(name))
			if i < 0 || found[i].Unusable {
				continue
			}
			v = trimRight(v) // white space after "=" is the value's (net/http), or not (Clerk)
			switch {
			case found[i].Found && v == found[i].Value:
				// The same value again, read already.
			case found[i].Found, len(v) > MaxValue || !(len(v) > knownFrom && known != nil && known(v) || ValidValue(v)):
				found[i] = Found{Unusable: true} // another value, or one no parser reads alike
			default:
				found[i] = Found{Value: v, Found: true}
			}
		}
	}
}

// indexOf is the index of name in names, or -1.
func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
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

// knownFrom is the shortest value Find asks known about: checking a
// short one costs less than looking it up.
const knownFrom = 128

// ValidValue reports whether v holds only RFC 6265 cookie-octets other
// than '%': 0x21 to 0x7e, less '"', ',', ';', '\\' and '%'. A session
// token is a kilobyte or more, and a hostile page load brings several of
// four: the range is tested sixteen bytes to a round, in two words, and
// the five excluded bytes are looked for with strings.IndexByte, which
// scans in vector registers (a fifth faster than a table lookup per byte,
// itself twice as fast as testing each byte in turn). A short value is
// looked up byte by byte.
func ValidValue(v string) bool {
	if len(v) < 64 {
		// A short value, as most cookies are: one table lookup per byte
		// costs less than five calls to IndexByte.
		var bad byte
		for i := 0; i < len(v); i++ {
			bad |= notOctet[v[i]]
		}
		return bad == 0
	}
	var out uint64
	i := 0
	for ; i+16 <= len(v); i += 16 {
		x := binary.LittleEndian.Uint64([]byte(v[i : i+8]))
		y := binary.LittleEndian.Uint64([]byte(v[i+8 : i+16]))
		out |= outOfRange(x) | outOfRange(y)
	}
	if out != 0 {
		return false
	}
	for ; i < len(v); i++ {
		if notOctet[v[i]] != 0 {
			return false
		}
	}
	for _, c := range []byte{'"', ',', ';', '\\', '%'} {
		if strings.IndexByte(v, c) >= 0 {
			return false
		}
	}
	return true
}

// outOfRange has a byte's high bit set, for some byte of x outside 0x21
// to 0x7e (and is 0 when there is none): x - 0x21 sets it under 0x21, x +
// 1 at 0x7f, and x itself from 0x80. A borrow or a carry between bytes
// starts only at a byte out of range, so it can add no false alarm to a
// word whose bytes are all in it.
func outOfRange(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return ((x - 0x21*ones) | (x + ones) | x) & highs
}

// notOctet is 1 at each byte that is not a cookie-octet other than
// '%' (see octet), 0 at the others, 32 bytes to a line: a constant, so
// that nothing can change it (TestValidCookieValueEveryByte checks it
// against octet).
const notOctet = "" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

// octet reports whether b is a cookie-octet other than '%'.
func octet(b byte) bool {
	return b > 0x20 && b < 0x7f && b != '"' && b != ',' && b != ';' && b != '\\' && b != '%'
}

// isSpace is the white space net/http trims around cookie pairs and
// names (textproto.TrimString).
func isSpace(b byte) bool {
	return b <= ' ' && (b == ' ' || b == '\t' || b == '\n' || b == '\r')
}

// trimSpace trims cookie white space from both ends of s.
func trimSpace(s string) string {
	for len(s) >= 8 && s[:8] == "        " { // a header may hold MaxBytes of them
		s = s[8:]
	}
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	return trimRight(s)
}

// trimRight trims cookie white space from the end of s.
func trimRight(s string) string {
	for len(s) >= 8 && s[len(s)-8:] == "        " {
		s = s[:len(s)-8]
	}
	for s != "" && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
