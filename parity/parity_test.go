package parity_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/verifier"
)

// clerkBackendVersion is the @clerk/backend that node/package-lock.json pins.
const clerkBackendVersion = "3.25.0"

// seed fixes the random byte flips; change it to explore, keep it fixed in CI.
const seed = 10

// A deliberate strictness is a cause for which clerkgate refuses tokens
// that Clerk accepts, on purpose. Each lists the reasons clerkgate may give
// for it, so that an unrelated refusal cannot hide behind the label.
type deliberate struct {
	reasons []verifier.Reason
	why     string
}

// deliberateStrictness is the whole list. Anything clerkgate refuses and
// Clerk accepts for a cause not listed here fails the test, and so does
// anything Clerk refuses and clerkgate accepts, whatever its cause.
var deliberateStrictness = map[string]deliberate{
	causeCrit: {reasons(verifier.ReasonTokenMalformed),
		"a crit header names extensions clerkgate does not implement (RFC 7515 §4.1.11); Clerk ignores crit"},
	causePadding: {reasons(verifier.ReasonTokenMalformed, verifier.ReasonSignatureInvalid),
		"JWS segments are unpadded base64url (RFC 7515 §2); Clerk's loose decoder drops trailing '='"},
	causeSize: {reasons(verifier.ReasonTokenMalformed),
		"tokens over 16 KiB are refused before decoding; Clerk has no limit"},
	causeDepth: {reasons(verifier.ReasonTokenMalformed),
		"objects and arrays nest at most 64 deep, so a hostile token costs no deep recursion; Clerk's JSON.parse has no such limit"},
	causeSidMissing: {reasons(verifier.ReasonClaimsInvalid),
		"a session token without sid is not a session token (it cannot be revoked or refreshed); Clerk's verifyToken does not read sid"},
	causeClaimType: {reasons(verifier.ReasonClaimsInvalid, verifier.ReasonTokenMalformed),
		"every claim clerkgate reads must have its JSON type (times are integers in int64); Clerk reads only sub, iss, azp and the times, and accepts fractions, exponents and out-of-range numbers for the times"},
	causeJSDate: {reasons(verifier.ReasonClaimsInvalid, verifier.ReasonTokenNotYetValid),
		"a time beyond JavaScript's Date range (±8.64e12 s) becomes NaN in Clerk, and every comparison with NaN passes: nbf 1e13 or exp -1e400 are accepted"},
	causeNull: {reasons(verifier.ReasonClaimsInvalid, verifier.ReasonTokenMalformed),
		"null for a header field or claim clerkgate reads is refused like a wrong type; Clerk ignores claims it does not read"},
	causeDuplicate: {reasons(verifier.ReasonTokenMalformed, verifier.ReasonClaimsInvalid),
		"a member name twice in one object: two parsers disagree on which counts (Clerk's JSON.parse keeps the last)"},
	causeUTF8: {reasons(verifier.ReasonTokenMalformed, verifier.ReasonClaimsInvalid),
		"invalid UTF-8, or an escaped lone surrogate, is malformed JSON (RFC 8259 §8.1); Clerk's TextDecoder turns it into U+FFFD"},
	causeBOM: {reasons(verifier.ReasonTokenMalformed, verifier.ReasonClaimsInvalid),
		"a byte order mark is not JSON (RFC 8259 §8.1); Clerk's TextDecoder strips a leading one"},
}

func reasons(r ...verifier.Reason) []verifier.Reason { return r }

// TestParityWithClerk is the differential test: every generated token goes
// through Clerk's own verifier (@clerk/backend under Node, one process for
// the batch) and through clerkgate's, with the same key, clock, skew,
// issuer and authorized parties. It fails on any token clerkgate accepts
// and Clerk refuses, on any token both accept whose claims they read
// differently, and on any token clerkgate refuses and Clerk accepts for a
// cause that is not on the list of deliberate strictness.
func TestParityWithClerk(t *testing.T) {
	node, nodeDir := clerkUnderNode(t)
	vec := loadVectors(t)
	const skew = 5 * time.Second
	g := &generator{
		key: vec.SigningKey(t), pemText: vec.PublicKeyPEM, now: vec.Now, skew: int64(skew / time.Second),
		issuer: vec.Issuer, party: vec.AuthorizedParty, rng: rand.New(rand.NewPCG(seed, seed)),
	}
	start := time.Now()
	g.generate()
	cases := g.finish(runtime.GOMAXPROCS(0))
	t.Logf("generated %d tokens in %v", len(cases), time.Since(start).Round(time.Millisecond))

	clerk := runClerk(t, node, nodeDir, nodeInput{
		Now: vec.Now, SkewMs: skew.Milliseconds(), JWTKey: vec.PublicKeyPEM, Issuer: vec.Issuer,
		AuthorizedParties: []string{vec.AuthorizedParty},
		SecretKey:         "sk_test_parityparityparityparityparityparity", PublishableKey: vec.PublishableTest,
		Tokens: cases,
	})
	t.Logf("Clerk verified them in %v", time.Since(start).Round(time.Millisecond))
	require.Equal(t, clerkBackendVersion, clerk.Version, "node/node_modules holds another @clerk/backend: run npm ci in parity/node")
	require.Len(t, clerk.Results, len(cases))

	keys, err := jwks.NewStatic(vec.PublicKeyPEM)
	require.NoError(t, err)
	v, err := verifier.New(verifier.Config{
		Keys: keys, Issuer: vec.Issuer, AuthorizedParties: []string{vec.AuthorizedParty},
		ClockSkew: skew, Clock: func() time.Time { return time.Unix(vec.Now, 0) }, CacheSize: -1,
	})
	require.NoError(t, err)

	var s summary
	for i, c := range cases {
		r := clerk.Results[i]
		require.Equal(t, c.ID, r.ID)
		// A harness that got the key, clock or parties wrong would have
		// Clerk refuse everything, and agreeing on that proves nothing.
		if c.Cause == causeValid {
			require.True(t, r.verdict().OK, "Clerk refuses genuine token #%d %s: %+v", c.ID, c.Name, r.verdict())
		}
		s.add(c, r.verdict(), judge(t, v, c.Token))
	}
	t.Log(s.line())
	t.Log("\n" + s.table())
	for _, threw := range s.clerkThrew {
		t.Logf("Clerk accepted, then threw building its auth object: %s", threw)
	}
	for _, u := range s.unusedDeliberate() {
		t.Logf("deliberate strictness %q was not needed by any token: drop it from the list if it stays so", u)
	}
	if len(s.failures) > 0 {
		perCause := 4
		if testing.Verbose() {
			perCause = len(s.failures)
		}
		t.Errorf("%d disagreements with Clerk that are not deliberate strictness:\n%s", len(s.failures), s.failureList(perCause))
	}
}

// gateVerdict is what clerkgate made of one token.
type gateVerdict struct {
	ok     bool
	reason verifier.Reason
	detail string
	claims *verifier.Claims
}

func (g gateVerdict) String() string {
	if g.ok {
		return "accepted"
	}
	return string(g.reason)
}

func judge(t *testing.T, v *verifier.Verifier, token string) gateVerdict {
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		var ve *verifier.Error
		require.True(t, errors.As(err, &ve), "error without a reason: %v", err)
		return gateVerdict{reason: ve.Reason, detail: ve.Detail}
	}
	return gateVerdict{ok: true, claims: c}
}

// differentClaims names the claims Clerk and clerkgate read differently
// from a token both accepted. Numbers compare as JavaScript holds them, in
// float64: Clerk reads 2^63-1 as 2^63, which is no disagreement.
func differentClaims(clerk map[string]json.RawMessage, c *verifier.Claims) []string {
	strs := map[string]string{"sub": c.Subject, "sid": c.SessionID, "azp": c.AuthorizedParty, "iss": c.Issuer, "sts": c.SessionStatus}
	nums := map[string]int64{"exp": c.Expiry, "nbf": c.NotBefore, "iat": c.IssuedAt}
	var diff []string
	for name, ours := range strs {
		var theirs string // absent reads as ""
		if raw, ok := clerk[name]; ok && json.Unmarshal(raw, &theirs) != nil {
			theirs = string(raw)
		}
		if theirs != ours {
			diff = append(diff, fmt.Sprintf("%s: Clerk %q, clerkgate %q", name, theirs, ours))
		}
	}
	for name, ours := range nums {
		var theirs float64 // absent reads as 0
		if raw, ok := clerk[name]; ok {
			if err := json.Unmarshal(raw, &theirs); err != nil {
				diff = append(diff, fmt.Sprintf("%s: Clerk %s, clerkgate %d", name, raw, ours))
				continue
			}
		}
		if theirs != float64(ours) {
			diff = append(diff, fmt.Sprintf("%s: Clerk %v, clerkgate %d", name, theirs, ours))
		}
	}
	sort.Strings(diff)
	return diff
}

// describe shows a token's header and payload as text, shortened, for a
// failure message; the token itself is rebuilt by rerunning the generator.
func describe(token string) string {
	const max = 240
	parts := strings.SplitN(token, ".", 3)
	var out []string
	for _, p := range parts[:min(2, len(parts))] {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
		if err != nil {
			out = append(out, fmt.Sprintf("%.*q", max, p))
			continue
		}
		out = append(out, fmt.Sprintf("%.*q", max, b))
	}
	return strings.Join(out, " . ")
}

// summary tallies verdicts by cause.
type summary struct {
	total, agree, deliberate int
	byCause                  map[string]*causeCount
	failures                 []failure
	// clerkThrew lists tokens Clerk verified and then threw on while
	// building its auth object: not a refusal, but worth knowing.
	clerkThrew []string
}

// failure is one disagreement that is not deliberate strictness.
type failure struct{ cause, text string }

type causeCount struct {
	tokens, agree, stricter, laxer, claimsDiffer, otherStricter int
}

func (s *summary) add(c Case, clerk verdict, gate gateVerdict) {
	if s.byCause == nil {
		s.byCause = map[string]*causeCount{}
	}
	cc := s.byCause[c.Cause]
	if cc == nil {
		cc = &causeCount{}
		s.byCause[c.Cause] = cc
	}
	s.total++
	cc.tokens++
	label := fmt.Sprintf("#%d %s [kind %s, cause %s]", c.ID, c.Name, c.Kind, c.Cause)
	if clerk.OK && clerk.Reason == "to-auth-threw" {
		s.clerkThrew = append(s.clerkThrew, fmt.Sprintf("%s: %s (clerkgate: %s)", label, clerk.Message, gate))
	}
	switch {
	case gate.ok && !clerk.OK:
		cc.laxer++
		s.failures = append(s.failures, failure{c.Cause, fmt.Sprintf("ACCEPTS what Clerk refuses (%s: %s): %s\n\t%s",
			clerk.Reason, clerk.Message, label, describe(c.Token))})
	case gate.ok && clerk.OK:
		if diff := differentClaims(clerk.Claims, gate.claims); len(diff) > 0 {
			cc.claimsDiffer++
			s.failures = append(s.failures, failure{c.Cause, fmt.Sprintf("reads claims differently (%s): %s\n\t%s",
				strings.Join(diff, "; "), label, describe(c.Token))})
			return
		}
		s.agree++
		cc.agree++
	case !gate.ok && clerk.OK:
		if d, ok := deliberateStrictness[c.Cause]; ok && slices.Contains(d.reasons, gate.reason) {
			s.deliberate++
			cc.stricter++
			return
		}
		cc.otherStricter++
		s.failures = append(s.failures, failure{c.Cause, fmt.Sprintf("refuses what Clerk accepts (%s: %s), not deliberate: %s\n\t%s",
			gate.reason, gate.detail, label, describe(c.Token))})
	default:
		s.agree++
		cc.agree++
	}
}

func (s *summary) line() string {
	return fmt.Sprintf("parity with @clerk/backend %s: %d tokens, %d agree, %d deliberate strictness, %d other",
		clerkBackendVersion, s.total, s.agree, s.deliberate, len(s.failures))
}

// table is the Markdown table of causes that SECURITY.md carries.
func (s *summary) table() string {
	names := make([]string, 0, len(s.byCause))
	for name := range s.byCause {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| cause | tokens | agree | clerkgate stricter (deliberate) | other | why stricter |\n|---|---:|---:|---:|---:|---|\n")
	for _, name := range names {
		cc := s.byCause[name]
		why := ""
		if cc.stricter > 0 {
			why = deliberateStrictness[name].why
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", name, cc.tokens, cc.agree, cc.stricter,
			cc.laxer+cc.claimsDiffer+cc.otherStricter, why)
	}
	return b.String()
}

func (s *summary) unusedDeliberate() []string {
	var out []string
	for name := range deliberateStrictness {
		if cc := s.byCause[name]; cc == nil || cc.stricter == 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// failureList shows up to perCause disagreements of each cause, then the
// counts by cause.
func (s *summary) failureList(perCause int) string {
	var b strings.Builder
	shown := map[string]int{}
	for _, f := range s.failures {
		if shown[f.cause]++; shown[f.cause] <= perCause {
			b.WriteString(f.text)
			b.WriteByte('\n')
		}
	}
	names := make([]string, 0, len(shown))
	for name := range shown {
		names = append(names, name)
	}
	sort.Strings(names)
	b.WriteString("by cause (accepts what Clerk refuses / reads claims differently / refuses, not deliberate):\n")
	for _, name := range names {
		cc := s.byCause[name]
		fmt.Fprintf(&b, "\t%s: %d / %d / %d\n", name, cc.laxer, cc.claimsDiffer, cc.otherStricter)
	}
	return b.String()
}

// nodeInput and nodeOutput are node/verify.mjs's files.
type nodeInput struct {
	Now               int64    `json:"now"`
	SkewMs            int64    `json:"skew_ms"`
	JWTKey            string   `json:"jwt_key"`
	Issuer            string   `json:"issuer"`
	AuthorizedParties []string `json:"authorized_parties"`
	SecretKey         string   `json:"secret_key"`
	PublishableKey    string   `json:"publishable_key"`
	Tokens            []Case   `json:"tokens"`
}

type nodeOutput struct {
	Version string       `json:"clerk_backend"`
	Results []nodeResult `json:"results"`
}

type nodeResult struct {
	ID      int      `json:"id"`
	Verify  verdict  `json:"verify"`
	Request *verdict `json:"request"`
}

type verdict struct {
	OK      bool                       `json:"ok"`
	Reason  string                     `json:"reason"`
	Message string                     `json:"message"`
	Claims  map[string]json.RawMessage `json:"claims"`
}

// verdict is Clerk's answer for the token: authenticateRequest's when an
// HTTP header can carry the token, else verifyToken's. The claims always
// come from verifyToken.
func (r nodeResult) verdict() verdict {
	if r.Request == nil {
		return r.Verify
	}
	v := *r.Request
	v.Claims = r.Verify.Claims
	return v
}

// clerkUnderNode finds Node and the installed SDK. Their absence fails the
// test: skipping would let CI pass without the comparison it exists for.
func clerkUnderNode(t *testing.T) (node, dir string) {
	t.Helper()
	const install = "the parity test needs Node.js 20+ and Clerk's SDK: install nodejs and npm (e.g. apt-get install nodejs npm), then run `npm ci` in parity/node (.ci/run does both)"
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH: %s", install)
	}
	dir, err = filepath.Abs("node")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@clerk", "backend", "package.json")); err != nil {
		t.Fatalf("%s is missing @clerk/backend (%v): %s", dir, err, install)
	}
	return node, dir
}

// runClerk verifies the batch with Clerk's code under Node, in one process.
func runClerk(t *testing.T, node, dir string, in nodeInput) nodeOutput {
	t.Helper()
	tmp := t.TempDir()
	inPath, outPath := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(inPath, b, 0o600))

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "verify.mjs"), inPath, outPath)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.String())
	}
	out, err := os.ReadFile(outPath)
	require.NoError(t, err)
	var res nodeOutput
	require.NoError(t, json.Unmarshal(out, &res))
	return res
}
