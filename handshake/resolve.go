package handshake

import (
	"net/http"
	"strings"
)

// Resolution is what a resolved handshake tells the app to do.
type Resolution struct {
	// Cookies are the Set-Cookie values to send, re-encoded from the
	// directives that passed.
	Cookies []string
	// Token is the session token they set ("" for none: signed out).
	Token string
	// Refused counts the directives dropped: not a cookie, or not one of
	// Clerk's.
	Refused int
	// Location, in development, is the page to send the browser on to,
	// without the handshake's query parameters ("" in production).
	Location string
}

// Resolved turns a handshake's Set-Cookie directives (from the Backend
// API's payload for a nonce, or a verified handshake token) into what to
// answer. Only Clerk's own cookies for this instance pass (__session,
// __client_uat, __clerk_db_jwt, suffixed or not; __refresh_<suffix>; and
// the handshake's own __clerk_handshake, __clerk_handshake_nonce and
// __clerk_redirect_count), each parsed and written anew: a directive
// cannot set another cookie of the app's, nor smuggle a header.
func Resolved(req *Request, cfg *Config, directives []string) Resolution {
	var res Resolution
	var plain, suffixed string
	var havePlain, haveSuffixed bool
	for _, d := range directives {
		c, ok := clerkCookie(d, cfg)
		if !ok {
			res.Refused++
			continue
		}
		res.Cookies = append(res.Cookies, c.String())
		switch c.Name {
		case CookieSession:
			plain, havePlain = c.Value, true
		case CookieSession + "_" + cfg.CookieSuffix:
			suffixed, haveSuffixed = c.Value, true
		}
	}
	switch {
	case haveSuffixed && cfg.CookieSuffix != "":
		res.Token = suffixed
	case havePlain:
		res.Token = plain
	}
	if cfg.BindingKey != nil {
		res.Cookies = append(res.Cookies, unbindCookie(req))
	}
	if !cfg.Production && !oversized(&req.URL) {
		// An oversized URL (MaxURL) is served where it is: the cookies
		// are set on this answer all the same.
		res.Location = withoutParams(&req.URL, CookieHandshake, QueryHelp, CookieDevBrowser, CookieHandshakeNonce).String()
	}
	return res
}

// clerkCookie parses one directive and accepts it if it sets one of
// Clerk's cookies.
func clerkCookie(directive string, cfg *Config) (*http.Cookie, bool) {
	if strings.ContainsAny(directive, "\r\n\x00") {
		return nil, false
	}
	c, err := http.ParseSetCookie(directive)
	if err != nil || c.String() == "" {
		return nil, false
	}
	switch c.Name {
	case CookieSession, CookieClientUAT, CookieDevBrowser, CookieHandshake, CookieHandshakeNonce, CookieRedirectCount:
		return c, true
	}
	if cfg.CookieSuffix == "" {
		return nil, false
	}
	switch c.Name {
	case CookieSession + "_" + cfg.CookieSuffix, CookieClientUAT + "_" + cfg.CookieSuffix,
		CookieDevBrowser + "_" + cfg.CookieSuffix, CookieRefresh + "_" + cfg.CookieSuffix:
		return c, true
	}
	return nil, false
}

// NonceShaped reports whether a handshake nonce could be one of Clerk's:
// 1 to 128 characters of the URL-safe alphabet. Anything else is never
// sent to the Backend API.
func NonceShaped(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for _, c := range []byte(n) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
