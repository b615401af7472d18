package browser_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
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
// returns one tab. The test's end closes the browser. Chromium trusts
// the TLS certificate whose public key has the SHA-256 digest spki
// (base64), the fake Frontend API's, and no other certificate error; with
// spki "", a fresh browser that trusts no extra certificate.
//
// The flags keep Chromium off the network: this machine's network is
// closed, and without them Chromium opens many connections to Google's
// hosts (updates, sync, QUIC probes) that fail; the test must talk to
// loopback only.
func newBrowser(t *testing.T, spki string) tab {
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
	if spki != "" {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", spki))
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
	return tab{ctx}
}

// frontendSPKI is the digest Chromium's --ignore-certificate-errors-spki-list
// takes for the fake Frontend API's certificate, which only the fake's own
// Client trusts.
func frontendSPKI(t *testing.T, fake *clerktest.Server) string {
	t.Helper()
	sum := sha256.Sum256(frontendCert(t, fake).RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// frontendCert is the certificate the fake Frontend API presents to a
// client that verifies it.
func frontendCert(t *testing.T, fake *clerktest.Server) *x509.Certificate {
	t.Helper()
	tr, ok := fake.Client().Transport.(*http.Transport)
	require.True(t, ok, "clerktest's client has no *http.Transport")
	u, err := url.Parse(fake.FrontendURL())
	require.NoError(t, err)
	d := tls.Dialer{Config: tr.TLSClientConfig.Clone()}
	d.Config.ServerName = u.Hostname()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	require.NoError(t, err, "TLS to the fake Frontend API")
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	require.NotEmpty(t, certs)
	return certs[0]
}
