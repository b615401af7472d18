package clerkgate

import (
	"net/http"
	"strings"
	"testing"

	"github.com/clerkgate/clerkgate/internal/testkit"
)

// netHTTPCookie is the oracle for findCookie: the cookies net/http reads
// under that name, reduced to the one value they all carry, or ambiguous.
// Past maxCookieBytes the Gate reads no cookies, and a value longer than
// maxCookieValue is unusable, as two values are: both on purpose.
func netHTTPCookie(r *http.Request, name string) (value string, ambiguous bool) {
	size := 0
	for _, line := range r.Header["Cookie"] {
		size += len(line)
	}
	if size > maxCookieBytes {
		return "", false
	}
	if longValue(r.Header["Cookie"], name) {
		return "", true
	}
	cookies := r.CookiesNamed(name)
	for _, c := range cookies {
		if c.Value != cookies[0].Value {
			return "", true
		}
	}
	if len(cookies) == 0 {
		return "", false
	}
	return cookies[0].Value, false
}

// longValue reports whether a pair of the lines names name with a value
// longer than maxCookieValue (less one pair of quotes), valid or not: the
// Gate takes such a cookie for unusable without reading its bytes.
func longValue(lines []string, name string) bool {
	for _, line := range lines {
		for _, pair := range strings.Split(line, ";") {
			n, v, ok := strings.Cut(pair, "=")
			if !ok || strings.Trim(n, " \t") != name {
				continue
			}
			v = strings.TrimRight(v, " \t")
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if len(v) > maxCookieValue {
				return true
			}
		}
	}
	return false
}

// FuzzFindCookie checks the cookie scan against net/http's own parser, for
// the names the Gate looks for, on arbitrary Cookie header lines.
func FuzzFindCookie(f *testing.F) {
	const suffixed = "__session_vWCgMp3A"
	for _, s := range [][2]string{
		{"__session=a", ""},
		{"__session=a; __session=b", ""},
		{"__session=a", "__session=a"},
		{`__session="a"; __session=a`, ""},
		{`__session="a`, `__session=""`},
		{"__session \t=  a  ;x=y", "__session"},
		{"x=__session=a; y=z __session=b", ";__session\r=c\n"},
		{"__session=a b;__session=a\\b", "__session=a,b"},
		{suffixed + "=s; __session=p", "__session_vWCgMp3AX=n"},
		{strings.Repeat(";", maxCookies) + "__session=over", ""},
		{strings.Repeat(";", maxCookies-2) + "__session=at", ""},
		{"__session=\xff; __session=\x7f", "__session=é"},
		{"__client_uat=0; __clerk_db_jwt=a; __clerk_db_jwt=b", "__clerk_handshake_nonce=n; __clerk_handshake=h"},
		{"  __clerk_redirect_count = 1 ", "__client_uat_vWCgMp3A=\"2\"; __client_uat_vWCgMp3A=2"},
		{"__session=" + strings.Repeat("a", maxCookieValue+1), "__client_uat=" + strings.Repeat("1", maxCookieValue)},
		{"__session=\"" + strings.Repeat("a", maxCookieValue) + "\"", "__session=a"},
		{"__session=" + strings.Repeat("\\", maxCookieValue+1), "__session=a"},
	} {
		f.Add(s[0], s[1])
	}
	// Every name a page load reads, all in one pass as findCookies reads
	// them, and each alone.
	names := []string{sessionCookie, suffixed, refreshCookie + "_vWCgMp3A", "__client_uat", "__client_uat_vWCgMp3A",
		"__clerk_db_jwt", "__clerk_db_jwt_vWCgMp3A", "__clerk_handshake", "__clerk_handshake_nonce", "__clerk_redirect_count"}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		r := &http.Request{Header: http.Header{"Cookie": {line1, line2}}}
		found := make([]foundCookie, len(names))
		findCookies(r.Header["Cookie"], names, found)
		for i, name := range names {
			want, wantAmbiguous := netHTTPCookie(r, name)
			got, ambiguous := findCookie(r.Header["Cookie"], name)
			if got != want || ambiguous != wantAmbiguous {
				t.Fatalf("%s in %q: got %q (ambiguous %v), net/http reads %q (ambiguous %v)",
					name, r.Header["Cookie"], got, ambiguous, want, wantAmbiguous)
			}
			if found[i].value != want || found[i].ambiguous != wantAmbiguous {
				t.Fatalf("%s in %q, read with the others: got %q (ambiguous %v), net/http reads %q (ambiguous %v)",
					name, r.Header["Cookie"], found[i].value, found[i].ambiguous, want, wantAmbiguous)
			}
		}
	})
}

// FuzzValidCookieValue checks the eight-bytes-at-a-time value check
// against net/http's rule, byte by byte.
func FuzzValidCookieValue(f *testing.F) {
	for _, s := range []string{
		"", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "abcdefgh\"", "abcdefg\x7f", "abcdefg\x1f", "abcdefg\x80",
		"abcdefgh;abcdefgh", "abc\\defghijk", "        ", "~~~~~~~~ ", "!!!!!!!!\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want := true
		for i := range len(v) {
			if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
				want = false
			}
		}
		if got := validCookieValue(v); got != want {
			t.Fatalf("%q: got %v, want %v", v, got, want)
		}
	})
}

// TestValidCookieValueEveryByte tries every byte at every place of a
// word, and every pair of bytes side by side, where a borrow from one byte
// into the next could hide or invent a bad one.
func TestValidCookieValueEveryByte(t *testing.T) {
	t.Parallel()
	valid := func(b byte) bool { return b >= 0x20 && b < 0x7f && b != '"' && b != ';' && b != '\\' }
	const word = "abcdefghijklmnop"
	for i := range len(word) {
		w := []byte(word)
		for b := range 256 {
			w[i] = byte(b)
			if got := validCookieValue(string(w)); got != valid(byte(b)) {
				t.Fatalf("%q: got %v", w, got)
			}
		}
	}
	var w [8]byte
	copy(w[:], word)
	for i := range 7 {
		for b1 := range 256 {
			for b2 := range 256 {
				w[i], w[i+1] = byte(b1), byte(b2)
				if got := validCookieValue(string(w[:])); got != (valid(byte(b1)) && valid(byte(b2))) {
					t.Fatalf("%q: got %v", w, got)
				}
			}
		}
		w[i], w[i+1] = word[i], word[i+1]
	}
}

// TestFindCookieLimits: past maxCookies cookies (net/http's limit) or
// maxCookieBytes of Cookie headers, a request carries no cookies at all.
func TestFindCookieLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{strings.Repeat(";", maxCookies-2) + "__session=at", "x=y"}, "at"},
		{[]string{strings.Repeat(";", maxCookies-1) + "__session=over", "x=y"}, ""},
		{[]string{"__session=at; x=" + strings.Repeat("y", maxCookieBytes-16)}, "at"},
		{[]string{"__session=over; x=" + strings.Repeat("y", maxCookieBytes-17)}, ""},
		{[]string{"__session=over", strings.Repeat("y", maxCookieBytes-13)}, ""},
	} {
		got, ambiguous := findCookie(tc.lines, sessionCookie)
		if got != tc.want || ambiguous {
			t.Errorf("%d bytes, %d separators: got %q (ambiguous %v), want %q",
				len(strings.Join(tc.lines, "")), strings.Count(strings.Join(tc.lines, ""), ";"), got, ambiguous, tc.want)
		}
		r := &http.Request{Header: http.Header{"Cookie": tc.lines}}
		if want, _ := netHTTPCookie(r, sessionCookie); want != tc.want {
			t.Errorf("the oracle reads %q, want %q", want, tc.want)
		}
	}
}

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
		{[]string{`__session="mine"; __session=mine`}, "mine"},
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
	const mib, kib64 = 1 << 20, maxCookieBytes
	for _, bc := range []struct{ name, cookie string }{
		{"normal", normal},
		// Past maxCookieBytes: read as no cookies at all.
		{"1MiB_one_value", "junk=" + strings.Repeat("x", mib)},
		{"1MiB_tiny_cookies", strings.Repeat("a=b; ", mib/5)},
		{"1MiB_then_token", strings.Repeat("x", mib) + "; " + g.suffixed(sessionCookie) + "=" + token},
		// The most expensive headers within the limits.
		{"64KiB_one_value", "junk=" + strings.Repeat("x", kib64-5)},
		{"64KiB_3000_cookies", strings.Repeat("junk="+strings.Repeat("x", kib64/maxCookies-7)+"; ", maxCookies-1)},
		{"64KiB_spaces", strings.Repeat(strings.Repeat(" ", kib64/maxCookies-12)+"__session=x;", maxCookies-1)},
		{"64KiB_near_misses", strings.Repeat("__session_vWCgMp3="+strings.Repeat("x", kib64/maxCookies-19)+";", maxCookies-1)},
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
