package parity_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// vectors is the part of the root module's testdata/clerk-js-vectors.json
// (Clerk's test vectors, see that folder's README) that the parity test
// builds its tokens from. The test reads the root's copy in place: this
// module is never released, so it always sits next to the root's folder.
// It keeps its own reader rather than importing the root's internal test
// kit, because no module imports another module's internal packages.
type vectors struct {
	Now             int64  `json:"now"`
	PublicKeyPEM    string `json:"public_key_pem"`
	SigningKeyPEM   string `json:"signing_key_pem"`
	Issuer          string `json:"issuer"`
	AuthorizedParty string `json:"authorized_party"`
	PublishableTest string `json:"publishable_key_test"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "clerk-js-vectors.json"))
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// SigningKey parses the vectors' PKCS#8 private key.
func (v vectors) SigningKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(v.SigningKeyPEM))
	require.NotNil(t, block, "no PEM block in signing_key_pem")
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	key, ok := k.(*rsa.PrivateKey)
	require.True(t, ok, "signing_key_pem holds a %T, not an RSA key", k)
	return key
}
