package proxytrust

import (
	"net/http"
	"net/netip"
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
	for _, h := range []string{"", "a b", "evil.example/path", "user@evil.example", "evil.example?x", "evil.example#x", "é.example", string(make([]byte, 256)),
		// Not one host[:port]: new URL refuses these (Clerk then falls
		// back to the request's own URL), or they are a list.
		"localhost:3000:443", "app.example.com:65536", "app.example.com:x", ":443", "[::1", "[::1]x", "[::1]:80:80", "[evil.example]", "a,b"} {
		require.False(t, plausibleHost(h), "%q", h)
	}
}

// WebHost writes a host as the browser writes it in the Origin header
// and Clerk's page URL (new URL) does.
func TestWebHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ scheme, host, want string }{
		{"https", "app.example.com", "app.example.com"},
		{"https", "APP.Example.COM", "app.example.com"},
		{"https", "app.example.com:443", "app.example.com"},
		{"https", "app.example.com:0443", "app.example.com"},
		{"https", "app.example.com:", "app.example.com"},
		{"https", "app.example.com:80", "app.example.com:80"},
		{"http", "LOCALHOST:3000", "localhost:3000"},
		{"http", "localhost:80", "localhost"},
		{"http", "localhost:443", "localhost:443"},
		{"https", "app.example.com.", "app.example.com."}, // new URL keeps the dot
		{"https", "[::1]:443", "[::1]"},
		{"http", "localhost:3000:443", "localhost:3000:443"}, // not read: left as it is
		{"https", "", ""},
		{"http", "localhost:03000", "localhost:3000"},
		{"http", "localhost:0", "localhost:0"},
		{"http", "localhost:000", "localhost:0"},
		{"http", "localhost:080", "localhost"},
	} {
		require.Equal(t, tc.want, WebHost(tc.scheme, tc.host), "%s %q", tc.scheme, tc.host)
	}
}

// TestWebHostAsWrittenAllocatesNothing: a host already so written costs
// no allocation, for every page load of a development server on
// localhost:3000 asks for it.
func TestWebHostAsWrittenAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(10, func() { WebHost("http", "localhost:3000") }); n != 0 {
		t.Errorf("%v allocations for localhost:3000, want 0", n)
	}
}

// ClientIP is also the address fapiproxy vouches for to Clerk.
func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted, err := New(false, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		trusted Trust
		peer    string
		xff     []string
		want    string // "" for none
	}{
		{"no trusted proxies: the peer, whatever the header", Trust{}, "192.0.2.1:5000", []string{"6.6.6.6"}, "192.0.2.1"},
		{"an untrusted peer: the peer", trusted, "192.0.2.1:5000", []string{"6.6.6.6"}, "192.0.2.1"},
		{"v4-mapped peer", Trust{}, "[::ffff:192.0.2.1]:5000", nil, "192.0.2.1"},
		{"a trusted peer: the rightmost untrusted hop", trusted, "10.0.0.1:5000", []string{"6.6.6.6, 198.51.100.2", "10.0.0.2"}, "198.51.100.2"},
		{"a trusted IPv6 peer", trusted, "[::1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"every hop trusted: the leftmost", trusted, "10.0.0.1:5000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"a trusted peer naming nobody", trusted, "10.0.0.1:5000", nil, ""},
		{"a hop that is no address", trusted, "10.0.0.1:5000", []string{"6.6.6.6, nonsense"}, ""},
		{"empty hops are skipped", trusted, "10.0.0.1:5000", []string{"6.6.6.6,,"}, "6.6.6.6"},
		{"a hop with a port", trusted, "10.0.0.1:5000", []string{"198.51.100.2:443"}, "198.51.100.2"},
		{"a peer that is no address", Trust{}, "pipe", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			require.Equal(t, tc.want, tc.trusted.ClientIP(r))
		})
	}
}
