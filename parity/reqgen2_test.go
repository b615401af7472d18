package parity_test

import (
	"fmt"
	"github.com/clerkgate/clerkgate/handshake"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
)

// The second request corpus (request2_test.go): browser flows rather than
// independent draws. Each request is one moment of a realistic session
// (signed in, token expired, refreshed, signed out elsewhere, a new tab, a
// satellite syncing, a dev browser arriving), then mutated the way
// proxies, frameworks, attackers and old SDKs mutate requests: cookies sent
// twice, quoted or percent-encoded, suffixes of other apps, tokens of other
// instances, odd Authorization spellings, handshake payloads and refresh
// answers that fail in every way. It shares the instances, minter and fake
// Backend API of the first corpus (reqgen_test.go, reqfake_test.go) and
// adds its own answers beside the fake's (fake2).

// instances2 are the first corpus's instances, plus a production instance
// with authorized parties and a production satellite behind a Frontend API
// proxy.
func instances2() (insts []*instance, parties map[string][]string) {
	insts = corpusInstances()
	prodPK := publishableKey(true, "clerk.example.com")
	extra := []*instance{
		{Name: "azp", PK: prodPK, SK: "sk_live_parityparityparityparityparity", Issuer: "https://clerk.example.com",
			Origin: "https://app.example.com", TrustProxy: true, AuthorizedParties: []string{"https://app.example.com"}},
		{Name: "satproxy", PK: prodPK, SK: "sk_live_parityparityparityparityparity", Issuer: "https://satellite2.example/__clerk",
			Origin: "https://satellite2.example", Satellite: true, ProxyURL: "https://satellite2.example/__clerk", TrustProxy: true},
	}
	for _, in := range extra {
		in.suffix = cookieSuffix(in.PK)
	}
	insts = append(insts, extra...)
	parties = map[string][]string{}
	for _, in := range insts {
		if len(in.AuthorizedParties) > 0 {
			parties[in.Name] = in.AuthorizedParties
		}
	}
	return insts, parties
}

// gen2 makes the second corpus.
type gen2 struct {
	rng     *rand.Rand
	mint    *minter
	fake    *fakeAPI
	insts   []*instance
	parties map[string][]string
	cases   []*reqCase
	// focus is the one family of exotic mutations the current request
	// gets (or ""), so that each disagreement has one cause.
	focus string
}

// Families of exotic mutations; a request gets at most one.
const (
	focusCookieSyntax = "cookie-syntax"
	focusCookieOdd    = "cookie-odd"
	focusAuth         = "auth-spelling"
	focusURL          = "url-spelling"
	focusReferer      = "referer-odd"
	focusLifetime     = "lifetime"
	focusCookieMix    = "cookie-mix"
)

func (g *gen2) pick(options ...string) string { return options[g.rng.IntN(len(options))] }
func (g *gen2) chance(p float64) bool         { return g.rng.Float64() < p }

// weighted picks an index by weight.
func (g *gen2) weighted(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// tok2 describes a session token relative to the clock: the zero value is
// a fresh token of session A issued 10 s ago, living 60 s.
type tok2 struct {
	sid, sub  string
	iss       string // "" the instance's; "-" none
	azp       string
	iat, exp  int64 // offsets from now; exp 0 means iat+60
	nbf       *int64
	noIat     bool
	sts       string
	cat       string
	badSig    bool
	note      string
	extraJSON map[string]any
}

func (g *gen2) token(in *instance, s tok2) string {
	if s.sid == "" {
		s.sid, s.sub = sessionA, userA
	}
	now := g.mint.now
	iat := now - 10
	if s.iat != 0 {
		iat = now + s.iat
	}
	exp := iat + 60
	if s.exp != 0 {
		exp = now + s.exp
	}
	nbf := iat - 5
	if s.nbf != nil {
		nbf = now + *s.nbf
	}
	claims := map[string]any{"sid": s.sid, "sub": s.sub, "v": 2, "exp": exp, "nbf": nbf}
	switch s.iss {
	case "":
		claims["iss"] = in.Issuer
	case "-":
	default:
		claims["iss"] = s.iss
	}
	if !s.noIat {
		claims["iat"] = iat
	}
	if s.azp != "" {
		claims["azp"] = s.azp
	}
	claims["sts"] = "active"
	if s.sts != "" {
		claims["sts"] = s.sts
	}
	for k, v := range s.extraJSON {
		claims[k] = v
	}
	cat := "cl_B7d4PD111AAA"
	if s.cat != "" {
		cat = s.cat
	}
	t := g.mint.sign(map[string]any{"alg": "RS256", "kid": g.mint.kid, "typ": "JWT", "cat": cat}, claims)
	if s.badSig {
		t = t[:len(t)-6] + flip(t[len(t)-6:])
	}
	return t
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// jar is the Cookie header being built, in order.
type jar struct {
	pairs [][2]string
}

func (j *jar) set(name, value string) { j.pairs = append(j.pairs, [2]string{name, value}) }
func (j *jar) header() string {
	parts := make([]string, len(j.pairs))
	for i, p := range j.pairs {
		if p[1] == "\x00bare" {
			parts[i] = p[0]
			continue
		}
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, "; ")
}

func (g *gen2) generate(n int) {
	for range n {
		in := g.insts[g.rng.IntN(len(g.insts))]
		c := &reqCase{ID: len(g.cases), Instance: in.Name, inst: in}
		switch g.weighted(55, 30, 15) {
		case 0:
			c.kind = "page"
		case 1:
			c.kind = "api"
		default:
			c.kind = "bearer"
		}
		g.request(c)
		g.cases = append(g.cases, c)
	}
}

func (c *reqCase) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

func (c *reqCase) quirk(name string) {
	for _, q := range c.quirks {
		if q == name {
			return
		}
	}
	c.quirks = append(c.quirks, name)
}

// otherInstance is an instance other than in, by issuer.
func (g *gen2) otherInstance(in *instance) *instance {
	for {
		o := g.insts[g.rng.IntN(len(g.insts))]
		if o.Issuer != in.Issuer {
			return o
		}
	}
}

func (g *gen2) request(c *reqCase) {
	in := c.inst
	now := g.mint.now
	path := g.pick("/", "/dashboard", "/settings/profile", "/api/me", "/orgs/acme")
	q := url.Values{}
	if g.chance(0.1) {
		q.Set("page", g.pick("2", "a b", "ü"))
	}
	var j jar
	g.focus = ""
	if g.chance(0.45) {
		g.focus = []string{focusCookieSyntax, focusCookieOdd, focusAuth, focusURL, focusReferer, focusLifetime, focusCookieMix}[g.rng.IntN(7)]
		if g.focus == focusAuth && c.kind != "bearer" {
			g.focus = ""
		}
	}

	g.navigation(c)
	for _, h := range c.Headers {
		c.note("%s=%q", strings.ToLower(h[0]), h[1])
	}

	// The browser's session state: the moment of a flow.
	var sessTok, uat string
	var state string
	w := []int{14, 5, 6, 10, 0, 5, 6, 4, 4, 3, 3, 3, 3, 3, 3, 4, 3, 0, 2}
	if g.focus == focusLifetime {
		w = make([]int, 19)
		w[4], w[17] = 1, 1
	}
	switch g.weighted(w...) {
	case 0:
		state = "signed-in"
		sessTok, uat = g.token(in, tok2{}), fmt.Sprint(now-3600)
	case 1:
		state = "just-signed-in" // uat equals iat
		sessTok, uat = g.token(in, tok2{iat: -2}), fmt.Sprint(now-2)
	case 2:
		state = "signed-in-elsewhere-since" // another tab changed the client after this token
		sessTok, uat = g.token(in, tok2{iat: -30, exp: 30}), fmt.Sprint(now-g.rng.Int64N(25)-1)
	case 3:
		state = "expired"
		sessTok, uat = g.token(in, tok2{iat: -70, exp: -10}), fmt.Sprint(now-7200)
	case 4:
		state = "expired-long" // a tab that slept
		age := []int64{-400, -3600, -86400 * 3}[g.rng.IntN(3)]
		sessTok, uat = g.token(in, tok2{iat: age - 60, exp: age}), fmt.Sprint(now+age-86400)
		c.note("expired %ds ago", -age)
		c.quirk(tagExpiredLong)
	case 5:
		state = "signed-out" // clerk-js cleared the session and zeroed uat
		uat = "0"
		if g.chance(0.5) {
			sessTok = "\x00empty"
		}
	case 6:
		state = "signed-out-stale-token" // uat zeroed, session cookie left behind
		uat = "0"
		sessTok = g.token(in, tok2{})
	case 7:
		state = "new-visitor"
	case 8:
		state = "uat-only"
		uat = fmt.Sprint(now - 600)
	case 9:
		state = "session-only"
		sessTok = g.token(in, tok2{})
	case 10:
		state = "very-old-uat"
		sessTok, uat = g.token(in, tok2{}), g.pick("1", "86400", fmt.Sprint(now-86400*365))
	case 11:
		state = "future-uat"
		sessTok, uat = g.token(in, tok2{}), fmt.Sprint(now+g.rng.Int64N(5000)+1)
	case 12:
		state = "session-b"
		sessTok, uat = g.token(in, tok2{sid: sessionB, sub: userB}), fmt.Sprint(now-3600)
	case 13:
		state = "pending"
		sessTok, uat = g.token(in, tok2{sts: "pending"}), fmt.Sprint(now-3600)
	case 14:
		o := g.otherInstance(in)
		state = "issuer-of-" + o.Name
		sessTok, uat = g.token(in, tok2{iss: o.Issuer}), fmt.Sprint(now-3600)
	case 15:
		azp := g.pick("https://app.example.com", "https://evil.example", "http://localhost:3000", "https://satellite.example", "")
		state = "azp=" + azp
		sessTok, uat = g.token(in, tok2{azp: azp}), fmt.Sprint(now-3600)
	case 16:
		state = "clock"
		switch g.rng.IntN(5) {
		case 0:
			nbf := int64(3)
			sessTok = g.token(in, tok2{nbf: &nbf})
			state = "nbf+3"
		case 1:
			nbf := int64(20)
			sessTok = g.token(in, tok2{nbf: &nbf})
			state = "nbf+20"
		case 2:
			sessTok = g.token(in, tok2{iat: 4, exp: 64})
			state = "iat+4"
		case 3:
			sessTok = g.token(in, tok2{iat: -62, exp: -3})
			state = "expired-3s" // within the 5 s skew
		default:
			sessTok = g.token(in, tok2{iat: -65, exp: -5})
			state = "expired-5s" // at the skew's edge
		}
		uat = fmt.Sprint(now - 3600)
	case 17:
		state = "long-lived"
		sessTok, uat = g.token(in, tok2{iat: -10, exp: 3590}), fmt.Sprint(now-3600)
		c.quirk(tagLongLived)
	case 18:
		state = "bad-signature"
		sessTok, uat = g.token(in, tok2{badSig: true}), fmt.Sprint(now-3600)
	}
	c.note("state:%s", state)
	if g.focus != "" {
		c.note("focus:%s", g.focus)
	}

	// Where the state lives: plain names, suffixed names, both.
	if c.kind != "bearer" || g.chance(0.4) {
		g.placeSession(c, &j, sessTok, uat)
	}

	// Refresh cookie.
	if sessTok != "" && g.chance(0.45) || g.chance(0.05) {
		rt := g.pick(refreshOK, refreshOK, refreshOK, refreshBadNew, refreshInvalid, refreshDown, refreshGarbage, refreshOther,
			rt2Empty, rt2NoSession, rt2Forged, rt2Unauthorized, rt2NotFound, rt2OtherInstance, rt2SuffixedOnly, rt2NoErrors, rt2EmptyToken, rt2Pending)
		if rt == refreshOther {
			c.quirk("refresh-other-session")
		}
		name := "__refresh_" + in.suffix
		switch g.rng.IntN(12) {
		case 0:
			name = "__refresh" // clerk-js never sets it unsuffixed
		case 1:
			name = "__refresh_" + g.otherSuffix(in)
		}
		j.set(name, rt)
		c.note("%s:%s", name, rt)
	}

	// Development: the dev browser, in the query, a cookie, or both.
	if in.Dev {
		switch g.weighted(6, 2, 1, 1, 1) {
		case 0:
			j.set(g.pick("__clerk_db_jwt", "__clerk_db_jwt_"+in.suffix), "dvb_2cookiecookiecookiecookie")
		case 1:
			q.Set("__clerk_db_jwt", "dvb_2queryqueryqueryqueryquery")
			c.note("db_jwt in query")
		case 2:
			j.set("__clerk_db_jwt", "dvb_2cookiecookiecookiecookie")
			q.Set("__clerk_db_jwt", "dvb_2queryqueryqueryqueryquery")
			c.note("db_jwt in query and cookie")
		case 3:
			j.set("__clerk_db_jwt", "dvb_2plainplainplainplainpl")
			j.set("__clerk_db_jwt_"+in.suffix, "dvb_2suffixedsuffixedsuffixed")
			c.note("db_jwt plain and suffixed")
		}
		if g.chance(0.05) {
			q.Set("__dev_session", "dvb_2legacylegacylegacylegacy")
		}
	} else if g.chance(0.04) {
		q.Set("__clerk_db_jwt", "dvb_2onproductiononproduction") // ignored in production
	}

	// Loop guard.
	if g.chance(0.15) {
		v := g.pick("1", "2", "3", "3", "0", "4", "10", "2.5", "1e1", "-3", "x", "", "0x3", " 3")
		if jsNumber(v) > 3 {
			c.quirk("redirect-count-over-3")
		}
		j.set("__clerk_redirect_count", v)
		c.note("redirect_count=%q", v)
	}

	// Back from a handshake.
	g.handshakeReturn(c, &j, q)

	// Satellites and the development primary's answer to them.
	if in.Satellite && g.chance(0.45) {
		q.Set("__clerk_synced", g.pick("true", "false", "false", "1", "", "TRUE"))
	}
	if in.Dev && !in.Satellite && g.chance(0.1) {
		back := g.pick("http://localhost:3001/after", "http://localhost:3001/", "http://localhost:3001/x?__clerk_synced=false")
		if g.chance(0.2) {
			back = g.pick("https://evil.example/steal", "javascript:alert(1)", "/relative")
			c.quirk("redirect-url-allow-list")
		}
		q.Set("__clerk_redirect_url", back)
	}

	// Mutations of the cookie header.
	g.mutateCookies(c, &j)

	// Authorization.
	if c.kind == "bearer" {
		g.authorization(c, in)
	}

	// Where the request comes from.
	g.origins(c, in, len(j.pairs) > 0)

	// Proxies.
	host := hostOf(in.Origin)
	if g.chance(0.15) {
		g.forwarded(c, in)
	}
	if g.focus == focusURL && g.chance(0.5) {
		h := g.pick(host+":443", strings.ToUpper(host), host+".")
		if strings.HasPrefix(in.Origin, "http://") {
			h = g.pick(host, strings.ToUpper(host))
		}
		c.note("host %s", h)
		c.quirk(tagURLSpelling)
		host = h
		if strings.HasSuffix(h, ".") && sameOriginPost(c, in, len(j.pairs) > 0) {
			// The page at app.example.com. is another origin than
			// app.example.com (new URL keeps the dot, and so does the
			// browser's Origin header): the request is cross-origin.
			c.quirk("cross-origin-unsafe")
		}
	}
	c.header("Host", host)
	if len(j.pairs) > 0 {
		c.header("Cookie", j.header())
	}
	u, _ := url.Parse(in.Origin + path)
	u.RawQuery = q.Encode()
	c.URL = u.String()
}

// sameOriginPost reports an unsafe request with cookies, without
// Sec-Fetch-Site, whose Origin is the instance's own origin.
func sameOriginPost(c *reqCase, in *instance, hasCookies bool) bool {
	if c.Method == "GET" || c.Method == "HEAD" || c.Method == "OPTIONS" || !hasCookies {
		return false
	}
	origin := ""
	for _, h := range c.Headers {
		switch h[0] {
		case "Sec-Fetch-Site":
			return false
		case "Origin":
			origin = h[1]
		}
	}
	return origin == in.Origin
}

// Tags of the features behind the disagreements pendingFixes names.
const (
	tagCookieSyntax   = "cookie-syntax"   // a quoted, percent-encoded, padded or comma'd cookie value
	tagCookieTwice    = "cookie-twice"    // a cookie sent twice with different values
	tagReferer        = "referer-odd"     // a Referer with userinfo, upper case, a default port, another scheme
	tagLongLived      = "long-lived"      // a session token living longer than 60 s
	tagExpiredLong    = "expired-long"    // a session token expired more than 5 min ago
	tagAuthSpelling   = "auth-spelling"   // Authorization with two spaces, a tab, a trailing word, twice
	tagURLSpelling    = "url-spelling"    // Host or X-Forwarded-* with a port, upper case, a trailing dot, an odd proto
	tagCookieOversize = "cookie-oversize" // a Clerk cookie whose value passes 4 KiB
)

func hostOf(origin string) string {
	u, _ := url.Parse(origin)
	return u.Host
}

// jsNumber is JavaScript's Number(v) || 0 for the values the corpus uses.
func jsNumber(v string) float64 {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "0x") {
		n, err := strconv.ParseInt(v[2:], 16, 64)
		if err != nil {
			return 0
		}
		return float64(n)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0
	}
	return f
}

func (g *gen2) otherSuffix(in *instance) string {
	for {
		o := g.insts[g.rng.IntN(len(g.insts))]
		if o.suffix != in.suffix {
			return o.suffix
		}
		if g.chance(0.3) {
			return "AbCdEfGh"
		}
	}
}

// navigation sets the method and the headers that tell a page load from a
// fetch.
func (g *gen2) navigation(c *reqCase) {
	switch c.kind {
	case "page":
		c.Method = "GET"
		if g.chance(0.08) {
			c.Method = g.pick("HEAD", "POST", "OPTIONS")
		}
		switch g.weighted(8, 2, 2, 2, 1, 1, 1, 1, 1, 1) {
		case 0:
			c.header("Sec-Fetch-Dest", "document")
			c.header("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
			c.header("Sec-Fetch-Mode", "navigate")
		case 1:
			c.header("Sec-Fetch-Dest", "iframe")
			c.header("Accept", "text/html")
		case 2: // Safari before 16.4, curl -H: no Sec-Fetch-Dest
			c.header("Accept", "text/html,application/xhtml+xml")
		case 3:
			c.header("Sec-Fetch-Dest", "empty")
			c.header("Accept", "text/html")
		case 4:
			c.header("Accept", g.pick("*/*", "application/xhtml+xml,text/html", "TEXT/HTML", "text/html;q=0.9"))
		case 5:
			c.header("Sec-Fetch-Dest", g.pick("Document", "frame", "embed", "object", "script"))
			c.header("Accept", "text/html")
		case 6:
			c.header("Sec-Fetch-Dest", "document")
		case 7: // nothing at all
		case 8:
			c.header("Sec-Fetch-Dest", "document")
			c.header("Accept", "application/json")
		default:
			c.header("Sec-Fetch-Dest", "iframe")
		}
	default:
		c.Method = g.pick("GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS")
		switch g.weighted(5, 3, 1, 1) {
		case 0:
			c.header("Sec-Fetch-Dest", "empty")
			c.header("Accept", "application/json")
		case 1:
			c.header("Accept", g.pick("application/json", "*/*"))
		case 2:
			c.header("Sec-Fetch-Dest", "document") // a navigation to an API URL
			c.header("Accept", "text/html")
		}
	}
}

// placeSession writes the session token and client_uat under plain and/or
// suffixed names, as browsers with different SDK versions hold them.
func (g *gen2) placeSession(c *reqCase, j *jar, tok, uat string) {
	in := c.inst
	sfx := func(n string) string { return n + "_" + in.suffix }
	sess := func(name, v string) {
		if v == "" {
			return
		}
		if v == "\x00empty" {
			v = ""
		}
		j.set(name, v)
	}
	uatc := func(name, v string) {
		if v != "" {
			j.set(name, v)
		}
	}
	switch g.weighted(3, 3, 5, 2, 2, 2, 1, 1) {
	case 0:
		c.note("plain")
		sess("__session", tok)
		uatc("__client_uat", uat)
	case 1:
		c.note("suffixed")
		sess(sfx("__session"), tok)
		uatc(sfx("__client_uat"), uat)
	case 2:
		c.note("both")
		sess("__session", tok)
		uatc("__client_uat", uat)
		sess(sfx("__session"), tok)
		uatc(sfx("__client_uat"), uat)
	case 3: // an older SDK wrote the plain pair; the suffixed pair is older or newer
		older := g.token(in, tok2{iat: -40, exp: 20})
		if g.chance(0.5) {
			c.note("both, plain newer")
			sess("__session", tok)
			uatc("__client_uat", uat)
			sess(sfx("__session"), older)
			uatc(sfx("__client_uat"), g.pick(uat, "0", fmt.Sprint(g.mint.now-40)))
		} else {
			c.note("both, suffixed newer")
			sess("__session", older)
			uatc("__client_uat", g.pick(uat, "0", fmt.Sprint(g.mint.now-40)))
			sess(sfx("__session"), tok)
			uatc(sfx("__client_uat"), uat)
		}
	case 4: // a downgrade or a sign-out that reached one pair only
		if g.chance(0.5) {
			c.note("suffixed signed out")
			sess("__session", tok)
			uatc("__client_uat", uat)
			uatc(sfx("__client_uat"), "0")
		} else {
			c.note("plain signed out")
			j.set("__client_uat", "0")
			sess(sfx("__session"), tok)
			uatc(sfx("__client_uat"), uat)
		}
	case 5: // a suffixed session without its client_uat (FAPI's feature off)
		c.note("suffixed session, plain uat")
		sess("__session", tok)
		uatc("__client_uat", uat)
		sess(sfx("__session"), tok)
	case 6: // another app on the same site: its token in the plain cookie
		o := g.otherInstance(in)
		c.note("plain from %s", o.Name)
		sess("__session", g.token(o, tok2{sid: sessionB, sub: userB}))
		uatc("__client_uat", fmt.Sprint(g.mint.now-100))
		sess(sfx("__session"), tok)
		uatc(sfx("__client_uat"), uat)
	default: // a plain token without iss (a hand-made cookie)
		c.note("plain without iss")
		sess("__session", g.token(in, tok2{iss: "-"}))
		uatc("__client_uat", uat)
		sess(sfx("__session"), tok)
		uatc(sfx("__client_uat"), uat)
	}
}

// handshakeReturn adds what a browser brings back from the Frontend API's
// handshake: a nonce (the first corpus's, or one with an odd payload) or a
// handshake token with an odd payload, in the query or a cookie.
func (g *gen2) handshakeReturn(c *reqCase, j *jar, q url.Values) {
	in := c.inst
	inQuery := false
	place := func(name, v string) {
		switch g.rng.IntN(3) {
		case 0:
			q.Set(name, v)
			inQuery = true
		case 1:
			j.set(name, v)
		default:
			q.Set(name, v)
			j.set(name, v+"-stale")
			inQuery = true
		}
	}
	// What the Gate asks of a return that Clerk does not: production's
	// handshake comes back in a cookie only, and in the browser that
	// started it (the binding cookie, under both names as the first
	// corpus sets it). Most returns are genuine; some are not.
	defer func() {
		if inQuery && !in.Dev {
			c.quirk("handshake-query-production")
		}
		if g.chance(0.85) {
			_, v, _ := strings.Cut(in.binding, "=")
			j.set(handshake.CookieBinding, v)
			j.set(handshake.CookieBindingSecure, v)
		} else {
			c.quirk("unbound-handshake")
		}
	}()
	switch g.weighted(80, 7, 3, 6, 4) {
	case 0:
		return
	case 1:
		v := g.pick(nonceSessionA, nonceSessionB, nonceSignedOut, nonceExpired, nonceUnknown)
		if in.Dev && v == nonceExpired {
			c.quirk("dev-clock-skew-retry")
		}
		place("__clerk_handshake_nonce", nonceFor(in, v))
		c.note("nonce:%s", v)
	case 2:
		// A nonce for another instance's app (a shared parent domain).
		o := g.otherInstance(in)
		place("__clerk_handshake_nonce", nonceFor(o, nonceSessionB))
		c.note("nonce of %s", o.Name)
	case 3:
		v := g.pick(hs2Variants...)
		if in.Dev && hs2Expired(v) {
			c.quirk("dev-clock-skew-retry")
		}
		if v == hs2NoIat {
			c.quirk(noIAT)
		}
		place("__clerk_handshake_nonce", nonce2For(in, v))
		c.note("nonce2:%s", v)
	default:
		v := g.pick(hs2Variants...)
		if in.Dev && hs2Expired(v) {
			c.quirk("dev-clock-skew-retry")
		}
		if v == hs2NoIat {
			c.quirk(noIAT)
		}
		d := g.directives2(in, v)
		claims := map[string]any{"handshake": d}
		switch g.rng.IntN(8) {
		case 0:
			claims["handshake"] = strings.Join(d, ",") // not an array
			c.note("handshake claim a string")
		case 1:
			delete(claims, "handshake")
			c.note("no handshake claim")
		case 2:
			claims["exp"] = g.mint.now - 60
			c.quirk("handshake-token-exp")
		case 3:
			claims["handshake"] = []any{1, nil, d}
			c.note("handshake claim of non-strings")
		}
		header := map[string]any{"alg": "RS256", "kid": g.mint.kid, "typ": "JWT", "cat": "cl_B7d4PD111AAA"}
		if g.chance(0.1) {
			header["typ"] = "at+jwt"
			c.note("handshake typ at+jwt")
		}
		t := g.mint.sign(header, claims)
		if g.chance(0.08) {
			t = t[:len(t)-6] + flip(t[len(t)-6:])
			c.note("handshake bad signature")
		}
		place("__clerk_handshake", t)
		c.note("handshake-token:%s", v)
		if g.chance(0.15) {
			q.Set("__clerk_handshake_nonce", nonceFor(in, nonceSessionB))
			inQuery = true
			c.note("and nonce b")
		}
	}
	if g.chance(0.1) {
		q.Set("__clerk_help", "1")
	}
}

// mutateCookies spells the cookie header as other clients and proxies do.
func (g *gen2) mutateCookies(c *reqCase, j *jar) {
	if g.focus == focusCookieMix {
		g.cookieMix(c, j)
		return
	}
	if len(j.pairs) == 0 {
		if g.chance(0.03) {
			j.set("__session_"+c.inst.suffix+"x", g.token(c.inst, tok2{}))
			c.note("suffix+x only")
		}
		return
	}
	var n int
	switch g.focus {
	case focusCookieSyntax:
		n = []int{2, 3, 4, 10}[g.rng.IntN(4)]
	case focusCookieOdd:
		n = []int{0, 1, 5, 6, 7, 8, 9}[g.rng.IntN(7)]
	default:
		return
	}
	i := g.rng.IntN(len(j.pairs))
	p := j.pairs[i]
	if p[0] == handshake.CookieBinding || p[0] == handshake.CookieBindingSecure {
		// A binding cookie spelled otherwise binds nothing.
		c.quirk("unbound-handshake")
	}
	switch n {
	case 0: // the same cookie again with another value, after or before
		other := g.pick("", "0", "junk", g.token(c.inst, tok2{sid: sessionB, sub: userB}), fmt.Sprint(g.mint.now))
		if g.chance(0.5) {
			j.pairs = append(j.pairs, [2]string{p[0], other})
			c.note("%s twice, second %.12q", p[0], other)
			c.quirk(tagCookieTwice)
		} else {
			j.pairs = append([][2]string{{p[0], other}}, j.pairs...)
			c.note("%s twice, first %.12q", p[0], other)
			c.quirk(tagCookieTwice)
		}
	case 1: // the same cookie again with the same value
		j.pairs = append(j.pairs, p)
		c.note("%s twice, same", p[0])
	case 2:
		j.pairs[i][1] = `"` + p[1] + `"`
		c.note("%s quoted", p[0])
		c.quirk(tagCookieSyntax)
	case 3:
		j.pairs[i][1] = strings.ReplaceAll(p[1], ".", "%2E")
		if j.pairs[i][1] == p[1] && p[1] != "" {
			j.pairs[i][1] = "%" + fmt.Sprintf("%02X", p[1][0]) + p[1][1:]
		}
		c.note("%s percent-encoded", p[0])
		c.quirk(tagCookieSyntax)
	case 4:
		j.pairs[i][1] = " " + p[1] + " "
		c.note("%s padded", p[0])
		c.quirk(tagCookieSyntax)
	case 5:
		j.pairs[i][0] = p[0] + " "
		c.note("%s space before =", p[0])
	case 6:
		j.pairs[i][0] = strings.ToUpper(p[0][:3]) + p[0][3:]
		c.note("%s upper-cased", p[0])
	case 7:
		j.pairs[i][1] = "\x00bare"
		c.note("%s without =", p[0])
	case 8: // uat spelled oddly
		v := g.pick("-1", "+"+fmt.Sprint(g.mint.now-100), fmt.Sprint(g.mint.now-100)+"abc", "1e3", "0x10", "NaN", "00", "9999999999999999999999")
		replaced := false
		for k := range j.pairs {
			if strings.HasPrefix(j.pairs[k][0], "__client_uat") {
				j.pairs[k][1] = v
				replaced = true
			}
		}
		if !replaced {
			j.set(g.pick("__client_uat", "__client_uat_"+c.inst.suffix), v)
		}
		c.note("uat %q", v)
	case 9: // cookies of another instance's suffix or a longer name
		name := g.pick("__session_"+g.otherSuffix(c.inst), "__session_"+c.inst.suffix+"x", "__session_", "__sessionx", "__client_uat_"+g.otherSuffix(c.inst))
		v := g.token(c.inst, tok2{sid: sessionB, sub: userB})
		if strings.HasPrefix(name, "__client_uat") {
			v = "0"
		}
		j.set(name, v)
		c.note("collision %s", name)
	default:
		j.pairs[i][1] = p[1] + ",x"
		c.note("%s with a comma", p[0])
		c.quirk(tagCookieSyntax)
	}
}

// authorization adds the Authorization header of a bearer request.
func (g *gen2) authorization(c *reqCase, in *instance) {
	var tok, name string
	switch g.rng.IntN(12) {
	case 0, 1, 2:
		tok, name = g.token(in, tok2{}), "valid"
	case 3:
		tok, name = g.token(in, tok2{sid: sessionB, sub: userB}), "valid-b"
	case 4, 5:
		tok, name = g.token(in, tok2{iat: -70, exp: -10}), "expired"
	case 6:
		tok, name = g.token(in, tok2{iat: -700, exp: -640}), "expired-long"
		c.quirk(tagExpiredLong)
	case 7:
		o := g.otherInstance(in)
		tok, name = g.token(o, tok2{}), "of-"+o.Name
	case 8:
		tok, name = g.token(in, tok2{azp: g.pick("https://evil.example", "https://app.example.com")}), "azp"
	case 9:
		tok, name = g.token(in, tok2{cat: "cl_B7d4PD222AAA"}), "template"
	case 10:
		tok, name = g.token(in, tok2{sts: "pending"}), "pending"
	default:
		tok, name = g.token(in, tok2{badSig: true}), "bad-signature"
	}
	spelling := 0
	if g.focus == focusAuth {
		spelling = 1 + g.rng.IntN(7)
	}
	switch spelling {
	case 0:
		c.header("Authorization", "Bearer "+tok)
	case 1:
		c.header("Authorization", "Bearer  "+tok) // two spaces
		name += " (two spaces)"
		c.quirk(tagAuthSpelling)
	case 2:
		c.header("Authorization", "Bearer "+tok+" extra")
		name += " (trailing word)"
		c.quirk(tagAuthSpelling)
	case 3:
		c.header("Authorization", "Bearer\t"+tok)
		name += " (tab)"
		c.quirk(tagAuthSpelling)
	case 4:
		c.header("Authorization", "BEARER "+tok)
		c.quirk("lowercase-bearer")
	case 5:
		c.header("Authorization", "Token "+tok)
		name += " (Token scheme)"
	case 6:
		c.header("Authorization", "Bearer "+tok)
		c.header("Authorization", "Bearer "+g.token(in, tok2{sid: sessionB, sub: userB}))
		name += " (two headers)"
		c.quirk(tagAuthSpelling)
	default:
		c.header("Authorization", "Bearer "+tok+" ")
		name += " (trailing space)"
		c.quirk(tagAuthSpelling)
	}
	c.note("authorization:%s", name)
}

// origins adds Referer, Origin and Sec-Fetch-Site.
func (g *gen2) origins(c *reqCase, in *instance, hasCookies bool) {
	if g.chance(0.55) || g.focus == focusReferer {
		ref := g.pick(
			in.Origin+"/", in.Origin+"/other", // same origin
			"https://satellite.example/page", "http://localhost:3001/page", // a satellite
			"https://accounts.example.com/sign-in", "https://clerk.example.com/v1/client", // production portal and FAPI
			"https://happy-cat-12.accounts.dev/sign-in", "https://accounts.happy-cat-12.lcl.dev/", // dev portals
			"https://clerk.satellite.example/", "https://accounts.satellite.example/",
			"https://proxied.example/__clerk/v1", "https://www.google.com/", "")
		if g.focus == focusReferer {
			ref = g.pick(
				strings.Replace(in.Origin, "://", "://user@", 1)+"/", // userinfo
				strings.ToUpper(in.Origin)+"/",                       // case
				in.Origin+defaultPort(in.Origin)+"/",                 // default port
				"HTTPS://ACCOUNTS.EXAMPLE.COM/sign-in",
				"android-app://com.example/", "about:blank", "not a url", "null")
			c.quirk(tagReferer)
		}
		c.header("Referer", ref)
		c.note("referer %q", ref)
	}
	unsafe := c.Method != "GET" && c.Method != "HEAD" && c.Method != "OPTIONS"
	if c.Method != "GET" && c.Method != "HEAD" || g.chance(0.1) {
		var o string
		switch g.rng.IntN(6) {
		case 0:
			o = "https://evil.example"
		case 1:
			o = "null"
		case 2:
		default:
			o = in.Origin
		}
		if o != "" {
			c.header("Origin", o)
			c.note("origin %s", o)
			if unsafe && hasCookies && o != in.Origin && !g.authorizedParty(in, o) {
				c.quirk("cross-origin-unsafe")
			}
		}
	}
	if g.chance(0.3) {
		s := g.pick("same-origin", "same-site", "cross-site", "none")
		c.header("Sec-Fetch-Site", s)
		c.note("sec-fetch-site %s", s)
		if unsafe && hasCookies && (s == "cross-site" || s == "same-site") {
			c.quirk("cross-origin-unsafe")
		}
	}
}

func (g *gen2) authorizedParty(in *instance, origin string) bool {
	for _, p := range g.parties[in.Name] {
		if p == origin {
			return true
		}
	}
	return false
}

func defaultPort(origin string) string {
	if strings.HasPrefix(origin, "https://") {
		return ":443"
	}
	return ":80"
}

// forwarded adds X-Forwarded-* headers as proxies write them.
func (g *gen2) forwarded(c *reqCase, in *instance) {
	host := hostOf(in.Origin)
	proto := strings.TrimSuffix(in.Origin[:strings.Index(in.Origin, "://")], "")
	var fh, fp string
	n := g.rng.IntN(7)
	if g.focus != focusURL {
		n = g.rng.IntN(2) * 4 // the plain spelling, or a chain
	}
	switch n {
	case 0:
		fh, fp = host, proto
	case 1:
		fh = host // proto missing
	case 2:
		fp = g.pick("http", "https") // host missing
	case 3:
		fh, fp = g.pick("alt.example.com", "www."+host, host+":8443"), proto
	case 4:
		fh, fp = host+", inner.internal", proto+", http"
	case 5:
		fh, fp = g.pick(strings.ToUpper(host), host+":443"), proto
	default:
		fh, fp = host, g.pick("HTTPS", "wss", "")
	}
	if !in.TrustProxy {
		c.quirk("forwarded-untrusted")
	} else if strings.Contains(fh, ",") || strings.Contains(fp, ",") {
		c.quirk("forwarded-chain")
	}
	if fh != "" {
		c.header("X-Forwarded-Host", fh)
	}
	if fp != "" {
		c.header("X-Forwarded-Proto", fp)
	}
	c.note("forwarded %q %q", fh, fp)
	if fh != "" && fh != host || fp != "" && fp != proto {
		c.quirk(tagURLSpelling)
	}
}

// cookieMix makes one to three of the cookies that choose the session
// (__session, __client_uat, __clerk_db_jwt, plain and suffixed)
// unusable, each in its own way, adding the cookie first when the jar
// lacks it: padded, sent twice, under a lookalike name, over 4 KiB, with
// bytes that are not cookie-octets. Which pair Clerk chooses depends on
// what it reads in each; the Gate must never serve a session it would not
// (an unusable cookie must not tip the choice of pair). Each mutation is
// noted "mix:"; the quirks are the documented rows' own.
func (g *gen2) cookieMix(c *reqCase, j *jar) {
	in := c.inst
	sfx := "_" + in.suffix
	names := []string{"__session", "__session" + sfx, "__client_uat", "__client_uat" + sfx}
	if in.Dev {
		names = append(names, "__clerk_db_jwt", "__clerk_db_jwt"+sfx)
	}
	now := g.mint.now
	// fresh is a value the jar might have held under name: another
	// session's token, newer or older than the request's, or a time.
	fresh := func(name string) string {
		switch {
		case strings.HasPrefix(name, "__session"):
			switch g.rng.IntN(4) {
			case 0:
				return g.token(in, tok2{sid: sessionB, sub: userB, iat: -2})
			case 1:
				return g.token(in, tok2{sid: sessionB, sub: userB, iat: -50})
			case 2:
				return g.token(in, tok2{sid: sessionB, sub: userB, iat: -70, exp: -10})
			}
			return g.token(g.otherInstance(in), tok2{sid: sessionB, sub: userB})
		case strings.HasPrefix(name, "__client_uat"):
			return g.pick("0", fmt.Sprint(now-5), fmt.Sprint(now-3600), fmt.Sprint(now+100))
		}
		return "dvb_2mixmixmixmixmixmixmixmix"
	}
	index := func(name string) int {
		for k, p := range j.pairs {
			if p[0] == name {
				return k
			}
		}
		return -1
	}
	for range 1 + g.rng.IntN(3) {
		name := names[g.rng.IntN(len(names))]
		i := index(name)
		if i < 0 {
			j.set(name, fresh(name))
			i = len(j.pairs) - 1
			c.note("mix: %s added", name)
		}
		v := j.pairs[i][1]
		switch g.rng.IntN(9) {
		case 0:
			pad := g.pick(" "+v, v+" ", " "+v+" ", "\t"+v)
			j.pairs[i][1] = pad
			c.note("mix: %s padded", name)
			if pad != v+" " {
				c.quirk(tagCookieSyntax) // Clerk trims it; the Gate reads none
			}
		case 1:
			other := fresh(name)
			if g.chance(0.2) {
				other = ""
			}
			if g.chance(0.5) {
				j.pairs = append(j.pairs, [2]string{name, other})
				c.note("mix: %s twice, second %.12q", name, other)
			} else {
				j.pairs = append([][2]string{{name, other}}, j.pairs...)
				c.note("mix: %s twice, first %.12q", name, other)
			}
		case 2:
			j.pairs = append(j.pairs, [2]string{name, v})
			c.note("mix: %s twice, same", name)
		case 3: // a lookalike beside it, or in its place
			look := g.pick(name+"x", strings.ToUpper(name[:3])+name[3:], name+"_", "x"+name)
			if g.chance(0.5) {
				j.pairs[i][0] = look
				c.note("mix: %s renamed %s", name, look)
			} else {
				j.set(look, fresh(name))
				c.note("mix: lookalike %s", look)
			}
		case 4: // over 4 KiB: a real token padded with a claim, or junk
			long := v + strings.Repeat("A", 4100)
			if strings.HasPrefix(name, "__session") {
				long = g.token(in, tok2{sid: sessionB, sub: userB, extraJSON: map[string]any{"pad": strings.Repeat("p", 3200)}})
			}
			j.pairs[i][1] = long
			c.note("mix: %s over 4 KiB", name)
			c.quirk(tagCookieOversize)
		case 5:
			j.pairs[i][1] = `"` + v + `"`
			c.note("mix: %s quoted", name)
			c.quirk(tagCookieSyntax)
		case 6:
			j.pairs[i][1] = v + g.pick(",x", "\\", "\u00e9")
			c.note("mix: %s with a non-octet", name)
			c.quirk(tagCookieSyntax)
		case 7:
			enc := strings.ReplaceAll(v, ".", "%2E")
			if enc == v {
				enc = "%3" + g.pick("0", "1") + v
			}
			j.pairs[i][1] = enc
			c.note("mix: %s percent-encoded", name)
			c.quirk(tagCookieSyntax)
		default:
			j.pairs[i][1] = ""
			c.note("mix: %s empty", name)
		}
	}
	// A later mutation may have changed one of two copies of a cookie.
	first := map[string]string{}
	for _, p := range j.pairs {
		if v, ok := first[p[0]]; ok && v != p[1] {
			c.quirk(tagCookieTwice)
		} else if !ok {
			first[p[0]] = p[1]
		}
	}
}
