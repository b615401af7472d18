package clerkgate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/internal/publishable"
	"github.com/clerkgate/clerkgate/internal/redact"
	"github.com/clerkgate/clerkgate/jwks"
)

// ErrConfig is wrapped by every error New returns, and by Check's when
// Clerk refuses the secret key: a mistake in the configuration, which no
// retry will mend. errors.Is(err, ErrConfig) tells it from an outage.
var ErrConfig = errors.New("clerkgate: configuration error")

// configError gives an error ErrConfig's identity and keeps its own text,
// which already says what to fix.
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{ErrConfig, e.err} }

// Check fetches the Gate's signing keys once, or waits for the fetch
// under way, and says what is wrong: nil when tokens can be verified.
// A secret key the Backend API refuses is an error wrapping ErrConfig and
// jwks.ErrUnauthorized; an API that cannot be reached, or that serves no
// usable key, is an error wrapping neither. Call it at start-up to fail
// fast, and from a readiness check: like a token with an unknown kid it
// asks Clerk at most once per Keys.MinRefetchInterval, answering from the
// latest fetch in between, so a busy or hostile prober costs nothing.
// Stop start-up only on ErrConfig: during an outage the Gate answers 503
// jwks_unavailable and recovers by itself when Clerk is back.
//
// With JWTKey the keys never come from the network and Check returns nil;
// the secret key, if any, is then first used by a refresh.
func (g *Gate) Check(ctx context.Context) error {
	if g.remote == nil {
		return nil
	}
	err := g.remote.Check(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwks.ErrUnauthorized) && g.sessions != nil:
		return fmt.Errorf("%w: the Backend API refused SecretKey (%s): use this instance's secret key from the Clerk dashboard, and check APIURL (%s): %w",
			ErrConfig, envSecretKey, envAPIURL, err)
	case errors.Is(err, jwks.ErrUnauthorized):
		return fmt.Errorf("%w: the key endpoint refused the fetch: %w", ErrConfig, err)
	}
	return fmt.Errorf("clerkgate: no signing keys, so every token is refused (jwks_unavailable): %w", err)
}

// validate refuses configurations that cannot work, before anything is
// started: each would otherwise show as every request refused, or as a
// secret sent in clear, with nothing said at start-up. Errors name the
// field and its environment variable and show no more of a key than its
// fixed prefix.
func validate(cfg Config) error {
	pem := func(string) string { return "…" }
	for _, v := range []struct {
		field, env, value string
		show              func(string) string // the value as an error may print it
	}{
		{"SecretKey", envSecretKey, cfg.SecretKey, publishable.Redact},
		{"PublishableKey", envPublishableKey, cfg.PublishableKey, publishable.Redact},
		{"APIURL", envAPIURL, cfg.APIURL, redact.URL},
		{"JWTKey", envJWTKey, cfg.JWTKey, pem},
		{"Machine.SecretKey", envMachineSecretKey, cfg.Machine.SecretKey, publishable.Redact},
	} {
		if quoted(v.value) {
			return fmt.Errorf("clerkgate: %s (%s) is wrapped in quotes (%s): remove them; an env file or a container's environment passes quotes on as part of the value",
				v.field, v.env, shownQuoted(v.value, v.show))
		}
	}
	if cfg.badMaxLifetime != "" && cfg.MaxTokenLifetime == 0 {
		return badMaxLifetime(cfg.badMaxLifetime)
	}
	if cfg.badTrustedProxy != "" && cfg.TrustedProxies == nil {
		return fmt.Errorf("clerkgate: %s: %q is neither an IP address nor a prefix: list the proxies' addresses, e.g. %s=10.0.0.0/8,127.0.0.1",
			envTrustedProxies, cfg.badTrustedProxy, envTrustedProxies)
	}
	if err := checkKeys(cfg); err != nil {
		return err
	}
	if err := sameMode(cfg.SecretKey, cfg.PublishableKey); err != nil {
		return err
	}
	if cfg.SecretKey != "" || cfg.Machine.SecretKey != "" {
		if err := checkAPIURLTransport(cfg.APIURL); err != nil {
			return err
		}
	}
	for _, p := range cfg.AuthorizedParties {
		if err := checkOrigin(p); err != nil {
			return err
		}
	}
	// A negative rate would drain a bucket rather than fill it, and a
	// negative burst refuse every call: zero means the default instead.
	for _, l := range []struct {
		field string
		value float64
	}{
		{"Pages.NoncePerSecond", cfg.Pages.NoncePerSecond},
		{"Pages.NonceBurst", float64(cfg.Pages.NonceBurst)},
		{"Machine.NewPerSecond", cfg.Machine.NewPerSecond},
		{"Machine.NewBurst", float64(cfg.Machine.NewBurst)},
	} {
		if l.value < 0 || math.IsNaN(l.value) {
			return fmt.Errorf("clerkgate: %s is %v: a limit must be positive, or 0 for the default", l.field, l.value)
		}
	}
	switch {
	case cfg.Refresh.CacheSize < 0:
		return fmt.Errorf("clerkgate: Refresh.CacheSize is %d: a size must be positive, or 0 for the default", cfg.Refresh.CacheSize)
	case cfg.Refresh.CacheSize != 0 && cfg.Store != nil:
		// Silently unused, it would read as a bound the app does not have.
		return errors.New("clerkgate: Refresh.CacheSize sizes the default store, and Store is set: size that Store in its own options")
	}
	return nil
}

// checkKeys refuses keys that cannot be what their variable names: an
// empty CLERK_SECRET_KEY, a publishable key in the secret key's place, a
// publishable key that does not decode. Each error names the variable, as
// a key source that is silently off shows later only as a network failure.
func checkKeys(cfg Config) error {
	if cfg.emptySecretKey && cfg.SecretKey == "" {
		return fmt.Errorf("clerkgate: %s is set but empty: give it the instance's secret key (sk_test_… or sk_live_…, from the API keys page of the Clerk dashboard), or unset it", envSecretKey)
	}
	if cfg.PublishableKey != "" {
		if _, err := publishable.Parse(cfg.PublishableKey); err != nil {
			return fmt.Errorf("clerkgate: PublishableKey (%s): %w: copy it from the API keys page of the Clerk dashboard", envPublishableKey, err)
		}
	}
	if strings.HasPrefix(cfg.SecretKey, "pk_") {
		return fmt.Errorf("clerkgate: SecretKey (%s) is a publishable key (%s): use the instance's secret key, sk_test_… or sk_live_…; the publishable key goes in PublishableKey (%s)",
			envSecretKey, publishable.Redact(cfg.SecretKey), envPublishableKey)
	}
	return nil
}

// badMaxLifetime explains a CLERK_MAX_TOKEN_LIFETIME that is not a
// positive duration, with a setting that works.
func badMaxLifetime(v string) error {
	if quoted(v) {
		fix := strings.Trim(v, `"'`)
		if d, err := time.ParseDuration(fix); err != nil || d <= 0 {
			fix = "3h"
		}
		return fmt.Errorf("clerkgate: %[1]s is wrapped in quotes (%[2]s): remove them, as in %[1]s=%[3]s; an env file or a container's environment passes quotes on as part of the value",
			envMaxTokenLifetime, v, fix)
	}
	return fmt.Errorf("clerkgate: %[1]s=%[2]q is not a positive Go duration: write it as in %[1]s=3h (units h, m, s; no spaces), or unset it for the default, %[3]s",
		envMaxTokenLifetime, v, defaultMaxTokenLifetime)
}

func quoted(v string) bool {
	return v != "" && (strings.ContainsRune(`"'`, rune(v[0])) || strings.ContainsRune(`"'`, rune(v[len(v)-1])))
}

// shownQuoted is a quoted value as an error may print it: the quotes it
// came with around what show makes of the rest (a key's fixed prefix, a
// URL without credentials, query or fragment, "…" for a PEM block).
func shownQuoted(v string, show func(string) string) string {
	open, close := "", ""
	if strings.ContainsRune(`"'`, rune(v[0])) {
		open = v[:1]
	}
	if len(v) > 1 && strings.ContainsRune(`"'`, rune(v[len(v)-1])) {
		close = v[len(v)-1:]
	}
	return open + show(strings.Trim(v, `"'`)) + close
}

// sameMode refuses a development secret key with a production publishable
// key, or the other way round: they name two instances, so every token of
// the one fails the issuer check of the other.
func sameMode(secret, pub string) error {
	live := func(key, test, prod string) (isLive, known bool) {
		switch {
		case strings.HasPrefix(key, test):
			return false, true
		case strings.HasPrefix(key, prod):
			return true, true
		}
		return false, false
	}
	sLive, sKnown := live(secret, "sk_test_", "sk_live_")
	pLive, pKnown := live(pub, "pk_test_", "pk_live_")
	if !sKnown || !pKnown || sLive == pLive {
		return nil
	}
	mode := map[bool]string{false: "a development", true: "a production"}
	return fmt.Errorf("clerkgate: SecretKey (%s) is %s key (%s) but PublishableKey (%s) is %s key (%s): take both from the same instance's API keys page in the Clerk dashboard",
		envSecretKey, mode[sLive], publishable.Redact(secret), envPublishableKey, mode[pLive], publishable.Redact(pub))
}

// checkAPIURLTransport refuses a plain-http Backend API URL to a host
// other than this machine: every call carries the secret key.
func checkAPIURLTransport(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Scheme != "http" {
		return nil // the default, https, or malformed: session.NewClient says what is wrong
	}
	if loopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("clerkgate: APIURL (%s) %q is plain http to a host that is not this machine, so the secret key would travel in clear: use https:// (plain http is for a local fake such as clerktest)",
		envAPIURL, redact.URL(raw))
}

func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkOrigin refuses an authorized party that no azp claim can equal:
// browsers send origins, scheme://host[:port] in lower case, without a
// path or a default port.
func checkOrigin(p string) error {
	if p == "" {
		return fmt.Errorf("clerkgate: AuthorizedParties (%s): empty authorized party: list origins such as https://app.example.com", envAuthorizedParties)
	}
	if quoted(p) {
		return fmt.Errorf("clerkgate: AuthorizedParties (%s): %s is wrapped in quotes: remove them", envAuthorizedParties, p)
	}
	u, err := url.Parse(strings.TrimSuffix(p, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		hint := ""
		if !strings.ContainsAny(p, "/*") {
			scheme := "https://"
			if h, _, _ := strings.Cut(p, ":"); loopback(h) {
				scheme = "http://"
			}
			hint = fmt.Sprintf(" (did you mean %q?)", scheme+p)
		}
		return fmt.Errorf("clerkgate: AuthorizedParties (%s): %q is not an origin%s: write scheme://host[:port], e.g. https://app.example.com",
			envAuthorizedParties, p, hint)
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	if port := u.Port(); port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http" {
		origin = strings.ToLower(u.Scheme + "://" + u.Hostname())
	}
	if origin != strings.TrimSuffix(p, "/") {
		return fmt.Errorf("clerkgate: AuthorizedParties (%s): %q can never match, as browsers send origins without path, query, credentials or default port, in lower case: write %q",
			envAuthorizedParties, p, origin)
	}
	return nil
}
