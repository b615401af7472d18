package handshake

import (
	"encoding/base64"
	"strings"
	"unsafe"
)

// peekFast is peek: one pass over each segment and one allocation. It
// reads only what it can read exactly as encoding/json would (the
// reference in FuzzPeek), and gives up (sure is false) on anything else:
// a name or a value read with an escape or a byte outside printable
// ASCII, a value read of another type than Clerk puts there, a number
// that is not a plain integer, a name that matches a field only ignoring
// case, a name repeated, JSON it finds invalid, or anything after the
// object. Clerk's tokens have none of these; a cookie that does is taken
// for no JWT, so hostile JSON costs a linear scan of at most maxPeekSize
// bytes and never a decode into interfaces.
func peekFast(token string) (p peeked, sure bool) {
	if token == "" || len(token) > maxPeekSize {
		return p, false
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sig, '.') >= 0 {
		return p, false
	}
	// Both segments are decoded into one buffer on the stack, the header
	// first: a header it gives up on costs no decoding of the payload.
	// What is read points into the buffer until it is copied out, once,
	// at the end.
	var buf [maxPeekSize]byte
	enc := base64.RawURLEncoding
	hn, err := enc.Decode(buf[:], readOnlyBytes(h64))
	if err != nil {
		return p, false
	}
	h, headerNames := fastReader{s: unsafe.String(&buf[0], hn)}, []string{"cat", "typ"}
	var cat, typ, iss, sub string
	catSet := false
	for i := h.member(headerNames); i >= 0; i = h.member(headerNames) {
		switch i {
		case 0:
			cat, catSet = h.plainString(), true
		case 1:
			typ = h.plainString()
		}
	}
	if !h.read() {
		return p, false
	}
	pn, err := enc.Decode(buf[hn:], readOnlyBytes(p64))
	if err != nil || pn == 0 {
		return p, false
	}
	c, claimNames := fastReader{s: unsafe.String(&buf[hn], pn)}, []string{"iss", "iat", "exp", "sub"}
	for i := c.member(claimNames); i >= 0; i = c.member(claimNames) {
		switch i {
		case 0:
			iss = c.plainString()
			p.hasIss = iss != ""
		case 1:
			p.iat, p.hasIat = c.integer(), true
		case 2:
			p.exp, p.hasExp = c.integer(), true
		case 3:
			sub = c.plainString()
		}
	}
	if !c.read() {
		return peeked{}, false
	}
	if catSet && cat == "" {
		cat = "?" // as encoding/json reads a cat of "": present, and not the session category
	}
	all := cat + typ + iss + sub // one allocation, off the stack buffer
	p.cat, all = all[:len(cat)], all[len(cat):]
	p.typ, all = all[:len(typ)], all[len(typ):]
	p.iss, p.sub = all[:len(iss)], all[len(iss):]
	return p, true
}

// readOnlyBytes is s as a byte slice without a copy, for reading only.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// maxFastDepth is how deeply peekFast follows nested values before it
// gives up.
const maxFastDepth = 32

// fastReader reads a JSON object strictly, member by member, for the
// members its caller names; anything it does not accept sets bad. The
// values of other members are skipped, and checked as JSON.
type fastReader struct {
	s    string
	i    int
	seen uint64 // names read, by index
	open bool   // past the object's "{"
	done bool   // past its "}"
	bad  bool
}

// member moves to the next member named in names (the same at most 64
// names on every call) and returns the index of its name, leaving its
// value to be read; it returns -1 at the end of the object, or when the
// reader went bad.
func (r *fastReader) member(names []string) int {
	for !r.bad {
		switch {
		case !r.open:
			r.open = true
			if !r.eat('{') {
				r.bad = true
				return -1
			}
			if r.eat('}') {
				r.done = true
				return -1
			}
		case r.eat(','):
		case r.eat('}'):
			r.done = true
			return -1
		default:
			r.bad = true
			return -1
		}
		name := r.plainString()
		if r.bad || !r.eat(':') {
			r.bad = true
			return -1
		}
		r.space()
		switch i := nameIndex(names, name); {
		case i >= 0:
			if r.seen&(1<<i) != 0 {
				r.bad = true
				return -1
			}
			r.seen |= 1 << i
			return i
		case foldsToAny(name, names):
			r.bad = true
			return -1
		}
		r.skip(0)
	}
	return -1
}

// read reports whether the whole object was read, with nothing but
// white space after it.
func (r *fastReader) read() bool {
	r.space()
	return !r.bad && r.done && r.i == len(r.s)
}

func nameIndex(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// foldsToAny reports a name that encoding/json would match with one of
// names only ignoring case (names are ASCII, as is name here).
func foldsToAny(name string, names []string) bool {
	for _, n := range names {
		if len(n) == len(name) && strings.EqualFold(n, name) { // ASCII: folding keeps the length
			return true
		}
	}
	return false
}

func (r *fastReader) space() {
	// The loops of this reader work on locals: through r, each byte would
	// cost loads and a store of r.i.
	s, i := r.s, r.i
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	r.i = i
}

// eat consumes c after white space, if it is there.
func (r *fastReader) eat(c byte) bool {
	r.space()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// plainString reads a string of printable ASCII without escapes, after
// white space.
func (r *fastReader) plainString() string {
	if !r.eat('"') {
		r.bad = true
		return ""
	}
	// One table lookup a byte (plainStop), as the names and values
	// Clerk writes are a few dozen bytes each and every one is read.
	s, start := r.s, r.i
	i := start
	for i < len(s) && plainStop[s[i]] == 0 {
		i++
	}
	if i == len(s) || s[i] != '"' {
		r.bad = true
		return ""
	}
	r.i = i + 1
	return s[start:i]
}

// plainStop is 1 at the bytes where plainString stops: '"', and what it
// gives up on (an escape, a control character, a byte outside printable
// ASCII); 32 bytes to a line.
const plainStop = "" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

// integer reads a non-negative integer of at most 18 digits, written as
// JSON writes numbers (no leading zero).
func (r *fastReader) integer() int64 {
	s, i := r.s, r.i
	var n int64
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9' && i-r.i < 19; i++ {
		n = n*10 + int64(s[i]-'0') // at most 18 digits: no overflow
	}
	digits := s[r.i:i]
	r.i = i
	if digits == "" || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		r.bad = true
		return 0
	}
	return n
}

// skip checks and passes over one JSON value.
func (r *fastReader) skip(depth int) {
	if depth > maxFastDepth || r.i >= len(r.s) {
		r.bad = true
		return
	}
	switch c := r.s[r.i]; {
	case c == '"':
		r.skipString()
	case c == '{':
		r.i++
		if r.eat('}') {
			return
		}
		for !r.bad {
			r.space()
			r.skipString()
			if r.bad || !r.eat(':') {
				r.bad = true
				return
			}
			r.space()
			r.skip(depth + 1)
			if r.eat(',') {
				continue
			}
			if !r.eat('}') {
				r.bad = true
			}
			return
		}
	case c == '[':
		r.i++
		if r.eat(']') {
			return
		}
		for !r.bad {
			r.space()
			r.skip(depth + 1)
			if r.eat(',') {
				continue
			}
			if !r.eat(']') {
				r.bad = true
			}
			return
		}
	case c == '-' || '0' <= c && c <= '9':
		r.skipNumber()
	case strings.HasPrefix(r.s[r.i:], "true"):
		r.i += 4
	case strings.HasPrefix(r.s[r.i:], "false"):
		r.i += 5
	case strings.HasPrefix(r.s[r.i:], "null"):
		r.i += 4
	default:
		r.bad = true
	}
}

// skipString passes over a string, escapes included, as JSON allows it:
// any byte but '"', '\\' and control characters, or a valid escape.
func (r *fastReader) skipString() {
	if r.i >= len(r.s) || r.s[r.i] != '"' {
		r.bad = true
		return
	}
	for r.i++; r.i < len(r.s); r.i++ {
		s, i := r.s, r.i
		for i < len(s) && stringStop[s[i]] == 0 {
			i++ // the bytes of a string that need no look (stringStop)
		}
		if r.i = i; i == len(s) {
			break
		}
		switch c := r.s[r.i]; {
		case c == '"':
			r.i++
			return
		case c < 0x20:
			r.bad = true
			return
		case c == '\\':
			r.i++
			if r.i >= len(r.s) {
				r.bad = true
				return
			}
			switch r.s[r.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if r.i+4 >= len(r.s) || !isHex(r.s[r.i+1]) || !isHex(r.s[r.i+2]) || !isHex(r.s[r.i+3]) || !isHex(r.s[r.i+4]) {
					r.bad = true
					return
				}
				r.i += 4
			default:
				r.bad = true
				return
			}
		}
	}
	r.bad = true
}

// stringStop is 1 at the bytes where skipString stops to look: '"', an
// escape's '\\' and the control characters JSON refuses in a string; 32
// bytes to a line.
const stringStop = "" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipNumber passes over a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *fastReader) skipNumber() {
	r.skipByte('-')
	switch {
	case r.skipByte('0'):
	case r.i < len(r.s) && '1' <= r.s[r.i] && r.s[r.i] <= '9':
		r.skipDigits()
	default:
		r.bad = true
		return
	}
	if r.skipByte('.') && !r.skipDigits() {
		r.bad = true
		return
	}
	if r.skipByte('e') || r.skipByte('E') {
		if !r.skipByte('+') {
			r.skipByte('-')
		}
		if !r.skipDigits() {
			r.bad = true
		}
	}
}

func (r *fastReader) skipByte(c byte) bool {
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// skipDigits passes over one digit or more.
func (r *fastReader) skipDigits() bool {
	start := r.i
	for r.i < len(r.s) && '0' <= r.s[r.i] && r.s[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}
