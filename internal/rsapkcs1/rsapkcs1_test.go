package rsapkcs1_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/rsapkcs1"
)

// testKeys makes fresh keys for a test: two of 2048 bits and one of 3072,
// so the differential tests cover the assembly path bigmod has for 2048-bit
// moduli and the generic one.
func testKeys(t testing.TB) []*rsa.PrivateKey {
	t.Helper()
	var keys []*rsa.PrivateKey
	for _, bits := range []int{2048, 2048, 3072} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		require.NoError(t, err)
		keys = append(keys, k)
	}
	return keys
}

func sign(t testing.TB, k *rsa.PrivateKey, h crypto.Hash, msg []byte) (digest, sig []byte) {
	t.Helper()
	digest = hashOf(h, msg)
	sig, err := rsa.SignPKCS1v15(nil, k, h, digest)
	require.NoError(t, err)
	return digest, sig
}

func hashOf(h crypto.Hash, msg []byte) []byte {
	return digest(h, msg)
}

var hashes = [...]crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

func TestNewPublicKeyRefuses(t *testing.T) {
	t.Parallel()
	good, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	n := good.N
	for _, tc := range []struct {
		name string
		pub  *rsa.PublicKey
	}{
		{"nil", nil},
		{"nil modulus", &rsa.PublicKey{E: 65537}},
		// A 1024-bit key is within reach of a well-funded attacker: a
		// token it signs must never be trusted.
		{"1024 bits", &small.PublicKey},
		{"2047 bits", &rsa.PublicKey{N: new(big.Int).Rsh(n, 1), E: 65537}},
		{"8193 bits", &rsa.PublicKey{N: new(big.Int).SetBit(new(big.Int).Set(n), 8192, 1), E: 65537}},
		{"even modulus", &rsa.PublicKey{N: new(big.Int).SetBit(new(big.Int).Set(n), 0, 0), E: 65537}},
		// e = 1 makes every message its own signature.
		{"e=1", &rsa.PublicKey{N: n, E: 1}},
		{"e=2", &rsa.PublicKey{N: n, E: 2}},
		{"even e", &rsa.PublicKey{N: n, E: 65536}},
		{"e too large", &rsa.PublicKey{N: n, E: 1 << 31}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := rsapkcs1.NewPublicKey(tc.pub)
			require.Error(t, err)
			require.Nil(t, k)
		})
	}
	k, err := rsapkcs1.NewPublicKey(&good.PublicKey)
	require.NoError(t, err)
	require.Same(t, &good.PublicKey, k.Public())
}

// TestVerifyRefuses holds the signatures that a sloppy verifier accepts:
// each is the genuine signature, or the genuine value, spelled differently,
// or it is checked against the wrong digest or hash.
func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	k, err := rsapkcs1.NewPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	d, sig := sign(t, priv, crypto.SHA256, []byte("header.payload"))
	require.NoError(t, k.Verify(crypto.SHA256, d, sig))

	plusN := new(big.Int).Add(new(big.Int).SetBytes(sig), priv.N).Bytes() // same value mod n
	zero := make([]byte, len(sig))
	nBytes := priv.N.FillBytes(make([]byte, len(sig)))
	other := sha256.Sum256([]byte("header.payload2"))
	for _, tc := range []struct {
		name   string
		h      crypto.Hash
		digest []byte
		sig    []byte
	}{
		{"leading zero added", crypto.SHA256, d, append([]byte{0}, sig...)},
		{"last byte dropped", crypto.SHA256, d, sig[:len(sig)-1]},
		{"first byte dropped", crypto.SHA256, d, sig[1:]},
		{"s + n", crypto.SHA256, d, plusN},
		{"s = n", crypto.SHA256, d, nBytes},
		{"s = 0", crypto.SHA256, d, zero},
		{"empty", crypto.SHA256, d, nil},
		{"other digest", crypto.SHA256, other[:], sig},
		{"digest truncated", crypto.SHA256, d[:31], sig},
		// The same 32 bytes as a SHA-384 or SHA-512 digest prefix: the
		// DigestInfo names the hash, so the encodings differ.
		{"SHA-384 claimed", crypto.SHA384, append(d, make([]byte, 16)...), sig},
		{"SHA-1 claimed", crypto.SHA1, d[:20], sig},
		{"MD5 claimed", crypto.MD5, d[:16], sig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, k.Verify(tc.h, tc.digest, tc.sig), rsapkcs1.ErrVerification)
			require.Error(t, rsa.VerifyPKCS1v15(&priv.PublicKey, tc.h, tc.digest, tc.sig), "crypto/rsa should refuse it too")
		})
	}
}

// TestAgreesWithCryptoRSA checks the prepared verifier against crypto/rsa
// on fresh keys, every hash, and signatures with each byte position
// flipped in turn.
func TestAgreesWithCryptoRSA(t *testing.T) {
	t.Parallel()
	for _, priv := range testKeys(t) {
		k, err := rsapkcs1.NewPublicKey(&priv.PublicKey)
		require.NoError(t, err)
		for _, h := range hashes {
			msg := make([]byte, 100)
			_, _ = rand.Read(msg)
			d, sig := sign(t, priv, h, msg)
			require.NoError(t, k.Verify(h, d, sig))
			for _, other := range hashes {
				if other != h {
					require.Error(t, k.Verify(other, hashOf(other, msg), sig))
				}
			}
			for i := range sig {
				bad := append([]byte(nil), sig...)
				bad[i] ^= 1 << (i % 8)
				got := k.Verify(h, d, bad) == nil
				std := rsa.VerifyPKCS1v15(&priv.PublicKey, h, d, bad) == nil
				require.False(t, got, "byte %d flipped", i)
				require.Equal(t, std, got)
			}
		}
	}
}

// FuzzAgainstCryptoRSA is a differential fuzz target: for any message,
// hash and mutation of a genuine signature, the prepared verifier and
// crypto/rsa give the same verdict.
func FuzzAgainstCryptoRSA(f *testing.F) {
	keys := testKeys(f)
	prepared := make([]*rsapkcs1.PublicKey, len(keys))
	for i, priv := range keys {
		var err error
		prepared[i], err = rsapkcs1.NewPublicKey(&priv.PublicKey)
		require.NoError(f, err)
	}
	f.Add(uint8(0), uint8(0), []byte("header.payload"), uint8(0), uint16(0), byte(0), []byte(nil))
	f.Add(uint8(1), uint8(1), []byte(""), uint8(1), uint16(5), byte(0x80), []byte(nil))
	f.Add(uint8(2), uint8(2), []byte("x"), uint8(2), uint16(1), byte(0), []byte(nil))
	f.Add(uint8(0), uint8(0), []byte("y"), uint8(3), uint16(0), byte(0), []byte(nil))
	f.Add(uint8(1), uint8(0), []byte("z"), uint8(4), uint16(0), byte(0), []byte{0, 1, 0xff, 0})
	f.Add(uint8(0), uint8(2), []byte("w"), uint8(5), uint16(0), byte(1), []byte(nil))
	f.Fuzz(func(t *testing.T, ki, hi uint8, msg []byte, mode uint8, pos uint16, x byte, raw []byte) {
		priv, k := keys[int(ki)%len(keys)], prepared[int(ki)%len(keys)]
		h := hashes[int(hi)%len(hashes)]
		d, sig := sign(t, priv, h, msg)
		switch mode % 6 {
		case 0: // genuine
		case 1: // one byte changed
			sig[int(pos)%len(sig)] ^= x
		case 2: // truncated
			sig = sig[:int(pos)%len(sig)]
		case 3: // the same value plus a multiple of n, or a leading zero
			s := new(big.Int).SetBytes(sig)
			sig = s.Add(s, new(big.Int).Mul(priv.N, big.NewInt(int64(x)))).Bytes()
		case 4: // anything at all, for whatever length the fuzzer picks
			sig = raw
		case 5: // the digest, not the signature, changed
			d = append([]byte(nil), d...)
			d[int(pos)%len(d)] ^= x
		}
		got := k.Verify(h, d, sig)
		std := rsa.VerifyPKCS1v15(&priv.PublicKey, h, d, sig)
		if (got == nil) != (std == nil) {
			t.Fatalf("disagreement: ours %v, crypto/rsa %v (mode %d)", got, std, mode%6)
		}
		if got == nil && mode%6 != 0 && !(mode%6 == 1 && x == 0) && !(mode%6 == 3 && x == 0) && !(mode%6 == 5 && x == 0) {
			t.Fatalf("accepted a mutated signature (mode %d)", mode%6)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(b, err)
	d, sig := sign(b, priv, crypto.SHA256, []byte("header.payload"))
	k, err := rsapkcs1.NewPublicKey(&priv.PublicKey)
	require.NoError(b, err)
	b.Run("prepared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := k.Verify(crypto.SHA256, d, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
