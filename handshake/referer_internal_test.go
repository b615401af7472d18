package handshake

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWebURLAsWHATWG holds webURL to new URL(s).origin and .hostname, as
// Node prints them; "throws" rows are where new URL throws. Where webURL
// answers "" for the origin, it does not know how WHATWG would write the
// host (the caller then counts the Referer as cross-origin).
func TestWebURLAsWHATWG(t *testing.T) {
	for _, tc := range []struct {
		in, origin, hostname string
		throws               bool
	}{
		{in: "android-app://com.example/", origin: "null", hostname: "com.example"},
		{in: "android-app://Clerk.Example.com:99/x", origin: "null", hostname: "Clerk.Example.com"},
		{in: "about:blank", origin: "null"},
		{in: "mailto:x@y", origin: "null"},
		{in: "file:///etc", origin: "null"},
		{in: "null", throws: true},
		{in: "not a url", throws: true},
		{in: "https://", throws: true},
		{in: "https://app.example.com:65536/", throws: true},
		{in: "https://app.example.com:44x/", throws: true},
		{in: "HTTPS://APP.EXAMPLE.COM:443/", origin: "https://app.example.com", hostname: "app.example.com"},
		{in: `https:\\app.example.com\x`, origin: "https://app.example.com", hostname: "app.example.com"},
		{in: " https://app.example.com/", origin: "https://app.example.com", hostname: "app.example.com"},
		{in: "ht\ttps://app.exa\nmple.com/", origin: "https://app.example.com", hostname: "app.example.com"},
		{in: "https://user:pw@app.example.com/", origin: "https://app.example.com", hostname: "app.example.com"},
		{in: "https://app.example.com./", origin: "https://app.example.com.", hostname: "app.example.com."},
		{in: "https://app.example.com:0443/", origin: "https://app.example.com", hostname: "app.example.com"},
		{in: "https://app.example.com:/", origin: "https://app.example.com", hostname: "app.example.com"},
		{in: "http://app.example.com:443/", origin: "http://app.example.com:443", hostname: "app.example.com"},
		{in: "ftp://x.com:21/", origin: "ftp://x.com", hostname: "x.com"},
		{in: "ws://x.com:80/", origin: "ws://x.com", hostname: "x.com"},
		{in: "https://a_b.com/", origin: "https://a_b.com", hostname: "a_b.com"},
		{in: "https://1.2.3.4/", origin: "https://1.2.3.4", hostname: "1.2.3.4"},
		{in: "blob:https://app.example.com/u", origin: "https://app.example.com"},
		{in: "blob:about:blank", origin: "null"},
		// Not rewritten here: new URL gives https://127.0.0.1, https://aa.com,
		// https://xn--pp-uia.com, https://[::1], https://1.2.3.4, and throws
		// for app.123.
		{in: "https://127.1/"},
		{in: "https://a%41.com/"},
		{in: "https://ÄPP.com/"},
		{in: "https://[::1]:443/"},
		{in: "https://01.2.3.4/"},
		{in: "https://app.123/"},
	} {
		u, ok := webURL(tc.in)
		require.Equal(t, !tc.throws, ok, "%q", tc.in)
		require.Equal(t, tc.origin, u.origin, "%q", tc.in)
		require.Equal(t, tc.hostname, u.hostname, "%q", tc.in)
	}
}

// FuzzWebURL: no panic; where new URL would throw there is no origin;
// an origin is "null" or scheme://host[:port] in lower case.
func FuzzWebURL(f *testing.F) {
	for _, s := range []string{"https://APP.example.com:443/", "about:blank", "null", "blob:https://a.b/x", `https:\\a\b`, "a://[::1]", "https://a:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := webURL(s)
		if !ok {
			require.Empty(t, u.origin)
			return
		}
		if u.origin != "" && u.origin != "null" {
			require.Equal(t, strings.ToLower(u.origin), u.origin)
			require.Contains(t, u.origin, "://")
		}
	})
}
