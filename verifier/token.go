package verifier

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"unsafe"
)

// MaxTokenSize is the largest token Verify will look at. Clerk's session
// tokens are well under 4 KiB even with custom claims; anything near this
// size is an attack on the parser, refused before any decoding.
const MaxTokenSize = 16 << 10

// b64 is strict base64url without padding, as JWS compact serialization
// requires. Strict mode refuses non-canonical trailing bits, so one token
// has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// parsed is a token split into its parts, with its header decoded.
type parsed struct {
	header    header
	signed    string // header.payload, the bytes the signature covers
	payload64 string
	sig64     string
}

// header is the JOSE header. Fields we refuse to honour are decoded only so
// their presence can be noticed.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

// parse checks the token's shape and decodes its header.
func parse(token string) (parsed, *Error) {
	var p parsed
	if len(token) > MaxTokenSize {
		return p, fail(ReasonTokenMalformed, "token is %d bytes, over the %d byte limit", len(token), MaxTokenSize)
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	payload64, sig64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sig64, '.') >= 0 {
		return p, fail(ReasonTokenMalformed, "want three dot-separated segments")
	}
	if h64 == "" || payload64 == "" || sig64 == "" {
		return p, fail(ReasonTokenMalformed, "empty segment")
	}
	var buf [512]byte
	hb, err := decodeSegment(buf[:0], h64)
	if err != nil {
		return p, fail(ReasonTokenMalformed, "header: %v", err)
	}
	// typ is optional: starting from "JWT" lets an absent typ pass without a
	// pointer to mark presence, while any other value present is caught.
	p.header.Typ = "JWT"
	if !decodeSimpleHeader(hb, &p.header) {
		// Anything unusual goes through encoding/json, on copies, so that
		// the buffer and p stay on the stack on the common path.
		h := header{Typ: "JWT"}
		if err := json.Unmarshal(bytes.Clone(hb), &h); err != nil {
			return p, fail(ReasonTokenMalformed, "header: %v", err)
		}
		p.header = h
	}
	if p.header.Typ != "JWT" {
		return p, fail(ReasonTokenMalformed, "typ %q is not JWT", p.header.Typ)
	}
	if p.header.Crit != nil {
		// We implement no header extensions, so any critical one must be refused.
		return p, fail(ReasonTokenMalformed, "crit header %s names extensions this verifier does not implement", p.header.Crit)
	}
	p.signed = token[:len(h64)+1+len(payload64)]
	p.payload64, p.sig64 = payload64, sig64
	return p, nil
}

// decodeSimpleHeader decodes the common header shape without
// encoding/json, which cost about a fifth of the cold path outside the RSA
// check: a flat JSON object of string members, ASCII only, with nothing to
// unescape, as Clerk sends ({"alg":"RS256","cat":"cl_…","kid":"ins_…",
// "typ":"JWT"}). For such input it sets exactly what json.Unmarshal would.
// It reports false, having perhaps set some fields, for anything else
// (escapes, non-ASCII, other value types, a crit member, a member name
// that only matches alg, kid or typ ignoring case, a repeated one,
// malformed JSON); the caller then starts over with encoding/json, so
// acceptance and errors do not change.
func decodeSimpleHeader(b []byte, h *header) bool {
	i := skipJSONSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	i = skipJSONSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipJSONSpace(b, i+1) == len(b)
	}
	var seen uint8
	for {
		key, next, ok := simpleJSONString(b, i)
		if !ok {
			return false
		}
		i = skipJSONSpace(b, next)
		if i == len(b) || b[i] != ':' {
			return false
		}
		val, next, ok := simpleJSONString(b, skipJSONSpace(b, i+1))
		if !ok {
			return false
		}
		var bit uint8
		switch string(key) {
		case "alg":
			bit, h.Alg = 1, headerValue(val)
		case "kid":
			bit, h.Kid = 2, string(val)
		case "typ":
			bit, h.Typ = 4, headerValue(val)
		default:
			// encoding/json matches names regardless of case, and a crit
			// member must reach the check that refuses it.
			for _, name := range [...]string{"alg", "kid", "typ", "crit"} {
				if strings.EqualFold(string(key), name) {
					return false
				}
			}
		}
		if seen&bit != 0 {
			return false // encoding/json keeps the last; let it decide
		}
		seen |= bit
		i = skipJSONSpace(b, next)
		if i == len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipJSONSpace(b, i+1)
		case '}':
			return skipJSONSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// simpleJSONString returns the contents of the JSON string starting at
// b[i], and the index after it; ok is false unless it is there, ASCII, and
// free of escapes and control characters.
func simpleJSONString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// headerValue returns the usual alg and typ values without allocating.
func headerValue(v []byte) string {
	switch string(v) {
	case "RS256":
		return "RS256"
	case "JWT":
		return "JWT"
	}
	return string(v)
}

// decodeSegment decodes one base64url segment, appending to dst.
func decodeSegment(dst []byte, seg string) ([]byte, error) {
	n := b64.DecodedLen(len(seg))
	if cap(dst)-len(dst) < n {
		dst = make([]byte, 0, n)
	}
	out := dst[len(dst) : len(dst)+n]
	m, err := b64.Decode(out, readOnlyBytes(seg))
	return out[:m], err
}

// readOnlyBytes views s as a byte slice without copying it. The token is
// read several times on the hot path (base64 decoding, hashing); copying
// it each time was a measurable share of the cold-path cost. Callers must
// only read the result, which holds for base64 decoding and hashing.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
