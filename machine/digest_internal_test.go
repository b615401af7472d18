package machine

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDigestIsHMAC: the cache's keys are HMAC-SHA256 under the Verifier's
// key whatever the credential's length, on the stack-buffer path (up to
// MaxCredentialSize) and past it, so two credentials never share a key
// unless HMAC-SHA256 collides, and a digest reveals nothing of the secret.
func TestDigestIsHMAC(t *testing.T) {
	t.Parallel()
	v, err := NewVerifier(VerifierConfig{Client: &Client{}})
	require.NoError(t, err)
	for _, n := range []int{0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 128, MaxCredentialSize - 1, MaxCredentialSize, MaxCredentialSize + 1, 4096} {
		token := "ak_" + strings.Repeat("x", max(n-3, 0))
		token = token[:n]
		m := hmac.New(sha256.New, v.digestKey[:])
		m.Write([]byte(token))
		require.Equal(t, m.Sum(nil), func() []byte { d := v.digest(token); return d[:] }(), "length %d", n)
	}
	other, err := NewVerifier(VerifierConfig{Client: &Client{}})
	require.NoError(t, err)
	require.NotEqual(t, v.digest("ak_same"), other.digest("ak_same"), "each Verifier keys its digests with its own random key")
}

// TestDigestDoesNotAllocate: the digest of a credential of a size Verify
// accepts costs no allocation; crypto/hmac's costs three.
func TestDigestDoesNotAllocate(t *testing.T) {
	v, err := NewVerifier(VerifierConfig{Client: &Client{}})
	require.NoError(t, err)
	token := "ak_" + strings.Repeat("A", 60)
	var sink [32]byte
	n := testing.AllocsPerRun(100, func() { sink = v.digest(token) })
	require.Zero(t, n)
	require.NotZero(t, sink)
}
