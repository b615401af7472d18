package verifier_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/jwks"
)

// keySet is a fixed, in-memory key source: the verifier's unit tests are
// about tokens, not about fetching keys (jwks/ tests that over HTTP). Its
// keys are made with jwks.NewKey, prepared as Remote's are.
type keySet map[string]jwks.Key

func (k keySet) Key(_ context.Context, kid string) (jwks.Key, error) {
	if key, ok := k[kid]; ok {
		return key, nil
	}
	return jwks.Key{}, fmt.Errorf("kid %q: %w", kid, jwks.ErrKeyNotFound)
}

// keysFromJWKS reads the RSA keys of a JWK Set document (the vectors'
// sets hold nothing else) with encoding/json alone.
func keysFromJWKS(t testing.TB, doc []byte) keySet {
	t.Helper()
	var set struct {
		Keys []struct{ Kty, Kid, Alg, N, E string } `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(doc, &set))
	ks := keySet{}
	for _, k := range set.Keys {
		require.Equal(t, "RSA", k.Kty)
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		require.NoError(t, err)
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		require.NoError(t, err)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		key, err := jwks.NewKey(k.Kid, k.Alg, pub)
		require.NoError(t, err)
		ks[k.Kid] = key
	}
	return ks
}

func fixedClock(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}
