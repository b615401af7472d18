// Package proxytrust reads what the proxies in front of an app say about
// a request (X-Forwarded-For, -Proto, -Host), trusting only the proxies it
// is told to: the origin the browser used and the client's IP address.
// Everything here comes from the client or from proxies, so each reading
// says whom it trusts.
//
//	t, err := proxytrust.New(false, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
//	ip := t.ClientIP(r) // "" when it cannot be known
package proxytrust

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/clerkgate/clerkgate/internal/fairshare"
)

// Trust says which peers' X-Forwarded-* headers count. Its zero value
// trusts none.
type Trust struct {
	headers  bool           // the headers count at all
	prefixes []netip.Prefix // masked, IPv4 unmapped
}

// New checks prefixes and returns a Trust: with prefixes, only peers in
// them are trusted, and X-Forwarded-For hops in them are proxies; without
// them but with trustHeaders, every peer is trusted and no hop is a
// proxy.
func New(trustHeaders bool, prefixes []netip.Prefix) (Trust, error) {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			return Trust{}, fmt.Errorf("%q is not a valid prefix", p)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return Trust{headers: trustHeaders || len(out) > 0, prefixes: out}, nil
}

// Headers reports whether any peer's X-Forwarded-* headers count.
func (t Trust) Headers() bool { return t.headers }

// Proxies is how many trusted proxy prefixes there are.
func (t Trust) Proxies() int { return len(t.prefixes) }

// Origin is the scheme and host the browser used, as scheme://host (see
// OriginParts).
func (t Trust) Origin(r *http.Request) string {
	scheme, host := t.OriginParts(r)
	return scheme + "://" + host
}

// OriginParts is the scheme and host the browser used, the host written
// as a browser writes an origin's (WebHost): APP.EXAMPLE.COM:443 over
// https is app.example.com, as in the Origin header the browser sends and
// in Clerk's page URL (new URL). The X-Forwarded-* headers count only
// when a trusted proxy sent the request, and then their rightmost values:
// the ones that proxy wrote, whatever the client put before them; an
// X-Forwarded-Host that is not one host[:port] is ignored.
func (t Trust) OriginParts(r *http.Request) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	// Without trusted headers (the default) the peer's address is not
	// even parsed: every page load asks for its origin.
	if !t.headers {
		return scheme, WebHost(scheme, host)
	}
	if peer, ok := peerAddr(r); ok && t.trustsPeer(peer) {
		if p, ok := nextHop(r.Header.Values("X-Forwarded-Proto")); ok {
			if v := strings.ToLower(p.value); v == "http" || v == "https" {
				scheme = v
			}
		}
		if h, ok := nextHop(r.Header.Values("X-Forwarded-Host")); ok && plausibleHost(h.value) {
			host = h.value
		}
	}
	return scheme, WebHost(scheme, host)
}

// WebHost writes host[:port] as the WHATWG URL standard writes the host
// of an http or https origin: ASCII letters in lower case, the port
// without leading zeros, and no port at all when it is the scheme's
// default. A host it cannot read as one host[:port] is returned as it
// is. It allocates only when it changes something.
func WebHost(scheme, host string) string {
	name, port, ok := splitPlausible(host)
	if !ok {
		return host
	}
	if len(port) > 1 && port[0] == '0' {
		// Leading zeros, the one way a port's digits can be written
		// otherwise (it would cost every page load an allocation).
		n, _ := strconv.ParseUint(port, 10, 32) // splitPlausible checked it
		port = strconv.FormatUint(n, 10)
	}
	if port != "" {
		if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
			port = ""
		}
	}
	lower := true
	for i := 0; i < len(name); i++ {
		if 'A' <= name[i] && name[i] <= 'Z' {
			lower = false
			break
		}
	}
	n := len(name)
	if port != "" {
		n += 1 + len(port)
	}
	if lower && n == len(host) {
		return host // already so written: only shortening or case could change it
	}
	if !lower {
		name = strings.ToLower(name)
	}
	if port == "" {
		return name
	}
	return name + ":" + port
}

// ClientIP is the user's IP address as the app can know it, or "" when it
// cannot. Without trusted proxies it is the peer's. Behind them it is the
// rightmost X-Forwarded-For hop that is not a trusted proxy: the address
// the outermost trusted proxy saw. Hops further left were written by the
// client and prove nothing.
func (t Trust) ClientIP(r *http.Request) string {
	peer, ok := peerAddr(r)
	if !ok {
		return ""
	}
	if !t.trustsPeer(peer) {
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
		if !t.isProxy(ip) {
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

// ClientKey names the client that sent r for the per-client buckets
// (package fairshare): its IP address as ClientIP reads it.
func (t Trust) ClientKey(r *http.Request) string {
	return fairshare.ClientKey(t.ClientIP(r))
}

// trustsPeer reports whether the X-Forwarded-* headers of a request from
// peer count.
func (t Trust) trustsPeer(peer netip.Addr) bool {
	return t.headers && (len(t.prefixes) == 0 || t.isProxy(peer))
}

// isProxy reports whether ip is a trusted proxy. Without prefixes, only
// the peer is trusted, so no X-Forwarded-For hop is.
func (t Trust) isProxy(ip netip.Addr) bool {
	for _, p := range t.prefixes {
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

// plausibleHost accepts one host[:port]: a name or IPv4 address of
// letters, digits, '.' and '-', or a bracketed IPv6 address, and a port of
// at most 65535; nothing that could change the origin's meaning (paths,
// credentials, spaces, a list, a second port).
func plausibleHost(h string) bool {
	_, _, ok := splitPlausible(h)
	return ok
}

// splitPlausible splits h into its name and port ("" when none, or when
// h ends in a bare ':', which new URL ignores too), and reports whether h
// is one host[:port] (see plausibleHost).
func splitPlausible(h string) (name, port string, ok bool) {
	if h == "" || len(h) > 255 {
		return "", "", false
	}
	name, port = h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", false
		}
		name = h[:end+1]
		switch rest := h[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port = rest[1:]
		default:
			return "", "", false
		}
		for _, c := range []byte(name[1:end]) {
			if !(isHex(c) || c == ':' || c == '.') {
				return "", "", false
			}
		}
	} else {
		if i := strings.IndexByte(h, ':'); i >= 0 {
			name, port = h[:i], h[i+1:]
		}
		if name == "" {
			return "", "", false
		}
		for _, c := range []byte(name) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
				return "", "", false
			}
		}
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 32)
		if err != nil || n > 65535 {
			return "", "", false
		}
	}
	return name, port, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
