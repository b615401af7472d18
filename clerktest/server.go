package clerktest

import (
	"crypto/subtle"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/clerkgate/clerkgate/internal/publishable"
)

const (
	// DefaultAuthorizedParty is the azp of minted tokens unless
	// WithAuthorizedParty says otherwise: the usual local dev origin.
	DefaultAuthorizedParty = "http://localhost:3000"

	// maxRequestBody bounds what the fake reads of a request body.
	maxRequestBody = 1 << 20

	apiVersion20210205 = "2021-02-05"
	apiVersion20260512 = "2026-05-12"
)

// Server is a fake Clerk instance and its Backend API, served over real HTTP
// on a loopback port. Create it with New and stop it with Close. All methods
// are safe for concurrent use.
type Server struct {
	srv        *httptest.Server
	fapi       *httptest.Server // the Frontend API, on its own origin
	lifetime   time.Duration    // WithTokenLifetime
	hsFormat   string           // WithHandshakeFormat
	clock      func() time.Time
	host       string
	issuer     string
	proxyURL   string // WithProxyURL; "" for none
	pk         string
	suffix     string
	secret     string
	defaultAZP string
	templates  map[string]map[string]any
	keyBits    int
	// retiredKeys is how many replaced keys the JWKS keeps serving.
	retiredKeys int

	// done is closed by Close so hanging and dripping handlers return.
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	keys     []*signingKey // oldest first; the last signs
	sessions map[string]*session
	seq      int64
	consumed map[[32]byte]int64 // sha256 of exchanged expired tokens → their exp
	faults   map[string]*faultState
	counts   map[string]int
	total    int
	log      []Request
	frontend frontendState
	hooks    *webhookState

	machines machineStore // machine credentials, under their own lock
}

// New starts a fake Clerk Backend API on a loopback port, with a fresh
// random secret key, Frontend API host and RSA signing key. It needs no
// testing.T, so it also serves as a dev-mode backend in programs; call Close
// when done.
//
// New panics only where nothing sensible can continue: if the operating
// system's random source fails to produce an RSA key, or if no loopback
// port can be opened (as httptest.NewServer does).
func New(opts ...Option) *Server {
	cfg := config{keyBits: 2048}
	for _, o := range opts {
		if o != nil {
			o.applyServer(&cfg)
		}
	}
	cfg.keyBits = max(cfg.keyBits, 2048)
	if cfg.clock == nil {
		cfg.clock = time.Now
	}
	// The Frontend API gets its own origin (TLS, as Clerk's always is), so
	// the app's cookies and the fake's client cookie never mix. With
	// WithLocalFrontendAPI the publishable key points at it, so a Gate
	// configured from the key alone drives it.
	fapi := httptest.NewUnstartedServer(nil)
	fapi.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.plainFAPI {
		fapi.Start()
	} else {
		fapi.StartTLS()
	}
	switch {
	case cfg.localFAPI:
		cfg.host = hostOf(fapi.URL)
	case cfg.host == "":
		cfg.host = "clerk." + randomString(10, lowerNum) + ".lcl.dev"
	}
	azp := DefaultAuthorizedParty
	if cfg.azp != nil {
		azp = *cfg.azp
	}
	key, err := newSigningKey(cfg.keyBits)
	if err != nil {
		panic("clerktest: generate signing key: " + err.Error())
	}
	pk := publishable.Encode(cfg.host, false)
	issuer := "https://" + cfg.host
	if cfg.proxyURL != "" {
		issuer = cfg.proxyURL
	}
	s := &Server{
		clock:       cfg.clock,
		host:        cfg.host,
		issuer:      issuer,
		proxyURL:    cfg.proxyURL,
		pk:          pk,
		suffix:      publishable.CookieSuffix(pk),
		secret:      "sk_test_" + randomString(40, alphaNum),
		defaultAZP:  azp,
		templates:   cfg.templates,
		keyBits:     cfg.keyBits,
		retiredKeys: cfg.retiredKeys,
		done:        make(chan struct{}),
		keys:        []*signingKey{key},
		sessions:    make(map[string]*session),
		consumed:    make(map[[32]byte]int64),
		faults:      make(map[string]*faultState),
		counts:      make(map[string]int),
		fapi:        fapi,
		lifetime:    cfg.lifetime,
		hsFormat:    cfg.hsFormat,
		frontend:    newFrontendState(),
		hooks:       newWebhookState(),
	}
	fapi.Config.Handler = s.frontendRoutes()
	s.srv = httptest.NewUnstartedServer(s.routes())
	// Resets, drips cut short and clients that give up are the point of the
	// fake; logging each would only be noise.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Start()
	return s
}

// Close stops the server. Requests held by Hang, Latency or Drip faults are
// released first, client connections are closed, and Close returns once
// every handler has returned. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.fapi.CloseClientConnections()
		s.fapi.Close()
		s.hooks.wg.Wait()
	})
}

// URL is the API base URL without /v1 (such as "http://127.0.0.1:40123"):
// the value for CLERK_API_URL.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the server whose idle connections Close
// shuts, so tests leave no connection goroutines behind. It adds no
// Authorization header. It trusts the Frontend API's TLS certificate, so
// it can also play a browser that follows handshake redirects (give it a
// cookie jar for that).
func (s *Server) Client() *http.Client { return s.fapi.Client() }

// SecretKey is the instance's secret key ("sk_test_…", random per server).
// Every Backend API request must carry it as "Authorization: Bearer <key>".
func (s *Server) SecretKey() string { return s.secret }

// PublishableKey is the instance's publishable key: "pk_test_" and the
// base64 of FrontendHost and "$".
func (s *Server) PublishableKey() string { return s.pk }

// FrontendHost is the instance's Frontend API host.
func (s *Server) FrontendHost() string { return s.host }

// Issuer is the iss of the instance's tokens: "https://" + FrontendHost,
// or the proxy's URL with WithProxyURL.
func (s *Server) Issuer() string { return s.issuer }

// CookieSuffix is the suffix of the instance's cookie names
// (__session_<suffix>, __refresh_<suffix>, __client_uat_<suffix>), derived
// from the publishable key as Clerk does.
func (s *Server) CookieSuffix() string { return s.suffix }

func (s *Server) now() time.Time { return s.clock() }

type handlerFunc func(w http.ResponseWriter, r *http.Request, body []byte)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for route, h := range map[Route]handlerFunc{
		RouteJWKS:              s.handleJWKS,
		RouteListSessions:      s.handleList,
		RouteCreateSession:     s.handleCreate,
		RouteGetSession:        s.handleGet,
		RouteRefresh:           s.handleRefresh,
		RouteRevoke:            s.handleRevoke,
		RouteVerify:            s.handleVerify,
		RouteCreateToken:       s.handleCreateToken,
		RouteTokenFromTemplate: s.handleCreateToken,
		RouteHandshakePayload:  s.handleHandshakePayload,
		RouteUnknown:           s.handleUnknown,
	} {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { s.serve(route, h, w, r) })
	}
	for route, h := range s.webhookRoutes() {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { s.serve(route, h, w, r) })
	}
	for route, h := range s.machineRoutes() {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { s.serve(route, h, w, r) })
	}
	return mux
}

// serve runs one request through recording, faults, authentication and the
// route's handler.
func (s *Server) serve(route string, h handlerFunc, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	tooLarge := len(body) > maxRequestBody
	s.record(route, r, body)
	f, faulty := s.takeFault(route)
	ctx := r.Context()
	if faulty {
		if f.Latency > 0 && !s.pause(ctx, f.Latency) {
			abort()
		}
		if f.Hang {
			s.hang(ctx)
			abort()
		}
		if f.Reset {
			reset(w)
			return
		}
	}

	out := newCapture()
	switch {
	case faulty && f.injected(out):
	case err != nil:
		writeError(out, errorf(http.StatusBadRequest, CodeRequestBodyInvalid, "the request body could not be read"))
	case tooLarge:
		writeError(out, errorf(http.StatusRequestEntityTooLarge, CodeRequestBodyTooLarge, "the request body is larger than 1 MiB"))
	default:
		if e := s.authenticateFor(route, r); e != nil {
			writeError(out, e)
		} else if e := checkVersion(r); e != nil {
			writeError(out, e)
		} else {
			h(out, r, body)
		}
	}
	var drip time.Duration
	if faulty {
		f.shape(route, out)
		drip = f.Drip
	}
	s.emit(ctx, w, out, drip)
}

// abort ends a request the client left or Close interrupted without an
// answer: net/http drops the connection instead of completing an empty 200.
func abort() { panic(http.ErrAbortHandler) }

// authenticate checks the secret key: a missing or non-Bearer header is
// authentication_invalid, a wrong key clerk_key_invalid.
func (s *Server) authenticate(r *http.Request) *apiError {
	auth := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return errorf(http.StatusUnauthorized, CodeAuthenticationInvalid,
			"the request must carry the instance's secret key as \"Authorization: Bearer sk_…\"")
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.secret)) != 1 {
		return errorf(http.StatusUnauthorized, CodeClerkKeyInvalid,
			"the provided Clerk secret key is not this instance's")
	}
	return nil
}

// apiVersion is the Clerk-API-Version the request asked for; without one,
// the newest the fake knows.
func apiVersion(r *http.Request) string {
	if v := r.Header.Get("Clerk-API-Version"); v != "" {
		return v
	}
	if v := r.URL.Query().Get("__clerk_api_version"); v != "" {
		return v
	}
	return apiVersion20260512
}

func checkVersion(r *http.Request) *apiError {
	header := r.Header.Get("Clerk-API-Version")
	query := r.URL.Query().Get("__clerk_api_version")
	if header != "" && query != "" {
		return errorf(http.StatusBadRequest, CodeAPIVersionInvalid,
			"send the API version in the Clerk-API-Version header or the __clerk_api_version query, not both")
	}
	switch apiVersion(r) {
	case apiVersion20210205, apiVersion20260512:
		return nil
	}
	return errorf(http.StatusBadRequest, CodeAPIVersionInvalid,
		"unsupported Clerk API version; the fake knows 2021-02-05 and 2026-05-12")
}
