// Package fapiproxy serves Clerk's Frontend API from the app's own domain,
// under a path such as /__clerk, as @clerk/backend's clerkFrontendApiProxy
// and Clerk's Express, Fastify, Hono and Next SDKs do.
//
// A browser's clerk-js then talks to https://app.example.com/__clerk
// instead of https://clerk.example.com: no DNS record for the Frontend API,
// no third-party cookies, no request an ad blocker can match on Clerk's
// name. Clerk recognises a proxied request by two headers the proxy adds:
// Clerk-Proxy-Url, the proxy's public URL, and Clerk-Secret-Key, the
// instance's secret key, which proves the proxy is the instance's own.
//
// Because the proxy holds the secret key, it is built not to be an open
// proxy: it forwards only to the one Frontend API its Config names, only
// paths under its own (no dot segments, no empty segments, no encoded
// slashes), never follows a redirect, and refuses methods (TRACE, CONNECT)
// and protocol switches that could echo or tunnel what it sends.
//
// Serve it at the path of Config.ProxyURL, without stripping the prefix,
// and give the Gate the same ProxyURL (tokens are then issued by it, and
// handshakes go through it):
//
//	proxy, err := fapiproxy.New(fapiproxy.Config{
//		ProxyURL:       "https://app.example.com/__clerk",
//		SecretKey:      os.Getenv("CLERK_SECRET_KEY"),
//		PublishableKey: os.Getenv("CLERK_PUBLISHABLE_KEY"),
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer proxy.Close()
//	mux.Handle("/__clerk/", proxy)
package fapiproxy
