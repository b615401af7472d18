package testkit

import (
	"net/http"
	"strings"
)

// NetHTTPCookie is the oracle for a cookie scan (internal/cookies): the
// cookies net/http reads under that name, reduced to the one value they
// all carry, or unusable. Past maxBytes or maxCount the Gate reads no
// cookies; a value longer than maxValue, or that is not all RFC 6265
// cookie-octets without '%' (where net/http and Clerk's parser could read
// it otherwise), is unusable, as two values are: all on purpose.
func NetHTTPCookie(r *http.Request, name string, maxBytes, maxCount, maxValue int) (value string, unusable bool) {
	size, count := 0, 0
	for _, line := range r.Header["Cookie"] {
		size += len(line)
		count += strings.Count(line, ";") + 1
	}
	if size > maxBytes || count > maxCount {
		return "", false
	}
	if unusableValue(r.Header["Cookie"], name, maxValue) {
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

// unusableValue reports whether a pair of the lines names name (as
// net/http trims names) with a value, trimmed of white space on the right
// as net/http trims a pair, that is longer than maxValue or holds a byte
// other than a cookie-octet, or '%'.
func unusableValue(lines []string, name string, maxValue int) bool {
	const ws = " \t\r\n"
	for _, line := range lines {
		for _, pair := range strings.Split(line, ";") {
			n, v, _ := strings.Cut(pair, "=")
			if strings.Trim(n, ws) != name {
				continue
			}
			v = strings.TrimRight(v, ws)
			if len(v) > maxValue {
				return true
			}
			for _, b := range []byte(v) {
				// RFC 6265 §4.1.1: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
				octet := b == 0x21 || 0x23 <= b && b <= 0x2b || 0x2d <= b && b <= 0x3a ||
					0x3c <= b && b <= 0x5b || 0x5d <= b && b <= 0x7e
				if !octet || b == '%' {
					return true
				}
			}
		}
	}
	return false
}
