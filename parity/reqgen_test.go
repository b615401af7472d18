package parity_test

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"

	"github.com/clerkgate/clerkgate/handshake"
)

// instance is one Clerk setup that both sides are configured for alike.
type instance struct {
	Name             string
	PK, SK           string
	Issuer           string // the session tokens' iss
	Origin           string // the app's own origin
	Satellite        bool
	Domain           string
	ProxyURL         string
	SignInURL        string
	SatelliteOrigins []string // the Gate's only (Clerk follows any)
	TrustProxy       bool     // the Gate's InsecureTrustProxyHeaders (Clerk always trusts)
	Dev              bool
	// SatelliteAutoSync, OrgPatterns and PersonalPatterns are Clerk's
	// satelliteAutoSync and organizationSyncOptions.
	SatelliteAutoSync bool
	OrgPatterns       []string
	PersonalPatterns  []string
	AuthorizedParties []string // Clerk's authorizedParties and the Gate's
	suffix            string
	// binding is the Gate's handshake binding cookie ("name=value"), as
	// the 307 that starts a handshake sets it: a genuine return from the
	// handshake carries its value (see mintBindings).
	binding string
}

// Organization sync patterns of the instances that sync, and the paths
// the generator visits.
var (
	orgPatterns      = []string{"/orgs/:slug", "/orgs/:slug/(.*)", "/org-id/:id"}
	personalPatterns = []string{"/me", "/me/(.*)"}
	corpusPaths      = []string{"/", "/dashboard", "/api/me", "/orgs/acme", "/orgs/globex/settings", "/ORGS/acme/",
		"/org-id/org_acme", "/org-id/org_globex", "/me", "/me/profile"}
)

func publishableKey(live bool, fapi string) string {
	prefix := "pk_test_"
	if live {
		prefix = "pk_live_"
	}
	return prefix + base64.StdEncoding.EncodeToString([]byte(fapi+"$"))
}

// cookieSuffix is Clerk's: the first 8 characters of the URL-safe base64
// of the publishable key's SHA-1.
func cookieSuffix(pk string) string {
	sum := sha1.Sum([]byte(pk))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:8]
}

func corpusInstances() []*instance {
	const devFAPI = "happy-cat-12.clerk.accounts.dev"
	prodPK := publishableKey(true, "clerk.example.com")
	devPK := publishableKey(false, devFAPI)
	insts := []*instance{
		{Name: "prod", PK: prodPK, SK: "sk_live_parityparityparityparityparity", Issuer: "https://clerk.example.com",
			Origin: "https://app.example.com", TrustProxy: true, OrgPatterns: orgPatterns, PersonalPatterns: personalPatterns},
		{Name: "direct", PK: prodPK, SK: "sk_live_parityparityparityparityparity", Issuer: "https://clerk.example.com",
			Origin: "https://app.example.com"},
		{Name: "dev", PK: devPK, SK: "sk_test_parityparityparityparityparity", Issuer: "https://" + devFAPI,
			Origin: "http://localhost:3000", Dev: true, TrustProxy: true, SatelliteOrigins: []string{"http://localhost:3001"},
			OrgPatterns: orgPatterns, PersonalPatterns: personalPatterns},
		{Name: "sat", PK: prodPK, SK: "sk_live_parityparityparityparityparity", Issuer: "https://clerk.satellite.example",
			Origin: "https://satellite.example", Satellite: true, Domain: "satellite.example", TrustProxy: true},
		{Name: "satauto", PK: prodPK, SK: "sk_live_parityparityparityparityparity", Issuer: "https://clerk.satellite.example",
			Origin: "https://satellite.example", Satellite: true, Domain: "satellite.example", TrustProxy: true,
			SatelliteAutoSync: true},
		{Name: "devsat", PK: devPK, SK: "sk_test_parityparityparityparityparity", Issuer: "https://" + devFAPI,
			Origin: "http://localhost:3001", Satellite: true, Domain: "localhost:3001", SignInURL: "http://localhost:3000/sign-in",
			Dev: true, TrustProxy: true},
		{Name: "proxy", PK: publishableKey(true, "clerk.proxied.example"), SK: "sk_live_parityparityparityparityparity",
			Issuer: "https://proxied.example/__clerk", Origin: "https://proxied.example", ProxyURL: "https://proxied.example/__clerk",
			TrustProxy: true},
	}
	for _, in := range insts {
		in.suffix = cookieSuffix(in.PK)
	}
	return insts
}

// reqCase is one generated request.
type reqCase struct {
	ID       int         `json:"id"`
	Instance string      `json:"instance"`
	Method   string      `json:"method"`
	URL      string      `json:"url"`
	Headers  [][2]string `json:"headers"`

	inst   *instance
	kind   string   // page, api, bearer: for the summary
	quirks []string // the documented differences it exercises, if any
	notes  []string
}

func (c *reqCase) header(name, value string) { c.Headers = append(c.Headers, [2]string{name, value}) }

func (c *reqCase) label() string {
	q := ""
	if len(c.quirks) > 0 {
		q = ", quirks " + strings.Join(c.quirks, ",")
	}
	return fmt.Sprintf("#%d %s %s %s [%s/%s%s] %s", c.ID, c.Instance, c.Method, c.URL, c.inst.Name, c.kind, q, strings.Join(c.notes, " "))
}

// reqGenerator makes the corpus.
type reqGenerator struct {
	rng   *rand.Rand
	mint  *minter
	fake  *fakeAPI
	insts []*instance
	cases []*reqCase
}

func (g *reqGenerator) pick(options ...string) string { return options[g.rng.IntN(len(options))] }
func (g *reqGenerator) chance(p float64) bool         { return g.rng.Float64() < p }

// noIAT names a token without iat, which marks its request with the
// "no-iat" quirk.
const noIAT = "no-iat"

// sessionToken is a random cookie or header token for the instance, and
// a short name for it.
func (g *reqGenerator) sessionToken(in *instance) (string, string) {
	other := g.insts[g.rng.IntN(len(g.insts))]
	switch n := g.rng.IntN(20); {
	case n < 5:
		if g.chance(0.4) {
			return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, OrgID: "org_acme", OrgSlug: "acme"}), "valid-a-acme"
		}
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA}), "valid-a"
	case n < 7:
		return g.mint.token(in, tokenSpec{Sid: sessionB, Sub: userB}), "valid-b"
	case n < 9:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, Old: true}), "old-a"
	case n < 12:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, Expired: true}), "expired-a"
	case n < 13:
		return g.mint.token(in, tokenSpec{Sid: sessionB, Sub: userB, Expired: true}), "expired-b"
	case n < 14:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, NBFFuture: true}), "nbf-future"
	case n < 15:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, IATFuture: true}), "iat-future"
	case n < 16:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, NoIAT: true}), noIAT
	case n < 17:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, Issuer: other.Issuer}), "issuer-of-" + other.Name
	case n < 18:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, Issuer: g.pick("-", "https://clerk.other.example")}), "wrong-issuer"
	case n < 19:
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, Category: g.pick("cl_B7d4PD222AAA", "cl_B7d4PD333AAA")}), "other-category"
	}
	if g.chance(0.5) {
		return g.mint.token(in, tokenSpec{Sid: sessionA, Sub: userA, Pending: true}), "pending"
	}
	return "not.a-jwt", "garbage"
}

func (g *reqGenerator) uat() (string, string) {
	switch g.rng.IntN(8) {
	case 0:
		return "0", "uat0"
	case 1:
		return fmt.Sprint(g.mint.now), "uat-now" // after every token's iat but iat-future's
	case 2:
		return "junk", "uat-junk"
	}
	return fmt.Sprint(g.mint.now - 20), "uat-20s"
}

// generate makes n requests.
func (g *reqGenerator) generate(n int) {
	for range n {
		in := g.insts[g.rng.IntN(len(g.insts))]
		c := &reqCase{ID: len(g.cases), Instance: in.Name, inst: in}
		switch k := g.rng.IntN(10); {
		case k < 5:
			c.kind = "page"
		case k < 8:
			c.kind = "api"
		default:
			c.kind = "bearer"
		}
		g.request(c)
		g.cases = append(g.cases, c)
	}
}

func (g *reqGenerator) request(c *reqCase) {
	in := c.inst
	u, _ := url.Parse(in.Origin + g.pick(corpusPaths...))
	q := url.Values{}
	if g.chance(0.1) {
		q.Set("tab", "1")
	}

	// Method and navigation headers.
	switch c.kind {
	case "page":
		c.Method = "GET"
		if g.chance(0.1) {
			c.Method = g.pick("HEAD", "POST")
		}
		switch g.rng.IntN(10) {
		case 0:
			c.header("Sec-Fetch-Dest", "iframe")
		case 1, 2, 3:
			c.header("Accept", "text/html,application/xhtml+xml")
		case 4:
			c.header("Accept", "*/*")
		default:
			c.header("Sec-Fetch-Dest", "document")
			c.header("Accept", "text/html,application/xhtml+xml")
		}
	default:
		c.Method = g.pick("GET", "GET", "GET", "POST", "HEAD")
		switch {
		case c.kind == "bearer" && g.chance(0.1):
			c.header("Sec-Fetch-Dest", "document") // a navigation that brings a token
		case g.chance(0.6):
			c.header("Sec-Fetch-Dest", "empty")
		}
		c.header("Accept", "application/json")
	}

	// Authorization.
	if c.kind == "bearer" {
		tok, name := g.sessionToken(in)
		switch g.rng.IntN(20) {
		case 0:
			c.header("Authorization", "bearer "+tok)
			c.quirks = append(c.quirks, "lowercase-bearer")
		case 1:
			c.header("Authorization", tok)
			c.quirks = append(c.quirks, "schemeless-authorization")
		case 2:
			c.header("Authorization", "Basic dXNlcjpwYXNz")
			name = "basic"
		case 3:
			c.header("Authorization", "Bearer ")
			name = "empty-bearer"
		default:
			c.header("Authorization", "Bearer "+tok)
		}
		c.notes = append(c.notes, "authorization:"+name)
	}

	// Cookies.
	var cookies []string
	cookie := func(name, value, note string) {
		cookies = append(cookies, name+"="+value)
		c.notes = append(c.notes, name+":"+note)
	}
	var plainTok string
	if c.kind != "bearer" || g.chance(0.4) {
		if g.chance(0.6) {
			tok, name := g.sessionToken(in)
			plainTok = tok
			cookie("__session", tok, name)
		}
		if g.chance(0.4) {
			tok, name := g.sessionToken(in)
			if plainTok != "" && g.chance(0.5) {
				tok, name = plainTok, "same"
			}
			cookie("__session_"+in.suffix, tok, name)
		}
		if g.chance(0.7) {
			v, name := g.uat()
			cookie("__client_uat", v, name)
		}
		if g.chance(0.5) {
			v, name := g.uat()
			cookie("__client_uat_"+in.suffix, v, name)
		}
	}
	if g.chance(0.35) {
		rt := g.pick(refreshOK, refreshOK, refreshOK, refreshBadNew, refreshInvalid, refreshDown, refreshGarbage, refreshOther)
		if rt == refreshOther {
			c.quirks = append(c.quirks, "refresh-other-session")
		}
		cookie("__refresh_"+in.suffix, rt, rt)
	}
	if g.chance(0.05) {
		cookie("__refresh", refreshOK, "unsuffixed")
	}
	if in.Dev {
		if g.chance(0.6) {
			cookie(g.pick("__clerk_db_jwt", "__clerk_db_jwt_"+in.suffix), "dvb_2devbrowserdevbrowser", "dev-browser")
		}
		if g.chance(0.08) {
			q.Set("__clerk_db_jwt", "dvb_2fromthequeryfromthequery")
		}
	}
	if g.chance(0.15) {
		v := g.pick("1", "2", "3", "-1", "x", "1.5", " 2", "4")
		if v == "4" {
			c.quirks = append(c.quirks, "redirect-count-over-3")
		}
		cookie("__clerk_redirect_count", v, "count")
	}

	// Back from a handshake: in the query (development's transport) or a
	// cookie (production's), mostly in the browser that started it (the
	// binding cookie), sometimes not.
	back := func(name, value, note string) {
		inQuery := g.chance(0.5)
		if inQuery {
			q.Set(name, value)
			c.notes = append(c.notes, name+"(query):"+note)
		} else {
			cookie(name, value, note)
		}
		if inQuery && !in.Dev {
			c.quirks = append(c.quirks, "handshake-query-production")
		}
		if g.chance(0.85) {
			// Under both names: the one the Gate reads depends on the
			// scheme it takes the page to have (X-Forwarded-Proto), which
			// a genuine return shares with the page that started it.
			_, v, _ := strings.Cut(in.binding, "=")
			cookie(handshake.CookieBinding, v, "binding")
			cookie(handshake.CookieBindingSecure, v, "binding")
		} else {
			c.quirks = append(c.quirks, "unbound-handshake")
		}
	}
	switch g.rng.IntN(14) {
	case 0, 1:
		v := g.pick(nonceSessionA, nonceSessionB, nonceSignedOut, nonceExpired, nonceUnknown)
		back("__clerk_handshake_nonce", nonceFor(in, v), v)
	case 2:
		v := g.pick(nonceSessionA, nonceSessionB, nonceSignedOut, nonceExpired)
		d, _ := g.fake.directives(in, v)
		var exp int64
		cat := "cl_B7d4PD111AAA"
		switch g.rng.IntN(6) {
		case 0:
			exp = g.mint.now - 60
			c.quirks = append(c.quirks, "handshake-token-exp")
		case 1:
			exp = g.mint.now + 60
		case 2:
			cat = "cl_B7d4PD222AAA"
		}
		back("__clerk_handshake", g.mint.handshakeToken(d, exp, cat), "handshake-token-"+v)
	}

	// Satellite syncing and the development primary's answer to it.
	if in.Satellite && g.chance(0.3) {
		q.Set("__clerk_synced", g.pick("true", "false"))
	}
	if in.Dev && !in.Satellite && g.chance(0.08) {
		back := g.pick("http://localhost:3001/after", "https://evil.example/steal")
		if !strings.HasPrefix(back, "http://localhost:3001") {
			c.quirks = append(c.quirks, "redirect-url-allow-list")
		}
		q.Set("__clerk_redirect_url", back)
	}

	// Where the request comes from.
	if c.Method == "POST" {
		switch g.rng.IntN(10) {
		case 0:
			c.header("Origin", "https://evil.example")
			if len(cookies) > 0 {
				c.quirks = append(c.quirks, "cross-origin-unsafe")
			}
		case 1, 2:
		default:
			c.header("Origin", in.Origin)
		}
	}
	if g.chance(0.5) {
		ref := g.pick(in.Origin+"/", "https://elsewhere.example/page", "https://accounts.example.com/sign-in",
			"https://clerk.example.com/", "https://happy-cat-12.accounts.dev/sign-in", "not a url")
		c.header("Referer", ref)
	}

	// Proxies.
	host := u.Host
	if g.chance(0.12) {
		fh, fp := g.pick("app.example.com", "alt.example.com", u.Host), g.pick("https", "http")
		switch {
		case !in.TrustProxy:
			c.quirks = append(c.quirks, "forwarded-untrusted")
		case g.chance(0.3):
			fh, fp = fh+", spoofed.example", fp+", http"
			c.quirks = append(c.quirks, "forwarded-chain")
		}
		c.header("X-Forwarded-Host", fh)
		c.header("X-Forwarded-Proto", fp)
	}
	for _, n := range c.notes {
		if strings.HasSuffix(n, ":"+noIAT) {
			c.quirks = append(c.quirks, noIAT)
			break
		}
	}
	c.header("Host", host)
	if len(cookies) > 0 {
		c.header("Cookie", strings.Join(cookies, "; "))
	}
	u.RawQuery = q.Encode()
	c.URL = u.String()
}
