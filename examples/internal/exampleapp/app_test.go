package exampleapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestDevModeOnlyWithoutAnyClerkVariable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  []string
		dev  bool
		fail string
	}{
		{env: []string{"PATH=/bin", "HOME=/root"}, dev: true},
		{env: []string{"XCLERK_SECRET_KEY="}, dev: true},
		{env: []string{"CLERK_SECRET_KEY=sk_test_x"}},
		{env: []string{"CLERK_API_URL=http://127.0.0.1:1"}},
		{env: []string{"CLERK_SOMETHING_ELSE=1"}},
		{env: []string{"CLERK_SECRET_KEY="}, fail: "CLERK_SECRET_KEY set but empty"},
		{env: []string{"CLERK_JWT_KEY= \t\n"}, fail: "CLERK_JWT_KEY set but empty"},
		{env: []string{"CLERK_SECRET_KEY", "PATH=/bin"}, fail: "CLERK_SECRET_KEY set but empty"},
		{env: []string{"CLERK_SECRET_KEY=", "CLERK_API_URL=x", "CLERK_AUTHORIZED_PARTIES="},
			fail: "CLERK_AUTHORIZED_PARTIES, CLERK_SECRET_KEY set but empty"},
	} {
		dev, err := devMode(tc.env)
		if tc.fail != "" {
			require.ErrorContains(t, err, tc.fail, "%q", tc.env)
			require.False(t, dev)
			continue
		}
		require.NoError(t, err, "%q", tc.env)
		require.Equal(t, tc.dev, dev, "%q", tc.env)
	}
}

func TestDevModeAddressMustBeLoopback(t *testing.T) {
	t.Parallel()
	require.NoError(t, requireLoopback(DefaultAddr))
	for _, ok := range []string{"127.0.0.1:0", "127.1.2.3:80", "[::1]:8080", "localhost:8080"} {
		require.NoError(t, requireLoopback(ok), ok)
	}
	for _, bad := range []string{":8080", "0.0.0.0:8080", "[::]:8080", "192.168.1.10:8080", "example.com:80", "127.0.0.1", ""} {
		require.Error(t, requireLoopback(bad), bad)
	}
}

// TestReplicaBannerShowsNoSecret: in dev mode with REDIS_URL, the banner
// tells how to start a second replica without printing the fake's secret
// key or the Redis password; both are in a file only this user can read.
func TestReplicaBannerShowsNoSecret(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	const redisURL = "redis://:hunter2-password@127.0.0.1:6379/0"
	a := &App{name: "test", dev: fake, redisEnv: EnvRedisURL, redisURL: redisURL}
	t.Cleanup(a.Close)
	require.NoError(t, a.writeReplicaEnv())

	var out bytes.Buffer
	a.banner(&out, "http://127.0.0.1:1")
	require.Contains(t, out.String(), "env $(cat "+a.replicaEnv+")")
	require.NotContains(t, out.String(), "hunter2")
	secret := strings.TrimPrefix(fake.SecretKey(), "sk_test_")
	require.NotContains(t, out.String(), secret[:6])

	info, err := os.Stat(a.replicaEnv)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	env, err := os.ReadFile(a.replicaEnv)
	require.NoError(t, err)
	require.Contains(t, string(env), "CLERK_SECRET_KEY="+fake.SecretKey()+"\n")
	require.Contains(t, string(env), "REDIS_URL="+redisURL+"\n")

	a.Close()
	_, err = os.Stat(a.replicaEnv)
	require.ErrorIs(t, err, os.ErrNotExist, "Close removes the file")
}

// With REDIS_CLUSTER_ADDRS, the banner names the cluster's nodes, never
// a password, and the second replica's file names the same cluster.
func TestClusterReplicaBanner(t *testing.T) {
	t.Parallel()
	for seeds, shown := range map[string]string{
		"127.0.0.1:7000,127.0.0.1:7001":                                "127.0.0.1:7000,127.0.0.1:7001",
		"redis://:hunter2-password@127.0.0.1:7000?addr=127.0.0.1:7001": "redis://127.0.0.1:7000",
		"default:hunter2-password@127.0.0.1:7000":                      EnvRedisClusterAddrs,
	} {
		fake := clerktest.New()
		a := &App{name: "test", dev: fake, redisEnv: EnvRedisClusterAddrs, redisURL: seeds}
		t.Cleanup(a.Close)
		require.NoError(t, a.writeReplicaEnv())

		var out bytes.Buffer
		a.banner(&out, "http://127.0.0.1:1")
		require.Contains(t, out.String(), "shared with the other replicas through "+shown+"\n", seeds)
		require.NotContains(t, out.String(), "hunter2", seeds)
		env, err := os.ReadFile(a.replicaEnv)
		require.NoError(t, err)
		require.Contains(t, string(env), "\nREDIS_CLUSTER_ADDRS="+seeds+"\n", seeds)
		require.NotContains(t, string(env), "REDIS_URL", seeds)
	}
}

// REDIS_URL opens the store of WithRedis, REDIS_CLUSTER_ADDRS the one of
// WithRedisCluster, with the variable's value as it is; the store opened
// serves the Gate. A variable the example has no store for, or both
// variables at once, stop start-up before anything is opened: an example
// that ran on anyway would be a replica that shares nothing. (t.Setenv:
// not parallel.)
func TestRedisFromTheEnvironment(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	t.Setenv("CLERK_SECRET_KEY", fake.SecretKey())
	t.Setenv("CLERK_PUBLISHABLE_KEY", fake.PublishableKey())
	t.Setenv("CLERK_API_URL", fake.URL())
	t.Setenv("CLERK_AUTHORIZED_PARTIES", "http://127.0.0.1:8080")
	const url, seeds = "redis://127.0.0.1:6379/0", "127.0.0.1:7000, 127.0.0.1:7001"
	var opened []string
	var last *startedStore
	opener := func(kind string, open error) func(string) (clerkgate.Store, error) {
		return func(v string) (clerkgate.Store, error) {
			opened = append(opened, kind+" "+v)
			if open != nil {
				return nil, open
			}
			last = &startedStore{}
			return last, nil
		}
	}
	single, cluster := WithRedis(opener("single", nil)), WithRedisCluster(opener("cluster", nil))

	for _, tc := range []struct {
		url, seeds string
		opts       []Option
		want       string
	}{
		{"", seeds, []Option{single}, "REDIS_CLUSTER_ADDRS is set, but the test example is built without the Redis store for it (its main does not pass exampleapp.WithRedisCluster)"},
		{url, "", []Option{cluster}, "REDIS_URL is set, but the test example is built without the Redis store for it (its main does not pass exampleapp.WithRedis)"},
		{url, seeds, []Option{single, cluster}, "REDIS_URL and REDIS_CLUSTER_ADDRS are both set"},
	} {
		t.Setenv(EnvRedisURL, tc.url)
		t.Setenv(EnvRedisClusterAddrs, tc.seeds)
		a, err := New("test", tc.opts...)
		require.Nil(t, a)
		require.ErrorContains(t, err, tc.want)
		require.Empty(t, opened)
	}

	t.Setenv(EnvRedisURL, "")
	t.Setenv(EnvRedisClusterAddrs, "")
	a, err := New("test", single, cluster)
	require.NoError(t, err)
	require.Empty(t, opened, "no variable, no store")
	require.Empty(t, a.redisEnv)
	a.Close()

	for _, tc := range []struct{ url, seeds, want string }{{url, "", "single " + url}, {"", seeds, "cluster " + seeds}} {
		t.Setenv(EnvRedisURL, tc.url)
		t.Setenv(EnvRedisClusterAddrs, tc.seeds)
		opened = nil
		a, err := New("test", single, cluster)
		require.NoError(t, err)
		require.Equal(t, []string{tc.want}, opened)
		var out bytes.Buffer
		a.banner(&out, "http://127.0.0.1:1")
		require.Contains(t, out.String(), "shared with the other replicas through "+strings.TrimPrefix(strings.TrimPrefix(tc.want, "single "), "cluster "))
		require.Equal(t, 1, last.starts, "the store opened is the Gate's")
		a.Close()
	}

	t.Setenv(EnvRedisURL, "")
	opened = nil
	a, err = New("test", single, WithRedisCluster(opener("cluster", errors.New("redisstore: Redis Cluster seed \"x\": want host:port"))))
	require.Nil(t, a)
	require.ErrorContains(t, err, "REDIS_CLUSTER_ADDRS: redisstore: Redis Cluster seed")
	require.Equal(t, []string{"cluster " + seeds}, opened)
}

// startedStore is a Store that counts the Gate's Start calls. The test
// makes no request, so the Gate calls nothing else before Close; any other
// call would hit the nil Store and fail the test.
type startedStore struct {
	clerkgate.Store
	starts int
}

func (s *startedStore) Start(clerkgate.StoreOptions) error { s.starts++; return nil }
func (s *startedStore) Close() error                       { return nil }

// GET /dev/credential issues every type in dev mode, refuses what it
// cannot issue with a 4xx, and exists only in dev mode.
func TestDevCredential(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	a := &App{name: "test", dev: fake}
	t.Cleanup(a.Close)
	for _, tc := range []struct{ typ, format, want string }{
		{"", "", "api_key"}, {"api_key", "", "api_key"},
		{"m2m_token", "", "m2m_token"}, {"m2m_token", "jwt", "m2m_token"},
		{"oauth_token", "", "oauth_token"}, {"oauth_token", "jwt", "oauth_token"},
	} {
		res := a.DevCredential(tc.typ, tc.format)
		require.Equal(t, 200, res.Status, "%+v: %v", tc, res.Body)
		body := res.Body.(map[string]string)
		require.Equal(t, tc.want, body["token_type"])
		require.NotEmpty(t, body["token"])
		require.Equal(t, tc.format == "jwt", strings.Count(body["token"], ".") == 2, body["token"])
	}
	require.Equal(t, a.DevCredential("m2m_token", "").Body.(map[string]string)["subject"],
		a.DevCredential("m2m_token", "jwt").Body.(map[string]string)["subject"], "one dev machine")
	for _, bad := range [][2]string{{"session_token", ""}, {"api_key", "jwt"}, {"m2m_token", "pem"}, {"mt_", ""}} {
		require.Equal(t, 400, a.DevCredential(bad[0], bad[1]).Status, bad)
	}
	require.Equal(t, 404, (&App{}).DevCredential("api_key", "").Status)
}

// TestPagesEscapeClaims: the pages show claims as text. A user id is
// chosen by whoever administers the Clerk instance, and a page must not
// run it as markup.
func TestPagesEscapeClaims(t *testing.T) {
	t.Parallel()
	p, err := newPages()
	require.NoError(t, err)
	a := &App{pages: p, signOutURL: "javascript:alert(3)"}
	const evil = `<script>alert(1)</script>`
	claims := &clerkgate.Claims{Subject: evil, SessionID: `sess_"><img src=x onerror=alert(2)>`}

	for name, page := range map[string]Page{"home": a.Home(claims), "dashboard": a.Dashboard(claims)} {
		require.Equal(t, http.StatusOK, page.Status, name)
		body := string(page.HTML)
		require.NotContains(t, body, "<script>", name)
		require.NotContains(t, body, "<img", name)
		require.NotContains(t, body, "javascript:", name)
		require.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;", name)
	}
	require.Contains(t, string(a.Dashboard(claims).HTML), "&lt;img src=x onerror=alert(2)&gt;")

	signedOut := string(a.Home(nil).HTML)
	require.Contains(t, signedOut, `<p id="status">Signed out</p>`)
	require.NotContains(t, signedOut, "sign-out", "no sign-out link for the signed out")
}

// TestStartupStopsOnARefusedSecretKey: an example given a secret key Clerk
// refuses exits at start-up with the reason, instead of serving 503s that
// say "try again shortly" forever. (t.Setenv: not parallel.)
func TestStartupStopsOnARefusedSecretKey(t *testing.T) {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	const wrong = "sk_test_Zq9WvK3xTmB7pLr2YhN8cD4fGs6J"
	t.Setenv("CLERK_SECRET_KEY", wrong)
	t.Setenv("CLERK_PUBLISHABLE_KEY", fake.PublishableKey())
	t.Setenv("CLERK_API_URL", fake.URL())
	t.Setenv("CLERK_AUTHORIZED_PARTIES", "http://127.0.0.1:8080")
	a, err := New("test")
	require.Nil(t, a)
	require.ErrorIs(t, err, clerkgate.ErrConfig)
	require.ErrorContains(t, err, "CLERK_SECRET_KEY")
	require.NotContains(t, err.Error(), wrong[len("sk_test_"):])

	t.Setenv("CLERK_SECRET_KEY", fake.SecretKey())
	a, err = New("test")
	require.NoError(t, err, "the right key starts")
	a.Close()
}

// The load generator's tokens, and tokens from Sessions().CreateToken,
// live longer than Clerk's 60 s session tokens: CLERK_MAX_TOKEN_LIFETIME
// (read by clerkgate.ConfigFromEnv) lets the example accept them, and a
// value that is not a duration stops start-up naming the variable.
func TestMaxTokenLifetimeFromTheEnvironment(t *testing.T) {
	fake := clerktest.New(clerktest.WithTokenLifetime(time.Hour))
	t.Cleanup(fake.Close)
	t.Setenv("CLERK_SECRET_KEY", fake.SecretKey())
	t.Setenv("CLERK_PUBLISHABLE_KEY", fake.PublishableKey())
	t.Setenv("CLERK_API_URL", fake.URL())
	t.Setenv("CLERK_AUTHORIZED_PARTIES", "http://127.0.0.1:8080")
	token := fake.Token(fake.CreateSession("user_1").ID, clerktest.WithAuthorizedParty("http://127.0.0.1:8080"))

	a, err := New("test")
	require.NoError(t, err)
	_, err = a.Gate.Accept(clerkgate.SessionToken).AuthenticateToken(t.Context(), token)
	var refusal *clerkgate.AuthError
	require.ErrorAs(t, err, &refusal, "an hour-long token is refused by default")
	require.Equal(t, clerkgate.ReasonTokenLifetimeInvalid, refusal.Reason)
	a.Close()

	t.Setenv("CLERK_MAX_TOKEN_LIFETIME", "2h")
	a, err = New("test")
	require.NoError(t, err)
	caller, err := a.Gate.Accept(clerkgate.SessionToken).AuthenticateToken(t.Context(), token)
	require.NoError(t, err)
	require.Equal(t, "user_1", caller.Subject())
	a.Close()

	for _, bad := range []string{"2 hours", "-1h", "0s"} {
		t.Setenv("CLERK_MAX_TOKEN_LIFETIME", bad)
		a, err = New("test")
		require.Nil(t, a)
		require.ErrorIs(t, err, clerkgate.ErrConfig)
		require.ErrorContains(t, err, "CLERK_MAX_TOKEN_LIFETIME")
	}
}

// The start-up banner names the Redis URL; neither its user, its
// password nor a query may show.
func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"redis://default:s3cret@redis.internal:6379/0":     "redis://redis.internal:6379/0",
		"rediss://s3cretuser@redis.internal/1?password=s3": "rediss://redis.internal/1",
		"redis://127.0.0.1:6379":                           "redis://127.0.0.1:6379",
		"redis://u:s3cret@host:63 79/0":                    "redis://host:63 79/0",
		"redis://default:8841/Xq9z@redis.internal:6379/0":  "redis://redis.internal:6379/0",
		"redis://:20/s3cretpw@redis:6379":                  "redis://redis:6379",
		"redis://:pa?ss@redis:6379":                        "redis://…",
		"redis://:p@ss#x@redis:6379/0":                     "redis://…",
		"redis.internal:6379":                              "REDIS_URL",
	} {
		if got := redactURL(raw); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// In dev mode the fake delivers its webhooks to the app: a session revoked
// in the fake itself (POST /dev/revoke), not through the Gate, is refused
// once its session.revoked webhook has arrived.
func TestDevRevokeReachesTheAppAsAWebhook(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	gate, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(),
		APIURL: fake.URL(), WebhookSigningSecret: fake.WebhookSecret(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	a := &App{Gate: gate, dev: fake, webhooks: true, log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	mux.Handle("POST "+WebhookPath, a.Webhooks())
	mux.Handle("/me", gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer a.Close() // before the server closes: the fake's deliveries end first
	fake.SendWebhooksTo(srv.URL + WebhookPath)

	dev := a.DevToken(false).Body.(map[string]string)
	me := func() int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/me", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+dev["token"])
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusOK, me())
	require.Equal(t, http.StatusOK, a.DevRevoke(dev["session_id"]).Status)
	require.Eventually(t, func() bool { return me() == http.StatusUnauthorized }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, http.StatusNotFound, a.DevRevoke("sess_unknown").Status)
	srv.Client().CloseIdleConnections()

	var out bytes.Buffer
	a.banner(&out, "http://127.0.0.1:1")
	require.Contains(t, out.String(), `curl -X POST "http://127.0.0.1:1/dev/revoke?session_id=`)
	require.Nil(t, (&App{}).Webhooks(), "no handler without a signing secret")
}

// TestResultJSONWritesWhatTheEncoderWrites: the /me body written by hand
// (its claims passed through) is the JSON encoding/json's Encoder writes,
// for ids that need escaping too; every other body is the Encoder's.
func TestResultJSONWritesWhatTheEncoderWrites(t *testing.T) {
	odd := `user_"<odd>\` + "\u2028\x01" // quotes, HTML, a backslash, U+2028, a control byte
	for _, res := range []Result{
		{http.StatusOK, meBody{UserID: odd, SessionID: "sess_1", Claims: []byte(`{"sub":"user_1","iat":1}`)}},
		Health(),
		failure(http.StatusNotFound, "not_found", `a "quoted" message`),
	} {
		got, err := res.JSON()
		require.NoError(t, err)
		var want bytes.Buffer
		require.NoError(t, json.NewEncoder(&want).Encode(res.Body))
		require.Equal(t, want.String(), string(got))
	}
}

// FuzzMeJSON: the /me body's ids, written by hand when they need no
// escaping, are what encoding/json's Encoder writes for any string.
func FuzzMeJSON(f *testing.F) {
	for _, s := range []string{"user_2abc", "sess_1", "", `"`, "\\", "<", ">", "&", "\x7f", "\x1f", "é", "\u2028", "\xff"} {
		f.Add(s, "sess_1")
	}
	f.Fuzz(func(t *testing.T, user, sess string) {
		res := Result{http.StatusOK, meBody{UserID: user, SessionID: sess, Claims: []byte(`{"sub":"user_1"}`)}}
		got, err := res.JSON()
		require.NoError(t, err)
		var want bytes.Buffer
		require.NoError(t, json.NewEncoder(&want).Encode(res.Body))
		require.Equal(t, want.String(), string(got))
	})
}
