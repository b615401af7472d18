package handshake

import (
	"strings"
)

// searchParams is a query as the WHATWG URLSearchParams holds it: pairs
// in the order they came, decoded. Clerk edits redirect URLs through it
// (append, set), which keeps every other parameter where it was; Go's
// url.Values would sort them.
type searchParams []param

type param struct{ name, value string }

// parseSearchParams reads a raw query as URLSearchParams does: pairs split
// on '&', empty ones skipped, each split at its first '=', '+' read as a
// space and percent escapes decoded (an escape that is not one stays as
// written).
func parseSearchParams(raw string) searchParams {
	var p searchParams
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		p = append(p, param{formDecode(k), formDecode(v)})
	}
	return p
}

// append adds a pair at the end.
func (p *searchParams) append(name, value string) { *p = append(*p, param{name, value}) }

// set gives the first pair named name the value and drops the others of
// that name, or appends the pair if there is none (URLSearchParams.set).
func (p *searchParams) set(name, value string) {
	out, found := (*p)[:0], false
	for _, kv := range *p {
		if kv.name != name {
			out = append(out, kv)
		} else if !found {
			out, found = append(out, param{name, value}), true
		}
	}
	if !found {
		out = append(out, param{name, value})
	}
	*p = out
}

// encode writes the pairs as URLSearchParams does
// (application/x-www-form-urlencoded).
func (p searchParams) encode() string {
	var b strings.Builder
	for i, kv := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		formEncode(&b, kv.name)
		b.WriteByte('=')
		formEncode(&b, kv.value)
	}
	return b.String()
}

// formDecode is the form-urlencoded parser's decoding of one name or
// value; bytes that are not UTF-8 become U+FFFD.
func formDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			buf = append(buf, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			buf = append(buf, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			buf = append(buf, c)
		}
	}
	return strings.ToValidUTF8(string(buf), "\uFFFD")
}

// formEncode writes s as the form-urlencoded serializer does: ASCII
// letters, digits and *-._ as they are, a space as '+', every other byte
// of its UTF-8 as %XX.
func formEncode(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '*' || c == '-' || c == '.' || c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
