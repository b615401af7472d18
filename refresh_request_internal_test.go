package clerkgate

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// nextHop walks a comma-separated header from the right, across lines,
// skipping empty items, and never changes the header it walks.
func TestNextHop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		values []string
		want   []string // right to left
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{" , ,"}, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a, b ,c"}, []string{"c", "b", "a"}},
		{[]string{"a,", ",b"}, []string{"b", "a"}},
		{[]string{"a, b", "", "c, d"}, []string{"d", "c", "b", "a"}},
	} {
		orig := append([]string(nil), tc.values...)
		var got []string
		values := tc.values
		for {
			h, ok := nextHop(values)
			if !ok {
				break
			}
			got = append(got, h.value)
			values = h.rest
		}
		require.Equal(t, tc.want, got, "%q", tc.values)
		require.Equal(t, orig, tc.values, "the header is left as it was")
	}
}

func TestPlausibleHost(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"app.example.com", "app.example.com:8443", "[::1]:80", "127.0.0.1"} {
		require.True(t, plausibleHost(h), h)
	}
	for _, h := range []string{"", "a b", "evil.example/path", "user@evil.example", "evil.example?x", "evil.example#x", "é.example", string(make([]byte, 256))} {
		require.False(t, plausibleHost(h), "%q", h)
	}
}
