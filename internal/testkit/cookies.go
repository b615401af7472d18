package testkit

import (
	"net/http"
	"strings"
)

// NetHTTPCookie is the oracle for a cookie scan (internal/cookies): the cookies net/http reads
// under that name, reduced to the one value they all carry, or ambiguous.
// Past maxBytes the Gate reads no cookies, and a value longer than
// maxValue is unusable, as two values are: both on purpose.
func NetHTTPCookie(r *http.Request, name string, maxBytes, maxValue int) (value string, ambiguous bool) {
	size := 0
	for _, line := range r.Header["Cookie"] {
		size += len(line)
	}
	if size > maxBytes {
		return "", false
	}
	if longValue(r.Header["Cookie"], name, maxValue) {
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
// longer than maxValue (less one pair of quotes), valid or not: the
// Gate takes such a cookie for unusable without reading its bytes.
func longValue(lines []string, name string, maxValue int) bool {
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
			if len(v) > maxValue {
				return true
			}
		}
	}
	return false
}
