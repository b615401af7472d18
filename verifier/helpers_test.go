package verifier_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
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

func keysFromJWKS(t testing.TB, doc []byte) keySet {
	t.Helper()
	set, err := jwk.Parse(doc)
	require.NoError(t, err)
	ks := keySet{}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		var raw any
		require.NoError(t, k.Raw(&raw))
		key, err := jwks.NewKey(k.KeyID(), k.Algorithm().String(), raw)
		require.NoError(t, err)
		ks[k.KeyID()] = key
	}
	return ks
}

func fixedClock(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}
