package clerktest

import (
	"strings"

	"github.com/clerkgate/clerkgate"
)

// Config returns a clerkgate.Config pointed at the fake: its secret key,
// publishable key and Backend API URL, and, with WithLocalFrontendAPI, its
// sign-in page as Pages.SignInURL (and with WithPlainFrontendAPI, ProxyURL and
// Issuer, so that handshakes go to it over plain http). Adjust the rest before clerkgate.New:
//
//	fake := clerktest.New()
//	t.Cleanup(fake.Close)
//	gate, err := clerkgate.New(fake.Config())
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(func() { gate.Close() }) // Close returns an error, so not t.Cleanup(gate.Close)
func (s *Server) Config() clerkgate.Config {
	cfg := clerkgate.Config{SecretKey: s.secret, PublishableKey: s.pk, APIURL: s.URL()}
	if s.host == hostOf(s.fapi.URL) {
		cfg.Pages.SignInURL = s.SignInURL()
		if strings.HasPrefix(s.fapi.URL, "http://") {
			// WithPlainFrontendAPI: the Gate reaches it as a proxy.
			cfg.ProxyURL, cfg.Issuer = s.fapi.URL, s.issuer
		}
	}
	return cfg
}

// hostOf is a server URL's host[:port].
func hostOf(u string) string {
	for _, scheme := range []string{"https://", "http://"} {
		if len(u) > len(scheme) && u[:len(scheme)] == scheme {
			return u[len(scheme):]
		}
	}
	return u
}
