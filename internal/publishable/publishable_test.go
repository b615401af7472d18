package publishable

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseClerkVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pk     string
		live   bool
		suffix string
	}{
		{"pk_test_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA", false, "vWCgMp3A"},
		{"pk_live_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA", true, "MqCvchyS"},
	} {
		k, err := Parse(tc.pk)
		require.NoError(t, err)
		require.Equal(t, "clerk.inspired.puma-74.lcl.dev", k.Host)
		require.Equal(t, "https://clerk.inspired.puma-74.lcl.dev", k.Issuer())
		require.Equal(t, tc.live, k.Live)
		require.Equal(t, tc.suffix, k.CookieSuffix())
		require.Equal(t, tc.pk, Encode(k.Host, k.Live))
	}
}

func TestParseRefusesBadKeys(t *testing.T) {
	t.Parallel()
	for _, pk := range []string{
		"",
		"sk_test_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA",
		"pk_test_!!!",
		"pk_test_" + "Y2xlcmsuZXhhbXBsZS5jb20", // no trailing $
		Encode("evil.com/path", false),
		Encode("nodot", false),
	} {
		_, err := Parse(pk)
		require.Error(t, err, pk)
	}
}

// TestParseErrorsShowOnlyThePrefix: whatever was passed, a refusal shows
// at most Clerk's fixed prefix of it, never a character of what follows;
// in particular not of a secret key passed by mistake.
func TestParseErrorsShowOnlyThePrefix(t *testing.T) {
	t.Parallel()
	const secret = "Zq9WvK3xTmB7pLr2YhN8cD4f"
	for _, tc := range []struct{ key, shown string }{
		{"sk_live_" + secret, "sk_live_…"},
		{"sk_test_" + secret, "sk_test_…"},
		{"pk_test_" + secret + "!", "pk_test_…"},
		{"pk_live_" + secret, "pk_live_…"}, // base64, but no host
		{secret, "…"},
		{"pk_" + secret, "…"},
	} {
		_, err := Parse(tc.key)
		require.Error(t, err, tc.key)
		require.Contains(t, err.Error(), `"`+tc.shown+`"`)
		for i := 0; i+3 <= len(secret); i++ {
			require.NotContains(t, err.Error(), secret[i:i+3], "error for %s", tc.key)
		}
	}
	_, err := Parse("sk_live_" + secret)
	require.ErrorContains(t, err, "this is a secret key")
}
