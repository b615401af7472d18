package jwks

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/clerkgate/clerkgate/internal/rsapkcs1"
)

// minRSABits is the smallest RSA modulus accepted. Smaller keys are
// factorable by a determined attacker; Clerk issues 2048-bit keys.
const minRSABits = 2048

// maxSkipsShown caps the skipped keys named in a log line or an error: a
// hostile document of a million tiny members must not become a log line
// of tens of megabytes.
const maxSkipsShown = 10

// skipped records a key that was left out of a fetched set, for the log.
type skipped struct {
	kid    string
	reason string
}

// parseResult is one fetched document turned into keys, plus what was left
// out and why. Skips are logged once per fetch, never per request.
type parseResult struct {
	keys    map[string]Key
	weak    []skipped // RSA keys below minRSABits: worth a warning
	skipped []skipped // everything else left out: expected, logged at debug
}

// parseKeySet turns a JWKS document into verification keys. prev is the
// snapshot being replaced (nil on the first fetch): an entry with the same
// kid, algorithm and key material is carried over as is, so its Public
// pointer stays the same across refreshes and it is not prepared again.
func parseKeySet(body []byte, prev map[string]Key) (parseResult, error) {
	members, err := keySetMembers(body)
	if err != nil {
		return parseResult{}, fmt.Errorf("parse key set: %w", err)
	}
	res := parseResult{keys: make(map[string]Key, len(members))}
	for _, raw := range members {
		// Per RFC 7517 §5 a member we cannot understand (an unknown kty, a
		// malformed key) is ignored rather than poisoning the whole set, so
		// a provider adding a new key type does not lock us out of the keys
		// we can use. A document that is not a JWK Set at all fails above.
		k, weak, why := parseKey(raw, prev)
		if why != "" {
			s := skipped{kid: k.ID, reason: why}
			if weak {
				res.weak = append(res.weak, s)
			} else {
				res.skipped = append(res.skipped, s)
			}
			continue
		}
		if _, dup := res.keys[k.ID]; dup {
			// Two keys under one kid make the kid ambiguous; keeping the
			// first is as good as any rule and keeps the outcome stable.
			res.skipped = append(res.skipped, skipped{kid: k.ID, reason: "duplicate kid, first one kept"})
			continue
		}
		res.keys[k.ID] = k
	}
	if len(res.keys) == 0 {
		return res, fmt.Errorf("no usable signature keys among %d in the set%s", len(members), describeSkips(res))
	}
	return res, nil
}

// keySetMembers checks that body is a JWK Set, a JSON object whose "keys"
// member is an array, and returns that array's elements undecoded.
func keySetMembers(body []byte) ([]json.RawMessage, error) {
	// encoding/json turns invalid UTF-8 into U+FFFD without a word, so two
	// different byte strings could name the same kid; RFC 8259 requires
	// UTF-8 anyway.
	if !utf8.Valid(body) {
		return nil, errors.New("not UTF-8")
	}
	set, err := object(body)
	if err != nil {
		return nil, err
	}
	rawKeys, ok := set["keys"]
	if !ok {
		return nil, errors.New(`no "keys" member`)
	}
	var members []json.RawMessage
	if !bytes.HasPrefix(rawKeys, []byte("[")) || json.Unmarshal(rawKeys, &members) != nil {
		return nil, errors.New(`"keys" is not an array`)
	}
	return members, nil
}

// object decodes a JSON object into its members, values left undecoded.
// Unlike json.Unmarshal into a map it refuses a member name that appears
// twice: parsers disagree on which one wins (encoding/json takes the last,
// others the first), and a document that reads differently to two parsers
// is how a key slips past one check and into another.
func object(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string) // inside an object, Token returns names as strings
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("member %q appears twice", name)
		}
		members[name] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// parseKey turns one member of a key set into a Key, or returns why it must
// not be used to verify tokens (k.ID then holds the kid, if it could be
// read, for the log); weak reports that the reason is an undersized RSA
// key. A key in prev with the same kid, algorithm and material is returned
// as it is.
func parseKey(raw json.RawMessage, prev map[string]Key) (k Key, weak bool, why string) {
	m, err := object(raw)
	if err != nil {
		return Key{}, false, "malformed JWK: " + err.Error()
	}
	j := jwk(m)
	kid, err := j.str("kid")
	if err != nil {
		return Key{}, false, err.Error()
	}
	// A token can only select a key by kid, so a key without one is
	// unreachable; refusing it also stops a kid-less token from matching
	// it by accident.
	if kid == "" {
		return Key{}, false, "no kid"
	}
	k, weak, why = j.key(kid, prev)
	k.ID = kid
	return k, weak, why
}

// jwk is one JSON Web Key's members (RFC 7517 §4, RFC 7518 §6), undecoded.
type jwk map[string]json.RawMessage

// privateMembers are the members only a private or secret key has (RFC
// 7518 §6.2.2, §6.3.2 and §6.4.1, RFC 8037 §2).
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// key vets the members every kind of key shares, then decodes the key
// material of a kind we verify with.
func (j jwk) key(kid string, prev map[string]Key) (k Key, weak bool, why string) {
	kty, err := j.str("kty")
	if err != nil {
		return Key{}, false, err.Error()
	}
	switch kty {
	case "RSA", "EC", "OKP":
	default:
		// oct keys are shared secrets: returning one would let anyone who
		// can read the JWKS forge HMAC tokens. Unknown kinds we skip.
		return Key{}, false, fmt.Sprintf("kty %q is not a public signature key", kty)
	}
	for _, name := range privateMembers {
		if _, ok := j[name]; ok {
			// A private key in a public document is a publishing mistake;
			// we will not hold on to it, not even to derive its public half.
			return Key{}, false, "private key in a public key set"
		}
	}
	if use, err := j.str("use"); err != nil {
		return Key{}, false, err.Error()
	} else if use != "" && use != "sig" {
		return Key{}, false, fmt.Sprintf("use is %q, not sig", use)
	}
	if why := j.checkOps(); why != "" {
		return Key{}, false, why
	}
	alg, err := j.str("alg")
	if err != nil {
		return Key{}, false, err.Error()
	}

	var pub crypto.PublicKey
	switch kty {
	case "RSA":
		pub, why = j.rsaKey()
	case "EC":
		pub, why = j.ecKey()
	case "OKP":
		pub, why = j.okpKey()
	}
	if why != "" {
		return Key{}, false, why
	}
	if !algFits(alg, pub) {
		// The verifier also matches alg against the key, but a key that
		// declares an algorithm of another family is a confused document
		// or an attempt at algorithm confusion: it is not kept at all.
		return Key{}, false, fmt.Sprintf("alg %q does not fit a %s key", alg, kty)
	}
	if old, ok := prev[kid]; ok && sameKey(old, Key{ID: kid, Algorithm: alg, Public: pub}) {
		return old, false, ""
	}
	return checkedKey(kid, alg, pub)
}

// str reads an optional string member: "" when it is absent, an error when
// it is present but not a JSON string.
func (j jwk) str(name string) (string, error) {
	raw, ok := j[name]
	if !ok {
		return "", nil
	}
	var s string
	if !bytes.HasPrefix(raw, []byte(`"`)) || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s is not a string", name)
	}
	return s, nil
}

// octets reads a required base64url member (RFC 7515 §2: unpadded, URL
// alphabet).
func (j jwk) octets(name string) ([]byte, error) {
	s, err := j.str(name)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, fmt.Errorf("%s is missing", name)
	}
	b, err := decodeBase64URL(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// unsigned reads a required Base64urlUInt member (RFC 7518 §2): the value's
// big-endian octets, as few as it takes. A leading zero octet is refused:
// the same number spelt two ways is the kind of slack that lets two
// parsers disagree.
func (j jwk) unsigned(name string) ([]byte, error) {
	b, err := j.octets(name)
	if err != nil {
		return nil, err
	}
	if len(b) > 1 && b[0] == 0 {
		return nil, fmt.Errorf("%s has a leading zero octet", name)
	}
	return b, nil
}

// checkOps vets key_ops (RFC 7517 §4.3): when present, an array of distinct
// strings that allows verify.
func (j jwk) checkOps() string {
	raw, ok := j["key_ops"]
	if !ok {
		return ""
	}
	var ops []string
	if !bytes.HasPrefix(raw, []byte("[")) || json.Unmarshal(raw, &ops) != nil {
		return "key_ops is not an array of strings"
	}
	slices.Sort(ops)
	if len(slices.Compact(ops)) != len(ops) {
		return "key_ops lists an operation twice"
	}
	if !slices.Contains(ops, "verify") {
		return "key_ops does not allow verify"
	}
	return ""
}

// rsaKey decodes an RSA public key (RFC 7518 §6.3.1). Size and exponent are
// vetted by checkedKey, as for every other source of keys.
func (j jwk) rsaKey() (crypto.PublicKey, string) {
	n, err := j.unsigned("n")
	if err != nil {
		return nil, err.Error()
	}
	e, err := j.unsigned("e")
	if err != nil {
		return nil, err.Error()
	}
	if len(e) > 4 {
		return nil, "RSA public exponent is larger than 32 bits"
	}
	var exp int64
	for _, b := range e {
		exp = exp<<8 | int64(b)
	}
	if exp > 1<<31-1 {
		// rsa.PublicKey.E is an int, which may have 32 bits.
		return nil, fmt.Sprintf("RSA public exponent %d is invalid", exp)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}, ""
}

// ecKey decodes an ECDSA public key (RFC 7518 §6.2.1) on one of the NIST
// curves, refusing a point that is not on the curve: an off-curve point is
// a known attack vector.
func (j jwk) ecKey() (crypto.PublicKey, string) {
	crv, err := j.str("crv")
	if err != nil {
		return nil, err.Error()
	}
	var curve elliptic.Curve
	switch crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		return nil, fmt.Sprintf("unsupported elliptic curve %q", crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, err := j.octets("x")
	if err != nil {
		return nil, err.Error()
	}
	y, err := j.octets("y")
	if err != nil {
		return nil, err.Error()
	}
	// RFC 7518 §6.2.1.2: each coordinate is the full size of the curve's
	// coordinates, leading zeros and all.
	if len(x) != size || len(y) != size {
		return nil, fmt.Sprintf("invalid EC point: coordinates of %d and %d octets, want %d", len(x), len(y), size)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, slices.Concat([]byte{4}, x, y))
	if err != nil {
		return nil, "invalid EC point: " + err.Error()
	}
	return pub, ""
}

// okpKey decodes an Ed25519 public key (RFC 8037 §2). The other OKP curves
// are key-agreement keys (X25519, X448) or ones we do not verify with
// (Ed448).
func (j jwk) okpKey() (crypto.PublicKey, string) {
	crv, err := j.str("crv")
	if err != nil {
		return nil, err.Error()
	}
	if crv != "Ed25519" {
		return nil, fmt.Sprintf("OKP curve %q is not a signature key we support", crv)
	}
	x, err := j.octets("x")
	if err != nil {
		return nil, err.Error()
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, "bad Ed25519 key length"
	}
	return ed25519.PublicKey(x), ""
}

// algFits reports whether a key's declared alg belongs to its kind: an RSA
// key may declare an RSA signature algorithm, an EC key the ECDSA
// algorithm of its curve, an Ed25519 key EdDSA (or RFC 9864's Ed25519).
// A key that declares none fits.
func algFits(alg string, pub crypto.PublicKey) bool {
	if alg == "" {
		return true
	}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return alg == "ES256"
		case elliptic.P384():
			return alg == "ES384"
		case elliptic.P521():
			return alg == "ES512"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA" || alg == "Ed25519"
	}
	return false
}

// decodeBase64URL decodes unpadded base64url, strictly: only the URL
// alphabet (encoding/base64 would skip line breaks), no padding, and no
// stray bits in the last character, so each value has one spelling.
func decodeBase64URL(s string) ([]byte, error) {
	for i := range len(s) {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return nil, fmt.Errorf("not base64url: byte %d is %q", i, c)
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64url: bad length or trailing bits")
	}
	return b, nil
}

// checkedKey vets public key material and prepares RSA keys for
// verification, once, so that the key verifies every token of the
// snapshot's life without rebuilding its Montgomery constants. It is the
// check every Key passes, whether it came from a JWKS or from NewKey.
func checkedKey(kid, alg string, raw any) (k Key, weak bool, why string) {
	k = Key{ID: kid, Algorithm: alg, Public: raw}
	switch pub := raw.(type) {
	case *rsa.PublicKey:
		if pub == nil || pub.N == nil {
			return Key{}, false, "RSA key has no modulus"
		}
		if bits := pub.N.BitLen(); bits < minRSABits {
			return Key{}, true, fmt.Sprintf("RSA key has %d bits, want at least %d", bits, minRSABits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return Key{}, false, fmt.Sprintf("RSA public exponent %d is invalid", pub.E)
		}
		prepared, err := rsapkcs1.NewPublicKey(pub)
		if err != nil {
			return Key{}, false, err.Error()
		}
		k.rsa = prepared
	case *ecdsa.PublicKey:
		if pub == nil || pub.Curve == nil {
			return Key{}, false, "EC key has no curve"
		}
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return Key{}, false, "unsupported elliptic curve " + pub.Curve.Params().Name
		}
		// ECDH() checks that the point is on the curve; a key from NewKey
		// has not been through the JWK parser's check.
		if _, err := pub.ECDH(); err != nil {
			return Key{}, false, "invalid EC point: " + err.Error()
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return Key{}, false, "bad Ed25519 key length"
		}
	default:
		return Key{}, false, fmt.Sprintf("%T is not a signature key", raw)
	}
	return k, false, ""
}

// sameKey reports whether a refreshed key is the one we already hold, so
// its Key value (and Public pointer) can be kept.
func sameKey(a, b Key) bool {
	if a.ID != b.ID || a.Algorithm != b.Algorithm {
		return false
	}
	eq, ok := a.Public.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b.Public)
}

// describeSkips says which keys were left out and why, for the error when
// nothing usable is left.
func describeSkips(res parseResult) string {
	if list := skipList(res); list != "" {
		return " (skipped " + list + ")"
	}
	return ""
}

func skipList(res parseResult) string {
	all := append(slices.Clone(res.weak), res.skipped...)
	shown := all[:min(len(all), maxSkipsShown)]
	parts := make([]string, len(shown))
	for i, s := range shown {
		parts[i] = fmt.Sprintf("%q: %s", s.kid, s.reason)
	}
	if more := len(all) - len(shown); more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, "; ")
}

func kidsOf(s []skipped) []string {
	kids := make([]string, min(len(s), maxSkipsShown))
	for i := range kids {
		kids[i] = s[i].kid
	}
	return kids
}
