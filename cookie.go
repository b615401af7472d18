package clerkgate

import (
	"net/http"
	"net/textproto"
	"strings"
)

// Cookie names Clerk sets on the app's domain.
const (
	sessionCookie = "__session"
	refreshCookie = "__refresh"
)

// tokenFrom finds the session token: an Authorization Bearer header wins;
// otherwise the instance's suffixed __session_<suffix> cookie, then the
// plain __session cookie. Other Authorization schemes (Basic, …) carry no
// session token, so they fall through to the cookies.
func (g *Gate) tokenFrom(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			// A present-but-empty bearer token is still "a token was
			// presented": refuse it as malformed rather than anonymous.
			if t := strings.TrimSpace(token); t != "" {
				return t
			}
			return malformedEmpty
		}
	}
	if g.suffixedSession != "" {
		if v := cookieValue(r, g.suffixedSession); v != "" {
			return v
		}
	}
	return cookieValue(r, sessionCookie)
}

// malformedEmpty stands for "Authorization: Bearer" with nothing after it.
// It is not a JWT, so verification refuses it as malformed.
const malformedEmpty = "."

// cookieValue finds one cookie without parsing every cookie into a
// http.Cookie, which r.Cookie does on each call.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header[textproto.CanonicalMIMEHeaderKey("Cookie")] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}
