package jwks_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/jwks"
)

func pemOf(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func pkixPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pemOf(t, "PUBLIC KEY", der)
}

func TestNewStaticAcceptsRSAKeys(t *testing.T) {
	t.Parallel()
	pub := &rsaA().PublicKey
	pkix := pkixPEM(t, pub)
	pkcs1 := pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(pub))

	for _, tc := range []struct{ name, pem string }{
		{"PKIX", pkix},
		{"PKCS#1", pkcs1},
		{"one line, newlines stripped", strings.ReplaceAll(pkix, "\n", "")},
		{"one line, newlines became spaces", strings.ReplaceAll(pkix, "\n", " ")},
		{"literal \\n", strings.ReplaceAll(pkix, "\n", `\n`)},
		{"literal \\n, quoted", `"` + strings.ReplaceAll(pkix, "\n", `\n`) + `"`},
		{"CRLF", strings.ReplaceAll(pkix, "\n", "\r\n")},
		{"surrounding whitespace", "\n  " + pkix + "  \n"},
		{"PKCS#1 on one line", strings.ReplaceAll(pkcs1, "\n", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := jwks.NewStatic(tc.pem)
			require.NoError(t, err)
			for _, kid := range []string{"", "ins_anything", "ins_other"} {
				k, err := s.Key(context.Background(), kid)
				require.NoError(t, err)
				require.Empty(t, k.ID)
				require.Equal(t, "RS256", k.Algorithm)
				require.True(t, pub.Equal(k.Public))
			}
		})
	}
}

func TestNewStaticClerkDashboardPEM(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	a, err := jwks.NewStatic(v.PublicKeyPEM)
	require.NoError(t, err)
	b, err := jwks.NewStatic(v.OtherPublicKeyPEM)
	require.NoError(t, err)
	ka, _ := a.Key(context.Background(), "")
	kb, _ := b.Key(context.Background(), "")
	require.False(t, ka.Public.(*rsa.PublicKey).Equal(kb.Public))
}

func TestNewStaticRejects(t *testing.T) {
	t.Parallel()
	pkix := pkixPEM(t, &rsaA().PublicKey)
	body := strings.TrimSuffix(strings.TrimPrefix(pkix, "-----BEGIN PUBLIC KEY-----\n"), "-----END PUBLIC KEY-----\n")
	privDER, err := x509.MarshalPKCS8PrivateKey(rsaA())
	require.NoError(t, err)

	for _, tc := range []struct{ name, pem, want string }{
		{"empty", "", "no PEM block"},
		{"not PEM", "hello", "no PEM block"},
		{"bare base64", body, "no PEM block"},
		{"private key", pemOf(t, "PRIVATE KEY", privDER), `PEM block is "PRIVATE KEY"`},
		{"PKCS#1 private key", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaA())), `PEM block is "RSA PRIVATE KEY"`},
		{"EC key", pkixPEM(t, &ecP256().PublicKey), "want an RSA public key"},
		{"Ed25519 key", pkixPEM(t, func() any { p, _ := newEd25519(t); return p }()), "want an RSA public key"},
		{"RSA 1024", pkixPEM(t, &rsaSmall().PublicKey), "RSA key has 1024 bits, want at least 2048"},
		{"not base64", "-----BEGIN PUBLIC KEY-----\n!!!notbase64!!!\n-----END PUBLIC KEY-----\n", "not valid base64"},
		{"garbage DER", pemOf(t, "PUBLIC KEY", []byte("not a key")), "does not hold a valid key"},
		{"PKCS#1 label on PKIX DER", strings.ReplaceAll(pkix, "PUBLIC KEY", "RSA PUBLIC KEY"), "does not hold a valid key"},
		{"no END line", strings.TrimSuffix(pkix, "-----END PUBLIC KEY-----\n"), "has no -----END PUBLIC KEY----- line"},
		{"unterminated BEGIN", "-----BEGIN PUBLIC KEY", "unterminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := jwks.NewStatic(tc.pem)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, s)
		})
	}
}
