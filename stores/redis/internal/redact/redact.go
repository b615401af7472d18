// Code generated from the root module's internal/redact/redact.go by internal/tools (go test -run TestCopies -update); DO NOT EDIT.

// Package redact shows configured URLs in error and log messages without
// the secrets they may carry.
//
// A URL from the environment (CLERK_API_URL, a Redis URL) can hold a user
// name and password, or a token in its query, and error messages end up in
// logs that more people read than the environment. net/url's
// URL.Redacted is not enough: it keeps the user name, and it needs a URL
// that parses, while the URLs most worth an error message are the ones
// that do not.
//
//	redact.URL("https://user:pass@api.example.com/clerk?token=x") // "https://api.example.com/clerk"
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// URL returns raw without userinfo, query or fragment: the scheme, host
// and path, as far as they can be told apart safely. It works on the text,
// so that a URL that does not parse is redacted too.
//
// Userinfo ends at the last "@", because a password may hold unescaped
// "/", "?" or "#" that would make a parser end the host early and show a
// piece of it. When an "@" follows the first "?" or "#", nothing tells a
// password holding "?" from a query holding "@", and only the scheme is
// kept.
func URL(raw string) string {
	scheme, rest := splitScheme(raw)
	query := strings.IndexAny(rest, "?#")
	at := strings.LastIndexByte(rest, '@')
	if query >= 0 && at > query {
		return scheme
	}
	if at >= 0 {
		rest = rest[at+1:]
		if query >= 0 {
			query -= at + 1
		}
	}
	if query >= 0 {
		rest = rest[:query]
	}
	return scheme + rest
}

// splitScheme cuts "scheme://" off raw, when raw starts with one.
func splitScheme(raw string) (scheme, rest string) {
	name, _, ok := strings.Cut(raw, "://")
	if !ok || !validScheme(name) {
		return "", raw
	}
	return raw[:len(name)+3], raw[len(name)+3:]
}

// validScheme follows RFC 3986: a letter, then letters, digits, "+", "-"
// or ".". Anything else before "://" is part of something else (a
// password holding "://", say), not a scheme.
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// Reason says why parse refused raw without showing raw's secrets. Parsers'
// errors quote the URL they refuse, and even their reason alone can hold a
// piece of a password: net/url ends the host at a "/" inside a password
// and reports the rest as an "invalid port". So raw's own error is never
// used: when the redacted URL fails too, its error is the reason (it can
// hold only what URL shows); when it parses, the fault lies in what
// redaction took away, and a fixed sentence says so.
func Reason[T any](raw string, parse func(string) (T, error)) string {
	_, err := parse(URL(raw))
	if err == nil {
		return "its credentials, query or fragment do not parse (not shown, as they may be secret)"
	}
	// The URL is shown beside the reason already; keep only the reason.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
