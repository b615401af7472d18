package clerktest_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/internal/jwktest"
	"github.com/clerkgate/clerkgate/internal/publishable"
)

func TestJWKSServesKeyThatVerifiesTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	token := s.Token(sess.ID)

	res := call(t, s, http.MethodGet, "/v1/jwks", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	require.JSONEq(t, string(s.JWKS()), string(res.Body))

	var doc map[string][]map[string]any
	res.decode(t, &doc)
	require.Len(t, doc["keys"], 1)
	key := doc["keys"][0]
	require.Equal(t, "RSA", key["kty"])
	require.Equal(t, "RS256", key["alg"])
	require.Equal(t, "sig", key["use"])
	require.Equal(t, "AQAB", key["e"])
	require.True(t, strings.HasPrefix(key["kid"].(string), "ins_"))
	require.Equal(t, s.KeyID(), key["kid"])

	require.NoError(t, verifyAgainstJWKS(res.Body, token))

	// A second, independent check (crypto/rsa alone) agrees.
	_, err := jwktest.VerifyWithSet(res.Body, token)
	require.NoError(t, err)

	// So does the PEM a CLERK_JWT_KEY user would configure.
	block, _ := pem.Decode([]byte(s.PublicKeyPEM()))
	require.NotNil(t, block)
	require.Equal(t, "PUBLIC KEY", block.Type)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	_, err = jwktest.VerifyRS256(pub.(*rsa.PublicKey), token)
	require.NoError(t, err)
	require.Equal(t, 2048, pub.(*rsa.PublicKey).N.BitLen())
}

func TestInstanceIdentity(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	require.True(t, strings.HasPrefix(s.FrontendHost(), "clerk."))
	require.True(t, strings.HasSuffix(s.FrontendHost(), ".lcl.dev"))
	// With WithLocalFrontendAPI, the key points at the fake's own
	// Frontend API.
	local := newServer(t, clerktest.WithLocalFrontendAPI())
	require.True(t, strings.HasPrefix(local.FrontendHost(), "127.0.0.1:"))
	require.Equal(t, "https://"+local.FrontendHost(), local.FrontendURL())
	require.Equal(t, "https://"+s.FrontendHost(), s.Issuer())
	require.True(t, strings.HasPrefix(s.SecretKey(), "sk_test_"))
	require.True(t, strings.HasPrefix(s.URL(), "http://127.0.0.1:"))

	k, err := publishable.Parse(s.PublishableKey())
	require.NoError(t, err)
	require.False(t, k.Live)
	require.Equal(t, s.FrontendHost(), k.Host)
	require.Equal(t, k.CookieSuffix(), s.CookieSuffix())

	other := newServer(t)
	require.NotEqual(t, s.SecretKey(), other.SecretKey())
	require.NotEqual(t, s.FrontendHost(), other.FrontendHost())
	require.NotEqual(t, s.KeyID(), other.KeyID())
}

func TestWithFrontendHost(t *testing.T) {
	t.Parallel()
	// The host of Clerk's own test vectors, whose suffix is known.
	s := newServer(t, clerktest.WithFrontendHost("https://clerk.inspired.puma-74.lcl.dev/"))
	require.Equal(t, "clerk.inspired.puma-74.lcl.dev", s.FrontendHost())
	require.Equal(t, "https://clerk.inspired.puma-74.lcl.dev", s.Issuer())
	require.Equal(t, "pk_test_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA", s.PublishableKey())
	require.Equal(t, "vWCgMp3A", s.CookieSuffix())
	require.Equal(t, s.Issuer(), claimsOf(t, s.Token("sess_x"))["iss"])
}

func TestWithKeyBits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ask, want int }{{1024, 2048}, {3072, 3072}} {
		s := newServer(t, clerktest.WithKeyBits(tc.ask))
		block, _ := pem.Decode([]byte(s.PublicKeyPEM()))
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		require.NoError(t, err)
		require.Equal(t, tc.want, pub.(*rsa.PublicKey).N.BitLen())
	}
}

func jwksKids(t *testing.T, s *clerktest.Server) []string {
	t.Helper()
	res := call(t, s, http.MethodGet, "/v1/jwks", nil)
	require.Equal(t, http.StatusOK, res.Status)
	var doc struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	res.decode(t, &doc)
	kids := make([]string, 0, len(doc.Keys))
	for _, k := range doc.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestRotateKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	before := s.Token(sess.ID)
	pemBefore := s.PublicKeyPEM()

	oldKid, newKid := s.RotateKey()
	require.NotEqual(t, oldKid, newKid)
	require.Equal(t, oldKid, headerOf(t, before)["kid"])
	require.Equal(t, newKid, s.KeyID())
	require.NotEqual(t, pemBefore, s.PublicKeyPEM())

	require.Equal(t, []string{newKid}, jwksKids(t, s))
	after := s.Token(sess.ID)
	require.Equal(t, newKid, headerOf(t, after)["kid"])
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), after))
	require.Error(t, verifyAgainstJWKS(s.JWKS(), before), "the old key is no longer served")
}

func TestRotateKeyKeepsRetiredKeysServed(t *testing.T) {
	t.Parallel()
	s := newServer(t, clerktest.WithRetiredKeys(1))
	sess := s.CreateSession("user_1")
	before := s.Token(sess.ID)

	first, second := s.RotateKey()
	require.Equal(t, []string{second, first}, jwksKids(t, s), "current key first, then the retired one")
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), before))

	_, third := s.RotateKey()
	require.Equal(t, []string{third, second}, jwksKids(t, s), "only one retired key is kept")
}

func TestJWKSDocumentIsStrictJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(s.JWKS(), &doc))
	require.Len(t, doc, 1, "JWKS has additionalProperties: false; only keys")
	var keys []map[string]any
	require.NoError(t, json.Unmarshal(doc["keys"], &keys))
	require.Len(t, keys[0], 6)
}
