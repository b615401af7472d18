package machine

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Clerk's times come as seconds or milliseconds; both readings of the
// same instant agree, and nonsense is "never", not a date.
func TestClerkTimeUnits(t *testing.T) {
	at := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	sec, ms := float64(at.Unix()), float64(at.UnixMilli())
	require.True(t, clerkTime(&sec).Equal(at))
	require.True(t, clerkTime(&ms).Equal(at))
	for _, v := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		require.True(t, clerkTime(&v).IsZero(), "%v", v)
	}
	require.True(t, clerkTime(nil).IsZero())
}

func TestCheckCredential(t *testing.T) {
	require.NoError(t, checkCredential("ak_abcDEF012-_", APIKeyPrefix))
	for _, bad := range []string{"ak_", "ak_a b", "ak_a\n", "ak_ä", "mt_abc", "ak_" + string(make([]byte, MaxCredentialSize))} {
		require.ErrorIs(t, checkCredential(bad, APIKeyPrefix), ErrInvalidInput, "%q", bad)
	}
}

func TestClassify(t *testing.T) {
	for token, want := range map[string]TokenType{
		"mt_abc": M2MToken, "oat_abc": OAuthToken, "ak_abc": APIKey, "sk_abc": SessionToken, "": SessionToken,
		"a.b.c": SessionToken,
	} {
		require.Equal(t, want, Classify(token), token)
	}
}
