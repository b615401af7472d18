// Package jwktest renders keys as JWK objects for tests, with nothing but
// the standard library, so that the tests of the JWKS parser feed it
// documents built independently of it (RFC 7517 and RFC 7518 §6).
package jwktest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
)

// Of renders key as a JWK: kty and the key material, and the private
// members too when key is private. It takes *rsa.PublicKey,
// *rsa.PrivateKey, *ecdsa.PublicKey, *ecdsa.PrivateKey, ed25519.PublicKey,
// ed25519.PrivateKey and []byte (an oct key). Pairs in kv set members
// (a nil value removes one), as With does. It panics on any other type:
// a test that passes one is broken.
func Of(key any, kv ...any) map[string]any {
	var m map[string]any
	switch k := key.(type) {
	case *rsa.PublicKey:
		m = map[string]any{"kty": "RSA", "n": b64uint(k.N), "e": b64uint(big.NewInt(int64(k.E)))}
	case *rsa.PrivateKey:
		m = Of(&k.PublicKey)
		m["d"] = b64uint(k.D)
		if len(k.Primes) == 2 {
			k.Precompute()
			m["p"], m["q"] = b64uint(k.Primes[0]), b64uint(k.Primes[1])
			m["dp"], m["dq"], m["qi"] = b64uint(k.Precomputed.Dp), b64uint(k.Precomputed.Dq), b64uint(k.Precomputed.Qinv)
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		m = map[string]any{
			"kty": "EC", "crv": k.Curve.Params().Name,
			"x": b64(k.X.FillBytes(make([]byte, size))), "y": b64(k.Y.FillBytes(make([]byte, size))),
		}
	case *ecdsa.PrivateKey:
		m = Of(&k.PublicKey)
		m["d"] = b64(k.D.FillBytes(make([]byte, (k.Curve.Params().BitSize+7)/8)))
	case ed25519.PublicKey:
		m = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(k)}
	case ed25519.PrivateKey:
		m = Of(k.Public())
		m["d"] = b64(k.Seed())
	case []byte:
		m = map[string]any{"kty": "oct", "k": b64(k)}
	default:
		panic(fmt.Sprintf("jwktest: cannot render a %T", key))
	}
	return With(m, kv...)
}

// With returns a copy of m with the members in kv (name, value pairs) set,
// or removed where the value is nil.
func With(m map[string]any, kv ...any) map[string]any {
	if len(kv)%2 != 0 {
		panic("jwktest: odd number of arguments to With")
	}
	m = maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		if kv[i+1] == nil {
			delete(m, name)
		} else {
			m[name] = kv[i+1]
		}
	}
	return m
}

// Set renders a JWK Set document holding keys (JWK objects, or any other
// JSON value a test wants in the array).
func Set(keys ...any) []byte {
	if keys == nil {
		keys = []any{}
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return doc
}

// b64uint is RFC 7518's Base64urlUInt: the big-endian value in as few
// octets as it takes, zero as one zero octet.
func b64uint(x *big.Int) string {
	if x.Sign() == 0 {
		return "AA"
	}
	return b64(x.Bytes())
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
