package handshake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Binding a handshake to the browser that started it (a deliberate
// departure from Clerk, whose SDKs resolve any handshake a request
// carries). A link that carries someone's handshake nonce or token signs
// in whoever opens it, as that someone: login CSRF. As OAuth's state
// parameter does, the 307 that sends a browser to the handshake sets a
// short-lived cookie on the app's own origin, and a request that comes
// back with a handshake is resolved only if it carries that cookie: a
// link opened in another browser is decided as if it carried no
// handshake.
//
// The cookie's value is its expiry and an HMAC of it under a key derived
// from the instance's secret key, so every replica of the app can check
// it without shared state, and the lifetime holds whatever the browser
// does with Max-Age. On https its name has the __Host- prefix: a sibling
// subdomain cannot set it.
const (
	// CookieBinding is the binding cookie's name on http;
	// CookieBindingSecure on https.
	CookieBinding       = "clerkgate_handshake"
	CookieBindingSecure = "__Host-clerkgate_handshake"
	// BindingLifetime is how long a browser has to come back from the
	// handshake: the round trip through the Frontend API is a pair of
	// redirects, done in well under a second.
	BindingLifetime = 60 * time.Second
)

// BindingKey derives the binding cookie's HMAC key from the instance's
// secret key (see Config.BindingKey).
func BindingKey(secretKey string) []byte {
	m := hmac.New(sha256.New, []byte(secretKey))
	m.Write([]byte("clerkgate handshake binding v1"))
	return m.Sum(nil)
}

// bindingName is the binding cookie's name for the page's scheme.
func bindingName(req *Request) string {
	if req.URL.Scheme == "https" {
		return CookieBindingSecure
	}
	return CookieBinding
}

// bindingCookie is the Set-Cookie of the binding cookie for a handshake
// that starts now.
func bindingCookie(req *Request, cfg *Config) string {
	exp := strconv.FormatInt(req.Now.Add(BindingLifetime).Unix(), 10)
	return bindingName(req) + "=" + exp + "." + bindingMAC(cfg.BindingKey, exp) +
		"; Path=/; Max-Age=" + strconv.Itoa(int(BindingLifetime/time.Second)) + bindingAttrs(req)
}

// unbindCookie is the Set-Cookie that removes the binding cookie once its
// handshake is resolved: each one serves once.
func unbindCookie(req *Request) string {
	return bindingName(req) + "=; Path=/; Max-Age=0" + bindingAttrs(req)
}

func bindingAttrs(req *Request) string {
	if req.URL.Scheme == "https" {
		return "; HttpOnly; Secure; SameSite=Lax"
	}
	return "; HttpOnly; SameSite=Lax"
}

func bindingMAC(key []byte, exp string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// bound reports whether the request carries a binding cookie of this
// instance that has not expired, under the name its scheme calls for.
// Without a BindingKey every request is bound, as with Clerk.
func bound(req *Request, cfg *Config) bool {
	if cfg.BindingKey == nil {
		return true
	}
	v := req.Cookies.Binding
	if req.URL.Scheme == "https" {
		v = req.Cookies.BindingSecure
	}
	exp, mac, ok := strings.Cut(v, ".")
	if !ok || len(exp) > 12 || len(mac) != 43 {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	// Twice the lifetime ahead: replicas' clocks differ a little.
	if err != nil || n < req.Now.Unix() || n > req.Now.Add(2*BindingLifetime).Unix() {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(bindingMAC(cfg.BindingKey, exp)))
}
