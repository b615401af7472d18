package handshake

import (
	"net/url"
	"strconv"
	"strings"
)

// crossOriginReferer reports a Referer from another origin than the page,
// as Clerk's isCrossOriginReferrer compares them: new URL(referer).origin
// against the page's origin, both as the WHATWG URL standard writes them
// (scheme and host in lower case, no default port; "null" for a scheme
// without a network origin, such as about:blank or android-app://). A
// Referer that is no URL at all ("null", "not a url") is not
// cross-origin, for new URL throws. Where this reader is unsure how a
// host would be written (percent escapes, IDNA, numeric IPv4 shorthand),
// the Referer counts as cross-origin: the page then goes through a
// handshake, which costs a redirect but never signs in a session that
// Clerk would not.
func crossOriginReferer(req *Request) bool {
	ref, ok := webURL(req.Referer)
	if !ok {
		return false
	}
	page, ok := webURL(req.URL.Scheme + "://" + req.URL.Host)
	return !ok || ref.origin == "" || page.origin == "" || ref.origin != page.origin
}

// knownClerkReferer reports a Referer from Clerk itself, as Clerk's
// isKnownClerkReferrer reads it (new URL(referer).hostname and .origin):
// the Frontend API, the instance's account portal, or (outside
// production) Clerk's development account portals.
func knownClerkReferer(referer string, cfg *Config) bool {
	ref, ok := webURL(referer)
	if !ok || ref.hostname == "" {
		return false
	}
	fapi := cfg.FrontendAPI
	if strings.HasPrefix(fapi, "http") {
		f, err := url.Parse(fapi)
		if err != nil {
			return false
		}
		fapi = strings.ToLower(f.Hostname())
	}
	if ref.hostname == fapi {
		return true
	}
	if !cfg.Production && devAccountPortal(ref.hostname) {
		return true
	}
	accounts := accountsOrigin(cfg.FrontendAPI)
	return accounts != "" && ref.origin != "" && ref.origin == accounts
}

// parsedURL is what the decision reads of a URL: its origin ("null" when
// opaque; "" when this reader cannot say how WHATWG would write it) and
// its hostname ("" when it has none, or cannot say).
type parsedURL struct {
	origin, hostname string
}

// specialPorts are the WHATWG special schemes with a network origin and
// their default ports.
var specialPorts = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

// webURL reads raw as the WHATWG URL parser (new URL) would, as far as the
// origin and hostname go; ok is false where new URL would throw.
func webURL(raw string) (u parsedURL, ok bool) {
	s := strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' }) // C0 controls and space
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	scheme, rest, ok := cutScheme(s)
	if !ok {
		return parsedURL{}, false
	}
	switch {
	case scheme == "file":
		return parsedURL{origin: "null"}, true
	case scheme == "blob":
		// A blob: URL's origin is its inner URL's, when that is http(s).
		inner, ok := webURL(rest)
		if ok && (strings.HasPrefix(inner.origin, "http://") || strings.HasPrefix(inner.origin, "https://")) {
			return parsedURL{origin: inner.origin}, true
		}
		return parsedURL{origin: "null"}, true
	case specialPorts[scheme] == "":
		// Any other scheme has an opaque origin; its host, if it has one,
		// is kept as spelled.
		u = parsedURL{origin: "null"}
		if after, ok := strings.CutPrefix(rest, "//"); ok {
			host, _ := splitHostPort(authority(after, "/?#"))
			if !plainHost(host, false) {
				host = "" // perhaps escaped, or refused: not compared
			}
			u.hostname = host
		}
		return u, true
	}
	host, port := splitHostPort(authority(strings.TrimLeft(rest, `/\`), `/\?#`))
	if host == "" {
		return parsedURL{}, false
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return parsedURL{}, false // not digits, or past 65535
		}
		port = strconv.FormatUint(n, 10)
		if port == specialPorts[scheme] {
			port = ""
		}
	}
	host = strings.ToLower(host)
	if !plainHost(host, true) {
		return parsedURL{}, true // new URL may rewrite or refuse it: unknown
	}
	u = parsedURL{origin: scheme + "://" + host, hostname: host}
	if port != "" {
		u.origin += ":" + port
	}
	return u, true
}

// cutScheme splits "scheme:rest", the scheme in lower case.
func cutScheme(s string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 1 {
		return "", "", false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		alpha := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !alpha && (j == 0 || !(isDigit(c) || c == '+' || c == '-' || c == '.')) {
			return "", "", false
		}
	}
	return strings.ToLower(s[:i]), s[i+1:], true
}

// authority is s up to the first of the stop bytes, without user info.
func authority(s, stop string) string {
	if i := strings.IndexAny(s, stop); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// splitHostPort splits an authority at its first colon; a bracketed IPv6
// host is returned whole, for plainHost to turn away.
func splitHostPort(a string) (host, port string) {
	if strings.HasPrefix(a, "[") {
		return a, ""
	}
	host, port, _ = strings.Cut(a, ":")
	return host, port
}

// plainHost reports a host that the WHATWG parser keeps as it is: ASCII
// letters (lower case only when lower), digits, '-', '_' and dots, and,
// when it ends in a number, a dotted quad as WHATWG writes one. Anything
// else (percent escapes, other characters, IDNA, IPv6, 127.1, 0x7f.0.0.1)
// this reader does not rewrite.
func plainHost(h string, lower bool) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(isDigit(c) || 'a' <= c && c <= 'z' || c == '-' || c == '_' || c == '.' || !lower && 'A' <= c && c <= 'Z') {
			return false
		}
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	last := labels[len(labels)-1]
	if last == "" || !(allDigits(last) || strings.HasPrefix(last, "0x")) {
		return true
	}
	if len(labels) != 4 {
		return false
	}
	for _, l := range labels {
		n, err := strconv.ParseUint(l, 10, 8)
		if err != nil || strconv.FormatUint(n, 10) != l {
			return false
		}
	}
	return !strings.HasSuffix(h, ".")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// accountsOrigin is the account portal of a Frontend API host, as Clerk's
// buildAccountsBaseUrl derives it.
func accountsOrigin(fapi string) string {
	if fapi == "" || strings.HasPrefix(fapi, "http") {
		return ""
	}
	host := fapi
	switch {
	case strings.HasPrefix(host, "clerk.accountsstage."):
		host = strings.Replace(host, "clerk.accountsstage.", "accountsstage.", 1)
	case strings.Contains(host, "clerk.accounts."):
		host = strings.Replace(host, "clerk.accounts.", "accounts.", 1)
	case strings.Contains(host, "clerk."):
		host = strings.Replace(host, "clerk.", "accounts.", 1)
	}
	return "https://" + host
}

func devAccountPortal(host string) bool {
	if strings.HasPrefix(host, "accounts.") {
		for _, s := range []string{".lcl.dev", ".lclstage.dev", ".lclclerk.com"} {
			if strings.HasSuffix(host, s) {
				return true
			}
		}
	}
	for _, s := range []string{".accounts.dev", ".accountsstage.dev", ".accounts.lclclerk.com"} {
		if strings.HasSuffix(host, s) && !strings.HasSuffix(host, ".clerk"+s) {
			return true
		}
	}
	return false
}
