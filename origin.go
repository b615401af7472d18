package clerkgate

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Cross-origin requests. A browser sends the __session cookie with every
// request to the app's site, whoever's page made it: SameSite=Lax keeps it
// off cross-site POSTs, but not off those from a sibling subdomain, which
// is the same site (a user-content host, a forgotten staging app). The
// azp check does not help either: azp names the origin the token was
// minted for, not the origin of the page that sent the request. So the
// Gate refuses unsafe requests (anything but GET, HEAD and OPTIONS) that
// carry their session in a cookie and come from another origin, as
// net/http's CrossOriginProtection tells them: by Sec-Fetch-Site, or, from
// browsers too old to send it, by an Origin whose host is not the Host.
// Requests with neither header (curl, servers) and same-origin ones pass;
// so do those from the origins in Config.AuthorizedParties, the app's own
// front ends.
//
// The check runs before the token is looked at: a forged request costs no
// signature check, no refresh and no handshake. It looks at the cookie
// only once the headers say the request is cross-origin and unsafe, so
// ordinary requests pay one method switch and a header lookup. A token in
// the Authorization header is never ambient (a page can set the header
// only on a request the app's CORS policy allowed), and neither is a
// machine credential, which is read from that header only.

// ReasonCrossOrigin is the Reason of a 403 for an unsafe request that
// carried its session in a cookie from an origin the app does not trust:
// what a cross-site request forgery looks like. See
// Config.DisableCrossOriginProtection.
const ReasonCrossOrigin Reason = "cross_origin_request"

// crossOriginMessage is the 403's fixed text; like every other, it echoes
// nothing from the request.
const crossOriginMessage = "the session cookie is not accepted on a state-changing request from another origin"

// newCrossOriginProtection returns the Gate's check, trusting the
// authorized parties (already checked to be origins), or nil when cfg
// turns it off.
func newCrossOriginProtection(cfg Config, log *slog.Logger) (*http.CrossOriginProtection, error) {
	if cfg.DisableCrossOriginProtection {
		log.Warn("clerkgate: DisableCrossOriginProtection is set: any site's pages can make requests that change state with a signed-in user's session cookie; protect every such route against cross-site request forgery yourself")
		return nil, nil
	}
	p := http.NewCrossOriginProtection()
	for _, o := range cfg.AuthorizedParties {
		if err := p.AddTrustedOrigin(strings.TrimSuffix(o, "/")); err != nil {
			return nil, fmt.Errorf("clerkgate: AuthorizedParties: %w", err)
		}
	}
	return p, nil
}

// crossOriginRefusal is the cross-origin check: a 403 when r is an
// unsafe cross-origin request, else nil. The pipeline answers it only
// when the request's session token would come from a cookie.
func (g *Gate) crossOriginRefusal(r *http.Request) *AuthError {
	if g.crossOrigin == nil {
		return nil
	}
	err := g.checkCrossOrigin(r)
	if err == nil {
		return nil
	}
	return &AuthError{
		Status:         http.StatusForbidden,
		Reason:         ReasonCrossOrigin,
		Message:        crossOriginMessage,
		TokenPresented: true,
		Err:            fmt.Errorf("clerkgate: %w", err),
	}
}

// checkCrossOrigin is CrossOriginProtection.Check, with the host the
// browser asked for, as the browser writes it in Origin: behind a trusted
// proxy that rewrites Host, a browser without Sec-Fetch-Site sends an
// Origin that matches X-Forwarded-Host instead; and a Host of
// APP.EXAMPLE.COM or app.example.com:443 (over https) is the origin
// https://app.example.com. The second check compares Origin with that one
// host exactly, so an Origin of any other host is still refused.
func (g *Gate) checkCrossOrigin(r *http.Request) error {
	err := g.crossOrigin.Check(r)
	if err == nil || r.Header.Get("Sec-Fetch-Site") != "" {
		return err
	}
	_, host := g.proxies.OriginParts(r)
	if host == r.Host {
		return err
	}
	forwarded := r.WithContext(r.Context()) // a shallow copy, to change Host
	forwarded.Host = host
	return g.crossOrigin.Check(forwarded)
}

// hintUntrustedProxy logs, once per Gate, that a page load came over
// plain http with an X-Forwarded-Proto the Gate does not trust: the mark
// of a proxy that terminates TLS with TrustedProxies unset. Every
// signed-in click then looks like an arrival from another site (its
// Referer is https, the request http) and costs a handshake. Page loads
// only, and one header lookup.
func (g *Gate) hintUntrustedProxy(r *http.Request) {
	if g.proxies.Headers() || r.TLS != nil || g.proxyHinted.Load() || headerValue(r, "X-Forwarded-Proto") == "" {
		return
	}
	if g.proxyHinted.CompareAndSwap(false, true) {
		g.log.Warn("clerkgate: a page load came with X-Forwarded-Proto from a proxy the Gate does not trust, so it is taken as plain http: " +
			"behind a proxy that terminates TLS every signed-in click then looks cross-site and costs a handshake through Clerk. " +
			"Set TrustedProxies (" + envTrustedProxies + ") to the proxy's addresses, e.g. " + envTrustedProxies + "=10.0.0.0/8")
	}
}
