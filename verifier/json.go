package verifier

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader walks one JSON text (RFC 8259) more strictly than
// encoding/json, so that every parser that reads the token sees the same
// values as this one, or refuses it:
//
//   - member names match exactly: the callers compare them with ==, never
//     ignoring case as encoding/json does (it lets "SUB" or "ſub" stand in
//     for "sub");
//   - a name that appears twice in one object, at any depth, is an error:
//     JavaScript keeps the last, encoding/json the last for some types and
//     the first for others, and a token two parsers read differently must
//     not be accepted by either;
//   - the text must be valid UTF-8 without a byte order mark, and a \u
//     escape must not leave half of a surrogate pair: Go would read either
//     as U+FFFD where JavaScript keeps what was sent;
//   - nesting is limited to maxJSONDepth, so a hostile header costs no deep
//     recursion.
//
// The reader works on a string so that the values it returns are
// substrings of the text, not copies; only a string with escapes is
// allocated. After the first syntax error every method returns zero values
// and err says what was wrong; callers check it once at the end.
type jsonReader struct {
	s   string
	i   int
	err string
}

// maxJSONDepth bounds how deeply objects and arrays may nest. Clerk's
// tokens nest two levels (the "o" and "act" claims).
const maxJSONDepth = 64

// fail records the first syntax error and stops the walk.
func (r *jsonReader) fail(msg string) {
	if r.err == "" {
		r.err = msg
	}
	r.i = len(r.s)
}

func (r *jsonReader) space() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the first byte of the next value, or 0 at the end. It tells
// the value's JSON type: '"', '{', '[', 't', 'f', 'n', or a number's first
// byte.
func (r *jsonReader) peek() byte {
	r.space()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

// end checks that nothing but white space follows the value just read.
func (r *jsonReader) end() {
	if r.space(); r.i < len(r.s) {
		r.fail("data after the top-level value")
	}
}

// object iterates the members of one object. Its zero value is ready; it
// must be used for one object only.
type object struct {
	started bool
	names   nameSet
}

// member moves to the next member of the object at r and returns its
// name, leaving r at the member's value; ok is false after the last
// member and after an error. The first call consumes the opening brace,
// which the caller has seen with peek.
func (r *jsonReader) member(o *object) (name string, ok bool) {
	if !o.started {
		o.started = true
		r.i++ // '{'
		if r.peek() == '}' {
			r.i++
			return "", false
		}
	} else {
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return "", false
		default:
			r.fail("want , or } after an object member")
			return "", false
		}
	}
	if r.peek() != '"' {
		r.fail("want a member name")
		return "", false
	}
	name = r.str()
	if r.peek() != ':' {
		r.fail("want : after a member name")
		return "", false
	}
	r.i++
	if r.err != "" {
		return "", false
	}
	if !o.names.add(name) {
		r.fail("member name " + quoteDetail(name) + " appears twice")
		return "", false
	}
	return name, true
}

// nameSet remembers the member names of one object. The first few live in
// an array, which covers every object of a genuine token without
// allocating; a larger object spills into a map, so that a header with
// thousands of members costs linear, not quadratic, time.
type nameSet struct {
	n     int
	small [16]string
	large map[string]struct{}
}

// add reports whether name is new, and remembers it.
func (s *nameSet) add(name string) bool {
	if s.large != nil {
		if _, dup := s.large[name]; dup {
			return false
		}
		s.large[name] = struct{}{}
		return true
	}
	for _, seen := range s.small[:s.n] {
		if seen == name {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = name
		s.n++
		return true
	}
	s.large = make(map[string]struct{}, 2*len(s.small))
	for _, seen := range s.small {
		s.large[seen] = struct{}{}
	}
	s.large[name] = struct{}{}
	return true
}

// element moves to the next element of the array at r, as member does for
// objects; started must be false before the first call.
func (r *jsonReader) element(started *bool) bool {
	if !*started {
		*started = true
		r.i++ // '['
		if r.peek() == ']' {
			r.i++
			return false
		}
		return r.err == ""
	}
	switch r.peek() {
	case ',':
		r.i++
		return r.err == ""
	case ']':
		r.i++
	default:
		r.fail("want , or ] after an array element")
	}
	return false
}

// skip reads and validates the next value of any type, checking names in
// nested objects like member does.
func (r *jsonReader) skip(depth int) {
	switch c := r.peek(); c {
	case '"':
		r.str()
	case '{', '[':
		if depth >= maxJSONDepth {
			r.fail("nested too deeply")
			return
		}
		if c == '{' {
			var o object
			for _, ok := r.member(&o); ok; _, ok = r.member(&o) {
				r.skip(depth + 1)
			}
			return
		}
		var started bool
		for r.element(&started) {
			r.skip(depth + 1)
		}
	case 't':
		r.literal("true")
	case 'f':
		r.literal("false")
	case 'n':
		r.literal("null")
	default:
		r.number()
	}
}

func (r *jsonReader) literal(lit string) {
	if !strings.HasPrefix(r.s[r.i:], lit) {
		r.fail("invalid literal")
		return
	}
	r.i += len(lit)
}

// number reads a number and returns its text, which follows the JSON
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *jsonReader) number() string {
	r.space()
	start := r.i
	if r.i < len(r.s) && r.s[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.s) && r.s[r.i] == '0':
		r.i++
	case r.digits() == 0:
		r.fail("invalid value")
		return ""
	}
	if r.i < len(r.s) && r.s[r.i] == '.' {
		r.i++
		if r.digits() == 0 {
			r.fail("invalid number")
			return ""
		}
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		r.i++
		if r.i < len(r.s) && (r.s[r.i] == '+' || r.s[r.i] == '-') {
			r.i++
		}
		if r.digits() == 0 {
			r.fail("invalid number")
			return ""
		}
	}
	return r.s[start:r.i]
}

func (r *jsonReader) digits() int {
	start := r.i
	for r.i < len(r.s) && '0' <= r.s[r.i] && r.s[r.i] <= '9' {
		r.i++
	}
	return r.i - start
}

// str reads a string and returns its value. Without escapes the value is
// a substring of the text; with them it is built afresh.
func (r *jsonReader) str() string {
	r.space()
	r.i++ // '"'
	start := r.i
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return r.s[start : r.i-1]
		case c == '\\':
			return r.escapedStr(start)
		case c < 0x20:
			r.fail("control character in a string")
			return ""
		case c < utf8.RuneSelf:
			r.i++
		default:
			ch, size := utf8.DecodeRuneInString(r.s[r.i:])
			if ch == utf8.RuneError && size == 1 {
				r.fail("invalid UTF-8")
				return ""
			}
			r.i += size
		}
	}
	r.fail("unterminated string")
	return ""
}

// escapedStr finishes a string that starts at start and has an escape at
// r.i.
func (r *jsonReader) escapedStr(start int) string {
	buf := make([]byte, 0, r.i-start+16)
	buf = append(buf, r.s[start:r.i]...)
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf)
		case c == '\\':
			if r.i+1 >= len(r.s) {
				r.fail("unterminated string")
				return ""
			}
			e := r.s[r.i+1]
			r.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				ch := r.hex4()
				if utf16.IsSurrogate(ch) {
					// Only a high half followed by an escaped low half is
					// a character; anything else has no UTF-8 spelling.
					var lo rune = -1
					if strings.HasPrefix(r.s[r.i:], `\u`) {
						r.i += 2
						lo = r.hex4()
					}
					if ch = utf16.DecodeRune(ch, lo); ch == utf8.RuneError {
						r.fail("\\u escape of half a surrogate pair")
						return ""
					}
				}
				if ch < 0 {
					return "" // hex4 failed
				}
				buf = utf8.AppendRune(buf, ch)
			default:
				r.fail("invalid escape in a string")
				return ""
			}
		case c < 0x20:
			r.fail("control character in a string")
			return ""
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			r.i++
		default:
			ch, size := utf8.DecodeRuneInString(r.s[r.i:])
			if ch == utf8.RuneError && size == 1 {
				r.fail("invalid UTF-8")
				return ""
			}
			buf = append(buf, r.s[r.i:r.i+size]...)
			r.i += size
		}
	}
	r.fail("unterminated string")
	return ""
}

// hex4 reads the four hex digits of a \u escape, or fails and returns -1.
func (r *jsonReader) hex4() rune {
	if r.i+4 > len(r.s) {
		r.fail("short \\u escape")
		return -1
	}
	var v rune
	for _, c := range []byte(r.s[r.i : r.i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			r.fail("invalid \\u escape")
			return -1
		}
		v = v<<4 | rune(c)
	}
	r.i += 4
	return v
}

// quoteDetail quotes a name from a token for an error detail, cut short so
// that a hostile token cannot make the detail large.
func quoteDetail(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
