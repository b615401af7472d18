package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/clerkgate/clerkgate/internal/rsapkcs1"
)

// minRSABits is the smallest RSA modulus accepted. Smaller keys are
// factorable by a determined attacker; Clerk issues 2048-bit keys.
const minRSABits = 2048

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
// pointer stays the same across refreshes.
func parseKeySet(body []byte, prev map[string]Key) (parseResult, error) {
	// Per RFC 7517 §5 a set member we cannot understand (an unknown kty, a
	// malformed key) is ignored rather than poisoning the whole set, so a
	// provider adding a new key type does not lock us out of the keys we
	// can use. A document that is not a JWKS at all still fails here.
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return parseResult{}, fmt.Errorf("parse key set: %w", err)
	}
	res := parseResult{keys: make(map[string]Key, set.Len())}
	for i := range set.Len() {
		jk, ok := set.Key(i)
		if !ok {
			continue
		}
		k, weak, why := usableKey(jk)
		if why != "" {
			s := skipped{kid: jk.KeyID(), reason: why}
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
		if old, ok := prev[k.ID]; ok && sameKey(old, k) {
			k = old
		}
		res.keys[k.ID] = k
	}
	if len(res.keys) == 0 {
		return res, fmt.Errorf("no usable signature keys among %d in the set%s", set.Len(), describeSkips(res))
	}
	return res, nil
}

// usableKey converts a JWK into a Key once, so the hot path never touches
// jwx. It returns a non-empty reason for keys that must not be used to
// verify tokens; weak reports that the reason is an undersized RSA key.
func usableKey(jk jwk.Key) (k Key, weak bool, why string) {
	kid := jk.KeyID()
	if kid == "" {
		// A token can only select a key by kid, so a key without one is
		// unreachable; refusing it also stops a kid-less token from
		// matching it by accident.
		return Key{}, false, "no kid"
	}
	switch kty := jk.KeyType(); kty {
	case jwa.RSA, jwa.EC, jwa.OKP:
	default:
		// oct keys are shared secrets: returning one would let anyone who
		// can read the JWKS forge HMAC tokens.
		return Key{}, false, fmt.Sprintf("kty %q is not a public signature key", kty)
	}
	ak, ok := jk.(jwk.AsymmetricKey)
	if !ok || ak.IsPrivate() {
		// A private key in a public document is a publishing mistake; we
		// will not hold on to it, not even to derive its public half.
		return Key{}, false, "private key in a public key set"
	}
	if use := jk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return Key{}, false, fmt.Sprintf("use is %q, not sig", use)
	}
	if ops := jk.KeyOps(); len(ops) > 0 && !slices.Contains(ops, jwk.KeyOpVerify) {
		return Key{}, false, "key_ops does not allow verify"
	}
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return Key{}, false, "unreadable key material: " + err.Error()
	}
	return checkedKey(kid, jk.Algorithm().String(), raw)
}

// checkedKey vets public key material and prepares RSA keys for
// verification, once, so that the key verifies every token of the
// snapshot's life without rebuilding its Montgomery constants.
func checkedKey(kid, alg string, raw any) (k Key, weak bool, why string) {
	k = Key{ID: kid, Algorithm: alg, Public: raw}
	switch pub := raw.(type) {
	case *rsa.PublicKey:
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
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return Key{}, false, "unsupported elliptic curve " + pub.Curve.Params().Name
		}
		// ECDH() checks that the point is on the curve, which the JWK
		// parser does not; an off-curve point is a known attack vector.
		if _, err := pub.ECDH(); err != nil {
			return Key{}, false, "invalid EC point: " + err.Error()
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return Key{}, false, "bad Ed25519 key length"
		}
	default:
		// OKP also covers X25519/X448, which are key-agreement keys.
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
	parts := make([]string, len(all))
	for i, s := range all {
		parts[i] = fmt.Sprintf("%q: %s", s.kid, s.reason)
	}
	return strings.Join(parts, "; ")
}

func kidsOf(s []skipped) []string {
	kids := make([]string, len(s))
	for i, x := range s {
		kids[i] = x.kid
	}
	return kids
}
