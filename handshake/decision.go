package handshake

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the Backend API version a handshake asks the Frontend API
// to speak (__clerk_api_version), as @clerk/backend 3.25.0 does.
const APIVersion = "2026-05-12"

// Cookie and query names, as Clerk spells them.
const (
	CookieSession        = "__session"
	CookieRefresh        = "__refresh"
	CookieClientUAT      = "__client_uat"
	CookieDevBrowser     = "__clerk_db_jwt"
	CookieHandshake      = "__clerk_handshake"
	CookieHandshakeNonce = "__clerk_handshake_nonce"
	CookieRedirectCount  = "__clerk_redirect_count"

	QuerySynced      = "__clerk_synced"
	QueryRedirectURL = "__clerk_redirect_url"
	QueryHelp        = "__clerk_help"
	QueryDevSession  = "__dev_session"
)

// MaxRedirects is how many handshakes in a row (counted by the
// __clerk_redirect_count cookie, which lives 2 s) a browser may be sent
// through before the request is decided without one.
const MaxRedirects = 3

// Config is what the Gate knows about the instance.
type Config struct {
	// FrontendAPI is where handshakes go: the Frontend API host
	// ("clerk.example.com"), or a proxy URL with its scheme
	// ("https://app.example.com/__clerk").
	FrontendAPI string
	// InstanceHost is the host of the instance's token issuer, which
	// chooses between plain and suffixed cookies: the Frontend API host
	// the publishable key names, or on a production satellite
	// clerk.<domain>. A proxy does not change it.
	InstanceHost string
	// Production is true for a pk_live_ key.
	Production bool
	// CookieSuffix is the suffix of the instance's cookie names.
	CookieSuffix string
	// IsSatellite marks an app on a satellite domain; SignInURL is the
	// primary's sign-in page, where a development satellite syncs.
	IsSatellite bool
	SignInURL   string
	// SatelliteAutoSync makes a satellite sync on a first visit without
	// cookies (Clerk's default is not to).
	SatelliteAutoSync bool
	// SatelliteOrigins lists the origins a development primary may send a
	// browser back to with its dev browser token (__clerk_redirect_url).
	// Clerk follows any; clerkgate follows only these.
	SatelliteOrigins []string
	// TokenFormat asks for a signed handshake token instead of a nonce: a
	// Gate without a secret key cannot trade a nonce.
	TokenFormat bool
	// BindingKey, when set, binds each handshake to the browser that
	// started it (see CookieBinding): a request that comes back with a
	// handshake without the binding cookie is decided as if it carried
	// none. BindingKey(secretKey) derives it. Nil resolves any handshake,
	// as Clerk does.
	BindingKey []byte
	// OrganizationSync, when set, activates the organization a page's URL
	// names (Clerk's organizationSyncOptions).
	OrganizationSync *OrganizationSync
}

// Cookies are the request's Clerk cookies ("" when absent, or when sent
// twice with different values). Suffixed names end in _<CookieSuffix>.
type Cookies struct {
	Session, SessionSuffixed       string
	ClientUAT, ClientUATSuffixed   string
	DevBrowser, DevBrowserSuffixed string
	Refresh                        string // __refresh_<suffix>; never unsuffixed
	Handshake, HandshakeNonce      string
	RedirectCount                  string
	// Binding and BindingSecure are clerkgate's binding cookie, under
	// CookieBinding and CookieBindingSecure.
	Binding, BindingSecure string
	// SessionPeek and SessionSuffixedPeek are PeekToken(Session) and
	// PeekToken(SessionSuffixed), when the caller has them: a caller may
	// remember PeekToken's answers, as a browser sends one token on every
	// page load for a minute. Decide peeks at a cookie itself when its
	// TokenPeek is the zero value.
	SessionPeek, SessionSuffixedPeek TokenPeek
}

// Request is what a decision looks at.
type Request struct {
	Method string
	// URL is the page as the browser asked for it: scheme and host as the
	// Gate trusts them (see InsecureTrustProxyHeaders), path and query.
	URL          url.URL
	SecFetchDest string
	Accept       string
	Referer      string
	Cookies      Cookies
	Now          time.Time
	// Resolved is set when the request's handshake was already tried, so
	// its nonce or token are not looked at again.
	Resolved bool
}

// Action is what to do with a request.
type Action int

const (
	// Verify: verify Decision.Token (maybe "", which is no token). When
	// it fails, ask AfterVerify; when it holds, ask AfterSignIn.
	Verify Action = iota
	// SignedIn: let the request through with the verified token.
	SignedIn
	// SignedOut: refuse (or serve anonymously), for Decision.Reason.
	SignedOut
	// Redirect: answer 307 to Decision.Location with Decision.Cookies:
	// the handshake, or a satellite sync.
	Redirect
	// Resolve: the browser is back from a handshake; trade
	// Decision.Nonce (through the Backend API) or verify
	// Decision.HandshakeToken, then call Resolved.
	Resolve
)

func (a Action) String() string {
	switch a {
	case Verify:
		return "verify"
	case SignedIn:
		return "signed-in"
	case SignedOut:
		return "signed-out"
	case Redirect:
		return "redirect"
	case Resolve:
		return "resolve"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is the outcome of Decide, AfterVerify or AfterSignIn.
type Decision struct {
	Action Action
	// Reason is Clerk's reason string (x-clerk-auth-reason): why the
	// browser is signed out or sent through a handshake; also set on a
	// Verify that stands in for a handshake the request cannot make.
	Reason  string
	Message string
	// Location and Cookies are a Redirect's.
	Location string
	Cookies  []string
	// Token is the session token the cookies carry, for Verify.
	Token string
	// Suffixed reports which cookie names the browser's state lives in.
	Suffixed bool
	// Nonce or HandshakeToken are a Resolve's (the nonce wins).
	Nonce, HandshakeToken string
	// DevBrowser is the dev browser token the request carries, which a
	// later handshake passes on.
	DevBrowser string
}

// Decide is Clerk's decision for a request whose session token comes from
// cookies (a request with an Authorization token never handshakes).
func Decide(req *Request, cfg *Config) Decision {
	c := &req.Cookies
	// Each session cookie is peeked at once (a browser often holds the
	// same token under both names).
	plain := peekCookie(c.Session, c.SessionPeek)
	suffixedPeek := plain
	if c.SessionSuffixed != c.Session {
		suffixedPeek = peekCookie(c.SessionSuffixed, c.SessionSuffixedPeek)
	}
	suffixed, ambiguous := usesSuffixedCookies(req, cfg, plain, suffixedPeek)
	token, uatRaw, devCookie, p := c.Session, c.ClientUAT, c.DevBrowser, plain
	if suffixed {
		token, uatRaw, devCookie, p = c.SessionSuffixed, c.ClientUATSuffixed, c.DevBrowserSuffixed, suffixedPeek
	}
	if ambiguous {
		// Which session cookie Clerk reads depends on how it reads an
		// Unreadable cookie: the Gate reads neither, so that it never
		// serves a session Clerk does not. Where a session cookie is
		// the Unreadable one, the request carries a token it cannot use
		// (malformed, as when that cookie's pair is chosen), not none.
		token, p = "", nil
		if c.Session == Unreadable || unsure(c.SessionSuffixed, suffixedPeek != nil) {
			token = Unreadable
		}
	}
	uat := parseUAT(uatRaw)
	q := query(&req.URL)
	devBrowser := or(q.Get(CookieDevBrowser), devCookie)
	st := state{req, cfg, &reading{token: token, suffixed: suffixed, devBrowser: devBrowser}}

	// 1. Back from a handshake: one the genuine flow could have sent (in
	// production the Frontend API, on the app's own site, hands it over
	// in a cookie; in development, on another site, in the query), to the
	// browser that started it. Anything else is decided as if it were not
	// there (login CSRF: see CookieBinding).
	if !req.Resolved {
		var nonce, hs string
		if cfg.Production {
			nonce, hs = c.HandshakeNonce, c.Handshake
		} else {
			nonce, hs = or(q.Get(CookieHandshakeNonce), c.HandshakeNonce), or(q.Get(CookieHandshake), c.Handshake)
		}
		if (nonce != "" || hs != "") && bound(req, cfg) {
			return Decision{Action: Resolve, Nonce: nonce, HandshakeToken: hs, Suffixed: suffixed}
		}
	}

	// 2–4. A satellite's first page load syncs with the primary.
	synced := q.Get(QuerySynced)
	hasCookies := token != "" || uat != 0
	if cfg.IsSatellite && req.SecFetchDest == "document" && req.Method == "GET" && synced != "true" {
		switch {
		case !cfg.SatelliteAutoSync && !hasCookies && synced != "false":
			return st.signedOut(ReasonSessionTokenAndUATMissing, "")
		case !hasCookies || synced == "false":
			location := ""
			if !cfg.Production && !oversized(&req.URL) {
				location = appendQuery(cfg.SignInURL, QueryRedirectURL, req.URL.String())
			}
			return st.maybeRedirect(ReasonSatelliteNeedsSyncing, "", location, Verify)
		}
	}

	// 5. A development primary sends a syncing satellite back.
	if !cfg.Production && !cfg.IsSatellite {
		if back := q.Get(QueryRedirectURL); back != "" && allowedOrigin(back, cfg.SatelliteOrigins) {
			// As Clerk edits it: searchParams.append, then .set, which
			// keeps every other parameter in its place.
			u, _ := url.Parse(back)
			pq := parseSearchParams(u.RawQuery)
			if devBrowser != "" {
				pq.append(CookieDevBrowser, devBrowser)
			}
			pq.set(QuerySynced, "true")
			u.RawQuery, u.ForceQuery = pq.encode(), false
			return st.maybeRedirect(ReasonPrimaryRespondsToSyncing, "", u.String(), Verify)
		}
	}

	// 6–7. Development instances need the dev browser.
	if !cfg.Production && q.Has(CookieDevBrowser) {
		return st.maybeRedirect(ReasonDevBrowserSync, "", "", Verify)
	}
	if !cfg.Production && devBrowser == "" {
		return st.maybeRedirect(ReasonDevBrowserMissing, "", "", Verify)
	}

	// 8–10. The client's state against the session cookie.
	switch {
	case uat == 0 && token == "":
		return st.signedOut(ReasonSessionTokenAndUATMissing, "")
	case uat == 0:
		return st.maybeRedirect(ReasonSessionTokenWithoutClientUAT, "", "", Verify)
	case token == "":
		return st.maybeRedirect(ReasonClientUATWithoutSessionToken, "", "", Verify)
	}

	// 11–13. What the token says before it is verified.
	switch {
	case p == nil:
		return st.signedOut(ReasonTokenInvalid, "")
	case p.otherClass():
		return st.signedOut(ReasonTokenTypeMismatch, "")
	case p.hasIat && float64(p.iat) < uat:
		// A token without iat is not older than anything (Clerk's
		// undefined < n is false); the Gate refuses it anyway, for its
		// lifetime cannot be known.
		return st.maybeRedirect(ReasonSessionTokenIATBeforeClientUAT, "", "", Verify)
	}
	return st.verify("", "")
}

// Failure is why a session token was refused, in Clerk's terms.
type Failure struct {
	// Reason is Clerk's verification reason: VerifyTokenExpired,
	// VerifyTokenNotActiveYet, VerifyTokenIATInTheFuture, or another.
	Reason string
	// Refresh says why no refresh saved an expired token:
	// "non-eligible-non-get", "non-eligible-no-refresh-cookie", a Clerk
	// error code, … (see clerk-browser-auth.md §7).
	Refresh string
}

// Clerk's token verification reasons that a handshake can cure, and
// clerkgate's VerifyTokenOutdated: a token that verified but that a
// webhook has since made stale (the user's membership changed after it
// was issued), which a fresh token from the handshake replaces.
const (
	VerifyTokenExpired        = "token-expired"
	VerifyTokenNotActiveYet   = "token-not-active-yet"
	VerifyTokenIATInTheFuture = "token-iat-in-the-future"
	VerifyTokenOutdated       = "token-outdated"
)

// AfterVerify decides a cookie request whose token (from a Verify
// decision d) failed verification: a token the clock refused goes through
// the handshake when the request can be redirected; anything else, and
// any request that cannot, is signed out.
func AfterVerify(req *Request, cfg *Config, d Decision, f Failure) Decision {
	st := state{req, cfg, &reading{token: d.Token, suffixed: d.Suffixed, devBrowser: d.DevBrowser}}
	message := "(reason=" + f.Reason + ", token-carrier=cookie)"
	reason, cure := FailureReason(f)
	if cure {
		return st.maybeRedirect(reason, message, "", SignedOut)
	}
	return st.signedOut(reason, message)
}

// FailureReason is Clerk's x-clerk-auth-reason for a session token that
// failed verification, from a cookie or an Authorization header alike,
// and whether a handshake could cure it: a token the clock refused
// (session-token-expired-refresh-<why no refresh helped>,
// session-token-nbf, session-token-iat-in-the-future), or else the
// verification reason itself.
func FailureReason(f Failure) (reason string, cure bool) {
	switch f.Reason {
	case VerifyTokenExpired:
		return ReasonSessionTokenExpired + "-refresh-" + f.Refresh, true
	case VerifyTokenNotActiveYet:
		return ReasonSessionTokenNBF, true
	case VerifyTokenIATInTheFuture:
		return ReasonSessionTokenIATInTheFuture, true
	case VerifyTokenOutdated:
		return ReasonSessionTokenOutdated, true
	}
	return f.Reason, false
}

// Session is what AfterSignIn looks at in a verified session token.
type Session struct {
	// UserID is the token's sub; "" (as for a pending session, which
	// Clerk's auth object treats as signed out) skips organization sync.
	UserID string
	// Org is the session's active organization.
	Org ActiveOrganization
}

// AfterSignIn decides a cookie request whose token verified (not one a
// refresh or a handshake gave): signed in, unless a primary domain's page
// is opened from a foreign site (perhaps one of its satellites), which
// Clerk syncs through a handshake first, or the page's URL names another
// organization than the session's active one (OrganizationSync), which a
// handshake activates.
func AfterSignIn(req *Request, cfg *Config, d Decision, s Session) Decision {
	st := state{req, cfg, &reading{token: d.Token, suffixed: d.Suffixed, devBrowser: d.DevBrowser}}
	if !cfg.IsSatellite && req.Method == "GET" && req.SecFetchDest == "document" &&
		crossOriginReferer(req) && !knownClerkReferer(req.Referer, cfg) && redirectCount(req) == 0 {
		return st.maybeRedirect(ReasonPrimaryDomainCrossOriginSync,
			"Cross-origin request from satellite domain requires handshake", "", SignedIn)
	}
	if s.UserID != "" && cfg.OrganizationSync != nil {
		// A target the Frontend API could not activate (no such
		// organization, or not the user's) comes back unchanged: the loop
		// counter stops the handshakes, and the page is served as it is.
		if t, ok := cfg.OrganizationSync.Target(req.URL.EscapedPath()); ok && t.mismatch(s.Org) {
			return st.maybeRedirect(ReasonActiveOrganizationMismatch, "", "", SignedIn)
		}
	}
	return st.signedIn("", "")
}

// state carries one decision's inputs through its branches, by
// reference: a Request and a Config are a few hundred bytes each, which
// a page load would otherwise copy at every step. The token's reading
// sits behind a pointer of its own, as the Request and Config do: the
// strings of all three end up in the Decision, and escape analysis, which
// does not tell a struct's fields apart, would otherwise move the
// caller's Request and Config to the heap on every call.
type state struct {
	req *Request
	cfg *Config
	t   *reading
}

// reading is the session cookie a decision is about.
type reading struct {
	token      string
	suffixed   bool
	devBrowser string
}

func (s state) verify(reason, message string) Decision { return s.decision(Verify, reason, message) }

func (s state) signedIn(string, string) Decision { return s.decision(SignedIn, "", "") }

func (s state) signedOut(reason, message string) Decision {
	return s.decision(SignedOut, reason, message)
}

// decision is a Verify, SignedIn or SignedOut of this request's token;
// a SignedIn has no reason.
func (s state) decision(a Action, reason, message string) Decision {
	if a == SignedIn {
		reason, message = "", ""
	}
	return Decision{Action: a, Reason: reason, Message: message, Token: s.t.token, Suffixed: s.t.suffixed, DevBrowser: s.t.devBrowser}
}

// maybeRedirect sends the browser to location (the handshake when empty)
// if the request can be redirected and is not caught in a loop; else it
// decides by fallback (Verify, SignedIn or SignedOut).
func (s state) maybeRedirect(reason, message, location string, fallback Action) Decision {
	n := redirectCount(s.req)
	if !Eligible(s.req.Method, s.req.SecFetchDest, s.req.Accept) || n >= MaxRedirects || oversized(&s.req.URL) {
		return s.decision(fallback, reason, message)
	}
	cookies := []string{CookieRedirectCount + "=" + formatCount(n+1) + "; SameSite=Lax; HttpOnly; Max-Age=2"}
	if location == "" {
		location = s.handshakeURL(reason)
		if s.cfg.BindingKey != nil {
			cookies = append(cookies, bindingCookie(s.req, s.cfg))
		}
	}
	if len(location) > MaxLocation {
		return s.decision(fallback, reason, message)
	}
	return Decision{
		Action:     Redirect,
		Reason:     reason,
		Message:    message,
		Location:   location,
		Cookies:    cookies,
		Token:      s.t.token,
		Suffixed:   s.t.suffixed,
		DevBrowser: s.t.devBrowser,
	}
}

// MaxURL bounds the path and query of a page load the decision reads:
// past it the query is not read (no handshake parameter is taken from it)
// and the page is never redirected, as its URL would not survive the
// trip (a common request-line limit, nginx's, is 8 KiB). MaxLocation
// bounds every redirect the decision makes; past it the page is decided
// as one that cannot be redirected. Together they keep what a page load
// costs, and the Location it answers, within a few KiB whatever the
// request holds.
const (
	MaxURL      = 8 << 10
	MaxLocation = 16 << 10
)

// oversized reports a URL whose path and query pass MaxURL.
func oversized(u *url.URL) bool {
	return len(u.Path)+len(u.RawPath)+len(u.RawQuery) > MaxURL
}

// query is u's query parameters, or none when u is oversized: a query is
// read pair by pair, so its length is what it costs.
func query(u *url.URL) queryValues {
	if oversized(u) {
		return ""
	}
	return queryValues(u.RawQuery)
}

// queryValues is a raw query read as u.Query() reads it (url.ParseQuery:
// pairs split on "&", a pair with ";" or an escape that does not decode
// skipped, the first value of a name wins), one name at a time: a
// decision looks up a few names, and building the map cost a signed-in
// page load with a query three allocations. (ParseQuery's limit on the
// number of pairs, 10,000 unless GODEBUG lowers it, is past what MaxURL
// lets through.)
type queryValues string

// Get is the first value of name, or "".
func (q queryValues) Get(name string) string {
	v, _ := q.lookup(name)
	return v
}

// Has reports whether name is in the query.
func (q queryValues) Has(name string) bool {
	_, ok := q.lookup(name)
	return ok
}

func (q queryValues) lookup(name string) (string, bool) {
	for raw := string(q); raw != ""; {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if !strings.ContainsAny(k, "%+") {
			if k != name { // unescaping would change nothing
				continue
			}
		} else if key, err := url.QueryUnescape(k); err != nil || key != name {
			continue
		}
		if value, err := url.QueryUnescape(v); err == nil {
			return value, true
		}
	}
	return "", false
}

// Eligible reports whether a request may be redirected to a handshake: a
// GET for a document (a page or an iframe). Fetches, form posts and API
// calls get an answer, never a redirect.
func Eligible(method, secFetchDest, accept string) bool {
	if method != "GET" {
		return false
	}
	if secFetchDest == "document" || secFetchDest == "iframe" {
		return true
	}
	return secFetchDest == "" && strings.HasPrefix(accept, "text/html")
}

// handshakeURL is the Frontend API's handshake with every parameter
// Clerk's backend sends, in its order.
func (s state) handshakeURL(reason string) string {
	base := s.cfg.FrontendAPI
	if !strings.HasPrefix(base, "http") {
		base = "https://" + base
	}
	format := "nonce"
	if s.cfg.TokenFormat {
		format = "token"
	}
	page := withoutParams(&s.req.URL, CookieDevBrowser, QueryDevSession, CookieHandshake, CookieHandshakeNonce).String()
	var b strings.Builder
	// Room for all of it at once: the escaped page, the session token and
	// the dev browser token are most of it, and growing the buffer as it
	// fills cost a redirect several allocations.
	b.Grow(len(base) + 3*len(page) + len(s.t.token) + len(s.t.devBrowser) + 256)
	b.WriteString(strings.TrimRight(base, "/"))
	b.WriteString("/v1/client/handshake")
	add := func(sep, k, v string) {
		b.WriteString(sep)
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	// A handshake the request carried and that was not resolved (not
	// bound to this browser, or in the query in production) is not sent
	// round again: it would come back first in the query.
	add("?", "redirect_url", page)
	add("&", "__clerk_api_version", APIVersion)
	add("&", "suffixed_cookies", strconv.FormatBool(s.t.suffixed))
	add("&", "__clerk_hs_reason", reason)
	add("&", "format", format)
	if s.t.token != "" {
		add("&", CookieSession, s.t.token)
	}
	if !s.cfg.Production && s.t.devBrowser != "" {
		add("&", CookieDevBrowser, s.t.devBrowser)
	}
	if s.cfg.OrganizationSync != nil {
		if t, ok := s.cfg.OrganizationSync.Target(s.req.URL.EscapedPath()); ok {
			add("&", QueryOrganizationID, t.queryValue())
		}
	}
	return b.String()
}

// redirectCount reads the loop counter as Clerk does, with JavaScript's
// Number(v) || 0: a decimal (fractions, exponents and a sign included),
// 0x/0o/0b digits or Infinity, around white space; anything else is 0.
// A counter of -1 is thus -1, and the next handshake sets it to 0.
func redirectCount(req *Request) float64 {
	v := req.Cookies.RedirectCount
	if v == "" {
		return 0
	}
	v = strings.TrimFunc(v, jsSpace)
	var n float64
	switch {
	case len(v) > 2 && v[0] == '0' && strings.ContainsRune("xXoObB", rune(v[1])):
		u, err := strconv.ParseUint(v[2:], map[byte]int{'x': 16, 'X': 16, 'o': 8, 'O': 8, 'b': 2, 'B': 2}[v[1]], 64)
		if err != nil || strings.ContainsRune(v, '_') {
			return 0
		}
		n = float64(u)
	case v == "Infinity" || v == "+Infinity":
		n = math.Inf(1)
	case v == "-Infinity":
		n = math.Inf(-1)
	case jsDecimal.MatchString(v):
		n, _ = strconv.ParseFloat(v, 64)
	}
	if math.IsNaN(n) {
		return 0
	}
	return n
}

// jsDecimal is JavaScript's StrDecimalLiteral.
var jsDecimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// formatCount writes the next loop counter as JavaScript writes a number.
func formatCount(n float64) string {
	switch {
	case math.IsInf(n, 1):
		return "Infinity"
	case math.IsInf(n, -1):
		return "-Infinity"
	case n == 0:
		return "0"
	case math.Abs(n) < 1e21:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return strconv.FormatFloat(n, 'g', -1, 64)
}

// or is a, else b.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// withoutParams is u without the named query parameters; the others keep
// their order and spelling.
func withoutParams(u *url.URL, names ...string) *url.URL {
	out := *u
	if u.RawQuery == "" || !hasParam(u.RawQuery, names) {
		return &out // as most pages are: nothing to drop, nothing to copy
	}
	var kept []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil && contains(names, k) {
			continue
		}
		kept = append(kept, pair)
	}
	out.RawQuery = strings.Join(kept, "&")
	return &out
}

// hasParam reports whether the raw query has a pair that withoutParams
// would drop for names.
func hasParam(raw string, names []string) bool {
	for rest := raw; ; {
		pair, more, found := strings.Cut(rest, "&")
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil && contains(names, k) {
			return true
		}
		if !found {
			return false
		}
		rest = more
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func appendQuery(raw, name, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := parseSearchParams(u.RawQuery)
	q.append(name, value)
	u.RawQuery = q.encode()
	return u.String()
}

// allowedOrigin reports whether raw is an absolute http(s) URL on one of
// the origins listed.
func allowedOrigin(raw string, origins []string) bool {
	o, ok := originOf(raw)
	return ok && contains(origins, o)
}

func originOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

// DevClockSkew is the leeway with which Clerk verifies again, on a
// development instance, a session token that a handshake gave and the
// clock refused: a developer's machine whose clock is off would otherwise
// go through handshake after handshake.
const DevClockSkew = 24 * time.Hour

// RetryWithClockSkew reports whether a session token that a handshake
// gave, refused for reason (Clerk's verification reason), is verified
// again with DevClockSkew: on a development instance, when the clock
// refused it (expired, not yet valid, issued in the future), as Clerk's
// resolveHandshake does. Production never retries.
func RetryWithClockSkew(cfg Config, reason string) bool {
	if cfg.Production {
		return false
	}
	switch reason {
	case VerifyTokenExpired, VerifyTokenNotActiveYet, VerifyTokenIATInTheFuture:
		return true
	}
	return false
}
