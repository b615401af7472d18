package clerkgate

import (
	"net/http"
	"strings"

	"github.com/clerkgate/clerkgate/handshake"
)

// Cookie names Clerk sets on the app's domain.
const (
	sessionCookie = "__session"
	refreshCookie = "__refresh"
)

// bearerToken is the token of the request's Authorization Bearer header,
// and whether it has one (see bearerOf). The header is read from the map
// directly: "Authorization" is already canonical, so Header.Get would
// only spend time canonicalizing it again, on every request.
func bearerToken(r *http.Request) (string, bool) { return bearerOf(r.Header["Authorization"]) }

// bearerOf is the bearer token among the values of an Authorization
// header (or gRPC's authorization metadata), and whether one was
// presented. Another scheme is no token. A present-but-empty bearer token
// is still "a token was presented": it is malformed, never anonymous. So
// are two values, whatever their schemes: which one a proxy or the
// handler would honour is anybody's guess.
//
// A value whose first word is Bearer (any case) counts only spelled
// exactly "Bearer <token>": one space, then a token without white space.
// Any other spelling ("Bearer  t", "Bearer\tt", "Bearer t x") is
// malformed, never the cookies: parsers split such a value differently
// (Clerk's takes "Bearer" as the token of the first, the whole value for
// the second, t for the third), and where two parsers could read the same
// bytes differently the Gate refuses.
func bearerOf(h []string) (string, bool) {
	switch {
	case len(h) == 0:
		return "", false
	case len(h) > 1:
		return malformed, true
	}
	v := strings.Trim(h[0], " \t") // as net/http and Clerk trim a value
	end := strings.IndexAny(v, " \t")
	if end < 0 {
		end = len(v)
	}
	if !strings.EqualFold(v[:end], "Bearer") {
		return "", false
	}
	token, ok := strings.CutPrefix(v[end:], " ")
	// Two IndexByte scans, not ContainsAny: a token is about a kilobyte,
	// and IndexByte's vectorised scan costs a tenth of ContainsAny's
	// byte-by-byte set test on every API request.
	if !ok || token == "" || strings.IndexByte(token, ' ') >= 0 || strings.IndexByte(token, '\t') >= 0 {
		return malformed, true
	}
	return token, true
}

// hasBearer reports whether the request carries its token in the
// Authorization header, which wins over cookies and never handshakes.
func hasBearer(r *http.Request) bool {
	_, ok := bearerToken(r)
	return ok
}

// malformed stands for a token that was presented but cannot be used: an
// "Authorization: Bearer" with nothing after it, two Authorization
// headers, or a session cookie sent twice with different values. It is not a JWT, so verification refuses
// it as malformed.
//
// Two session cookies of one name reach an app when someone else could
// set one: a sibling subdomain can plant a cookie for the parent domain
// with a longer Path, which browsers send first. Clerk's SDKs take the
// first; taking either would sign the victim in as whoever planted it.
//
// It is handshake.Unreadable: in a session cookie, Clerk may have read
// any token there, and its choice of cookie pair must not be guessed
// from it.
const malformed = handshake.Unreadable
