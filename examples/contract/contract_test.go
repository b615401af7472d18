package contract_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate/clerktest/adaptertest"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// examples are the servers under contract, by folder under examples/. The
// first is the reference the others are compared with.
var examples = []string{"nethttp", "gin", "echo", "fiber"}

const (
	// buildTimeout bounds one `go build`. It is generous because a build
	// with a cold cache compiles gin and its dependencies, which takes
	// minutes on a small CI machine; a warm build takes a second or two.
	buildTimeout = 20 * time.Minute
	// startTimeout bounds the wait from exec to the start-up banner.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a graceful shutdown before the process is killed.
	stopTimeout = 10 * time.Second
	// requestTimeout bounds every HTTP exchange with a server.
	requestTimeout = 15 * time.Second
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestContract(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example servers")
	}
	bin := t.TempDir()

	exes := make([]string, len(examples))
	servers := make([]*server, len(examples))
	errs := make([]error, len(examples))
	var wg sync.WaitGroup
	for i, name := range examples {
		wg.Go(func() {
			if exes[i], errs[i] = build(t, bin, name); errs[i] == nil {
				servers[i], errs[i] = start(t, name, exes[i], append(devEnv(), "ADDR=127.0.0.1:0"))
			}
		})
	}
	wg.Wait()
	for i, s := range servers {
		if s != nil {
			t.Cleanup(func() { s.stop(t) })
		}
		require.NoError(t, errs[i], "example %s", examples[i])
	}

	refusals := &refusalLog{byCase: map[string]map[string]refusal{}}
	pages := &refusalLog{byCase: map[string]map[string]refusal{}}
	t.Run("examples", func(t *testing.T) {
		for _, s := range servers {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				runContract(t, s, refusals, pages)
			})
		}
	})

	t.Run("refusals are identical on the wire", func(t *testing.T) {
		requireIdentical(t, refusals)
	})

	t.Run("pages are identical on the wire", func(t *testing.T) {
		requireIdentical(t, pages)
	})

	t.Run("banners are the same", func(t *testing.T) {
		want := servers[0].normalizedBanner(t)
		for _, s := range servers[1:] {
			require.Equal(t, want, s.normalizedBanner(t), "banner of %s", s.name)
		}
	})

	t.Run("fails safe", func(t *testing.T) {
		for i, name := range examples {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runFailSafe(t, name, exes[i])
			})
		}
	})
}

// requireIdentical checks that every example answered each logged case
// with the same bytes as the reference example.
func requireIdentical(t *testing.T, log *refusalLog) {
	t.Helper()
	require.NotEmpty(t, log.byCase)
	ref := examples[0]
	for name, byServer := range log.snapshot() {
		want, ok := byServer[ref]
		require.True(t, ok, "%s: no answer from %s", name, ref)
		for _, other := range examples[1:] {
			got, ok := byServer[other]
			require.True(t, ok, "%s: no answer from %s", name, other)
			require.Equal(t, want, got, "%s: %s and %s differ", name, ref, other)
		}
	}
}

// runContract is the suite every example must pass. Its subtests run in
// order: the later ones revoke the dev session the earlier ones use.
func runContract(t *testing.T, s *server, refusals, pages *refusalLog) {
	t.Run("healthz", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/healthz", "")
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, "ok", res.json(t)["status"])
	})

	dev := s.devToken(t, false)
	token, sid := dev["token"], dev["session_id"]
	require.NotEmpty(t, token)
	require.NotEmpty(t, sid)

	t.Run("valid token", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/me", token)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		body := res.json(t)
		require.Equal(t, "user_dev", body["user_id"])
		require.Equal(t, sid, body["session_id"])
		claims, ok := body["claims"].(map[string]any)
		require.True(t, ok, "claims: %v", body["claims"])
		require.Equal(t, "user_dev", claims["sub"])
		require.Equal(t, sid, claims["sid"])
	})

	t.Run("missing token", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/me", "")
		res.requireRefusal(t, http.StatusUnauthorized, "token_missing")
		require.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))
		refusals.add("missing token", s.name, res)
	})

	t.Run("forged token", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/me", adaptertest.Forge(t, token))
		res.requireRefusal(t, http.StatusUnauthorized, "signature_invalid")
		require.Contains(t, res.header.Get("WWW-Authenticate"), `error="invalid_token"`)
		refusals.add("forged token", s.name, res)
	})

	runPages(t, s, token, sid, pages)
	runBrowserPages(t, s)

	expired := s.devToken(t, true)
	require.NotEmpty(t, expired["token"])
	require.NotEmpty(t, expired["refresh_cookie"])

	t.Run("expired token without refresh cookie", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/me", expired["token"])
		res.requireRefusal(t, http.StatusUnauthorized, "token_expired")
		require.Contains(t, res.header.Get("WWW-Authenticate"), `error="invalid_token"`)
		refusals.add("expired token", s.name, res)
	})

	t.Run("expired token with refresh cookie is refreshed on GET", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/me", expired["token"], expired["refresh_cookie"])
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.Equal(t, expired["session_id"], res.json(t)["session_id"])
		var session bool
		for _, c := range res.header.Values("Set-Cookie") {
			session = session || strings.HasPrefix(c, "__session")
		}
		require.True(t, session, "Set-Cookie: %q", res.header.Values("Set-Cookie"))
	})

	t.Run("expired token on POST is not refreshed", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/me/logout", expired["token"], expired["refresh_cookie"])
		res.requireRefusal(t, http.StatusUnauthorized, "token_expired")
		require.Empty(t, res.header.Values("Set-Cookie"))
		refusals.add("expired token on POST", s.name, res)
	})

	t.Run("sessions", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/me/sessions", token)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		var list struct {
			Data []struct {
				ID     string `json:"id"`
				UserID string `json:"user_id"`
				Status string `json:"status"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(res.body, &list))
		var found bool
		for _, sess := range list.Data {
			require.Equal(t, "user_dev", sess.UserID)
			if sess.ID == sid {
				found = true
				require.Equal(t, "active", sess.Status)
			}
		}
		require.True(t, found, "%s not in %s", sid, res.body)
	})

	t.Run("whoami", func(t *testing.T) {
		runWhoami(t, s, token, refusals)
	})

	t.Run("authorization", func(t *testing.T) {
		runAuthorization(t, s, refusals)
	})

	t.Run("cross-site cookie POST", func(t *testing.T) {
		// What a page on another site makes a signed-in browser send: the
		// session cookie rides along, and would revoke the session.
		res := s.doCrossSite(t, http.MethodPost, "/me/logout", "__session="+token)
		require.Equal(t, http.StatusForbidden, res.status, "body: %s", res.body)
		require.Equal(t, "application/json", res.header.Get("Content-Type"))
		require.Empty(t, res.header.Get("WWW-Authenticate"))
		require.JSONEq(t, `{"error":"forbidden","reason":"cross_origin_request","message":"the session cookie is not accepted on a state-changing request from another origin"}`, string(res.body))
		refusals.add("cross-site cookie POST", s.name, res)
	})

	t.Run("logout", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/me/logout", token)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.Equal(t, "revoked", res.json(t)["status"])
		require.Equal(t, sid, res.json(t)["id"])
	})

	t.Run("revoked session", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/me", token)
		res.requireRefusal(t, http.StatusUnauthorized, "session_revoked")
		refusals.add("revoked session", s.name, res)
	})
}

// runWhoami calls GET /api/whoami with a credential of every type, and
// with the refusals that must be the same in every framework.
func runWhoami(t *testing.T, s *server, session string, refusals *refusalLog) {
	res := s.do(t, http.MethodGet, "/api/whoami", session)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.JSONEq(t, `{"token_type":"session_token","subject":"user_dev","scopes":[]}`, string(res.body))

	for _, tc := range []struct{ typ, format, scopes string }{
		{"api_key", "", `["read","write"]`},
		{"m2m_token", "", ""},
		{"m2m_token", "jwt", ""},
		{"oauth_token", "", `["read"]`},
		{"oauth_token", "jwt", `["read"]`},
	} {
		t.Run(tc.typ+" "+tc.format, func(t *testing.T) {
			cred := s.devCredential(t, tc.typ, tc.format)
			require.Equal(t, tc.typ, cred["token_type"])
			res := s.do(t, http.MethodGet, "/api/whoami", cred["token"])
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			var got struct {
				TokenType string   `json:"token_type"`
				Subject   string   `json:"subject"`
				Scopes    []string `json:"scopes"`
			}
			require.NoError(t, json.Unmarshal(res.body, &got), "body: %s", res.body)
			require.Equal(t, tc.typ, got.TokenType)
			require.Equal(t, cred["subject"], got.Subject)
			if tc.scopes != "" {
				scopes, _ := json.Marshal(got.Scopes)
				require.JSONEq(t, tc.scopes, string(scopes))
			} else {
				// An M2M token's scopes are the machines it may call.
				require.Len(t, got.Scopes, 1)
				require.True(t, strings.HasPrefix(got.Scopes[0], "mch_"), "scopes: %q", got.Scopes)
			}
		})
	}

	key := s.devCredential(t, "api_key", "")["token"]
	m2m := s.devCredential(t, "m2m_token", "jwt")["token"]
	for _, tc := range []struct{ name, path, authorization, reason string }{
		{"whoami without credential", "/api/whoami", "", "token_missing"},
		{"whoami with a bare Bearer", "/api/whoami", "Bearer ", "token_malformed"},
		{"whoami with an unknown api key", "/api/whoami", "Bearer ak_" + strings.Repeat("0", 32), "token_invalid"},
		{"whoami with an unknown m2m token", "/api/whoami", "Bearer mt_" + strings.Repeat("0", 32), "token_invalid"},
		{"whoami with a forged m2m jwt", "/api/whoami", "Bearer " + extend(t, m2m), "signature_invalid"},
		{"whoami with an m2m jwt rewritten as a user's", "/api/whoami", "Bearer " + adaptertest.Forge(t, m2m), "token_type_invalid"},
		{"api key on a session route", "/me", "Bearer " + key, "token_type_invalid"},
		{"m2m jwt on a session route", "/me", "Bearer " + m2m, "token_type_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.doAuthorization(t, tc.path, tc.authorization)
			res.requireRefusal(t, http.StatusUnauthorized, tc.reason)
			refusals.add(tc.name, s.name, res)
		})
	}
}

// extend keeps a genuine JWT's header and signature but pushes its expiry
// a day later: what the holder of a short-lived token would try.
func extend(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	exp, ok := claims["exp"].(float64)
	require.True(t, ok, "exp: %v", claims["exp"])
	claims["exp"] = exp + 86400
	raw, err = json.Marshal(claims)
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// runAuthorization checks GET /admin (org:admin) and POST /me/sensitive
// (second factor within 10 minutes) with tokens from GET /dev/token/authz.
func runAuthorization(t *testing.T, s *server, refusals *refusalLog) {
	authzToken := func(t *testing.T, query string) string {
		t.Helper()
		res := s.do(t, http.MethodGet, "/dev/token/authz?"+query, "")
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		token, _ := res.json(t)["token"].(string)
		require.NotEmpty(t, token)
		return token
	}
	const stepUp = `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}`
	requireForbidden := func(t *testing.T, res response, body string) {
		t.Helper()
		require.Equal(t, http.StatusForbidden, res.status, "body: %s", res.body)
		require.Equal(t, "application/json", res.header.Get("Content-Type"))
		require.Empty(t, res.header.Get("WWW-Authenticate"))
		require.Equal(t, body, string(res.body))
	}

	t.Run("admin", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/admin", authzToken(t, "org_role=admin"))
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.JSONEq(t, `{"user_id":"user_dev","org_id":"org_dev"}`, string(res.body))
	})
	t.Run("admin refuses a member", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/admin", authzToken(t, "org_role=member"))
		requireForbidden(t, res, `{"error":"forbidden","reason":"role_required","message":"the session's organization role does not allow this"}`+"\n")
		refusals.add("admin: member", s.name, res)
	})
	t.Run("admin refuses a user without organization", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/admin", authzToken(t, "fva=0,0"))
		requireForbidden(t, res, `{"error":"forbidden","reason":"role_required","message":"the session's organization role does not allow this"}`+"\n")
		refusals.add("admin: no organization", s.name, res)
	})
	t.Run("admin without a token", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/admin", "")
		res.requireRefusal(t, http.StatusUnauthorized, "token_missing")
		refusals.add("admin: no token", s.name, res)
	})

	t.Run("sensitive", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/me/sensitive", authzToken(t, "fva=30,9"))
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.JSONEq(t, `{"user_id":"user_dev"}`, string(res.body))
	})
	t.Run("sensitive refuses a stale second factor", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/me/sensitive", authzToken(t, "fva=0,10"))
		requireForbidden(t, res, stepUp)
		refusals.add("sensitive: stale", s.name, res)
	})
	t.Run("sensitive refuses a session without fva", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/me/sensitive", authzToken(t, "org_role=admin"))
		requireForbidden(t, res, stepUp)
		refusals.add("sensitive: no fva", s.name, res)
	})
	t.Run("sensitive without a token", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/me/sensitive", "")
		res.requireRefusal(t, http.StatusUnauthorized, "token_missing")
		refusals.add("sensitive: no token", s.name, res)
	})
	t.Run("bad fva", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/dev/token/authz?fva=1.5,x", "")
		require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
	})
}

// server is one example running as a process.
type server struct {
	name   string
	base   string // http://127.0.0.1:port
	client *http.Client
	cmd    *exec.Cmd
	exited chan error // receives Wait's result once
	stdout *lockedBuffer
	stderr *lockedBuffer
}

// build builds examples/<name> into bin and returns the program's path.
// It builds in the example's folder, as the example's own module, the way
// a user who copies that folder would: with the repository's go.work when
// there is one, with the example's go.mod alone under GOWORK=off.
func build(t *testing.T, bin, name string) (string, error) {
	exe := filepath.Join(bin, name)
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", exe, ".")
	cmd.Dir = filepath.Join("..", name)
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in examples/%s: %w\n%s", name, err, out)
	}
	return exe, nil
}

// start runs the example program exe with env and waits for its banner.
// The server it returns, even with an error, must be stopped.
func start(t *testing.T, name, exe string, env []string) (*server, error) {
	s := &server{
		name:   name,
		cmd:    exec.Command(exe),
		exited: make(chan error, 1),
		stdout: newLockedBuffer(),
		stderr: newLockedBuffer(),
	}
	s.cmd.Env = env
	s.cmd.Stdout = s.stdout
	s.cmd.Stderr = s.stderr
	s.cmd.WaitDelay = time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.exited <- s.cmd.Wait() }()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-s.stdout.firstLine:
	case err := <-s.exited:
		s.exited <- err // for stop
		return s, fmt.Errorf("%s exited before its banner: %v\nstderr:\n%s", name, err, s.stderr)
	case <-timer.C:
		return s, fmt.Errorf("%s printed no banner within %v\nstderr:\n%s", name, startTimeout, s.stderr)
	}

	_, addr, ok := strings.Cut(line, " listening on ")
	if !strings.HasPrefix(line, "clerkgate ") || !ok {
		return s, fmt.Errorf("%s: unexpected first line %q", name, line)
	}
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return s, fmt.Errorf("%s: no address in banner %q", name, line)
	}
	s.base = u.String()
	// Its own transport, so that closing idle connections at the end
	// leaves no goroutine behind.
	s.client = &http.Client{
		Transport: &http.Transport{},
		Timeout:   requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s, nil
}

// devEnv is the test's environment without CLERK_* (so the example starts
// in dev mode) and without ADDR.
func devEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CLERK_") || strings.HasPrefix(kv, "ADDR=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// stop asks the server to shut down, kills it if it does not, and waits
// for the process to be gone. Stopping it again changes nothing.
func (s *server) stop(t *testing.T) {
	if s.client != nil {
		s.client.Transport.(*http.Transport).CloseIdleConnections()
	}
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-s.exited:
	case <-timer.C:
		_ = s.cmd.Process.Kill()
		err = <-s.exited
		t.Errorf("%s ignored SIGINT for %v and was killed", s.name, stopTimeout)
	}
	s.exited <- err // for the next stop
	if t.Failed() {
		t.Logf("%s exited: %v\nstdout:\n%s\nstderr:\n%s", s.name, err, s.stdout, s.stderr)
	}
}

// normalizedBanner is the start-up output with the example's name and
// address replaced, once the dev-mode hints have been printed.
func (s *server) normalizedBanner(t *testing.T) string {
	var out string
	require.Eventually(t, func() bool {
		out = s.stdout.String()
		return strings.Count(out, "\n") >= 9
	}, 5*time.Second, 10*time.Millisecond, "banner of %s:\n%s", s.name, s.stdout)
	first, rest, _ := strings.Cut(out, "\n")
	_, after, _ := strings.Cut(first, " example listening on ")
	require.Equal(t, s.base, after)
	u, err := url.Parse(s.base)
	require.NoError(t, err)
	rest = strings.ReplaceAll(rest, "http://localhost:"+u.Port(), "BROWSER_BASE")
	return "clerkgate NAME example listening on BASE\n" + strings.ReplaceAll(rest, s.base, "BASE")
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *server) do(t *testing.T, method, path, token string, cookies ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.base+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.Header.Add("Cookie", c)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{res.StatusCode, res.Header, body}
}

// doCrossSite sends method to path as a browser does for a page on
// another site: with the cookies, Sec-Fetch-Site: cross-site and that
// page's Origin.
func (s *server) doCrossSite(t *testing.T, method, path string, cookies ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	for _, c := range cookies {
		req.Header.Add("Cookie", c)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{res.StatusCode, res.Header, body}
}

// doAuthorization GETs path with the Authorization header as is (none if
// empty).
func (s *server) doAuthorization(t *testing.T, path, authorization string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.base+path, nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{res.StatusCode, res.Header, body}
}

// devCredential asks GET /dev/credential for a machine credential.
func (s *server) devCredential(t *testing.T, typ, format string) map[string]string {
	t.Helper()
	res := s.do(t, http.MethodGet, "/dev/credential?type="+typ+"&format="+format, "")
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var out map[string]string
	require.NoError(t, json.Unmarshal(res.body, &out), "body: %s", res.body)
	require.NotEmpty(t, out["token"])
	return out
}

// devToken asks GET /dev/token for a token (and, for an expired one, the
// refresh cookie a browser would hold).
func (s *server) devToken(t *testing.T, expired bool) map[string]string {
	t.Helper()
	path := "/dev/token"
	if expired {
		path += "?expired=1"
	}
	res := s.do(t, http.MethodGet, path, "")
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var out map[string]string
	require.NoError(t, json.Unmarshal(res.body, &out), "body: %s", res.body)
	return out
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// requireRefusal checks the failure contract: status, a JSON body naming
// the reason with a message, and a Bearer challenge.
func (r response) requireRefusal(t *testing.T, status int, reason string) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer"),
		"WWW-Authenticate: %q", r.header.Get("WWW-Authenticate"))
	body := r.json(t)
	require.Equal(t, reason, body["error"])
	require.NotEmpty(t, body["message"])
}

// refusal is the part of a refused answer (or a page) that must not
// depend on the framework.
type refusal struct {
	Status          int
	ContentType     []string
	WWWAuthenticate []string
	CacheControl    []string
	RetryAfter      []string
	Body            string
}

// refusalLog collects answers (refusals, and pages) by case and server,
// from servers tested in parallel.
type refusalLog struct {
	mu     sync.Mutex
	byCase map[string]map[string]refusal
}

func (l *refusalLog) add(name, server string, r response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byCase[name] == nil {
		l.byCase[name] = map[string]refusal{}
	}
	l.byCase[name][server] = refusal{
		Status:          r.status,
		ContentType:     r.header.Values("Content-Type"),
		WWWAuthenticate: r.header.Values("WWW-Authenticate"),
		CacheControl:    r.header.Values("Cache-Control"),
		RetryAfter:      r.header.Values("Retry-After"),
		Body:            string(r.body),
	}
}

func (l *refusalLog) snapshot() map[string]map[string]refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]map[string]refusal, len(l.byCase))
	for k, v := range l.byCase {
		out[k] = v
	}
	return out
}

// lockedBuffer collects a child's output, which os/exec copies from
// another goroutine, and announces the first complete line.
type lockedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	firstLine chan string
	announced bool
}

func newLockedBuffer() *lockedBuffer {
	return &lockedBuffer{firstLine: make(chan string, 1)}
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if !b.announced {
		if line, _, ok := bytes.Cut(b.buf.Bytes(), []byte("\n")); ok {
			b.firstLine <- string(line)
			b.announced = true
		}
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
