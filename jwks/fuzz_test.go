package jwks

// The fuzz target lives in the package itself so that it can call
// parseKeySet directly: a document reaches it only after the 1 MiB download
// cap, and going through an HTTP server per input would make fuzzing far
// slower without reaching more parsing code.

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate/internal/jwktest"
)

// fuzzKeys are the keys the seeds are built from, made once per process:
// every fuzz worker runs the target's set-up, and RSA generation is slow.
var fuzzKeys = sync.OnceValue(func() (k struct {
	rsa   *rsa.PrivateKey
	small *rsa.PrivateKey
	ec    *ecdsa.PrivateKey
	ed    ed25519.PrivateKey
},
) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.small, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
})

func keySetDoc(tb testing.TB, keys ...any) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzParseKeySet feeds arbitrary documents to the JWKS parser. The
// properties: no panic; whatever it returns is a public signature key of a
// kind and size the verifier may use (never an HMAC secret, never a private
// key, never a kid-less or weak key); the keys kept from the previous set
// change nothing about which keys are accepted; and the work per input is
// bounded.
func FuzzParseKeySet(f *testing.F) {
	k := fuzzKeys()
	good := jwktest.Of(&k.rsa.PublicKey, "kid", "ins_rsa", "alg", "RS256", "use", "sig")
	ec := jwktest.Of(&k.ec.PublicKey, "kid", "ins_ec", "alg", "ES256")
	ed := jwktest.Of(k.ed.Public(), "kid", "ins_ed", "alg", "EdDSA")
	offCurve := maps.Clone(ec)
	offCurve["kid"] = "ins_off_curve"
	offCurve["y"] = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))

	prevDoc := keySetDoc(f, good, ec)
	prev, err := parseKeySet(prevDoc, nil)
	if err != nil {
		f.Fatal(err)
	}

	seeds := [][]byte{
		prevDoc,
		keySetDoc(f, good, ec, ed),
		keySetDoc(f, jwktest.Of(k.rsa, "kid", "ins_private", "alg", "RS256")),                          // private RSA key
		keySetDoc(f, jwktest.Of(k.ec, "kid", "ins_private_ec")),                                        // private EC key
		keySetDoc(f, map[string]any{"kty": "oct", "kid": "ins_hmac", "k": "c2VjcmV0", "alg": "HS256"}), // a shared secret
		keySetDoc(f, jwktest.Of(&k.small.PublicKey, "kid", "ins_small")),                               // 1024 bits
		keySetDoc(f, jwktest.Of(&k.rsa.PublicKey, "kid", nil)),                                         // no kid
		keySetDoc(f, jwktest.Of(&k.rsa.PublicKey, "kid", "ins_enc", "use", "enc")),
		keySetDoc(f, jwktest.Of(&k.rsa.PublicKey, "kid", "ins_ops", "key_ops", []string{"sign"})),
		keySetDoc(f, jwktest.Of(&k.rsa.PublicKey, "kid", "ins_e", "e", "AA")),  // exponent 0
		keySetDoc(f, jwktest.Of(&k.rsa.PublicKey, "kid", "ins_e2", "e", "Ag")), // exponent 2
		keySetDoc(f, offCurve),
		keySetDoc(f, map[string]any{"kty": "OKP", "crv": "X25519", "kid": "ins_x", "x": ed["x"]}),
		keySetDoc(f, good, jwktest.Of(&k.ec.PublicKey, "kid", "ins_rsa")), // duplicate kid
		keySetDoc(f, map[string]any{"kty": "RSA", "kid": "ins_junk", "n": 7, "e": []int{1}}, good),
		[]byte(`{"keys":[]}`), []byte(`{"keys":null}`), []byte(`{"keys":{}}`), []byte(`{}`), []byte(`[]`),
		[]byte(`null`), []byte(``), []byte(`{"keys":[`), []byte("\xff\xfe"), []byte(`<html>502</html>`),
		// What the strict parser refuses: a name given twice, a second
		// spelling of the same bytes, trailing data.
		[]byte(strings.Replace(string(keySetDoc(f, good)), `"kty":"RSA"`, `"kty":"RSA","n":"AQAB"`, 1)),
		[]byte(strings.Replace(string(keySetDoc(f, good)), `"e":"AQAB"`, `"e":"AAEAAQ"`, 1)),
		[]byte(strings.Replace(string(keySetDoc(f, good)), `"e":"AQAB"`, `"e":"AQAB="`, 1)),
		[]byte(strings.Replace(string(keySetDoc(f, good)), `"kty"`, `"\u006bty"`, 1)),
		append(keySetDoc(f, good), keySetDoc(f, ec)...),
		[]byte(`{"keys":[],"keys":` + string(keySetDoc(f, good))[len(`{"keys":`):]),
	}
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, doc []byte) {
		start := time.Now()
		fresh, freshErr := parseKeySet(doc, nil)
		carried, carriedErr := parseKeySet(doc, prev.keys)
		// Generous: real documents parse in microseconds; this only catches
		// work that grows without bound.
		if d := time.Since(start); d > 5*time.Second && len(doc) < 1<<20 {
			t.Fatalf("parsing %d bytes took %v", len(doc), d)
		}

		if (freshErr == nil) != (carriedErr == nil) {
			t.Fatalf("the previous key set changed the outcome: %v vs %v", freshErr, carriedErr)
		}
		if !slices.Equal(sortedKids(fresh.keys), sortedKids(carried.keys)) {
			t.Fatalf("the previous key set changed the accepted kids: %v vs %v", sortedKids(fresh.keys), sortedKids(carried.keys))
		}
		// A set is accepted exactly when it yields a key: the caller swaps
		// in whatever comes back without an error.
		if (freshErr == nil) != (len(fresh.keys) > 0) {
			t.Fatalf("error %v with %d keys", freshErr, len(fresh.keys))
		}
		// Each accepted key came from its own JSON object, so there can be
		// no more keys than objects in the document.
		if n := bytes.Count(doc, []byte("{")); len(fresh.keys) > n {
			t.Fatalf("%d keys from a document with %d objects", len(fresh.keys), n)
		}
		private := privateKids(doc)
		for _, res := range []parseResult{fresh, carried} {
			for kid, key := range res.keys {
				checkUsable(t, kid, key)
				if private[kid] {
					t.Fatalf("kid %q: accepted although every member with that kid carries private material", kid)
				}
			}
		}
		// Whatever the strict parser accepts reads the same to a lenient
		// one: no key can mean one thing here and another to a parser
		// that takes the last of two names or skips bad base64.
		if len(fresh.keys) > 0 {
			lenient := lenientKeys(t, doc)
			for kid, key := range fresh.keys {
				if !slices.ContainsFunc(lenient[kid], func(k Key) bool { return sameKey(k, key) }) {
					t.Fatalf("kid %q: accepted key is not what encoding/json reads in any member with that kid", kid)
				}
			}
		}
		for kid, key := range carried.keys {
			if old, ok := prev.keys[kid]; ok && key.Public == old.Public && !sameKey(old, fresh.keys[kid]) {
				t.Fatalf("kid %q: kept the previous key although the document holds another", kid)
			}
		}
	})
}

// checkUsable fails unless key is a public signature key the verifier may
// use: the set of types Source promises, with the size and curve checks the
// parser claims to make, repeated here independently.
func checkUsable(t *testing.T, kid string, key Key) {
	t.Helper()
	if kid == "" || key.ID != kid {
		t.Fatalf("key filed under kid %q has ID %q", kid, key.ID)
	}
	switch pub := key.Public.(type) {
	case *rsa.PublicKey:
		if pub.N == nil || pub.N.BitLen() < 2048 {
			t.Fatalf("kid %q: weak RSA key", kid)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			t.Fatalf("kid %q: RSA exponent %d", kid, pub.E)
		}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			t.Fatalf("kid %q: curve %v", kid, pub.Curve)
		}
		if !onCurve(pub) {
			t.Fatalf("kid %q: EC point is not on its curve", kid)
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("kid %q: Ed25519 key of %d bytes", kid, len(pub))
		}
	default:
		// []byte would be an HMAC secret; *rsa.PrivateKey and friends a
		// private key: neither may ever reach the verifier.
		t.Fatalf("kid %q: returned a %T", kid, key.Public)
	}
}

// onCurve checks the point with crypto/ecdh, a different code path from
// the one the parser is expected to use, via the uncompressed encoding.
func onCurve(pub *ecdsa.PublicKey) bool {
	if pub.X == nil || pub.Y == nil {
		return false
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	if pub.X.Sign() < 0 || pub.Y.Sign() < 0 || len(pub.X.Bytes()) > size || len(pub.Y.Bytes()) > size {
		return false
	}
	point := make([]byte, 1+2*size)
	point[0] = 4
	pub.X.FillBytes(point[1 : 1+size])
	pub.Y.FillBytes(point[1+size:])
	var err error
	switch pub.Curve {
	case elliptic.P256():
		_, err = ecdh.P256().NewPublicKey(point)
	case elliptic.P384():
		_, err = ecdh.P384().NewPublicKey(point)
	case elliptic.P521():
		_, err = ecdh.P521().NewPublicKey(point)
	default:
		return false
	}
	return err == nil
}

// privateKids decodes the document independently of the parser and returns the
// kids whose every member carries private or secret material ("d" of RSA,
// EC and OKP keys, "k" of symmetric keys) as a non-empty string. Such a kid
// must never be accepted. A document encoding/json cannot read gives none.
func privateKids(doc []byte) map[string]bool {
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(doc, &set) != nil {
		return nil
	}
	private, public := map[string]bool{}, map[string]bool{}
	for _, m := range set.Keys {
		var kid string
		if json.Unmarshal(m["kid"], &kid) != nil || kid == "" {
			continue
		}
		if hasString(m, "d") || hasString(m, "k") {
			private[kid] = true
		} else {
			public[kid] = true
		}
	}
	for kid := range public {
		delete(private, kid)
	}
	return private
}

// lenientKeys reads the document as a forgiving parser would
// (encoding/json into maps, where the last of two names wins; base64 that
// skips line breaks and ignores stray bits) and returns, per kid, the
// public keys of the members carrying it. A document the strict parser
// accepted must be JSON to encoding/json too.
func lenientKeys(t *testing.T, doc []byte) map[string][]Key {
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("strict parser accepted what encoding/json refuses: %v", err)
	}
	str := func(m map[string]json.RawMessage, name string) string {
		var s string
		_ = json.Unmarshal(m[name], &s)
		return s
	}
	num := func(m map[string]json.RawMessage, name string) *big.Int {
		b, _ := base64.RawURLEncoding.DecodeString(str(m, name))
		return new(big.Int).SetBytes(b)
	}
	out := map[string][]Key{}
	for _, m := range set.Keys {
		var pub any
		switch str(m, "kty") {
		case "RSA":
			pub = &rsa.PublicKey{N: num(m, "n"), E: int(num(m, "e").Int64())}
		case "EC":
			curves := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}
			if c, ok := curves[str(m, "crv")]; ok {
				pub = &ecdsa.PublicKey{Curve: c, X: num(m, "x"), Y: num(m, "y")}
			}
		case "OKP":
			x, _ := base64.RawURLEncoding.DecodeString(str(m, "x"))
			pub = ed25519.PublicKey(x)
		}
		kid := str(m, "kid")
		out[kid] = append(out[kid], Key{ID: kid, Algorithm: str(m, "alg"), Public: pub})
	}
	return out
}

func hasString(m map[string]json.RawMessage, name string) bool {
	var s string
	return json.Unmarshal(m[name], &s) == nil && s != ""
}

func sortedKids(m map[string]Key) []string {
	return slices.Sorted(maps.Keys(m))
}
