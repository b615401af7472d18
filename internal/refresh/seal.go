package refresh

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// refreshSecret is what a request that holds an expired token and its
// refresh cookie can derive from them, and a Store cannot: the name the
// refresh outcome goes by, and the key that seals it. Both come from
// HKDF-SHA256 over the pair with distinct labels, so neither reveals the
// tokens or the other.
//
// The refresh cookie is part of the secret on purpose. Keyed on the
// expired token alone, a remembered outcome would be handed to anyone who
// replays that token with any refresh cookie at all: someone who once
// stole a session token (the __session cookie is readable by scripts)
// could follow the session through every refresh. A browser's parallel
// requests carry the same pair, so they still share one refresh.
type refreshSecret struct {
	name string // hex; the Store's key and the singleflight key
	aead cipher.AEAD
}

func newRefreshSecret(expired, refreshToken string) (refreshSecret, error) {
	// Length-prefix the expired token so no two pairs share an input.
	ikm := binary.BigEndian.AppendUint32(nil, uint32(len(expired)))
	ikm = append(append(ikm, expired...), refreshToken...)
	prk, err := hkdf.Extract(sha256.New, ikm, nil)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	name, err := hkdf.Expand(sha256.New, prk, "clerkgate refresh outcome name v2", 32)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	key, err := hkdf.Expand(sha256.New, prk, "clerkgate refresh outcome key v2", 32)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	return refreshSecret{name: hex.EncodeToString(name), aead: aead}, nil
}

// sealedOutcome is the plaintext of a published outcome: the Set-Cookie
// values of a success, or Clerk's error code of a failure.
type sealedOutcome struct {
	Cookies []string `json:"cookies,omitempty"`
	Code    string   `json:"code,omitempty"`
}

// sealVersion leads every sealed outcome, so the format can change.
const sealVersion = 1

// seal encrypts an outcome as version || nonce || AES-GCM ciphertext, with
// the outcome's name as additional data.
func (s refreshSecret) seal(out sealedOutcome) []byte {
	plain, err := json.Marshal(out)
	if err != nil {
		panic("refresh: " + err.Error()) // strings only: cannot fail
	}
	n := s.aead.NonceSize()
	buf := make([]byte, 1+n, 1+n+len(plain)+s.aead.Overhead())
	buf[0] = sealVersion
	nonce := buf[1:]
	rand.Read(nonce) // never fails since Go 1.24
	return s.aead.Seal(buf, nonce, plain, []byte(s.name))
}

func (s refreshSecret) open(sealed []byte) (sealedOutcome, error) {
	var out sealedOutcome
	n := s.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return out, errors.New("refresh: the stored outcome is not one clerkgate sealed")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(s.name))
	if err != nil {
		return out, errors.New("refresh: the stored outcome does not open with this token: it was altered")
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return out, fmt.Errorf("refresh: stored outcome: %w", err)
	}
	return out, nil
}
