package redisstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

// The secrets a Redis URL may carry. None may reach an error or a log line.
const (
	redisUser     = "USERzq9WvK"
	redisPassword = "s3cretpass"
	redisToken    = "TOKENhN8cD"
)

func requireNoRedisSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{redisUser, redisPassword, redisToken} {
		require.NotContains(t, text, s, "%s shows a secret of the URL: %s", what, text)
	}
}

// TestURLErrorsShowNoPassword: go-redis's own parse errors quote the URL,
// password and all (net/url's do), or a piece of the password where a "/"
// or "%" in it confuses the parser. Open and OpenCluster name the URL
// redacted instead, with a reason that holds nothing of the secrets.
func TestURLErrorsShowNoPassword(t *testing.T) {
	t.Parallel()
	creds := redisUser + ":" + redisPassword + "@"
	open := map[string]string{
		"bad port":               "redis://:" + redisPassword + "@host:bad",
		"bad port, user":         "redis://" + creds + "host:bad/0",
		"bad database":           "redis://" + creds + "host:6379/notadb",
		"bad path":               "redis://" + creds + "host:6379/0/1",
		"bad scheme":             "http://" + creds + "host:6379",
		"slash in password":      "redis://" + redisUser + ":" + redisPassword + "/x@host:6379/0",
		"digits after a slash":   "redis://" + redisUser + ":12/" + redisPassword + "@host:6379/0",
		"bad escape in password": "redis://" + redisUser + ":" + redisPassword + "%zz@host:6379",
		"space in host":          "rediss://" + creds + "ho st:6379",
		"bad option":             "redis://" + creds + "host:6379/0?dial_timeout=" + redisToken,
		"unknown option":         "redis://" + creds + "host:6379/0?" + redisToken + "=1",
		"unix without a path":    "unix://" + creds,
		"control character":      "redis://" + creds + "host:6379/\x7f",
	}
	for name, raw := range open {
		s, err := redisstore.Open(raw, redisstore.Options{})
		require.Error(t, err, name)
		require.Nil(t, s)
		require.Contains(t, err.Error(), "REDIS URL", name)
		requireNoRedisSecret(t, name, err.Error())
	}
	cluster := map[string]string{
		"bad port":          "redis://" + creds + "host:bad?addr=host2:6379",
		"bad addr":          "redis://" + creds + "host:6379?addr=" + redisToken,
		"bad scheme":        "http://" + creds + "host:6379",
		"slash in password": "redis://" + redisUser + ":" + redisPassword + "/x@host:6379",
		"seed with creds":   creds + "host:6379,host2:6379",
		"seed list, bad":    "host:6379," + creds + "host2",
	}
	for name, raw := range cluster {
		s, err := redisstore.OpenCluster(raw, redisstore.Options{})
		require.Error(t, err, name)
		require.Nil(t, s)
		requireNoRedisSecret(t, name, err.Error())
	}
	// The reason is kept where it shows nothing secret.
	_, err := redisstore.Open("redis://:"+redisPassword+"@host:bad", redisstore.Options{})
	require.ErrorContains(t, err, `"redis://host:bad"`)
	require.ErrorContains(t, err, `invalid port ":bad"`)
}

// TestRefusedPasswordIsNotShown: over a real Redis that refuses the
// credentials, neither the store's errors nor its log show them.
func TestRefusedPasswordIsNotShown(t *testing.T) {
	t.Parallel()
	b := sharedRedis(t)
	raw := strings.Replace(b.url, "://", "://"+redisUser+":"+redisPassword+"@", 1)
	var logs syncBuffer
	store, err := redisstore.Open(raw, redisstore.Options{
		Timeout: time.Second,
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, store.Close()) }()
	require.NoError(t, store.Start(clerkgate.StoreOptions{Instance: "ins_secrets", Logger: slog.New(slog.DiscardHandler), Clock: time.Now}))

	err = store.FailRefresh(context.Background(), "name", time.Second)
	require.Error(t, err, "Redis refuses the credentials")
	requireNoRedisSecret(t, "FailRefresh", err.Error())
	_, err = store.RefreshFailed(context.Background(), "other name", time.Second)
	require.Error(t, err)
	requireNoRedisSecret(t, "RefreshFailed", err.Error())
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "Redis unavailable") }, 5*time.Second, 10*time.Millisecond)
	requireNoRedisSecret(t, "log", logs.String())
}
