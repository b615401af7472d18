package browser_test

import (
	"strings"
	"testing"
)

// TestDevModeInAFreshBrowser is the README's dev-mode walkthrough in a
// browser that trusts no extra certificate: the example started with no
// CLERK_* variable, its dashboard sends to the embedded fake's sign-in
// page, one click signs in and comes back signed in. The fake's Frontend
// API used to be TLS with a self-signed certificate, where a fresh
// browser stopped at a certificate warning on the first handshake.
func TestDevModeInAFreshBrowser(t *testing.T) {
	example := startExample(t) // no CLERK_* variables: dev mode
	app := localhost(t, example.base)
	b := newBrowser(t, "")

	b.open(t, app+"/dashboard")
	signIn := b.location(t)
	if !strings.HasPrefix(signIn, "http://127.0.0.1:") || !strings.Contains(signIn, "/sign-in?") {
		t.Fatalf("signed out, the dashboard should send to the fake's sign-in page over plain http; at %s", signIn)
	}
	b.click(t, "sign-in")
	b.requireAt(t, app+"/dashboard")
	if got := b.text(t, "user-id"); got != "user_dev" {
		t.Fatalf("signed in as %q, want user_dev", got)
	}
}
