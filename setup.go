package clerkgate

import (
	"context"
	"fmt"
	"log/slog"
)

// logSetup says once, as New returns, what the Gate will and will not do,
// and why: a feature that is off for want of a key otherwise shows only as
// something that never happens (an expired browser session that is never
// refreshed, a page load that gets a 401 instead of a handshake).
func (g *Gate) logSetup(cfg Config) {
	level := slog.LevelInfo
	noPublishable := "off: no PublishableKey (" + envPublishableKey + "), which names the instance's cookies and Frontend API"
	noSecret := "off: no SecretKey (" + envSecretKey + ")"

	keys := "Backend API (" + envSecretKey + ")"
	switch {
	case cfg.JWTKey != "":
		keys = "PEM key (" + envJWTKey + "), no network"
	case cfg.SecretKey == "":
		keys = "Frontend API (" + envPublishableKey + ")"
	}

	refresh := "on"
	switch {
	case g.sessions == nil:
		refresh = noSecret
	case g.cookieSuffix == "":
		refresh, level = noPublishable, slog.LevelWarn
	}

	handshake := "on"
	switch {
	case g.browser != nil:
	case cfg.Pages.DisableHandshake:
		handshake = "off: Pages.DisableHandshake"
	case g.sessions == nil:
		handshake = noSecret
	default:
		handshake = noPublishable
	}

	machines := "on"
	if g.machines.cache == nil {
		machines = "off: no SecretKey (" + envSecretKey + ") or Machine.SecretKey (" + envMachineSecretKey + ")"
	}

	proxy := "ignored: TrustedProxies (" + envTrustedProxies + ") unset"
	switch {
	case g.proxies.Proxies() > 0:
		proxy = fmt.Sprintf("trusted from %d TrustedProxies", g.proxies.Proxies())
	case g.proxies.Headers():
		proxy = "trusted from any peer (InsecureTrustProxyHeaders without TrustedProxies)"
	}

	store := "in memory, this process only"
	if cfg.Store != nil {
		store = fmt.Sprintf("%T", cfg.Store)
	}

	g.log.Log(context.Background(), level, "clerkgate: started",
		"keys", keys,
		"refresh", refresh,
		"handshake", handshake,
		"opaque_machine_credentials", machines,
		"proxy_headers", proxy,
		"cross_origin_protection", onOff(g.crossOrigin != nil, "off: DisableCrossOriginProtection"),
		"store", store,
	)
}

func onOff(on bool, off string) string {
	if on {
		return "on"
	}
	return off
}
