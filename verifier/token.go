package verifier

import (
	"encoding/base64"
	"strings"
	"unsafe"
)

// MaxTokenSize is the largest token Verify will look at. Clerk's session
// tokens are well under 4 KiB even with custom claims; anything near this
// size is an attack on the parser, refused before any decoding.
const MaxTokenSize = 16 << 10

// b64 is strict base64url without padding, as JWS compact serialization
// requires. Strict mode refuses non-canonical trailing bits; parse refuses
// the CR and LF that it would skip. Together they give one token exactly
// one encoding.
var b64 = base64.RawURLEncoding.Strict()

// parsed is a token split into its parts, with its header decoded.
type parsed struct {
	header    header
	signed    string // header.payload, the bytes the signature covers
	payload64 string
	sig64     string
}

// header is the JOSE header: the members the verifier reads, all of them
// strings when present.
type header struct {
	Alg string
	Kid string
	Typ string // "" when absent
	Cat string // "" when absent

	typSet, catSet bool // typ, cat present
	catBad         bool // cat present but not a string
}

// The JWT categories Clerk stamps in the header's cat, because one
// instance key signs every class of token. A session verifier accepts the
// session category, the "ignore categories" value some instances stamp on
// every class, and no cat at all (tokens minted before categories); JWT
// templates (cl_B7d4PD222AAA), M2M tokens (cl_B7d4PD333AAA) and anything
// else are not session tokens.
const (
	catSession = "cl_B7d4PD111AAA"
	catIgnore  = "cl_I7d4PD111III"
)

// parse checks the token's shape and decodes its header, and refuses a
// header that does not describe a session token.
func parse(token string) (parsed, *Error) {
	p, err := split(token)
	if err != nil {
		return p, err
	}
	return p, checkSessionHeader(p.header)
}

// split checks the token's shape and reads its header strictly, leaving
// the verdicts on typ and cat to the caller: session tokens, machine JWTs
// and handshake tokens share it.
func split(token string) (parsed, *Error) {
	var p parsed
	if len(token) > MaxTokenSize {
		return p, fail(ReasonTokenMalformed, "token is %d bytes, over the %d byte limit", len(token), MaxTokenSize)
	}
	// Go's base64 decoder skips CR and LF even in strict mode, and would
	// give one token endless spellings, each its own cache entry. Nothing
	// but the base64url alphabet and the two dots may appear.
	if !jwtBytes(token) {
		for i := 0; i < len(token); i++ {
			if c := token[i]; !isBase64URL(c) && c != '.' {
				return p, fail(ReasonTokenMalformed, "byte %q at offset %d is not base64url", c, i)
			}
		}
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
	h, herr := readHeader(string(hb))
	if herr != nil {
		return p, herr
	}
	p.header = h
	p.signed = token[:len(h64)+1+len(payload64)]
	p.payload64, p.sig64 = payload64, sig64
	return p, nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// jwtBytes reports whether token holds only the base64url alphabet and
// dots. Every token never seen before is checked, a kilobyte or more of
// random letters on which isBase64URL's comparisons mispredict branch
// after branch (4% of a never-seen request over HTTP): this is a table
// lookup per byte, eight to a round, with one test at its end.
func jwtBytes(token string) bool {
	var bad byte
	i := 0
	for ; i+8 <= len(token); i += 8 {
		w := token[i : i+8]
		bad |= notJWTByte[w[0]] | notJWTByte[w[1]] | notJWTByte[w[2]] | notJWTByte[w[3]] |
			notJWTByte[w[4]] | notJWTByte[w[5]] | notJWTByte[w[6]] | notJWTByte[w[7]]
	}
	for ; i < len(token); i++ {
		bad |= notJWTByte[token[i]]
	}
	return bad == 0
}

// notJWTByte is 1 at each byte jwtBytes refuses, 0 at the base64url
// alphabet and '.', 32 bytes to a line: a constant, so that nothing can
// change it (TestJWTBytesEveryByte checks it against isBase64URL).
const notJWTByte = "" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01\x01\x01\x01" +
	"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01\x01\x00" +
	"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

// decodeHeader decodes a session token's header: readHeader, then
// checkSessionHeader.
func decodeHeader(s string) (header, *Error) {
	h, err := readHeader(s)
	if err != nil {
		return h, err
	}
	return h, checkSessionHeader(h)
}

// readHeader reads the header strictly (see jsonReader): a malformed
// header, a wrong type or null for alg, kid or typ, or a crit member are
// token_malformed. A cat that is not a string is only recorded (catBad):
// what it means depends on the class of token the caller wants.
func readHeader(s string) (header, *Error) {
	var h header
	r := jsonReader{s: s}
	if r.peek() != '{' {
		return h, fail(ReasonTokenMalformed, "header is not a JSON object")
	}
	var (
		o         object
		wrongType string // the first member that is not a string
		crit      bool
		ok        bool
	)
	for name, more := r.member(&o); more; name, more = r.member(&o) {
		switch name {
		case "alg":
			if h.Alg, ok = r.optStr(); !ok && wrongType == "" {
				wrongType = name
			}
		case "kid":
			if h.Kid, ok = r.optStr(); !ok && wrongType == "" {
				wrongType = name
			}
		case "typ":
			h.typSet = true
			if h.Typ, ok = r.optStr(); !ok && wrongType == "" {
				wrongType = name
			}
		case "cat":
			h.catSet = true
			h.Cat, ok = r.optStr()
			h.catBad = !ok
		case "crit":
			// We implement no header extensions, so any critical one must
			// be refused, whatever its value.
			crit = true
			r.skip(1)
		default:
			r.skip(1)
		}
	}
	r.end()
	switch {
	case r.err != "":
		return h, fail(ReasonTokenMalformed, "header: %s", r.err)
	case wrongType != "":
		return h, fail(ReasonTokenMalformed, "header member %s is not a string", wrongType)
	case crit:
		return h, fail(ReasonTokenMalformed, "crit header names extensions this verifier does not implement")
	}
	return h, nil
}

// checkSessionHeader refuses a header of anything but a session token: a
// typ other than JWT is token_malformed, a category or typ of another
// class of token token_type_invalid.
func checkSessionHeader(h header) *Error {
	if h.typSet && h.Typ != "JWT" {
		if isAccessTokenType(h.Typ) {
			return fail(ReasonTokenTypeInvalid, "typ %q is an OAuth access token", h.Typ)
		}
		return fail(ReasonTokenMalformed, "typ %s is not JWT", quoteDetail(h.Typ))
	}
	if h.catSet && (h.catBad || h.Cat != catSession && h.Cat != catIgnore) {
		return fail(ReasonTokenTypeInvalid, "cat is not the session token category")
	}
	return nil
}

// isAccessTokenType reports whether typ marks an OAuth access token (RFC
// 9068), which Clerk signs with the instance key too.
func isAccessTokenType(typ string) bool {
	return typ == "at+jwt" || typ == "application/at+jwt"
}

// optStr reads a string value; ok is false, and the value is skipped, if it
// is of another type (null included).
func (r *jsonReader) optStr() (string, bool) {
	if r.peek() == '"' {
		return r.str(), true
	}
	r.skip(1)
	return "", false
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
