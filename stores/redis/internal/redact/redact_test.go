// Code generated from the root module's internal/redact/redact_test.go by internal/tools (go test -run TestCopies -update); DO NOT EDIT.

package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                                      "",
		"https://api.clerk.com":                 "https://api.clerk.com",
		"https://api.clerk.com/":                "https://api.clerk.com/",
		"http://127.0.0.1:8080/clerk":           "http://127.0.0.1:8080/clerk",
		"https://user:s3cret@api.example.com":   "https://api.example.com",
		"https://user@api.example.com/p":        "https://api.example.com/p",
		"https://:s3cret@api.example.com":       "https://api.example.com",
		"https://api.example.com?token=s3cret":  "https://api.example.com",
		"https://api.example.com/p#s3cret":      "https://api.example.com/p",
		"https://u:p@api.example.com/p?k=v#f":   "https://api.example.com/p",
		"redis://:s3cretpass@host:bad":          "redis://host:bad",
		"rediss://user:s3cret@host:6380/0":      "rediss://host:6380/0",
		"https://u:pa/ss@host/p":                "https://host/p", // "/" in the password
		"https://u:p@ss:w@host":                 "https://host",   // "@" in the password
		"https://u:a://b@host":                  "https://host",   // "://" in the password
		"https://u:pa?ss@host/p":                "https://",       // "?" in the password, or "@" in a query: ambiguous
		"https://host/p?email=a@b.c&token=x":    "https://",       // the same ambiguity, the other way round
		"https://u:pa#ss@host":                  "https://",       // "#" in the password
		"user:s3cret@host:6379":                 "host:6379",      // no scheme
		"u:pa://ss@host":                        "host",           // "://" that is no scheme's
		"api.clerk.com":                         "api.clerk.com",  // relative
		"ftp://user:s3cret@files.example.com/x": "ftp://files.example.com/x",
		"https://api.clerk.com:port":            "https://api.clerk.com:port",
		"1https://u:p@host":                     "host", // not a scheme
	}
	for raw, want := range cases {
		if got := URL(raw); got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// FuzzURL builds URLs with a secret in the userinfo and in the query, and
// checks that what URL shows is the scheme and a piece of the host and path
// only: never the secret, wherever delimiters inside the parts move the
// boundaries.
func FuzzURL(f *testing.F) {
	f.Add("https", "user", "s3cret", "api.example.com", "/clerk", "token=s3cret")
	f.Add("redis", "", "pa/ss", "host:bad", "", "")
	f.Add("https", "u", "pa?ss", "host", "/p", "a=b@c")
	f.Add("x", "u@v", "p#q", "h@i", "/p?q", "#")
	f.Fuzz(func(t *testing.T, scheme, user, pass, host, path, query string) {
		raw := scheme + "://" + user + ":" + pass + "@" + host + path + "?" + query
		got := URL(raw)
		shown := strings.TrimPrefix(got, scheme+"://")
		if !strings.Contains(host+path, shown) {
			t.Fatalf("URL(%q) = %q: %q is not from the host or path %q", raw, got, shown, host+path)
		}
		for _, secret := range []string{user + ":" + pass, query} {
			if len(secret) > 1 && strings.Contains(got, secret) && !strings.Contains(scheme+"://"+host+path, secret) {
				t.Fatalf("URL(%q) = %q shows %q", raw, got, secret)
			}
		}
	})
}

// TestReason: whatever makes a URL unparsable, the reason given never
// quotes its password or query, even where net/url's own reason would.
func TestReason(t *testing.T) {
	t.Parallel()
	parse := func(s string) (*url.URL, error) { return url.Parse(s) }
	cases := map[string]string{
		"https://u:s3cret/x@host":         "its credentials, query or fragment do not parse", // net/url: invalid port ":s3cret"
		"https://u:s3cret@host:bad":       `invalid port ":bad" after host`,
		"https://u:s3cret@ho st":          `invalid character " " in host name`,
		"https://host/p#t=s3cret%zz":      "its credentials, query or fragment do not parse",
		"https://u:s3%cret@host":          "its credentials, query or fragment do not parse", // net/url: invalid URL escape "%ce"
		"https://u:s3cret@host\x7f/":      "net/url: invalid control character in URL",
		"https://u:s3cret@host:99999999a": `invalid port ":99999999a" after host`,
	}
	for raw, want := range cases {
		_, err := url.Parse(raw)
		if err == nil {
			t.Fatalf("%q parses; the case tests nothing", raw)
		}
		got := Reason(raw, parse)
		if !strings.HasPrefix(got, want) {
			t.Errorf("Reason(%q) = %q, want %q", raw, got, want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "s3%ce") {
			t.Errorf("Reason(%q) = %q shows the secret", raw, got)
		}
	}
}
