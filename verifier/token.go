package verifier

import (
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
	if err := json.Unmarshal(hb, &p.header); err != nil {
		return p, fail(ReasonTokenMalformed, "header: %v", err)
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
