package cookies

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/clerkgate/clerkgate/internal/testkit"
)

// netHTTPCookie is the oracle for FindOne (testkit.NetHTTPCookie) with
// this package's limits.
func netHTTPCookie(r *http.Request, name string) (value string, ambiguous bool) {
	return testkit.NetHTTPCookie(r, name, MaxBytes, MaxCount, MaxValue)
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
		{strings.Repeat(";", MaxCount) + "__session=over", ""},
		{strings.Repeat(";", MaxCount-2) + "__session=at", ""},
		{"__session=\xff; __session=\x7f", "__session=é"},
		{"__session=a%2Eb; __session= a", "__session=a,b; __session=\"a\""},
		{"__client_uat=0; __clerk_db_jwt=a; __clerk_db_jwt=b", "__clerk_handshake_nonce=n; __clerk_handshake=h"},
		{"  __clerk_redirect_count = 1 ", "__client_uat_vWCgMp3A=\"2\"; __client_uat_vWCgMp3A=2"},
		{"__session=" + strings.Repeat("a", MaxValue+1), "__client_uat=" + strings.Repeat("1", MaxValue)},
		{"__session=\"" + strings.Repeat("a", MaxValue) + "\"", "__session=a"},
		{"__session=" + strings.Repeat("\\", MaxValue+1), "__session=a"},
	} {
		f.Add(s[0], s[1])
	}
	// Every name a page load reads, all in one pass as Find reads
	// them, and each alone.
	names := []string{"__session", suffixed, "__refresh_vWCgMp3A", "__client_uat", "__client_uat_vWCgMp3A",
		"__clerk_db_jwt", "__clerk_db_jwt_vWCgMp3A", "__clerk_handshake", "__clerk_handshake_nonce", "__clerk_redirect_count"}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		r := &http.Request{Header: http.Header{"Cookie": {line1, line2}}}
		found := make([]Found, len(names))
		Find(r.Header["Cookie"], names, found, nil)
		// A known that vouches only for values the octet check accepts
		// (as the Gate's peek memo does) changes nothing.
		vouched := make([]Found, len(names))
		Find(r.Header["Cookie"], names, vouched, ValidValue)
		if !slices.Equal(found, vouched) {
			t.Fatalf("in %q: %v without known, %v with it", r.Header["Cookie"], found, vouched)
		}
		for i, name := range names {
			want, wantUnusable := netHTTPCookie(r, name)
			got, ambiguous := FindOne(r.Header["Cookie"], name)
			if got != want || ambiguous != wantUnusable {
				t.Fatalf("%s in %q: got %q (unusable %v), net/http reads %q (unusable %v)",
					name, r.Header["Cookie"], got, ambiguous, want, wantUnusable)
			}
			if found[i].Value != want || found[i].Unusable != wantUnusable {
				t.Fatalf("%s in %q, read with the others: got %q (unusable %v), net/http reads %q (unusable %v)",
					name, r.Header["Cookie"], found[i].Value, found[i].Unusable, want, wantUnusable)
			}
		}
	})
}

// FuzzValidCookieValue checks the eight-bytes-at-a-time value check
// against RFC 6265's cookie-octets less '%', byte by byte.
func FuzzValidCookieValue(f *testing.F) {
	for _, s := range []string{
		"", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "abcdefgh\"", "abcdefg\x7f", "abcdefg\x1f", "abcdefg\x80",
		"abcdefgh;abcdefgh", "abc\\defghijk", "        ", "~~~~~~~~ ", "!!!!!!!!\x00", "abcdefg%", "abcdefg,", "%2Fabcdefgh",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want := true
		for i := range len(v) {
			if b := v[i]; b <= 0x20 || b >= 0x7f || b == '"' || b == ',' || b == ';' || b == '\\' || b == '%' {
				want = false
			}
		}
		if got := ValidValue(v); got != want {
			t.Fatalf("%q: got %v, want %v", v, got, want)
		}
	})
}

// TestValidCookieValueEveryByte tries every byte at every place of a
// round, and every pair of bytes side by side, where a borrow from one
// byte into the next could hide or invent a bad one.
func TestValidCookieValueEveryByte(t *testing.T) {
	t.Parallel()
	valid := func(b byte) bool {
		return b > 0x20 && b < 0x7f && b != '"' && b != ',' && b != ';' && b != '\\' && b != '%'
	}
	const word = "abcdefghijklmnop"
	long := strings.Repeat(word, 4) // 64 bytes: ValidValue's word loop, not its short path
	for _, word := range []string{word, long, long + "q"} {
		for i := range len(word) {
			w := []byte(word)
			for b := range 256 {
				w[i] = byte(b)
				if got := ValidValue(string(w)); got != valid(byte(b)) {
					t.Fatalf("%q: got %v", w, got)
				}
			}
		}
	}
	var w [64]byte
	copy(w[:], long)
	for i := range 16 { // every pair within one round of the word loop, and across into the next
		for b1 := range 256 {
			for b2 := range 256 {
				w[i], w[i+1] = byte(b1), byte(b2)
				if got := ValidValue(string(w[:])); got != (valid(byte(b1)) && valid(byte(b2))) {
					t.Fatalf("%q: got %v", w, got)
				}
			}
		}
		w[i], w[i+1] = long[i], long[i+1]
	}
}

// TestFindCookieLimits: past MaxCount cookies (a browser's limit) or
// MaxBytes of Cookie headers, a request carries no cookies at all.
func TestFindCookieLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{strings.Repeat(";", MaxCount-2) + "__session=at", "x=y"}, "at"},
		{[]string{strings.Repeat(";", MaxCount-1) + "__session=over", "x=y"}, ""},
		{[]string{"__session=over" + strings.Repeat(";", MaxCount)}, ""}, // read first, dropped once past the count
		{[]string{"__session=at" + strings.Repeat(";", MaxCount-1)}, "at"},
		{[]string{"__session=at; x=" + strings.Repeat("y", MaxBytes-16)}, "at"},
		{[]string{"__session=over; x=" + strings.Repeat("y", MaxBytes-17)}, ""},
		{[]string{"__session=over", strings.Repeat("y", MaxBytes-13)}, ""},
	} {
		got, ambiguous := FindOne(tc.lines, "__session")
		if got != tc.want || ambiguous {
			t.Errorf("%d bytes, %d separators: got %q (unusable %v), want %q",
				len(strings.Join(tc.lines, "")), strings.Count(strings.Join(tc.lines, ""), ";"), got, ambiguous, tc.want)
		}
		r := &http.Request{Header: http.Header{"Cookie": tc.lines}}
		if want, _ := netHTTPCookie(r, "__session"); want != tc.want {
			t.Errorf("the oracle reads %q, want %q", want, tc.want)
		}
	}
}
