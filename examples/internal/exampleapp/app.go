// Package exampleapp is what the net/http, gin, echo and Fiber examples
// share: configuration from the environment, dev mode on an embedded fake
// Clerk backend, the routes' logic and the server's lifecycle. Each
// example's main only wires these into its framework, so they all behave
// alike.
//
// With REDIS_URL set (e.g. redis://127.0.0.1:6379/0), an example shares
// refreshes and revocations through Redis, so two example processes on
// different ports behave as two replicas of one app; with
// REDIS_CLUSTER_ADDRS (e.g. 127.0.0.1:7000,127.0.0.1:7001, or a cluster
// URL) it does so through a Redis Cluster. The Redis store lives in its
// own module (stores/redis) so that the root module never depends on
// go-redis; an example's main hands it in with WithRedis and
// WithRedisCluster. An example built without the one a variable needs
// refuses to start when that variable is set, rather than run as a
// replica that shares nothing.
//
// Dev mode fails safe: it runs only when no CLERK_* variable is in the
// environment at all, an empty one stops start-up, it listens on loopback
// only, and no route or log line shows more of a key than its prefix.
package exampleapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/fapiproxy"
	"github.com/clerkgate/clerkgate/session"
	"github.com/clerkgate/clerkgate/webhooks"
)

// App is one example server's state.
type App struct {
	Gate *clerkgate.Gate
	name string
	addr string
	log  *slog.Logger

	pages      *pages
	signOutURL string // where the pages' "Sign out" link goes; "" for none

	proxy     *fapiproxy.Proxy // Clerk's Frontend API under proxyPath; nil without CLERK_PROXY_URL
	proxyPath string

	dev        *clerktest.Server // nil unless in dev mode
	devMu      sync.Mutex
	devSessID  string
	devMach    *clerktest.Machine
	webhooks   bool   // a webhook signing secret is set (always, in dev mode)
	redisEnv   string // the variable the Redis store was opened from: EnvRedisURL, EnvRedisClusterAddrs or ""
	redisURL   string // its value
	replicaEnv string // dev mode with Redis: the file a second replica reads its keys from
}

// Option adjusts New.
type Option func(*options)

type options struct {
	openRedis        func(url string) (clerkgate.Store, error)
	openRedisCluster func(seeds string) (clerkgate.Store, error)
}

// WithRedis gives New the way to open a Redis store when REDIS_URL is set.
// Examples in their own module pass redisstore.Open from
// github.com/clerkgate/clerkgate/stores/redis:
//
//	exampleapp.WithRedis(func(url string) (clerkgate.Store, error) {
//		return redisstore.Open(url, redisstore.Options{})
//	})
func WithRedis(open func(url string) (clerkgate.Store, error)) Option {
	return func(o *options) { o.openRedis = open }
}

// WithRedisCluster gives New the way to open a Redis store on a Redis
// Cluster when REDIS_CLUSTER_ADDRS is set. Examples in their own module
// pass redisstore.OpenCluster, which takes the variable's value as it is
// (seed addresses separated by commas, or a cluster URL):
//
//	exampleapp.WithRedisCluster(func(seeds string) (clerkgate.Store, error) {
//		return redisstore.OpenCluster(seeds, redisstore.Options{})
//	})
func WithRedisCluster(open func(seeds string) (clerkgate.Store, error)) Option {
	return func(o *options) { o.openRedisCluster = open }
}

// EnvSignInURL names the app's sign-in page (Config.Pages.SignInURL), where
// GET /dashboard sends a browser that is signed out. Clerk's SDKs read
// the same variable.
const EnvSignInURL = "CLERK_SIGN_IN_URL"

// EnvFrontendAPIURL names the Frontend API the example's proxy forwards
// to when not Clerk's (a test's fake). With CLERK_PROXY_URL (which
// ConfigFromEnv reads into Config.ProxyURL) set,
// the example serves Clerk's Frontend API at that URL's path through
// fapiproxy.
const EnvFrontendAPIURL = "CLERK_FAPI_URL"

// EnvRedisURL names the Redis that replicas share.
const EnvRedisURL = "REDIS_URL"

// EnvRedisClusterAddrs names the Redis Cluster that replicas share
// instead: some of its nodes, "host:port,host:port", or a cluster URL,
// "redis://[user:password@]host:port?addr=host2:port".
const EnvRedisClusterAddrs = "REDIS_CLUSTER_ADDRS"

// DevUserID is the user dev-mode tokens are minted for.
const DevUserID = "user_dev"

// DefaultAddr is where an example listens when ADDR is not set.
const DefaultAddr = "127.0.0.1:8080"

// checkTimeout bounds the start-up key fetch (Gate.Check).
const checkTimeout = 15 * time.Second

// New reads CLERK_*, REDIS_URL or REDIS_CLUSTER_ADDRS, and ADDR from the
// environment. With no
// CLERK_* variable in the environment at all it starts in dev mode: an
// embedded fake Clerk backend issues tokens, so the example runs offline
// with no Clerk account. name labels the start-up banner.
func New(name string, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	a := &App{
		name: name,
		addr: envOr("ADDR", DefaultAddr),
		log:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	var err error
	if a.pages, err = newPages(); err != nil {
		return nil, err
	}
	dev, err := devMode(os.Environ())
	if err != nil {
		return nil, err
	}
	// ConfigFromEnv reads CLERK_MAX_TOKEN_LIFETIME too: the load
	// generator sets it, as its tokens outlive a run.
	cfg := clerkgate.ConfigFromEnv()
	cfg.Logger = a.log
	// A page load that ends signed out goes to the sign-in page, as in
	// Clerk's own apps, rather than to a 401.
	cfg.Pages.SignInURL = strings.TrimSpace(os.Getenv(EnvSignInURL))
	if dev {
		if err := requireLoopback(a.addr); err != nil {
			return nil, err
		}
		// The fake's Frontend API on plain http, so that a fresh browser
		// follows the handshake without a certificate warning.
		a.dev = clerktest.New(clerktest.WithPlainFrontendAPI())
		dev := a.dev.Config()
		cfg.SecretKey, cfg.PublishableKey, cfg.APIURL = dev.SecretKey, dev.PublishableKey, dev.APIURL
		cfg.Pages.SignInURL, cfg.ProxyURL, cfg.Issuer = dev.Pages.SignInURL, dev.ProxyURL, dev.Issuer
		// The fake signs its webhooks, and Serve has it deliver them here.
		cfg.WebhookSigningSecret = a.dev.WebhookSecret()
	}
	a.webhooks = cfg.WebhookSigningSecret != ""
	if cfg.Store, err = a.openRedis(o); err != nil {
		a.Close()
		return nil, err
	}
	gate, err := clerkgate.New(cfg)
	if err != nil {
		if cfg.Store != nil {
			cfg.Store.Close() // New did not take it
		}
		a.Close()
		return nil, err
	}
	a.Gate = gate
	// The app's own Frontend API proxy, with CLERK_PROXY_URL (never in dev
	// mode, whose ProxyURL is the fake's plain-http Frontend API itself).
	if cfg.ProxyURL != "" && a.dev == nil {
		if err := a.startProxy(cfg); err != nil {
			a.Close()
			return nil, err
		}
	}
	// Fetch the keys once, to tell a mistake from an outage. A refused
	// secret key (ErrConfig) stops start-up, with the reason: no retry
	// mends it, and it would otherwise show only as every request answered
	// 503 "try again shortly". Anything else is an outage: Clerk down or
	// unreachable. Exiting then would crash-loop every replica of a
	// deploy made during the outage, so the server starts, answers 503
	// jwks_unavailable (with Retry-After) and recovers by itself once
	// Clerk is back: the Gate refetches the keys as requests need them.
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	if err := gate.Check(ctx); errors.Is(err, clerkgate.ErrConfig) {
		a.Close()
		return nil, err
	} else if err != nil {
		a.log.Warn("clerkgate: Clerk's signing keys could not be fetched at start-up; serving 503 jwks_unavailable until they can (the Gate retries as requests come)", "err", err)
	}
	if a.dev != nil && a.redisEnv != "" {
		if err := a.writeReplicaEnv(); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// openRedis opens the Redis store that REDIS_URL or REDIS_CLUSTER_ADDRS
// names, or none when neither is set. Both set is an error: which one the
// replicas share must not depend on a rule no one remembers.
func (a *App) openRedis(o options) (clerkgate.Store, error) {
	url, seeds := os.Getenv(EnvRedisURL), os.Getenv(EnvRedisClusterAddrs)
	open, option := o.openRedis, "WithRedis"
	switch {
	case url != "" && seeds != "":
		return nil, fmt.Errorf("%s and %s are both set: set the one the replicas share", EnvRedisURL, EnvRedisClusterAddrs)
	case url != "":
		a.redisEnv, a.redisURL = EnvRedisURL, url
	case seeds != "":
		a.redisEnv, a.redisURL = EnvRedisClusterAddrs, seeds
		open, option = o.openRedisCluster, "WithRedisCluster"
	default:
		return nil, nil
	}
	if open == nil {
		return nil, fmt.Errorf("%s is set, but the %s example is built without the Redis store for it "+
			"(its main does not pass exampleapp.%s); unset %[1]s to run it as a single replica",
			a.redisEnv, a.name, option)
	}
	store, err := open(a.redisURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.redisEnv, err)
	}
	return store, nil
}

// devMode reports whether to run on the embedded fake backend: only when
// no CLERK_* variable is present in environ. A present one means a real
// Clerk instance was meant, even with an empty value, which is what a
// compose file's "CLERK_SECRET_KEY: ${CLERK_SECRET_KEY}" passes on when the
// host lacks the variable. Dev mode then would ignore CLERK_API_URL and
// sign in anyone who asks GET /dev/token, so an empty CLERK_* variable
// stops start-up instead, naming it.
func devMode(environ []string) (bool, error) {
	var present, empty []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "CLERK_") {
			continue
		}
		present = append(present, name)
		if strings.TrimSpace(value) == "" {
			empty = append(empty, name)
		}
	}
	if len(empty) > 0 {
		slices.Sort(empty)
		return false, fmt.Errorf("%s set but empty: give it a value or unset it "+
			"(dev mode, on an embedded fake Clerk, runs only when no CLERK_* variable is set at all)",
			strings.Join(empty, ", "))
	}
	return len(present) == 0, nil
}

// requireLoopback refuses a dev-mode address that other machines can
// reach: GET /dev/token signs in whoever asks. It refuses rather than
// quietly listen elsewhere than ADDR says.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("ADDR=%q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("ADDR=%q: dev mode listens on loopback only (such as %s), "+
		"because GET /dev/token signs in whoever asks; set the CLERK_* keys of a Clerk instance to listen elsewhere",
		addr, DefaultAddr)
}

// startProxy builds the Frontend API proxy from the Gate's keys and
// ProxyURL: the three values the Gate and the proxy share.
func (a *App) startProxy(cfg clerkgate.Config) error {
	p, err := fapiproxy.New(fapiproxy.Config{
		ProxyURL:       cfg.ProxyURL,
		SecretKey:      cfg.SecretKey,
		PublishableKey: cfg.PublishableKey,
		FrontendAPIURL: strings.TrimSpace(os.Getenv(EnvFrontendAPIURL)),
		Logger:         a.log,
	})
	if err != nil {
		return fmt.Errorf("CLERK_PROXY_URL: %w", err)
	}
	u, _ := url.Parse(cfg.ProxyURL) // fapiproxy.New parsed it
	a.proxy, a.proxyPath = p, strings.TrimRight(u.EscapedPath(), "/")
	return nil
}

// withProxy sends requests under the proxy's path to the proxy, which
// checks them itself, and every other request to h: the same in front of
// net/http, gin and echo.
func (a *App) withProxy(h http.Handler) http.Handler {
	if a.proxy == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == a.proxyPath || strings.HasPrefix(p, a.proxyPath+"/") {
			a.proxy.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// DevMode reports whether the embedded fake backend is in use.
func (a *App) DevMode() bool { return a.dev != nil }

// Close stops the gate and the fake backend.
func (a *App) Close() {
	if a.replicaEnv != "" {
		os.Remove(a.replicaEnv)
	}
	if a.Gate != nil {
		a.Gate.Close()
	}
	if a.proxy != nil {
		a.proxy.Close()
	}
	if a.dev != nil {
		a.dev.SendWebhooksTo("")
		a.dev.Close()
	}
}

// WebhookPath is where the examples serve Clerk's webhooks.
const WebhookPath = "/webhooks/clerk"

// Webhooks is the handler for POST /webhooks/clerk, or nil when there is
// no signing secret (CLERK_WEBHOOK_SIGNING_SECRET; in dev mode, the fake's
// own). The Gate verifies each delivery and applies it (revoked sessions,
// deleted or banned users, changed memberships); the app's part here is
// to log it, where a real app would sync its users.
func (a *App) Webhooks() http.Handler {
	if !a.webhooks {
		return nil
	}
	return a.Gate.Webhooks(func(_ context.Context, e *webhooks.Event) error {
		a.log.Info("clerk webhook", "type", e.Type, "msg_id", e.MessageID)
		return nil
	})
}

// DevRevoke answers POST /dev/revoke?session_id=… in dev mode: it revokes
// the session in the fake Clerk itself, as an admin would in Clerk's
// dashboard, not through this app; the fake then tells the app with a
// session.revoked webhook.
func (a *App) DevRevoke(sessionID string) Result {
	if a.dev == nil {
		return failure(http.StatusNotFound, "not_dev_mode", "dev revocations exist only in dev mode")
	}
	if !a.dev.RevokeSession(sessionID) {
		return failure(http.StatusNotFound, "session_not_found", "no such session in the fake Clerk")
	}
	return ok(map[string]string{"session_id": sessionID, "status": "revoked in Clerk; its webhook is on its way"})
}

// Result is a route's answer, written as JSON by each framework.
type Result struct {
	Status int
	Body   any
}

func ok(body any) Result { return Result{http.StatusOK, body} }

// JSON is the body as encoding/json's Encoder writes it: JSON and a
// newline. A /me body passes its claims through as they were verified
// (valid JSON already), where encoding/json would scan them again to
// check and compact them: a third of a /me request's cost in-process.
func (r Result) JSON() ([]byte, error) {
	if me, ok := r.Body.(meBody); ok {
		b := make([]byte, 0, len(`{"user_id":"","session_id":"","claims":}`)+len(me.UserID)+len(me.SessionID)+len(me.Claims)+1)
		b, err := appendJSONString(append(b, `{"user_id":`...), me.UserID)
		if err != nil {
			return nil, err
		}
		if b, err = appendJSONString(append(b, `,"session_id":`...), me.SessionID); err != nil {
			return nil, err
		}
		b = append(append(b, `,"claims":`...), me.Claims...)
		return append(b, "}\n"...), nil
	}
	b, err := json.Marshal(r.Body)
	return append(b, '\n'), err
}

// appendJSONString appends s as encoding/json writes a string. Clerk's
// ids are plain ASCII, which it writes between quotes as they are; a
// string with anything it escapes (a quote, a backslash, <, > or &, a
// control or non-ASCII byte) goes through encoding/json.
func appendJSONString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			return append(b, q...), err
		}
	}
	return append(append(append(b, '"'), s...), '"'), nil
}

func failure(status int, reason, msg string) Result {
	return Result{status, map[string]string{"error": reason, "message": msg}}
}

// Health answers GET /healthz.
func Health() Result { return ok(map[string]string{"status": "ok"}) }

// Me answers GET /me with the caller's ids and every claim of the token.
//
// The claims are the verified payload as signed, passed through without
// decoding them into a map and encoding them again: that round trip cost
// more than the authentication itself under load (docs/BENCHMARKS.md).
func Me(c *clerkgate.Claims) Result {
	return ok(meBody{UserID: c.Subject, SessionID: c.SessionID, Claims: c.RawJSON()})
}

// Whoami answers GET /api/whoami, for session tokens, M2M tokens, API
// keys and OAuth tokens alike: the credential's type, in Clerk's names,
// its subject and its scopes (none for sessions).
func Whoami(c *clerkgate.Caller) Result {
	return ok(whoamiBody{TokenType: string(c.Type), Subject: c.Subject(), Scopes: c.Scopes()})
}

type whoamiBody struct {
	TokenType string   `json:"token_type"`
	Subject   string   `json:"subject"`
	Scopes    []string `json:"scopes"`
}

type meBody struct {
	UserID    string          `json:"user_id"`
	SessionID string          `json:"session_id"`
	Claims    json.RawMessage `json:"claims"`
}

// MySessions answers GET /me/sessions with the caller's sessions.
func (a *App) MySessions(ctx context.Context, c *clerkgate.Claims) Result {
	api := a.Gate.Sessions()
	if api == nil {
		return failure(http.StatusNotImplemented, "sessions_unavailable", "set CLERK_SECRET_KEY to use the Sessions API")
	}
	list, err := api.List(ctx, session.ListParams{UserID: c.Subject, Limit: 100})
	if err != nil {
		return a.apiFailure("list sessions", err)
	}
	return ok(list)
}

// Logout answers POST /me/logout: it revokes the caller's session, after
// which the same token is refused with session_revoked.
func (a *App) Logout(ctx context.Context, c *clerkgate.Claims) Result {
	api := a.Gate.Sessions()
	if api == nil {
		return failure(http.StatusNotImplemented, "sessions_unavailable", "set CLERK_SECRET_KEY to use the Sessions API")
	}
	s, err := api.Revoke(ctx, c.SessionID)
	if err != nil {
		return a.apiFailure("revoke session", err)
	}
	return ok(s)
}

// apiFailure answers a failed Backend API call with a fixed message and
// logs the detail, which names internal URLs and addresses and Clerk's own
// messages: none of it is the client's business. Clerk's 4xx answers are
// about the app's request to Clerk, not the client's to the app, so every
// failure is a 502.
func (a *App) apiFailure(op string, err error) Result {
	attrs := []any{"op", op, "err", err}
	var apiErr *session.APIError
	if errors.As(err, &apiErr) {
		attrs = append(attrs, "clerk_status", apiErr.StatusCode)
	}
	a.log.Error("example: Clerk Backend API call failed", attrs...)
	return failure(http.StatusBadGateway, "clerk_api_error", "the Clerk Backend API call failed; the server log has the details")
}

// DevToken answers GET /dev/token in dev mode with a fresh session token
// for DevUserID. With ?expired=1 it returns an expired token plus the
// refresh cookie a browser would hold, to try refresh-on-expiry.
func (a *App) DevToken(expired bool) Result {
	if a.dev == nil {
		return failure(http.StatusNotFound, "not_dev_mode", "dev tokens exist only in dev mode")
	}
	a.devMu.Lock()
	defer a.devMu.Unlock()
	// Signing out revokes the session; the next dev token signs in afresh.
	if status, _ := a.dev.SessionStatus(a.devSessID); status != "active" {
		a.devSessID = ""
	}
	body := map[string]string{}
	if a.devSessID == "" || expired {
		s := a.dev.CreateSession(DevUserID)
		if !expired {
			a.devSessID = s.ID
		}
		body["refresh_cookie"] = "__refresh_" + a.dev.CookieSuffix() + "=" + s.RefreshToken
		body["session_id"] = s.ID
		if expired {
			body["token"] = a.dev.Token(s.ID, clerktest.Expired())
			return ok(body)
		}
	}
	body["session_id"] = a.devSessID
	body["token"] = a.dev.Token(a.devSessID)
	return ok(body)
}

// DevCredential answers GET /dev/credential in dev mode with a fresh
// machine credential to call GET /api/whoami with: ?type=api_key (the
// default) for an API key of DevUserID, m2m_token for an M2M token of a
// dev machine, oauth_token for an OAuth access token of DevUserID; with
// &format=jwt an M2M or OAuth token is a JWT, verified without a call to
// Clerk, rather than opaque.
func (a *App) DevCredential(typ, format string) Result {
	if a.dev == nil {
		return failure(http.StatusNotFound, "not_dev_mode", "dev credentials exist only in dev mode")
	}
	jwt := format == "jwt"
	if format != "" && !jwt {
		return failure(http.StatusBadRequest, "bad_format", "format is jwt, or absent for an opaque token")
	}
	id, token, subject := "", "", DevUserID
	switch clerkgate.TokenType(typ) {
	case clerkgate.APIKey, "":
		if jwt {
			return failure(http.StatusBadRequest, "bad_format", "API keys are opaque only")
		}
		typ = string(clerkgate.APIKey)
		id, token = a.dev.CreateAPIKey(DevUserID, "dev key", clerktest.CredentialScopes("read", "write"))
	case clerkgate.M2MToken:
		m := a.devMachine()
		if id, subject = m.ID, m.ID; jwt {
			token = a.dev.M2MJWT(m.ID)
		} else {
			id, token = a.dev.CreateM2MToken(m.ID)
		}
	case clerkgate.OAuthToken:
		if id = "client_dev"; jwt {
			token = a.dev.OAuthJWT(DevUserID, id, clerktest.CredentialScopes("read"))
		} else {
			id, token = a.dev.CreateOAuthToken(DevUserID, id, clerktest.CredentialScopes("read"))
		}
	default:
		return failure(http.StatusBadRequest, "bad_type", "type is api_key, m2m_token or oauth_token")
	}
	return ok(map[string]string{"token_type": typ, "id": id, "subject": subject, "token": token})
}

// devMachine is the machine dev-mode M2M tokens are issued to, allowed to
// call a second one, so that its tokens have a scope to show.
func (a *App) devMachine() clerktest.Machine {
	a.devMu.Lock()
	defer a.devMu.Unlock()
	if a.devMach == nil {
		m := a.dev.CreateMachine(a.dev.CreateMachine().ID)
		a.devMach = &m
	}
	return *a.devMach
}

// Serve listens on ADDR, prints the start-up banner (in dev mode, how to
// sign in from a browser, and curl commands for sessions and machines)
// and serves h until SIGINT or SIGTERM.
func (a *App) Serve(h http.Handler) error {
	srv := &http.Server{Handler: a.withProxy(h), ReadHeaderTimeout: 10 * time.Second}
	return a.ServeWith(srv.Serve, srv.Shutdown)
}

// ServeWith is Serve for a server that is not net/http's, such as
// Fiber's: serve serves on the listener it is given until shutdown, which
// ServeWith calls on SIGINT or SIGTERM, stops it.
func (a *App) ServeWith(serve func(net.Listener) error, shutdown func(context.Context) error) error {
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return err
	}
	if tcp, _ := ln.Addr().(*net.TCPAddr); a.dev != nil && (tcp == nil || !tcp.IP.IsLoopback()) {
		ln.Close() // "localhost" resolved to something else
		return fmt.Errorf("ADDR=%q: dev mode listens on loopback only, but it resolved to %s", a.addr, ln.Addr())
	}
	base := "http://" + ln.Addr().String()
	if a.dev != nil {
		a.signOutURL = a.dev.SignOutURL(browserURL(base) + "/")
	}
	if a.dev != nil && a.webhooks {
		a.dev.SendWebhooksTo(base + WebhookPath)
	}
	a.banner(os.Stdout, base)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return shutdown(grace)
}

func (a *App) banner(w io.Writer, base string) {
	fmt.Fprintf(w, "clerkgate %s example listening on %s\n", a.name, base)
	if a.proxy != nil {
		fmt.Fprintf(w, "Clerk's Frontend API is proxied under %s\n", a.proxyPath+"/")
	}
	if a.redisEnv != "" {
		fmt.Fprintf(w, "refreshes and revocations are shared with the other replicas through %s\n", a.redisShown())
	}
	if a.dev == nil {
		return
	}
	defer func() {
		if a.redisEnv == "" {
			return
		}
		// A second replica must share this process's fake Clerk instance
		// to be a replica of the same app. Its keys and the Redis URL (with
		// any password) are in a file only this user can read, not here.
		fmt.Fprintf(w, `To run a second replica of this app (another process, same fake Clerk, same Redis):
  env $(cat %s) ADDR=127.0.0.1:8081 go run <this example>
`, a.replicaEnv)
	}()
	fmt.Fprintf(w, `dev mode: no CLERK_* variables set, so an embedded fake Clerk backend issues tokens.
In a browser, open %[3]s/ and follow "Sign in": the dashboard sends you to the
fake Clerk's sign-in page, which signs you in as %[2]s with one click and sends you back.
From a shell, try:
  TOKEN=$(curl -s %[1]s/dev/token | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -H "Authorization: Bearer $TOKEN" %[1]s/me
  curl -H "Authorization: Bearer $TOKEN" %[1]s/me/sessions
  curl -X POST -H "Authorization: Bearer $TOKEN" %[1]s/me/logout
Machines call GET /api/whoami with an API key, an M2M token or an OAuth token (add &format=jwt for a JWT):
  KEY=$(curl -s '%[1]s/dev/credential?type=api_key' | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -H "Authorization: Bearer $KEY" %[1]s/api/whoami
  M2M=$(curl -s '%[1]s/dev/credential?type=m2m_token' | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -H "Authorization: Bearer $M2M" %[1]s/api/whoami
A session revoked in Clerk itself (here the fake, not this app) reaches the app as a webhook (POST /webhooks/clerk):
  DEV=$(curl -s %[1]s/dev/token); TOKEN=$(echo "$DEV" | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -X POST "%[1]s/dev/revoke?session_id=$(echo "$DEV" | sed -E 's/.*"session_id":"([^"]+)".*/\1/')"
  curl -H "Authorization: Bearer $TOKEN" %[1]s/me   # now 401 session_revoked
`, base, DevUserID, browserURL(base))
}

// browserURL is base as a browser should open it in dev mode: the
// loopback address named localhost. Browsers share cookies among all the
// ports of one host, and the fake Clerk's Frontend API is on 127.0.0.1:
// under another host name, the app's cookies and the fake's stay apart,
// as an app's and Clerk's do in production.
func browserURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback)) {
		u.Host = net.JoinHostPort("localhost", u.Port())
	}
	return u.String()
}

// writeReplicaEnv writes the environment of a second replica to a file
// that only this user can read (os.CreateTemp makes it 0600); Close
// removes it.
func (a *App) writeReplicaEnv() error {
	f, err := os.CreateTemp("", "clerkgate-replica-*.env")
	if err != nil {
		return fmt.Errorf("dev mode with %s: %w", a.redisEnv, err)
	}
	a.replicaEnv = f.Name()
	_, err = fmt.Fprintf(f, "CLERK_SECRET_KEY=%s\nCLERK_PUBLISHABLE_KEY=%s\nCLERK_API_URL=%s\n%s=%s\n",
		a.dev.SecretKey(), a.dev.PublishableKey(), a.dev.URL(), a.redisEnv, a.redisURL)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dev mode with %s: %w", a.redisEnv, err)
	}
	return nil
}

// redisShown is the Redis for the banner: a URL as redactURL shows it, a
// list of cluster nodes as it is, unless it holds what could be a secret
// (OpenCluster refuses credentials in it, but the banner does not count
// on that).
func (a *App) redisShown() string {
	if a.redisEnv == EnvRedisClusterAddrs && !strings.Contains(a.redisURL, "://") {
		if strings.ContainsAny(a.redisURL, "@?#") {
			return EnvRedisClusterAddrs
		}
		return a.redisURL
	}
	return redactURL(a.redisURL)
}

// redactURL shows a Redis URL without its user, password or query (a
// user name is often half of the secret, and a query can carry one). It
// reads the text rather than parse it: net/url takes the start of a
// password with a "/" in it for a host and port.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "REDIS_URL"
	}
	at, query := strings.LastIndexByte(rest, '@'), strings.IndexAny(rest, "?#")
	switch {
	case query >= 0 && at > query:
		return scheme + "://…" // a password or a query: which, the text cannot tell
	case at >= 0:
		rest = rest[at+1:]
		query = strings.IndexAny(rest, "?#")
	}
	if query >= 0 {
		rest = rest[:query]
	}
	return scheme + "://" + rest
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
