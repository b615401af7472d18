package browser_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumPath finds the browser: $CHROMIUM, else chromium on the PATH,
// else Debian's /usr/bin/chromium. A missing browser fails the test: CI
// installs it, so its absence is a broken CI, not a reason to skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	const debian = "/usr/bin/chromium"
	if _, err := os.Stat(debian); err != nil {
		require.FailNow(t, "Chromium not found",
			"no chromium on the PATH nor at %s (%v): install Debian's chromium package "+
				"(apt-get install -y chromium; .ci/run does) or set CHROMIUM to the binary", debian, err)
	}
	return debian
}

// newBrowser starts headless Chromium with a new, empty profile and
// returns a context for one tab. Closing the test cancels it, which ends
// the browser process.
//
// The flags keep Chromium off the network: this machine's network is
// closed, and without them Chromium opens many connections to Google's
// hosts (updates, sync, QUIC probes) that fail; the test must talk to
// loopback only.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// Start the browser now, so that a browser that cannot start fails
	// here with its own error rather than in the first step.
	require.NoError(t, chromedp.Do(ctx), "starting Chromium")
	return ctx
}
