package jwks

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSnapshotKeysArePreparedOnce: every RSA key of a fetched set comes
// prepared from its own Public, and a refresh that brings the same key
// keeps the same prepared form, as it keeps the same Public pointer.
func TestSnapshotKeysArePreparedOnce(t *testing.T) {
	t.Parallel()
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	doc := func(keys ...*rsa.PrivateKey) []byte {
		s := `{"keys":[`
		for i, k := range keys {
			if i > 0 {
				s += ","
			}
			s += fmt.Sprintf(`{"kty":"RSA","kid":"k%d","alg":"RS256","use":"sig","n":%q,"e":%q}`, i,
				base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()))
		}
		return []byte(s + "]}")
	}
	first, err := parseKeySet(doc(a, b), nil)
	require.NoError(t, err)
	for kid, k := range first.keys {
		require.NotNil(t, k.rsa, kid)
		require.Same(t, k.Public, k.rsa.Public(), kid)
	}
	again, err := parseKeySet(doc(a, a), first.keys)
	require.NoError(t, err)
	require.Same(t, first.keys["k0"].rsa, again.keys["k0"].rsa, "same key, same kid: carried over")
	require.NotSame(t, first.keys["k1"].rsa, again.keys["k1"].rsa, "new material under k1: prepared anew")
	require.Same(t, again.keys["k1"].Public, again.keys["k1"].rsa.Public())
}
