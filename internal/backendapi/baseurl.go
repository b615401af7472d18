package backendapi

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/clerkgate/clerkgate/internal/redact"
)

// BaseURL checks a configured API URL and returns the base that request
// paths are appended to: DefaultURL for "", else scheme://host[/prefix]
// without a trailing slash. Its errors show the URL redacted, never its
// credentials or query: both would end up in start-up logs.
func BaseURL(raw string) (string, error) {
	if raw == "" {
		return DefaultURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("api url %q: %s", shown(raw), redact.Reason(raw, url.Parse))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("api url %q: want an absolute http or https URL", shown(raw))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("api url %q: must not carry a query, fragment or credentials", shown(raw))
	}
	base := strings.TrimRight(u.String(), "/")
	if strings.HasSuffix(base, "/v1") {
		// The client adds /v1 itself; accepting it here would silently
		// produce /v1/v1/... and a wall of 404s.
		return "", fmt.Errorf("api url %q: leave out /v1, the client adds it", shown(raw))
	}
	return base, nil
}

// shown is a URL as an error may print it: redacted, and cut short.
func shown(raw string) string { return Truncate(redact.URL(raw)) }

// Truncate cuts a value an error message echoes to 64 bytes, on a rune
// boundary, so that a pasted blob does not flood a log line.
func Truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
