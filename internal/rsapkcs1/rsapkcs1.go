// Package rsapkcs1 verifies RSASSA-PKCS1-v1_5 signatures (RFC 8017 §8.2.2)
// with public keys prepared once.
//
// crypto/rsa rebuilds a key's Montgomery constants on every
// VerifyPKCS1v15 call, about a quarter of its cost, because an
// *rsa.PublicKey has nowhere to keep them. A key in a JWKS snapshot lives
// for hours and checks millions of tokens, so PublicKey computes them once
// and keeps them. The arithmetic is filippo.io/bigmod, the standard
// library's own constant-time modular arithmetic published as a module.
//
// Verification follows the RFC's "encode, then compare" method: it
// computes s^e mod n and compares all of it, in constant time, with the
// one encoding the digest may have. Nothing in the padding is ever parsed,
// so the whole family of padding and ASN.1 forgeries (Bleichenbacher 2006
// and its descendants) has nothing to work on.
//
//	k, err := rsapkcs1.NewPublicKey(pub) // once, when the key set is loaded
//	...
//	d := sha256.Sum256(signingInput)
//	err = k.Verify(crypto.SHA256, d[:], sig) // per token
package rsapkcs1

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/bits"

	"filippo.io/bigmod"
)

const (
	// MinBits is the smallest modulus accepted. Smaller keys are within
	// reach of a determined attacker; Clerk issues 2048-bit keys.
	MinBits = 2048
	// MaxBits is the largest modulus accepted. Public-key operations cost
	// grows with the square of the size, so a JWKS with a huge key would
	// make every token naming it expensive; 8192 bits is far beyond what
	// any issuer uses.
	MaxBits = 8192

	maxSize = MaxBits / 8
)

// ErrVerification is returned for every signature that does not verify,
// whatever the reason. The reasons (wrong length, not below the modulus,
// wrong encoding) are all an attacker's to choose, so they tell the caller
// nothing worth branching on.
var ErrVerification = errors.New("rsapkcs1: verification error")

// PublicKey is an RSA public key prepared for verification. It is
// immutable and safe for concurrent use.
type PublicKey struct {
	n    *bigmod.Modulus
	e    uint
	size int // of the modulus, in bytes: every signature has exactly this length
	pub  *rsa.PublicKey
}

// NewPublicKey prepares pub. It refuses moduli under MinBits or over
// MaxBits, even moduli, and exponents that are even, under 3 or over
// 2^31-1 (the bounds crypto/rsa applies).
func NewPublicKey(pub *rsa.PublicKey) (*PublicKey, error) {
	if pub == nil || pub.N == nil {
		return nil, errors.New("rsapkcs1: missing modulus")
	}
	if b := pub.N.BitLen(); b < MinBits || b > MaxBits {
		return nil, fmt.Errorf("rsapkcs1: RSA key has %d bits, want %d to %d", b, MinBits, MaxBits)
	}
	if pub.N.Bit(0) == 0 {
		return nil, errors.New("rsapkcs1: RSA modulus is even")
	}
	if pub.E < 3 || pub.E%2 == 0 || pub.E > 1<<31-1 {
		return nil, fmt.Errorf("rsapkcs1: RSA public exponent %d is invalid", pub.E)
	}
	n, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, fmt.Errorf("rsapkcs1: %w", err)
	}
	return &PublicKey{n: n, e: uint(pub.E), size: n.Size(), pub: pub}, nil
}

// Public returns the key this one was prepared from.
func (k *PublicKey) Public() *rsa.PublicKey { return k.pub }

// Verify checks that sig is a signature of digest, a hash of kind h
// (SHA-256, SHA-384 or SHA-512). It returns nil or ErrVerification.
func (k *PublicKey) Verify(h crypto.Hash, digest, sig []byte) error {
	prefix := digestInfoPrefix(h)
	if prefix == "" || len(digest) != h.Size() {
		return ErrVerification
	}
	// RFC 8017 §8.2.2 step 1: the signature is exactly the modulus size.
	// Shorter, left-padded or longer spellings of one value would make
	// one signature many.
	if len(sig) != k.size {
		return ErrVerification
	}
	// Step 2: s < n (SetBytes refuses anything else), then m = s^e mod n.
	s, err := bigmod.NewNat().SetBytes(sig, k.n)
	if err != nil {
		return ErrVerification
	}
	m := bigmod.NewNat().ExpShortVarTime(s, k.e, k.n)

	var got, want [maxSize]byte
	putBigEndian(got[:k.size], m.Bits())
	// Step 3: the one valid encoding, EMSA-PKCS1-v1_5 (§9.2):
	// 0x00 0x01 0xff… 0x00 DigestInfo(digest), at least 8 bytes of 0xff.
	em := want[:k.size]
	t := len(prefix) + len(digest)
	if k.size < t+11 {
		return ErrVerification
	}
	em[1] = 0x01
	for i := 2; i < k.size-t-1; i++ {
		em[i] = 0xff
	}
	copy(em[k.size-t:], prefix)
	copy(em[k.size-len(digest):], digest)
	// Step 4: compare everything, in time that does not depend on where
	// the first difference is.
	if subtle.ConstantTimeCompare(got[:k.size], em) != 1 {
		return ErrVerification
	}
	return nil
}

// putBigEndian writes the little-endian limbs into dst as a big-endian
// number of exactly len(dst) bytes. The limbs hold a value below the
// modulus, so nothing is lost; limbs beyond dst's size are zero.
func putBigEndian(dst []byte, limbs []uint) {
	i := len(dst)
	for _, l := range limbs {
		for j := 0; j < bits.UintSize/8 && i > 0; j++ {
			i--
			dst[i] = byte(l)
			l >>= 8
		}
	}
}

// The DER encodings of DigestInfo up to the digest itself (RFC 8017 §9.2,
// note 1): SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING }.
const (
	prefixSHA256 = "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"
	prefixSHA384 = "\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30"
	prefixSHA512 = "\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40"
)

func digestInfoPrefix(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return prefixSHA256
	case crypto.SHA384:
		return prefixSHA384
	case crypto.SHA512:
		return prefixSHA512
	}
	return ""
}
