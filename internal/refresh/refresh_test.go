package refresh

import (
	"net/http"
	"slices"
	"testing"
)

// FuzzSessionTokenIn feeds arbitrary Set-Cookie values, as a refresh answer
// may carry them, to the lookup of the new session token. The properties:
// no panic; the result is empty or the value of a cookie that really is
// this instance's session cookie, as net/http parses it; and the suffixed
// cookie wins over the plain one. Which of two cookies of the same name
// wins is left open: Clerk sends one of each.
func FuzzSessionTokenIn(f *testing.F) {
	const suffixed = "__session_vWCgMp3A"
	for _, s := range [][2]string{
		{"__session=plain; Path=/; Secure", suffixed + "=suffixed; Path=/"},
		{suffixed + "=; Path=/", "__session=plain"},
		{"__client_uat=1; Path=/", "__session_other=x"},
		{`__session="quoted"; Path=/`, ""},
		{"__session=a;b", "=__session"},
		{"__SESSION=upper", " __session = spaced "},
		{"", "\x00"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		cookies := []string{a, b}
		got := sessionTokenIn(cookies, suffixed)
		var suffixedValues, plainValues []string
		for _, sc := range cookies {
			c, err := http.ParseSetCookie(sc)
			if err != nil {
				continue
			}
			switch c.Name {
			case suffixed:
				suffixedValues = append(suffixedValues, c.Value)
			case "__session":
				plainValues = append(plainValues, c.Value)
			}
		}
		switch {
		case len(suffixedValues) > 0:
			if !slices.Contains(suffixedValues, got) {
				t.Fatalf("got %q, want a suffixed cookie's value of %q", got, suffixedValues)
			}
		case len(plainValues) > 0:
			if !slices.Contains(plainValues, got) {
				t.Fatalf("got %q, want a __session cookie's value of %q", got, plainValues)
			}
		case got != "":
			t.Fatalf("got %q from cookies that hold no session token: %q", got, cookies)
		}
	})
}
