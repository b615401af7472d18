package clerktest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
)

// verifyKeyHistory is how many signing keys, current included, the refresh
// and verify endpoints still accept signatures from: a token minted just
// before a rotation must stay refreshable, as with Clerk.
const verifyKeyHistory = 4

type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newSigningKey(bits int) (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	return &signingKey{kid: newID("ins_"), priv: priv}, nil
}

// jwkJSON is one RSA public key as Clerk's JWKS lists it.
type jwkJSON struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

type jwksJSON struct {
	Keys []jwkJSON `json:"keys"`
}

func (k *signingKey) jwk() jwkJSON {
	pub := k.priv.PublicKey
	return jwkJSON{
		Use: "sig",
		Kty: "RSA",
		Kid: k.kid,
		Alg: "RS256",
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// currentKey is the key new tokens are signed with. Callers hold s.mu.
func (s *Server) currentKey() *signingKey { return s.keys[len(s.keys)-1] }

// servedKeys lists the keys the JWKS publishes, current first. Callers hold
// s.mu.
func (s *Server) servedKeys() []*signingKey {
	n := min(len(s.keys), s.retiredKeys+1)
	out := make([]*signingKey, 0, n)
	for i := len(s.keys) - 1; i >= len(s.keys)-n; i-- {
		out = append(out, s.keys[i])
	}
	return out
}

// verificationKey finds a recent key by kid for the refresh and verify
// endpoints.
func (s *Server) verificationKey(kid string) *rsa.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.kid == kid {
			return &k.priv.PublicKey
		}
	}
	return nil
}

// JWKS returns the JSON Web Key Set that GET /v1/jwks serves now: the
// current signing key, plus retired ones if WithRetiredKeys asked for them.
func (s *Server) JWKS() []byte {
	s.mu.Lock()
	keys := s.servedKeys()
	s.mu.Unlock()
	doc := jwksJSON{Keys: make([]jwkJSON, 0, len(keys))}
	for _, k := range keys {
		doc.Keys = append(doc.Keys, k.jwk())
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("clerktest: encode JWKS: " + err.Error()) // strings only; cannot fail
	}
	return b
}

// PublicKeyPEM returns the current signing key's public half as a PKIX
// "PUBLIC KEY" PEM block: what Clerk's dashboard shows as the JWT public key
// and what CLERK_JWT_KEY holds for networkless verification.
func (s *Server) PublicKeyPEM() string {
	s.mu.Lock()
	pub := &s.currentKey().priv.PublicKey
	s.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("clerktest: encode public key: " + err.Error()) // RSA keys always encode
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// KeyID returns the kid of the current signing key.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentKey().kid
}

// RotateKey replaces the signing key with a fresh one and returns both kids.
// From then on tokens are signed with the new key and the JWKS serves only
// the new key, unless WithRetiredKeys keeps old ones published. Tokens signed
// by the last few keys stay acceptable to the refresh endpoint. Like New, it
// panics only if key generation fails.
func (s *Server) RotateKey() (oldKid, newKid string) {
	k, err := newSigningKey(s.keyBits)
	if err != nil {
		panic("clerktest: generate signing key: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	oldKid = s.currentKey().kid
	s.keys = append(s.keys, k)
	if keep := max(verifyKeyHistory, s.retiredKeys+1); len(s.keys) > keep {
		s.keys = append([]*signingKey(nil), s.keys[len(s.keys)-keep:]...)
	}
	return oldKid, k.kid
}
