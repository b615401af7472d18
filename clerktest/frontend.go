package clerktest

import (
	"cmp"
	"crypto/subtle"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The Frontend API's routes, on the origin FrontendURL names. Requests
// counts them like the Backend API's routes.
const (
	// RouteHandshake is the handshake: it reads the browser's client from
	// the fake's own cookie (or the dev browser token in the query) and
	// redirects back to redirect_url with the cookies the app must set.
	RouteHandshake Route = "GET /v1/client/handshake"
	// RouteSignIn is the sign-in page; RouteSignInSubmit its form, which
	// signs the browser's client in.
	RouteSignIn       Route = "GET /sign-in"
	RouteSignInSubmit Route = "POST /sign-in"
	// RouteSignOut ends the sessions of the browser's client.
	RouteSignOut Route = "GET /sign-out"
	// RouteFrontendJWKS is the Frontend API's public JWKS.
	RouteFrontendJWKS Route = "GET /.well-known/jwks.json"
	// RouteHandshakePayload is the Backend API call that trades a handshake
	// nonce for the cookies of the handshake (single use).
	RouteHandshakePayload Route = "GET /v1/clients/handshake_payload"
)

const (
	// clientCookie is the fake Frontend API's own cookie, on its origin:
	// which client (browser) this is.
	clientCookie = "__client"
	// handshakeTTL is how long a nonce or handshake token stays good.
	handshakeTTL = 5 * time.Minute
	// frontendStateLimit bounds the clients, dev browsers and nonces the
	// fake remembers, so a long dev-mode run stays bounded.
	frontendStateLimit = 4096
	// DevUserID is the user the sign-in page suggests.
	DevUserID = "user_dev"
)

type fapiClient struct {
	id, cookie, devBrowser string
}

type pendingNonce struct {
	directives []string
	expires    time.Time
}

// frontendState is what the Frontend API remembers; guarded by Server.mu.
type frontendState struct {
	byCookie     map[string]*fapiClient
	byDevBrowser map[string]*fapiClient
	nonces       map[string]pendingNonce
}

func newFrontendState() frontendState {
	return frontendState{
		byCookie:     make(map[string]*fapiClient),
		byDevBrowser: make(map[string]*fapiClient),
		nonces:       make(map[string]pendingNonce),
	}
}

// FrontendURL is the fake Frontend API's origin ("https://127.0.0.1:port",
// TLS with a certificate Client trusts; "http://127.0.0.1:port" with
// WithPlainFrontendAPI). With WithLocalFrontendAPI, the
// publishable key encodes its host, so a Gate sends its handshakes there.
// Open the app under test as http://localhost:port, not 127.0.0.1:
// browsers share cookies across the ports of one host.
func (s *Server) FrontendURL() string { return s.fapi.URL }

// SignInURL is the fake's sign-in page: a form that signs the browser in
// as a user (DevUserID unless changed) and sends it to its redirect_url
// query parameter with the dev browser token (__clerk_db_jwt), which makes
// the app sync through a handshake. Use it as the Gate's SignInURL.
func (s *Server) SignInURL() string { return s.fapi.URL + "/sign-in" }

// SignOutURL is the link that signs the browser's client out (its sessions
// are revoked) and sends it back to redirectURL, like the sign-in page.
func (s *Server) SignOutURL(redirectURL string) string {
	return s.fapi.URL + "/sign-out?" + url.Values{"redirect_url": {redirectURL}}.Encode()
}

func (s *Server) frontendRoutes() http.Handler {
	mux := http.NewServeMux()
	for route, h := range map[Route]http.HandlerFunc{
		RouteHandshake:    s.handleHandshake,
		RouteSignIn:       s.handleSignInPage,
		RouteSignInSubmit: s.handleSignIn,
		RouteSignOut:      s.handleSignOut,
		RouteFrontendJWKS: func(w http.ResponseWriter, r *http.Request) { s.handleJWKS(w, r, nil) },
	} {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			s.record(route, r, nil)
			w.Header().Set("Cache-Control", "no-store")
			if e := s.checkProxied(r); e != nil {
				writeError(w, e)
				return
			}
			h(w, r)
		})
	}
	return mux
}

// checkProxied refuses a proxied request (one that carries either of the
// headers a Frontend API proxy adds) unless it comes from the instance's
// proxy: Clerk-Proxy-Url its WithProxyURL, Clerk-Secret-Key its secret key.
// A request without them is a browser's own, served as always.
func (s *Server) checkProxied(r *http.Request) *apiError {
	proxy, key := r.Header.Get("Clerk-Proxy-Url"), r.Header.Get("Clerk-Secret-Key")
	switch {
	case proxy == "" && key == "":
		return nil
	case subtle.ConstantTimeCompare([]byte(key), []byte(s.secret)) != 1:
		return errorf(http.StatusUnauthorized, CodeClerkKeyInvalid,
			"a proxied request must carry the instance's secret key in Clerk-Secret-Key")
	case s.proxyURL == "" || proxy != s.proxyURL:
		return errorf(http.StatusBadRequest, CodeProxyURLInvalid,
			"Clerk-Proxy-Url is not the instance's proxy URL (clerktest.WithProxyURL)")
	}
	return nil
}

// loopbackURL parses a redirect target: the fake only sends browsers back
// to apps on this machine, never to an arbitrary site.
func loopbackURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return nil, false
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, true
	}
	ip := net.ParseIP(host)
	return u, ip != nil && ip.IsLoopback()
}

func badRequest(w http.ResponseWriter, msg string) {
	http.Error(w, "clerktest frontend API: "+msg, http.StatusBadRequest)
}

// browserClient finds the request's client by the fake's cookie, else by
// a dev browser token, else starts one (setting the cookie). It always has
// a dev browser token.
func (s *Server) browserClient(w http.ResponseWriter, r *http.Request, devBrowser string) *fapiClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := &s.frontend
	if c, err := r.Cookie(clientCookie); err == nil {
		if cl := fs.byCookie[c.Value]; cl != nil {
			return cl
		}
	}
	cl := fs.byDevBrowser[devBrowser]
	if cl == nil {
		cl = &fapiClient{id: newID("client_"), devBrowser: "dvb_" + randomString(27, alphaNum)}
		if len(fs.byDevBrowser) >= frontendStateLimit {
			clear(fs.byDevBrowser)
		}
		fs.byDevBrowser[cl.devBrowser] = cl
	}
	if cl.cookie == "" {
		cl.cookie = randomString(32, alphaNum)
		if len(fs.byCookie) >= frontendStateLimit {
			clear(fs.byCookie)
		}
		fs.byCookie[cl.cookie] = cl
	}
	http.SetCookie(w, &http.Cookie{Name: clientCookie, Value: cl.cookie, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return cl
}

// activeSession is the client's newest active session; s.mu held.
func (s *Server) activeSessionLocked(clientID string) *session {
	var best *session
	for _, ss := range s.sessions {
		if ss.ClientID == clientID && ss.status == statusActive && (best == nil || ss.seq > best.seq) {
			best = ss
		}
	}
	return best
}

// handshakeDirectives are the Set-Cookie values a handshake hands the app:
// the session token, client_uat and refresh token of the client's active
// session, or their removal when it has none, and the dev browser token.
func (s *Server) handshakeDirectives(cl *fapiClient, suffixed, secure bool) []string {
	attrs := "; Path=/; SameSite=Lax"
	if secure {
		attrs += "; Secure"
	}
	s.mu.Lock()
	ss := s.activeSessionLocked(cl.id)
	var in mintInput
	var refresh, uat string
	if ss != nil {
		in = mintInput{sid: ss.ID, sub: ss.UserID, org: ss.org, key: s.currentKey()}
		refresh, uat = ss.RefreshToken, strconv.FormatInt(ss.createdAt.Unix(), 10)
		ss.updatedAt = s.now()
	}
	s.mu.Unlock()

	var out []string
	set := func(name, value, extra string) {
		out = append(out, name+"="+value+attrs+extra)
		if suffixed && name != refreshCookieName {
			out = append(out, name+"_"+s.suffix+"="+value+attrs+extra)
		}
	}
	if ss == nil {
		set("__session", "", "; Max-Age=0")
		set("__client_uat", "0", "")
		out = append(out, refreshCookieName+"_"+s.suffix+"="+attrs+"; HttpOnly; Max-Age=0")
	} else {
		set("__session", s.mint(in, tokenConfig{}), "")
		set("__client_uat", uat, "")
		out = append(out, refreshCookieName+"_"+s.suffix+"="+refresh+attrs+"; HttpOnly")
	}
	// The dev browser under both names, whatever was asked: clerk-js
	// keeps both, and a later refresh may switch the app to suffixed names.
	out = append(out, "__clerk_db_jwt="+cl.devBrowser+attrs)
	out = append(out, "__clerk_db_jwt_"+s.suffix+"="+cl.devBrowser+attrs)
	return out
}

const refreshCookieName = "__refresh"

func (s *Server) handleHandshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, ok := loopbackURL(q.Get("redirect_url"))
	if !ok {
		badRequest(w, "redirect_url must be an http(s) URL on this machine")
		return
	}
	cl := s.browserClient(w, r, q.Get("__clerk_db_jwt"))
	// A token issued by a proxy (WithProxyURL) is not the instance host's,
	// so Clerk's SDKs read the suffixed cookies whatever they asked for
	// (clerk-browser-auth.md §3, rule 2): hand them out.
	suffixed := q.Get("suffixed_cookies") == "true" || s.proxyURL != ""
	directives := s.handshakeDirectives(cl, suffixed, back.Scheme == "https")

	bq := back.Query()
	if cmp.Or(s.hsFormat, q.Get("format")) == "nonce" {
		nonce := randomString(32, alphaNum)
		s.mu.Lock()
		s.storeNonceLocked(nonce, directives)
		s.mu.Unlock()
		bq.Set("__clerk_handshake_nonce", nonce)
	} else {
		bq.Set("__clerk_handshake", s.handshakeToken(directives))
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusTemporaryRedirect)
}

func (s *Server) storeNonceLocked(nonce string, directives []string) {
	fs := &s.frontend
	if len(fs.nonces) >= frontendStateLimit {
		now := s.now()
		for k, v := range fs.nonces {
			if now.After(v.expires) {
				delete(fs.nonces, k)
			}
		}
		if len(fs.nonces) >= frontendStateLimit {
			clear(fs.nonces)
		}
	}
	fs.nonces[nonce] = pendingNonce{directives: directives, expires: s.now().Add(handshakeTTL)}
}

// handshakeToken signs the directives as Clerk does: a JWT with the
// instance key and the session token category, its handshake claim the
// Set-Cookie values.
func (s *Server) handshakeToken(directives []string) string {
	s.mu.Lock()
	key := s.currentKey()
	s.mu.Unlock()
	now := s.now()
	header := map[string]any{"alg": "RS256", "cat": "cl_B7d4PD111AAA", "kid": key.kid, "typ": "JWT"}
	return sign(key.priv, header, map[string]any{
		"handshake": directives,
		"iat":       now.Unix(),
		"exp":       now.Add(handshakeTTL).Unix(),
	})
}

// HandshakeToken signs directives as a handshake token of this instance,
// for tests that hand the app a crafted one.
func (s *Server) HandshakeToken(directives ...string) string { return s.handshakeToken(directives) }

type handshakePayloadJSON struct {
	Directives []string `json:"directives"`
}

func (s *Server) handleHandshakePayload(w http.ResponseWriter, r *http.Request, _ []byte) {
	nonce := r.URL.Query().Get("nonce")
	if nonce == "" {
		writeError(w, paramError(http.StatusUnprocessableEntity, CodeFormParamMissing, "nonce", "nonce is required"))
		return
	}
	s.mu.Lock()
	p, ok := s.frontend.nonces[nonce]
	delete(s.frontend.nonces, nonce)
	s.mu.Unlock()
	if !ok || s.now().After(p.expires) {
		writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound, "no handshake with this nonce (each is good once, for 5 minutes)"))
		return
	}
	writeJSON(w, http.StatusOK, handshakePayloadJSON{Directives: p.directives})
}

// signInPage posts to the Frontend API's /sign-in, through the proxy when
// it came through one, as Clerk's pages build their links on
// Clerk-Proxy-Url.
var signInPage = template.Must(template.New("sign-in").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in (clerktest)</title></head>
<body>
<h1>Sign in</h1>
<p>This is clerkgate's fake Clerk. Any user id signs in.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="redirect_url" value="{{.RedirectURL}}">
<label>User id <input id="user_id" name="user_id" value="{{.UserID}}"></label>
<button id="sign-in" type="submit">Sign in</button>
</form>
</body></html>
`))

func (s *Server) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// checkProxied has vouched for Clerk-Proxy-Url.
	action := r.Header.Get("Clerk-Proxy-Url") + "/sign-in"
	_ = signInPage.Execute(w, struct{ Action, RedirectURL, UserID string }{action, r.URL.Query().Get("redirect_url"), DevUserID})
}

// validUserID accepts ids shaped like Clerk's: letters, digits and _.
func validUserID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		badRequest(w, "unreadable form")
		return
	}
	userID := cmp.Or(r.PostForm.Get("user_id"), DevUserID)
	if !validUserID(userID) {
		badRequest(w, "user_id may hold only letters, digits and _")
		return
	}
	back, ok := loopbackURL(r.PostForm.Get("redirect_url"))
	if !ok {
		badRequest(w, "redirect_url must be an http(s) URL on this machine")
		return
	}
	cl := s.browserClient(w, r, "")
	s.CreateSession(userID, WithClient(cl.id))
	s.redirectWithDevBrowser(w, r, back, cl)
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	back, ok := loopbackURL(r.URL.Query().Get("redirect_url"))
	if !ok {
		badRequest(w, "redirect_url must be an http(s) URL on this machine")
		return
	}
	cl := s.browserClient(w, r, "")
	s.mu.Lock()
	for _, ss := range s.sessions {
		if ss.ClientID == cl.id {
			s.revokeLocked(ss)
		}
	}
	s.mu.Unlock()
	s.redirectWithDevBrowser(w, r, back, cl)
}

// redirectWithDevBrowser sends the browser back to the app with the dev
// browser token in the query, as Clerk's hosted pages do in development:
// the app answers it with a handshake (dev-browser-sync), which brings the
// client's new state into the app's cookies.
func (s *Server) redirectWithDevBrowser(w http.ResponseWriter, r *http.Request, back *url.URL, cl *fapiClient) {
	q := back.Query()
	q.Set("__clerk_db_jwt", cl.devBrowser)
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusSeeOther)
}
