package clerkgate

import (
	"net/http"
	"strings"
	"testing"

	"github.com/clerkgate/clerkgate/internal/cookies"
	"github.com/clerkgate/clerkgate/internal/testkit"
)

// TestTokenFromRefusesTwoSessionCookies: a second __session cookie with
// another value, as a sibling subdomain can plant, is refused as malformed
// rather than either being picked; the same value twice is one cookie.
func TestTokenFromRefusesTwoSessionCookies(t *testing.T) {
	t.Parallel()
	vec := testkit.LoadVectors(t)
	g, err := New(Config{JWTKey: vec.PublicKeyPEM, PublishableKey: vec.PublishableTest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	for _, tc := range []struct {
		cookies []string
		want    string
	}{
		{[]string{"__session=planted; __session=mine"}, malformed},
		{[]string{"__session=planted", "__session=mine"}, malformed},
		{[]string{g.suffixed(sessionCookie) + "=planted; " + g.suffixed(sessionCookie) + "=mine"}, malformed},
		{[]string{g.suffixed(sessionCookie) + "=; " + g.suffixed(sessionCookie) + "=mine"}, malformed},
		{[]string{"__session=mine; __session=mine"}, "mine"},
		// A quoted value is one net/http unquotes and Clerk does not.
		{[]string{`__session="mine"; __session=mine`}, malformed},
		{[]string{`__session="mine"`}, malformed},
		{[]string{`__session=mi%6Ee`}, malformed},
		{[]string{`__session= mine`}, malformed},
		// The suffixed cookie counts alone when it has a value.
		{[]string{g.suffixed(sessionCookie) + "=mine; __session=a; __session=b"}, "mine"},
	} {
		r := &http.Request{Header: http.Header{"Cookie": tc.cookies}}
		if got := g.tokenFrom(r); got != tc.want {
			t.Errorf("Cookie %q: got %q, want %q", tc.cookies, got, tc.want)
		}
	}
}

// BenchmarkCookies measures what reading the cookies costs the Gate for one
// request: the session token (suffixed, then plain) and the refresh cookie,
// as a request with an expired token reads them. "normal" is a browser's
// Cookie header on a Clerk app; the others are 1 MiB headers shaped to be
// expensive. Compare each one's ns/op with "normal" in the same run.
func BenchmarkCookies(b *testing.B) {
	vec := testkit.LoadVectors(b)
	g, err := New(Config{JWTKey: vec.PublicKeyPEM, PublishableKey: vec.PublishableTest})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	token := vec.Token(vec.Cases[0].Name)
	normal := "__client_uat=1700000000; __client_uat_" + vec.CookieSuffix["test"] + "=1700000000; " +
		g.suffixed(sessionCookie) + "=" + token + "; " + g.suffixed(refreshCookie) + "=" + strings.Repeat("r", 40) +
		"; _ga=GA1.1.123456789.1700000000; theme=dark"
	const mib, kib64 = 1 << 20, cookies.MaxBytes
	for _, bc := range []struct{ name, cookie string }{
		{"normal", normal},
		// Past cookies.MaxBytes: read as no cookies at all.
		{"1MiB_one_value", "junk=" + strings.Repeat("x", mib)},
		{"1MiB_tiny_cookies", strings.Repeat("a=b; ", mib/5)},
		{"1MiB_then_token", strings.Repeat("x", mib) + "; " + g.suffixed(sessionCookie) + "=" + token},
		// The most expensive headers within the limits.
		{"64KiB_one_value", "junk=" + strings.Repeat("x", kib64-5)},
		{"64KiB_3000_cookies", strings.Repeat("junk="+strings.Repeat("x", kib64/cookies.MaxCount-7)+"; ", cookies.MaxCount-1)},
		{"64KiB_spaces", strings.Repeat(strings.Repeat(" ", kib64/cookies.MaxCount-12)+"__session=x;", cookies.MaxCount-1)},
		{"64KiB_near_misses", strings.Repeat("__session_vWCgMp3="+strings.Repeat("x", kib64/cookies.MaxCount-19)+";", cookies.MaxCount-1)},
		{"64KiB_then_token", strings.Repeat("x", kib64-len(token)-30) + "; " + g.suffixed(sessionCookie) + "=" + token},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := &http.Request{Header: http.Header{"Cookie": {bc.cookie}}}
			b.SetBytes(int64(len(bc.cookie)))
			b.ReportAllocs()
			for b.Loop() {
				g.tokenFrom(r)
				cookieValue(r, g.suffixed(refreshCookie))
			}
		})
	}
}
