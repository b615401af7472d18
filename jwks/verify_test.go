package jwks_test

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/jwks"
)

func signed(t *testing.T, priv *rsa.PrivateKey, msg string) (digest, sig []byte) {
	t.Helper()
	d := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:])
	require.NoError(t, err)
	return d[:], sig
}

// TestKeysFromEverySourceVerify: a key fetched over HTTP, a static key and
// one from NewKey verify their own signatures, and refuse another key's.
func TestKeysFromEverySourceVerify(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "kid-a")))
	remote := newRemote(t, srv.URL, jwks.RemoteConfig{})
	fetched, err := remote.Key(context.Background(), "kid-a")
	require.NoError(t, err)
	static, err := jwks.NewStatic(pkixPEM(t, &rsaA().PublicKey))
	require.NoError(t, err)
	staticKey, err := static.Key(context.Background(), "")
	require.NoError(t, err)
	made, err := jwks.NewKey("kid-a", "RS256", &rsaA().PublicKey)
	require.NoError(t, err)
	literal := jwks.Key{ID: "kid-a", Public: &rsaA().PublicKey}

	d, sig := signed(t, rsaA(), "header.payload")
	_, foreign := signed(t, rsaB(), "header.payload")
	for name, k := range map[string]jwks.Key{"remote": fetched, "static": staticKey, "NewKey": made, "literal": literal} {
		require.NoError(t, k.VerifyPKCS1v15(crypto.SHA256, d, sig), name)
		require.ErrorIs(t, k.VerifyPKCS1v15(crypto.SHA256, d, foreign), jwks.ErrSignature, name)
		d512 := sha512.Sum512([]byte("header.payload"))
		require.ErrorIs(t, k.VerifyPKCS1v15(crypto.SHA512, d512[:], sig), jwks.ErrSignature, name)
	}
}

// TestReplacedPublicIsTheOneUsed: Key's fields are exported, so a Source
// may copy a prepared Key and change its Public. Verification must follow
// Public, never the key it replaced.
func TestReplacedPublicIsTheOneUsed(t *testing.T) {
	t.Parallel()
	k, err := jwks.NewKey("kid", "RS256", &rsaA().PublicKey)
	require.NoError(t, err)
	k.Public = &rsaB().PublicKey
	d, byA := signed(t, rsaA(), "m")
	_, byB := signed(t, rsaB(), "m")
	require.ErrorIs(t, k.VerifyPKCS1v15(crypto.SHA256, d, byA), jwks.ErrSignature)
	require.NoError(t, k.VerifyPKCS1v15(crypto.SHA256, d, byB))

	k.Public = &rsaSmall().PublicKey
	_, bySmall := signed(t, rsaSmall(), "m")
	require.ErrorContains(t, k.VerifyPKCS1v15(crypto.SHA256, d, bySmall), "1024 bits")

	ec, err := jwks.NewKey("ec", "ES256", &ecP256().PublicKey)
	require.NoError(t, err)
	require.Error(t, ec.VerifyPKCS1v15(crypto.SHA256, d, byA))
}

// TestNewKeyRefuses holds what NewKey must not let into a Source: each
// would weaken or defeat verification.
func TestNewKeyRefuses(t *testing.T) {
	t.Parallel()
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}
	n := rsaA().N
	for _, tc := range []struct {
		name string
		pub  crypto.PublicKey
		want string
	}{
		{"RSA 1024", &rsaSmall().PublicKey, "1024 bits"},
		{"RSA e=1", &rsa.PublicKey{N: n, E: 1}, "exponent"},
		{"RSA even e", &rsa.PublicKey{N: n, E: 65536}, "exponent"},
		{"RSA 8200 bits", &rsa.PublicKey{N: new(big.Int).SetBit(new(big.Int).Set(n), 8199, 1), E: 65537}, "8200 bits"},
		{"P-224", &p224.PublicKey, "unsupported elliptic curve"},
		{"EC point off the curve", offCurve, "invalid EC point"},
		{"HMAC secret", []byte("secret"), "not a signature key"},
		{"X25519", x25519.PublicKey(), "not a signature key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jwks.NewKey("kid", "", tc.pub)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
