package parity_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/handshake"
)

// reqCorpusSize is how many requests the request-level test generates.
const reqCorpusSize = 4000

// differencesDoc is where the request-level differences are documented;
// the test reads their names from its table, so the list and the
// document cannot drift apart.
const differencesDoc = "../docs/differences.md"

// A requestDifference is a documented way in which the Gate decides a
// request otherwise than Clerk's authenticateRequest. applies says whether
// it explains a disagreement on a request; most are tied to a feature the
// generator marks the request with (a quirk), so that an unrelated
// disagreement cannot hide behind them.
type requestDifference func(c *reqCase, clerk, gate outcome) bool

func quirk(name string) requestDifference {
	return func(c *reqCase, _, _ outcome) bool { return slices.Contains(c.quirks, name) }
}

// requestDifferences is the whole list; docs/differences.md gives the
// reason for each.
var requestDifferences = map[string]requestDifference{
	"lowercase-bearer":         quirk("lowercase-bearer"),
	"schemeless-authorization": quirk("schemeless-authorization"),
	"authorization-trailing-word": func(c *reqCase, _, gate outcome) bool {
		return hasNote(c, "(trailing word)") && !gate.Served && gate.Reason == "token-invalid"
	},
	"forwarded-untrusted": quirk("forwarded-untrusted"),
	"forwarded-chain":     quirk("forwarded-chain"),
	// A trusted proxy's X-Forwarded-Proto other than http or https: Clerk
	// writes the page's URL with it, the Gate takes the connection's
	// scheme. The Gate never serves another session than Clerk; where
	// Clerk's page origin (wss://…) makes a same-origin Referer look
	// cross-origin, Clerk goes through the handshake the Gate skips.
	"forwarded-proto-other": func(c *reqCase, clerk, gate outcome) bool {
		return oddForwardedProto(c) && (notLenient(clerk, gate) ||
			clerk.Status == "handshake" && clerk.Reason == "primary-domain-cross-origin-sync")
	},
	"cross-origin-unsafe": func(c *reqCase, _, gate outcome) bool {
		return slices.Contains(c.quirks, "cross-origin-unsafe") && gate.Code == http.StatusForbidden
	},
	"refresh-other-session":   quirk("refresh-other-session"),
	"redirect-url-allow-list": quirk("redirect-url-allow-list"),
	"handshake-token-exp":     quirk("handshake-token-exp"),
	// The Gate's own binding cookie, set on the 307 to a handshake and
	// removed on return, is the only difference.
	"handshake-binding-cookie": func(_ *reqCase, clerk, gate outcome) bool {
		gate.Cookies = slices.DeleteFunc(slices.Clone(gate.Cookies), isBindingCookie)
		return len(differences(clerk, gate)) == 0
	},
	// A handshake sent again from a request that carried one: its nonce
	// or token, spent or refused, is not carried round in redirect_url.
	"handshake-params-dropped": func(_ *reqCase, clerk, gate outcome) bool {
		clerk.Location = withoutHandshakeParams(clerk.Location)
		gate.Cookies = slices.DeleteFunc(slices.Clone(gate.Cookies), isBindingCookie)
		return clerk.Location != "" && len(differences(clerk, gate)) == 0
	},
	"unbound-handshake":          quirk("unbound-handshake"),
	"handshake-query-production": quirk("handshake-query-production"),
	"redirect-count-over-3":      quirk("redirect-count-over-3"),
	"no-iat": func(c *reqCase, _, gate outcome) bool {
		return slices.Contains(c.quirks, "no-iat") && !gate.Served
	},
	"refresh-unverified-cookie": func(c *reqCase, _, gate outcome) bool {
		return gate.Reason == "session-token-expired-refresh-unverified-session-cookie"
	},
	"dev-handshake-token-throws": func(_ *reqCase, clerk, _ outcome) bool {
		return strings.Contains(clerk.Threw, "Handshake token verification failed")
	},
	// A request that cannot be redirected, whose cookies call for a
	// handshake: Clerk signs it out with the handshake's reason, the Gate
	// verifies the token.
	// When the token it verifies has expired and a refresh brings a
	// pending session, the Gate signs out with Clerk's reason and sets
	// the refresh's cookies.
	"not-redirectable-verifies": func(c *reqCase, clerk, gate outcome) bool {
		return clerk.Status == "signed-out" && handshakeReasons[clerk.Reason] &&
			(gate.Status == "" || !gate.Served && gate.Status == clerk.Status && gate.Reason == clerk.Reason && gate.Location == "")
	},
	// A request with an Authorization token: Clerk may answer a page load
	// with a handshake; the Gate answers every such request itself.
	"bearer-never-handshakes": func(c *reqCase, clerk, gate outcome) bool {
		return c.kind == "bearer" && clerk.Status == "handshake" && !gate.Served
	},
	// The Gate's bounds on a session token's age: it refuses, Clerk
	// accepts (or refreshes); the Gate never serves such a request.
	"long-lived": func(c *reqCase, _, gate outcome) bool {
		return slices.Contains(c.quirks, "long-lived") && !gate.Served
	},
	"expired-long": func(c *reqCase, _, gate outcome) bool {
		return slices.Contains(c.quirks, "expired-long") && !gate.Served &&
			gate.Reason == "session-token-expired-refresh-session_refresh_expired_session_token_too_old"
	},
	// A Clerk cookie whose value is not plain cookie-octets (quoted,
	// percent-encoded, padded, with a comma): the Gate refuses or ignores
	// it; it never serves a session Clerk does not.
	"cookie-syntax": func(c *reqCase, clerk, gate outcome) bool {
		return (slices.Contains(c.quirks, tagCookieSyntax) || oddClerkCookie(c)) && notLenient(clerk, gate)
	},
	// A Clerk cookie sent twice with different values: the Gate refuses or
	// ignores it; it never serves a session Clerk does not.
	"cookie-twice": func(c *reqCase, clerk, gate outcome) bool {
		return slices.Contains(c.quirks, "cookie-twice") && notLenient(clerk, gate)
	},
	// A Clerk cookie whose value passes 4 KiB, which no browser keeps:
	// the Gate reads it as cookie-twice says; it never serves a session
	// Clerk does not.
	"cookie-oversize": func(c *reqCase, clerk, gate outcome) bool {
		return slices.Contains(c.quirks, tagCookieOversize) && notLenient(clerk, gate)
	},
	// Handshakes whose session token the Gate refuses (Clerk accepts it):
	// the Gate sets none of the handshake's session cookies and decides
	// from the request's own, as Clerk does with a handshake whose token
	// does not verify.
	"handshake-template-token": func(c *reqCase, _, gate outcome) bool {
		return hasNote(c, "nonce2:template", "handshake-token:template") && !setsCookie(gate, "__session")
	},
	"handshake-no-iat": func(c *reqCase, clerk, gate outcome) bool {
		// The handshake's cookies are refused; the request's own may still
		// be refreshed into the session Clerk signs in.
		return hasNote(c, "nonce2:noiat", "handshake-token:noiat") && (!setsCookie(gate, "__session") || notLenient(clerk, gate))
	},
	// A handshake that sets __session and then __sessionfoo: the Gate
	// passes only Clerk's own names, so the lookalike is neither set nor
	// taken.
	"handshake-lookalike-cookie": func(c *reqCase, _, gate outcome) bool {
		return hasNote(c, "nonce2:lookalike", "handshake-token:lookalike") && !setsCookie(gate, "__sessionfoo")
	},
}

// oddClerkCookie reports whether a Cookie header of c carries a Clerk
// cookie (a name starting __session, __client_uat, __clerk or
// __refresh) whose value, trimmed on the right, holds a byte other than
// an RFC 6265 cookie-octet, or '%'.
func oddClerkCookie(c *reqCase) bool {
	for _, h := range c.Headers {
		if !strings.EqualFold(h[0], "Cookie") {
			continue
		}
		for _, pair := range strings.Split(h[1], ";") {
			n, v, _ := strings.Cut(pair, "=")
			n = strings.Trim(n, " \t")
			if !strings.HasPrefix(n, "__session") && !strings.HasPrefix(n, "__client_uat") &&
				!strings.HasPrefix(n, "__clerk") && !strings.HasPrefix(n, "__refresh") {
				continue
			}
			if strings.ContainsFunc(strings.TrimRight(v, " \t"), func(r rune) bool {
				return r <= 0x20 || r >= 0x7f || strings.ContainsRune("\",;\\%", r)
			}) {
				return true
			}
		}
	}
	return false
}

// oddForwardedProto reports whether c carries an X-Forwarded-Proto with a
// value other than http or https (in any case).
func oddForwardedProto(c *reqCase) bool {
	for _, h := range c.Headers {
		if !strings.EqualFold(h[0], "X-Forwarded-Proto") {
			continue
		}
		for _, v := range strings.Split(h[1], ",") {
			if v = strings.ToLower(strings.TrimSpace(v)); v != "http" && v != "https" {
				return true
			}
		}
	}
	return false
}

// notLenient reports an outcome where the Gate serves no request Clerk
// does not serve, and no other session.
func notLenient(clerk, gate outcome) bool {
	return !gate.Served || clerk.Served && clerk.Sid == gate.Sid && clerk.Sub == gate.Sub
}

// setsCookie reports whether an outcome sets a cookie of that exact name
// (or, for "__session", the plain or a suffixed session cookie).
func setsCookie(o outcome, name string) bool {
	for _, c := range o.Cookies {
		n, _, _ := strings.Cut(c, "=")
		if n == name || name == "__session" && strings.HasPrefix(n, "__session_") {
			return true
		}
	}
	return false
}

// handshakeReasons are Clerk's reasons for a handshake that a Gate cannot
// make on a request that cannot be redirected.
var handshakeReasons = map[string]bool{
	"session-token-but-no-client-uat":     true,
	"client-uat-but-no-session-token":     true,
	"session-token-iat-before-client-uat": true,
	"dev-browser-missing":                 true,
	"dev-browser-sync":                    true,
	"satellite-needs-syncing":             true,
	"primary-domain-cross-origin-sync":    true,
	"primary-responds-to-syncing":         true,
}

// isBindingCookie reports whether a name=value pair is the Gate's
// handshake binding cookie.
func isBindingCookie(pair string) bool {
	name, _, _ := strings.Cut(pair, "=")
	return name == handshake.CookieBinding || name == handshake.CookieBindingSecure
}

// outcome is what one side made of a request.
type outcome struct {
	Served   bool   // the app would serve the request as Sid/Sub
	Sid, Sub string //
	Status   string // x-clerk-auth-status
	Reason   string // x-clerk-auth-reason
	Location string
	Cookies  []string // name=value of each Set-Cookie, sorted
	Code     int      // the Gate's status code
	Threw    string   // Clerk threw
}

func (o outcome) String() string {
	s := "signed out"
	if o.Served {
		s = "signed in as " + o.Sid
	}
	if o.Threw != "" {
		s = "threw " + o.Threw
	}
	if o.Code != 0 {
		s += fmt.Sprintf(" (%d)", o.Code)
	}
	if o.Status != "" {
		s += fmt.Sprintf(" status=%s reason=%s", o.Status, o.Reason)
	}
	if o.Location != "" {
		s += " location=" + o.Location
	}
	if len(o.Cookies) > 0 {
		s += " cookies=" + strings.Join(o.Cookies, " ")
	}
	return s
}

// TestRequestParityWithClerk is the request-level differential test: every
// generated request goes through Clerk's own authenticateRequest
// (@clerk/backend under Node, one process for the batch) and through a
// Gate over HTTP, configured alike, with the same key, clock and Backend
// API (a fake on loopback). It fails on any request one side serves
// signed in and the other does not, or serves as another session, and on
// any request whose x-clerk-auth-status, x-clerk-auth-reason, Location or
// cookies differ, unless a documented difference explains it.
func TestRequestParityWithClerk(t *testing.T) {
	node, nodeDir := clerkUnderNode(t)
	documented := documentedDifferences(t)
	for name := range requestDifferences {
		require.Contains(t, documented, name, "difference %q is not documented in %s", name, differencesDoc)
	}
	for name := range documented {
		require.Contains(t, requestDifferences, name, "%s documents %q, which the test does not know", differencesDoc, name)
	}
	for _, s := range corpusSeeds(t, seed, seedExtra) {
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) { requestParity(t, node, nodeDir, s) })
	}
}

// seedExtra is the first corpus's second seed in CI, for more variety.
const seedExtra = 7

// corpusSeeds are the seeds a corpus runs with: the defaults, or the
// comma-separated list in PARITY_SEEDS (to explore others; the subtest
// named seed=N reproduces a failure).
func corpusSeeds(t *testing.T, defaults ...uint64) []uint64 {
	env := os.Getenv("PARITY_SEEDS")
	if env == "" {
		return defaults
	}
	var out []uint64
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		require.NoError(t, err, "PARITY_SEEDS=%q", env)
		out = append(out, n)
	}
	return out
}

func requestParity(t *testing.T, node, nodeDir string, s uint64) {
	vec := loadVectors(t)
	m := &minter{key: vec.SigningKey(t), kid: kid, now: vec.Now, cache: map[string]string{}}
	insts := corpusInstances()
	fake := newFakeAPI(t, m, insts)
	mintBindings(t, insts, vec.PublicKeyPEM, fake.srv.URL, m.now)
	g := &reqGenerator{rng: rand.New(rand.NewPCG(s, 2)), mint: m, fake: fake, insts: insts}
	start := time.Now()
	g.generate(reqCorpusSize)
	t.Logf("generated %d requests in %v", len(g.cases), time.Since(start).Round(time.Millisecond))

	clerk := runClerkRequests(t, node, nodeDir, vec.PublicKeyPEM, fake.srv.URL, m.now, insts, g.cases)
	t.Logf("Clerk decided them in %v", time.Since(start).Round(time.Millisecond))

	var sum reqSummary
	for i, c := range g.cases {
		r := clerk[i]
		require.Equal(t, c.ID, r.ID)
		sum.add(c, r.outcome(), judgeRequest(t, c, vec.PublicKeyPEM, fake.srv.URL, m.now))
	}
	t.Logf("Gate decided them too in %v", time.Since(start).Round(time.Millisecond))
	t.Log(sum.line())
	t.Log("\n" + sum.table())
	for _, name := range sum.unused() {
		t.Logf("documented difference %q explained no request", name)
	}
	if len(sum.failures) > 0 {
		t.Errorf("seed %d: %d requests decided otherwise than Clerk decides them, without a documented difference:\n%s",
			s, len(sum.failures), sum.failureList(testing.Verbose()))
	}
}

// parityGate is a Gate configured as Clerk is for the instance: both
// corpora build theirs here, so that the Gate and Clerk (runClerkRequests,
// which passes the same fields of the instance) are configured alike.
func parityGate(t *testing.T, in *instance, pem, apiURL string, now int64) *clerkgate.Gate {
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey: in.SK, PublishableKey: in.PK, JWTKey: pem, APIURL: apiURL, Issuer: in.Issuer,
		ProxyURL: in.ProxyURL, InsecureTrustProxyHeaders: in.TrustProxy, AuthorizedParties: in.AuthorizedParties,
		Pages: clerkgate.PagesConfig{
			IsSatellite: in.Satellite, SatelliteDomain: in.Domain, SignInURL: in.SignInURL,
			SatelliteOrigins: in.SatelliteOrigins, SatelliteAutoSync: in.SatelliteAutoSync,
			OrganizationSync: clerkgate.OrganizationSync{OrganizationPatterns: in.OrgPatterns, PersonalAccountPatterns: in.PersonalPatterns},
		},
		Clock:  func() time.Time { return time.Unix(now, 0) },
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err, "instance %s", in.Name)
	return gate
}

// mintBindings gets each instance's binding cookie the way a browser
// does: from the 307 with which the Gate starts a handshake (a page load
// whose session cookie has no __client_uat beside it). The clock is the
// corpus's, so it holds for every request.
func mintBindings(t *testing.T, insts []*instance, pem, apiURL string, now int64) {
	for _, in := range insts {
		gate := parityGate(t, in, pem, apiURL, now)
		req := httptest.NewRequest(http.MethodGet, in.Origin+"/", nil)
		req.Header.Set("Sec-Fetch-Dest", "document")
		req.Header.Set("Cookie", "__session=x")
		rec := httptest.NewRecorder()
		gate.Accept(clerkgate.SessionToken).Optional(http.NotFoundHandler()).ServeHTTP(rec, req)
		gate.Close()
		require.Equal(t, http.StatusTemporaryRedirect, rec.Code, in.Name)
		for _, pair := range cookiePairs(rec.Result().Header.Values("Set-Cookie")) {
			if isBindingCookie(pair) {
				in.binding = pair
			}
		}
		require.NotEmpty(t, in.binding, "%s: the handshake's 307 sets no binding cookie", in.Name)
	}
}

// judgeRequest sends c through a Gate of its own (so that no request's
// refresh or nonce changes another's) over httptest, under
// OptionalSession: a request it serves with claims is signed in.
func judgeRequest(t *testing.T, c *reqCase, pem, apiURL string, now int64) outcome {
	gate := parityGate(t, c.inst, pem, apiURL, now)
	defer gate.Close()
	return judgeWith(gate, c)
}

// judgeWith sends c through gate under OptionalSession: a request it
// serves with claims is signed in.
func judgeWith(gate *clerkgate.Gate, c *reqCase) outcome {
	h := gate.Accept(clerkgate.SessionToken).Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := clerkgate.ClaimsFromContext(r.Context()); ok {
			w.Header().Set("X-Parity-Sid", claims.SessionID)
			w.Header().Set("X-Parity-Sub", claims.Subject)
		}
	}))
	req := httptest.NewRequest(c.Method, c.URL, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	for _, kv := range c.Headers {
		if kv[0] == "Host" {
			req.Host = kv[1]
			continue
		}
		req.Header.Add(kv[0], kv[1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	o := outcome{
		Code:     res.StatusCode,
		Sid:      res.Header.Get("X-Parity-Sid"),
		Sub:      res.Header.Get("X-Parity-Sub"),
		Status:   res.Header.Get("X-Clerk-Auth-Status"),
		Reason:   res.Header.Get("X-Clerk-Auth-Reason"),
		Location: res.Header.Get("Location"),
		Cookies:  cookiePairs(res.Header.Values("Set-Cookie")),
	}
	o.Served = res.StatusCode == http.StatusOK && o.Sid != ""
	return o
}

// cookiePairs is name=value of each Set-Cookie, sorted: attributes are
// written differently by each side and carry no decision.
func cookiePairs(setCookies []string) []string {
	var out []string
	for _, sc := range setCookies {
		c, err := http.ParseSetCookie(sc)
		if err != nil {
			out = append(out, "unparsable:"+sc)
			continue
		}
		out = append(out, c.Name+"="+c.Value)
	}
	sort.Strings(out)
	return out
}

// sameLocation compares two Locations as URLs: the same target and the
// same query parameters in the same order, each decoded.
func sameLocation(a, b string) bool {
	if a == b {
		return true
	}
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if ua.Scheme != ub.Scheme || ua.Host != ub.Host || ua.Path != ub.Path {
		return false
	}
	return slices.Equal(queryPairs(ua.RawQuery), queryPairs(ub.RawQuery))
}

func queryPairs(raw string) []string {
	var out []string
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		out = append(out, k+"="+v)
	}
	return out
}

// differences names what differs between the two outcomes: "sign-in"
// (served or not, or as another session) first, then the protocol.
func differences(clerk, gate outcome) []string {
	var d []string
	if clerk.Served != gate.Served || (clerk.Served && (clerk.Sid != gate.Sid || clerk.Sub != gate.Sub)) {
		d = append(d, "sign-in")
	}
	if clerk.Status != gate.Status {
		d = append(d, "status")
	}
	if clerk.Reason != gate.Reason {
		d = append(d, "reason")
	}
	if !sameLocation(clerk.Location, gate.Location) {
		d = append(d, "location")
	}
	if !slices.Equal(clerk.Cookies, gate.Cookies) {
		d = append(d, "cookies")
	}
	return d
}

// longToken finds JWTs (and their percent-encoded forms), which failure
// messages shorten: the generator's notes name each token.
var longToken = regexp.MustCompile(`eyJ[A-Za-z0-9_%.-]{40,}`)

func shorten(s string) string {
	return longToken.ReplaceAllStringFunc(s, func(t string) string { return t[:12] + "…" })
}

// reqSummary tallies the comparison.
type reqSummary struct {
	total, agree, explained int
	byGroup                 map[string]*groupCount
	byDifference            map[string]int
	failures                []reqFailure
}

type groupCount struct{ requests, agree, explained, failed int }

type reqFailure struct {
	what, text string
}

func (s *reqSummary) add(c *reqCase, clerk, gate outcome) {
	if s.byGroup == nil {
		s.byGroup, s.byDifference = map[string]*groupCount{}, map[string]int{}
	}
	group := c.inst.Name + "/" + c.kind
	gc := s.byGroup[group]
	if gc == nil {
		gc = &groupCount{}
		s.byGroup[group] = gc
	}
	s.total++
	gc.requests++
	d := differences(clerk, gate)
	if clerk.Threw != "" {
		d = append(d, "clerk-threw")
	}
	if len(d) == 0 {
		s.agree++
		gc.agree++
		return
	}
	var why []string
	for name, applies := range requestDifferences {
		if applies(c, clerk, gate) {
			why = append(why, name)
		}
	}
	if len(why) > 0 {
		sort.Strings(why)
		s.explained++
		gc.explained++
		for _, name := range why {
			s.byDifference[name]++
		}
		return
	}
	gc.failed++
	s.failures = append(s.failures, reqFailure{strings.Join(d, "+"), shorten(fmt.Sprintf("%s differ: %s\n\tClerk:     %s\n\tclerkgate: %s",
		strings.Join(d, ", "), c.label(), clerk, gate))})
}

func (s *reqSummary) line() string {
	return fmt.Sprintf("request parity with @clerk/backend %s: %d requests, %d agree, %d documented differences, %d other",
		clerkBackendVersion, s.total, s.agree, s.explained, len(s.failures))
}

func (s *reqSummary) table() string {
	names := make([]string, 0, len(s.byGroup))
	for n := range s.byGroup {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| instance/kind | requests | agree | documented | other |\n|---|---:|---:|---:|---:|\n")
	for _, n := range names {
		gc := s.byGroup[n]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", n, gc.requests, gc.agree, gc.explained, gc.failed)
	}
	diffs := make([]string, 0, len(s.byDifference))
	for n := range s.byDifference {
		diffs = append(diffs, n)
	}
	sort.Strings(diffs)
	b.WriteString("\ndocumented differences used:")
	for _, n := range diffs {
		fmt.Fprintf(&b, " %s %d;", n, s.byDifference[n])
	}
	return b.String()
}

func (s *reqSummary) unused() []string {
	var out []string
	for name := range requestDifferences {
		if s.byDifference[name] == 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// failureList shows a few failures of each kind (all with -v), then the
// counts by kind.
func (s *reqSummary) failureList(all bool) string {
	var b strings.Builder
	shown, counts := map[string]int{}, map[string]int{}
	for _, f := range s.failures {
		counts[f.what]++
		if shown[f.what]++; all || shown[f.what] <= 3 {
			b.WriteString(f.text)
			b.WriteByte('\n')
		}
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	b.WriteString("by what differs:\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "\t%s: %d\n", k, counts[k])
	}
	return b.String()
}

// documentedDifferences reads the names in the first column of the table
// under "## Request-level differences" in docs/differences.md.
func documentedDifferences(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(differencesDoc)
	require.NoError(t, err)
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Request-level differences"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		require.GreaterOrEqual(t, len(cells), 4, "table row %q", line)
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		why := strings.TrimSpace(cells[len(cells)-2])
		require.NotEmpty(t, why, "%s: %q has no reason", differencesDoc, name)
		out[name] = why
	}
	require.NotEmpty(t, out, "%s has no table under \"## Request-level differences\"", differencesDoc)
	return out
}

// Node's side of the test: node/request.mjs.

type nodeInstance struct {
	PublishableKey string `json:"publishable_key"`
	SecretKey      string `json:"secret_key"`
	Issuer         string `json:"issuer"`
	IsSatellite    bool   `json:"is_satellite"`
	Domain         string `json:"domain"`
	ProxyURL       string `json:"proxy_url"`
	SignInURL      string `json:"sign_in_url"`
	// SatelliteAutoSync, OrgPatterns and PersonalPatterns are passed
	// as satelliteAutoSync and organizationSyncOptions.
	SatelliteAutoSync bool     `json:"satellite_auto_sync"`
	OrgPatterns       []string `json:"organization_patterns"`
	PersonalPatterns  []string `json:"personal_account_patterns"`
	AuthorizedParties []string `json:"authorized_parties,omitempty"`
}

type nodeRequestResult struct {
	ID         int      `json:"id"`
	Status     string   `json:"status"`
	Reason     string   `json:"reason"`
	SignedIn   bool     `json:"signed_in"`
	Sid        string   `json:"sid"`
	Sub        string   `json:"sub"`
	Location   string   `json:"location"`
	SetCookies []string `json:"set_cookies"`
	AuthStatus string   `json:"auth_status"`
	AuthReason string   `json:"auth_reason"`
	Threw      string   `json:"threw"`
}

func (r nodeRequestResult) outcome() outcome {
	return outcome{
		Served: r.Status == "signed-in" && r.SignedIn && r.Location == "",
		Sid:    r.Sid, Sub: r.Sub,
		Status: r.AuthStatus, Reason: r.AuthReason, Location: r.Location,
		Cookies: cookiePairs(r.SetCookies), Threw: r.Threw,
	}
}

func runClerkRequests(t *testing.T, node, dir, pem, apiURL string, now int64, insts []*instance, cases []*reqCase) []nodeRequestResult {
	t.Helper()
	in := map[string]any{"now": now, "jwt_key": pem, "api_url": apiURL, "requests": cases}
	ni := map[string]nodeInstance{}
	for _, i := range insts {
		ni[i.Name] = nodeInstance{PublishableKey: i.PK, SecretKey: i.SK, Issuer: i.Issuer, IsSatellite: i.Satellite,
			Domain: i.Domain, ProxyURL: i.ProxyURL, SignInURL: i.SignInURL,
			SatelliteAutoSync: i.SatelliteAutoSync, OrgPatterns: i.OrgPatterns, PersonalPatterns: i.PersonalPatterns,
			AuthorizedParties: i.AuthorizedParties}
	}
	in["instances"] = ni
	tmp := t.TempDir()
	inPath, outPath := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(inPath, b, 0o600))

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "request.mjs"), inPath, outPath)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node request.mjs: %v\n%s", err, stderr.String())
	}
	out, err := os.ReadFile(outPath)
	require.NoError(t, err)
	var res struct {
		Version string              `json:"clerk_backend"`
		Results []nodeRequestResult `json:"results"`
	}
	require.NoError(t, json.Unmarshal(out, &res))
	require.Equal(t, clerkBackendVersion, res.Version, "node/node_modules holds another @clerk/backend: run npm ci in parity/node")
	require.Len(t, res.Results, len(cases))
	return res.Results
}

// withoutHandshakeParams is a handshake Location whose redirect_url no
// longer carries __clerk_handshake or __clerk_handshake_nonce, the other
// parameters kept in their order; "" when loc is not such a Location.
func withoutHandshakeParams(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	pairs := strings.Split(u.RawQuery, "&")
	changed := false
	for i, p := range pairs {
		name, value, _ := strings.Cut(p, "=")
		if name != "redirect_url" {
			continue
		}
		back, err := url.QueryUnescape(value)
		if err != nil {
			return ""
		}
		base, raw, ok := strings.Cut(back, "?")
		if !ok {
			return ""
		}
		var kept []string
		for _, q := range strings.Split(raw, "&") {
			if n, _, _ := strings.Cut(q, "="); n != "__clerk_handshake" && n != "__clerk_handshake_nonce" {
				kept = append(kept, q)
			}
		}
		if len(kept) > 0 {
			base += "?" + strings.Join(kept, "&")
		}
		changed = base != back
		pairs[i] = "redirect_url=" + url.QueryEscape(base)
	}
	if !changed {
		return ""
	}
	u.RawQuery = strings.Join(pairs, "&")
	return u.String()
}
