package backendapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/backendapi"
)

func TestBaseURL(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"":                                  backendapi.DefaultURL,
		"https://api.clerk.com":             "https://api.clerk.com",
		"https://api.clerk.com/":            "https://api.clerk.com",
		"http://127.0.0.1:8080/":            "http://127.0.0.1:8080",
		"https://proxy.example.com/clerk//": "https://proxy.example.com/clerk",
	}
	for raw, want := range good {
		got, err := backendapi.BaseURL(raw)
		require.NoError(t, err, raw)
		require.Equal(t, want, got, raw)
	}
}

// TestBaseURLErrorsShowNoSecret: every way a configured URL can be refused
// names the URL, and never the user name, password or query in it: these
// errors stop start-up and land in its logs.
func TestBaseURLErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	const user, pass, token = "USERzq9W", "PASSvK3x", "TOKENmB7p"
	bad := map[string]string{
		"credentials":             "https://" + user + ":" + pass + "@api.example.com",
		"user name only":          "https://" + user + "@api.example.com",
		"query":                   "https://api.example.com?token=" + token,
		"empty query":             "https://api.example.com/?",
		"fragment":                "https://api.example.com#" + token,
		"bad scheme":              "ftp://" + user + ":" + pass + "@api.example.com?t=" + token,
		"no host":                 "https://" + user + ":" + pass + "@",
		"bad port":                "https://" + user + ":" + pass + "@api.example.com:bad?t=" + token,
		"slash in password":       "https://" + user + ":" + pass + "/x@api.example.com",
		"question mark in pass":   "https://" + user + ":" + pass + "?x@api.example.com",
		"v1 with credentials":     "https://" + user + ":" + pass + "@api.example.com/v1",
		"control character":       "https://" + user + ":" + pass + "@api.example.com/\x7f?t=" + token,
		"escape in the password":  "https://" + user + ":" + pass + "%zz@api.example.com",
		"relative with userinfo":  user + ":" + pass + "@api.example.com",
		"long, secret at the end": "https://" + strings.Repeat("a", 80) + ".example.com?t=" + token,
	}
	for name, raw := range bad {
		_, err := backendapi.BaseURL(raw)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), "api url ", name)
		for _, secret := range []string{user, pass, token} {
			require.NotContains(t, err.Error(), secret, "%s: %v", name, err)
		}
	}
}
