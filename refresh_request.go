package clerkgate

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/clerkgate/clerkgate/internal/fairshare"
)

// What a refresh call tells Clerk about the request it refreshes for: the
// origin the browser used, the user's IP address, and the request headers
// Clerk uses as device and risk signals. Everything here comes from the
// client or from proxies, so each part says whom it trusts.

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

// forwardedHeaders copies the allow-listed request headers for Clerk's
// checks. Longer or more values than a browser sends are dropped.
func forwardedHeaders(h http.Header) map[string][]string {
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

// origin is the scheme and host the browser used, which Clerk compares
// with the session's. The X-Forwarded-* headers count only when a trusted
// proxy sent the request, and then their rightmost values: the ones that
// proxy wrote, whatever the client put before them.
func (g *Gate) origin(r *http.Request) string {
	scheme, host := g.originParts(r)
	return scheme + "://" + host
}

// originParts is origin's scheme and host, apart.
func (g *Gate) originParts(r *http.Request) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if peer, ok := peerAddr(r); ok && g.trustsPeer(peer) {
		if p, ok := nextHop(r.Header.Values("X-Forwarded-Proto")); ok {
			if v := strings.ToLower(p.value); v == "http" || v == "https" {
				scheme = v
			}
		}
		if h, ok := nextHop(r.Header.Values("X-Forwarded-Host")); ok && plausibleHost(h.value) {
			host = h.value
		}
	}
	return scheme, host
}

// clientIP is the user's IP address as the app can know it, or "" when it
// cannot. Without trusted proxies it is the peer's. Behind them it is the
// rightmost X-Forwarded-For hop that is not a trusted proxy: the address
// the outermost trusted proxy saw. Hops further left were written by the
// client and prove nothing.
func (g *Gate) clientIP(r *http.Request) string {
	peer, ok := peerAddr(r)
	if !ok {
		return ""
	}
	if !g.trustsPeer(peer) {
		return peer.String()
	}
	values := r.Header.Values("X-Forwarded-For")
	var leftmost netip.Addr
	for {
		hop, ok := nextHop(values)
		if !ok {
			break
		}
		values = hop.rest
		ip, ok := parseHop(hop.value)
		if !ok {
			// A trusted proxy wrote nonsense, or the client did and no
			// trusted proxy stands between: either way, say nothing.
			return ""
		}
		if !g.isTrustedProxy(ip) {
			return ip.String()
		}
		leftmost = ip
	}
	if leftmost.IsValid() {
		// Every hop is a trusted proxy: the request began inside.
		return leftmost.String()
	}
	// The proxy named no client: the peer is the proxy, not the user.
	return ""
}

// clientKey names the client that sent r for the per-client buckets
// (package fairshare): its IP address as clientIP reads it.
func (g *Gate) clientKey(r *http.Request) string {
	return fairshare.ClientKey(g.clientIP(r))
}

// trustsPeer reports whether the X-Forwarded-* headers of a request from
// peer count.
func (g *Gate) trustsPeer(peer netip.Addr) bool {
	return g.trustProxy && (len(g.trustedProxies) == 0 || g.isTrustedProxy(peer))
}

// isTrustedProxy reports whether ip is one of TrustedProxies. Without
// them, only the peer is trusted, so no X-Forwarded-For hop is.
func (g *Gate) isTrustedProxy(ip netip.Addr) bool {
	for _, p := range g.trustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}

// parseHop reads one X-Forwarded-For item: an address, perhaps with a port.
func parseHop(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	return ip.Unmap().WithZone(""), true
}

// hop is the rightmost item of a comma-separated header, and what is left
// of the header once it is taken.
type hop struct {
	value string
	rest  []string
}

// nextHop takes the rightmost non-empty item of a header's values (the
// last line's last item first), without splitting the whole header: a
// client may send a long one.
func nextHop(values []string) (hop, bool) {
	for len(values) > 0 {
		last := values[len(values)-1]
		i := strings.LastIndexByte(last, ',')
		item := strings.TrimSpace(last[i+1:])
		rest := values[:len(values)-1]
		if i >= 0 {
			rest = append(rest[:len(rest):len(rest)], last[:i])
		}
		if item != "" {
			return hop{value: item, rest: rest}, true
		}
		values = rest
	}
	return hop{}, false
}

// plausibleHost accepts host[:port] names and addresses, nothing that
// could change the origin's meaning (paths, credentials, spaces).
func plausibleHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range []byte(h) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == ':' || c == '[' || c == ']':
		default:
			return false
		}
	}
	return true
}

// trustedProxies checks TrustedProxies and puts each prefix in the form
// the addresses it is compared with take: masked, IPv4 unmapped.
func trustedProxies(in []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			return nil, fmt.Errorf("clerkgate: TrustedProxies: %q is not a valid prefix", p)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
