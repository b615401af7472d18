package refresh

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// What a refresh call tells Clerk about the request it refreshes for,
// besides the origin and the user's IP address (package proxytrust): the
// request headers Clerk uses as device and risk signals.

// forwardedHeaderNames are the request headers a refresh call forwards in
// request_headers, besides the Sec-CH-UA* client hints and the Sec-Fetch-*
// metadata (forwardedHeaderPrefixes). They describe the browser and the
// navigation, the signals Clerk's risk checks read, and carry nothing that
// grants access.
//
// Clerk's own backend SDK forwards every header, credentials included.
// This Gate forwards no Cookie or Authorization (the tokens travel in the
// body's own fields), no Proxy-Authorization, no header a proxy or load
// balancer adds (X-Forwarded-*, Forwarded, X-Real-IP, X-Amzn-Oidc-*, which
// hold the user's identity at the proxy), and no app-specific header, which
// may hold anything.
var forwardedHeaderNames = map[string]bool{
	"Accept":          true,
	"Accept-Language": true,
	"Origin":          true,
	"Referer":         true, // its origin only: the path and query may hold secrets
	"User-Agent":      true,
}

// forwardedHeaderPrefixes are forwarded by prefix (canonical case).
var forwardedHeaderPrefixes = []string{"Sec-Ch-Ua", "Sec-Fetch-"}

const (
	// maxForwardedValues and maxForwardedValue bound what one header adds
	// to the refresh call's body: a browser sends one short value of each.
	maxForwardedValues = 4
	maxForwardedValue  = 1024
)

// ForwardedHeaders copies the allow-listed request headers for Clerk's
// checks. Longer or more values than a browser sends are dropped.
func ForwardedHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string)
	for k, values := range h {
		name := textproto.CanonicalMIMEHeaderKey(k)
		if !forwardedHeader(name) {
			continue
		}
		for _, v := range values {
			if name == "Referer" {
				v = refererOrigin(v)
			}
			if v == "" || len(v) > maxForwardedValue || len(out[name]) == maxForwardedValues {
				continue
			}
			out[name] = append(out[name], v)
		}
	}
	return out
}

func forwardedHeader(name string) bool {
	if forwardedHeaderNames[name] {
		return true
	}
	for _, p := range forwardedHeaderPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// refererOrigin reduces a Referer to its origin, or "" if it has none.
func refererOrigin(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
