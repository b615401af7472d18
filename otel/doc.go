// Package clerkotel instruments a clerkgate Gate with OpenTelemetry:
// a client span and an http.client.request.duration point for every call
// the Gate makes to Clerk (key fetches, session refreshes, handshake
// payloads, machine credential checks), and clerkgate.* counters for its
// decisions by reason, refreshes, handshakes, key fetches and caches.
//
//	tel, err := clerkotel.New() // the global providers, or WithTracerProvider/WithMeterProvider
//	if err != nil {
//		log.Fatal(err)
//	}
//	cfg := clerkgate.ConfigFromEnv()
//	tel.Instrument(&cfg) // sets cfg.Observer, wraps cfg.HTTPClient
//	gate, err := clerkgate.New(cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//	reg, err := tel.ObserveGate(gate) // cache and refresh counters, read at collection
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer reg.Unregister()
//
// It is a module of its own, so that apps that do not use OpenTelemetry
// never download it; the root module knows nothing of it, and a Gate
// without an Observer pays nothing.
//
// Nothing it records carries a token, a cookie, a user ID or a query
// value: spans name the Clerk route by template (/v1/sessions/{id}/refresh)
// and redact query values (a handshake nonce trades for a session).
package clerkotel
