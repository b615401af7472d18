package fapiproxy

import (
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies are Config.TrustedProxies: the proxies in front of the
// app whose X-Forwarded-For counts.
type trustedProxies []netip.Prefix

func (t trustedProxies) contains(ip netip.Addr) bool {
	for _, p := range t {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the address the proxy vouches for to Clerk, as clerkgate's
// Gate finds it: the peer's, unless the peer is a trusted proxy; then the
// rightmost X-Forwarded-For hop that is not one (hops further left were
// written by the client), or the leftmost if all are. It reports false
// when a trusted peer names no client, or a hop it passed on is not an
// address: better no address than a wrong one.
func (t trustedProxies) clientIP(r *http.Request) (string, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return "", false
	}
	peer := ap.Addr().Unmap()
	if !t.contains(peer) {
		return peer.String(), true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	var leftmost netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" && i == 0 && len(hops) == 1 {
			break // no X-Forwarded-For at all
		}
		ip, err := netip.ParseAddr(hop)
		if err != nil {
			return "", false
		}
		ip = ip.Unmap()
		if !t.contains(ip) {
			return ip.String(), true
		}
		leftmost = ip
	}
	if leftmost.IsValid() {
		return leftmost.String(), true
	}
	// The trusted proxy named no client: it is not the user.
	return "", false
}
