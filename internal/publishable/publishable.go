// Package publishable decodes and encodes Clerk publishable keys.
//
// A publishable key is "pk_test_" or "pk_live_" followed by the standard
// unpadded base64 encoding of the instance's Frontend API host and a trailing "$".
// The key is public; clerkgate uses it to learn the issuer every session
// token must carry and the suffix of the instance's cookie names.
package publishable

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
)

const (
	testPrefix = "pk_test_"
	livePrefix = "pk_live_"
)

// Key is a decoded publishable key.
type Key struct {
	// Raw is the publishable key as given.
	Raw string
	// Host is the Frontend API host, such as "clerk.example.com".
	Host string
	// Live reports a production instance (pk_live_).
	Live bool
}

// Parse decodes a publishable key. It refuses anything that is not exactly
// a prefix plus the base64 of a plausible host followed by "$".
func Parse(pk string) (Key, error) {
	var live bool
	var enc string
	switch {
	case strings.HasPrefix(pk, testPrefix):
		enc = pk[len(testPrefix):]
	case strings.HasPrefix(pk, livePrefix):
		enc, live = pk[len(livePrefix):], true
	case strings.HasPrefix(pk, "sk_"):
		// The classic mix-up: the secret key in the publishable key's
		// place. Name it, and show nothing of it.
		return Key{}, fmt.Errorf("publishable key %q: this is a secret key; want prefix pk_test_ or pk_live_", Redact(pk))
	default:
		return Key{}, fmt.Errorf("publishable key %q: want prefix pk_test_ or pk_live_", Redact(pk))
	}
	// Clerk writes the host unpadded; accept a padded copy too.
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(enc, "="))
	if err != nil {
		return Key{}, fmt.Errorf("publishable key %q: not base64: %v", Redact(pk), err)
	}
	host, ok := strings.CutSuffix(string(raw), "$")
	if !ok || !validHost(host) {
		return Key{}, fmt.Errorf("publishable key %q: does not encode a Frontend API host", Redact(pk))
	}
	return Key{Raw: pk, Host: host, Live: live}, nil
}

// Encode builds the publishable key for a Frontend API host.
func Encode(host string, live bool) string {
	prefix := testPrefix
	if live {
		prefix = livePrefix
	}
	return prefix + base64.RawStdEncoding.EncodeToString([]byte(host+"$"))
}

// Issuer is the iss claim of the instance's session tokens.
func (k Key) Issuer() string { return "https://" + k.Host }

// CookieSuffix is the suffix Clerk appends to the instance's cookie names
// (__session_<suffix>, __refresh_<suffix>): the first 8 characters of the
// URL-safe base64 of the SHA-1 of the publishable key.
func (k Key) CookieSuffix() string { return CookieSuffix(k.Raw) }

// CookieSuffix computes the cookie suffix for a publishable key.
func CookieSuffix(pk string) string {
	sum := sha1.Sum([]byte(pk))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:8]
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == ':':
		default:
			return false
		}
	}
	return true
}

// Redact shows no more of a key than its kind: one of Clerk's fixed
// prefixes, or nothing. A secret key pasted where the publishable key
// belongs ends up in start-up errors and logs, and even a few of its
// characters narrow a search for it.
func Redact(s string) string {
	for _, prefix := range []string{testPrefix, livePrefix, "sk_test_", "sk_live_", "ak_"} {
		if strings.HasPrefix(s, prefix) {
			return prefix + "…"
		}
	}
	if s == "" {
		return ""
	}
	return "…"
}
