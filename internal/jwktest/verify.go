package jwktest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// VerifyRS256 checks a compact JWS's RS256 signature with pub, using
// crypto/rsa alone, and returns the decoded payload. It is a second
// opinion for tests: it shares no code with clerkgate's verifier. It does
// not look at claims.
func VerifyRS256(pub *rsa.PublicKey, jws string) ([]byte, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, errors.New("jwktest: not three segments")
	}
	var header struct{ Alg string }
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, err
	}
	if header.Alg != "RS256" {
		return nil, fmt.Errorf("jwktest: alg %q, want RS256", header.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(parts[1])
}

// VerifyWithSet verifies a compact JWS as VerifyRS256 does, with the RSA
// key its header's kid names in a JWK Set document, which it decodes with
// encoding/json alone.
func VerifyWithSet(set []byte, jws string) ([]byte, error) {
	var doc struct {
		Keys []struct{ Kty, Kid, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(set, &doc); err != nil {
		return nil, err
	}
	var header struct{ Kid string }
	if err := decodeSegment(strings.SplitN(jws, ".", 2)[0], &header); err != nil {
		return nil, err
	}
	for _, k := range doc.Keys {
		if k.Kid != header.Kid || k.Kty != "RSA" {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			return nil, err
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil {
			return nil, err
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		return VerifyRS256(pub, jws)
	}
	return nil, fmt.Errorf("jwktest: no RSA key with kid %q in the set", header.Kid)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
