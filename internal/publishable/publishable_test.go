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
