// Package browser holds clerkgate's end-to-end test in a real browser:
// headless Chromium, driven over the DevTools protocol by chromedp,
// signs in to the net/http example through clerktest's fake Clerk (its
// Frontend API, sign-in page and handshake) and lives through expired
// tokens, a lost refresh cookie and signing out, all over loopback.
//
// It is a module of its own so that neither the root module nor the
// examples depend on chromedp. The test needs Chromium (Debian's chromium
// package, /usr/bin/chromium, which .ci/run installs) and fails, never
// skips, without it; CHROMIUM names another binary. It also needs the go
// command, to build the example as a program.
package browser
