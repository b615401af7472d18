package parity_test

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// A Case is one generated token with the mutation that made it. Kind is the
// mutation family (for the summary); Cause is the property of the token
// that decides it, which the table of deliberate strictness is keyed on.
type Case struct {
	ID    int    `json:"id"`
	Kind  string `json:"-"`
	Cause string `json:"-"`
	Name  string `json:"-"`
	Token string `json:"token"`
}

// The causes. A clerkgate refusal of a token Clerk accepts is allowed only
// for the causes listed in deliberateStrictness (parity_test.go).
const (
	causeValid      = "valid"
	causeTime       = "time"
	causeCategory   = "category"
	causeMachine    = "machine"
	causeTyp        = "typ"
	causeAlg        = "alg"
	causeCrit       = "crit"
	causeCase       = "case-variant"
	causeDuplicate  = "duplicate"
	causeNull       = "null"
	causeBase64     = "base64"
	causePadding    = "padding"
	causeShape      = "shape"
	causeClaimType  = "claim-type"
	causeJSDate     = "js-date-overflow"
	causeMissing    = "missing-claim"
	causeSidMissing = "sid-required"
	causeSubEmpty   = "sub-empty"
	causeParty      = "authorized-party"
	causeIssuer     = "issuer"
	causePending    = "pending"
	causeUTF8       = "invalid-utf8"
	causeBOM        = "bom"
	causeSize       = "size"
	causeDepth      = "depth"
	causeNotJSON    = "not-json"
	causeFlip       = "byte-flip"
)

// member is one JSON object member as raw text, so that the generator can
// write what no encoder would: duplicates, case variants, raw invalid
// UTF-8, escapes in names.
type member struct{ name, value string }

// object is a JSON object whose members keep their order.
type object []member

func (o object) json() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.name)
		b.WriteByte(':')
		b.WriteString(m.value)
	}
	b.WriteByte('}')
	return b.String()
}

// spaced is json with every kind of JSON whitespace between tokens.
func (o object) spaced() string {
	var b strings.Builder
	b.WriteString(" \r\n{\t")
	for i, m := range o {
		if i > 0 {
			b.WriteString(" ,\n\t")
		}
		b.WriteString(m.name + " : " + m.value)
	}
	b.WriteString("\r\n} ")
	return b.String()
}

// set replaces the value of the member with that exact name, or appends it.
func (o object) set(name, value string) object {
	out := append(object(nil), o...)
	for i := range out {
		if out[i].name == q(name) {
			out[i].value = value
			return out
		}
	}
	return append(out, member{q(name), value})
}

// del removes the member with that exact name.
func (o object) del(name string) object {
	var out object
	for _, m := range o {
		if m.name != q(name) {
			out = append(out, m)
		}
	}
	return out
}

// add appends a member whose name is raw JSON text (already quoted).
func (o object) add(rawName, value string) object {
	return append(append(object(nil), o...), member{rawName, value})
}

// prepend puts a member whose name is raw JSON text first.
func (o object) prepend(rawName, value string) object {
	return append(object{{rawName, value}}, o...)
}

func (o object) get(name string) string {
	for _, m := range o {
		if m.name == q(name) {
			return m.value
		}
	}
	return ""
}

// q is s as a JSON string.
func q(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// generator builds the batch. Everything it does is determined by its
// inputs and the seed, so a failure names tokens that a rerun rebuilds.
type generator struct {
	key     *rsa.PrivateKey
	pemText string // the public key, for HMAC confusion
	now     int64
	skew    int64
	issuer  string
	party   string
	rng     *rand.Rand

	cases []Case
	// signing is deferred so that it can run on every core.
	pending []pendingSig
}

type pendingSig struct {
	index  int
	signed string
	hash   crypto.Hash
}

const (
	kid        = "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD"
	catSession = "cl_B7d4PD111AAA"
	catTmpl    = "cl_B7d4PD222AAA"
	catM2M     = "cl_B7d4PD333AAA"
	catIgnore  = "cl_I7d4PD111III"
)

func (g *generator) header() object {
	return object{{q("alg"), q("RS256")}, {q("cat"), q(catSession)}, {q("kid"), q(kid)}, {q("typ"), q("JWT")}}
}

// v1 is a genuine session token payload in Clerk's first format, with an
// active organization.
func (g *generator) v1() object {
	return object{
		{q("azp"), q(g.party)}, {q("exp"), num(g.now + 50)}, {q("iat"), num(g.now - 10)},
		{q("iss"), q(g.issuer)}, {q("nbf"), num(g.now - 20)}, {q("sid"), q("sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9")},
		{q("sub"), q("user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr")},
		{q("org_id"), q("org_2GIpXO3K0nV3o6ZRJ8Bkd2nBpm7")}, {q("org_role"), q("org:member")},
		{q("org_slug"), q("acme")}, {q("org_permissions"), `["org:dashboard:read"]`},
	}
}

// v2 is the same session in Clerk's second format.
func (g *generator) v2() object {
	return object{
		{q("azp"), q(g.party)}, {q("exp"), num(g.now + 50)},
		{q("fea"), q("o:dashboard,o:teams")}, {q("fva"), `[5,-1]`}, {q("iat"), num(g.now - 10)},
		{q("iss"), q(g.issuer)}, {q("jti"), q("3f7a1c8e5b2d4f6a9c0e")}, {q("nbf"), num(g.now - 20)},
		{q("o"), `{"fpm":"3,2","id":"org_2GIpXO3K0nV3o6ZRJ8Bkd2nBpm7","per":"manage,read","rol":"member","slg":"acme"}`},
		{q("pla"), q("u:free")}, {q("sid"), q("sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9")}, {q("sts"), q("active")},
		{q("sub"), q("user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr")}, {q("v"), "2"},
	}
}

// add records a token made of raw header and payload JSON, signed RS256.
func (g *generator) add(kind, cause, name string, header, payload string) {
	g.addSigned(kind, cause, name, b64(header)+"."+b64(payload), crypto.SHA256)
}

// addSigned records the signing input signed with hash (as the alg claims
// or not); the signature is made later, in parallel.
func (g *generator) addSigned(kind, cause, name, signed string, hash crypto.Hash) {
	g.pending = append(g.pending, pendingSig{index: len(g.cases), signed: signed, hash: hash})
	g.cases = append(g.cases, Case{Kind: kind, Cause: cause, Name: name, Token: signed})
}

// addRaw records a token exactly as given.
func (g *generator) addRaw(kind, cause, name, token string) {
	g.cases = append(g.cases, Case{Kind: kind, Cause: cause, Name: name, Token: token})
}

func (g *generator) sign(signed string, hash crypto.Hash) string {
	h := hash.New()
	h.Write([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, g.key, hash, h.Sum(nil))
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(sig)
}

// finish signs every pending token and numbers the cases.
func (g *generator) finish(workers int) []Case {
	var wg sync.WaitGroup
	work := make(chan pendingSig)
	for range workers {
		wg.Go(func() {
			for p := range work {
				g.cases[p.index].Token = p.signed + "." + g.sign(p.signed, p.hash)
			}
		})
	}
	for _, p := range g.pending {
		work <- p
	}
	close(work)
	wg.Wait()
	g.pending = nil
	for i := range g.cases {
		g.cases[i].ID = i
	}
	return g.cases
}

// generate builds the whole batch.
func (g *generator) generate() {
	formats := []struct {
		name string
		base func() object
	}{{"v1", g.v1}, {"v2", g.v2}}
	for _, f := range formats {
		g.valid(f.name, f.base())
		g.times(f.name, f.base())
		g.categories(f.name, f.base())
		g.headerMembers(f.name, f.base())
		g.caseVariants(f.name, f.base())
		g.duplicates(f.name, f.base())
		g.nulls(f.name, f.base())
		g.claimTypes(f.name, f.base())
		g.missing(f.name, f.base())
		g.parties(f.name, f.base())
		g.encodings(f.name, f.base())
		g.base64Variants(f.name, f.base())
		g.flips(f.name, f.base(), 300)
	}
	g.pendingSessions(g.v2())
	g.machines(g.v1())
	g.shapes(g.v1())
	g.sizes(g.v1())
}

func (g *generator) valid(f string, p object) {
	h := g.header()
	g.add("valid", causeValid, f+"/genuine", h.json(), p.json())
	g.add("valid", causeValid, f+"/no-cat", h.del("cat").json(), p.json())
	g.add("valid", causeValid, f+"/cat-ignore", h.set("cat", q(catIgnore)).json(), p.json())
	g.add("valid", causeValid, f+"/no-typ", h.del("typ").json(), p.json())
	g.add("valid", causeValid, f+"/no-kid", h.del("kid").json(), p.json())
	g.add("valid", causeValid, f+"/other-kid", h.set("kid", q("ins_other")).json(), p.json())
	g.add("valid", causeValid, f+"/extra-header", h.set("oiat", num(g.now)).json(), p.json())
	g.add("valid", causeValid, f+"/no-iat-nbf", h.json(), p.del("iat").del("nbf").json())
	g.add("valid", causeValid, f+"/custom-claims", h.json(),
		p.set("email", q("a@example.com")).set("meta", `{"plan":"pro","n":[1,2.5,null,true]}`).set("role", "null").json())
	g.add("valid", causeValid, f+"/spaces", h.json(), p.spaced())
	g.add("valid", causeValid, f+"/escaped-values", h.json(), p.set("sub", `"user_2GIpXOEpVyJw51rkZn9Kmnc6Sx\u0072"`).json())
	g.add("valid", causeValid, f+"/unicode-claim", h.json(), p.set("name", q("Zoë 🙂")).json())
	g.add("valid", causeValid, f+"/mch-not-prefix", h.json(), p.set("sub", q("user_mch_x")).json())
	g.add("valid", causeValid, f+"/sub-MCH", h.json(), p.set("sub", q("MCH_x")).json())
	g.add("valid", causeValid, f+"/sts-not-pending", h.json(), p.set("sts", q("active")).json())
	g.add("valid", causeValid, f+"/act", h.json(), p.set("act", `{"sub":"user_admin","iss":"https://dashboard.clerk.com","sid":"sess_x"}`).json())
	for _, alg := range []struct {
		name string
		hash crypto.Hash
	}{{"RS384", crypto.SHA384}, {"RS512", crypto.SHA512}} {
		// The key is RS256 (Clerk's PEM key is, and so is ours): another
		// RSA hash is refused by both, a key/alg mismatch.
		g.addSigned("alg", causeAlg, f+"/alg-"+alg.name, b64(h.set("alg", q(alg.name)).json())+"."+b64(p.json()), alg.hash)
	}
}

func (g *generator) times(f string, p object) {
	h := g.header().json()
	now, s := g.now, g.skew
	for _, d := range []int64{-s - 2, -s - 1, -s, -s + 1, -1, 0, 1, 60, 3600} {
		g.add("time", causeTime, fmt.Sprintf("%s/exp=now%+d", f, d), h, p.set("exp", num(now+d)).json())
	}
	for _, claim := range []string{"nbf", "iat"} {
		for _, d := range []int64{-3600, 0, s - 1, s, s + 1, s + 2, 3600} {
			g.add("time", causeTime, fmt.Sprintf("%s/%s=now%+d", f, claim, d), h, p.set(claim, num(now+d)).json())
		}
	}
	g.add("time", causeTime, f+"/exp-before-nbf", h, p.set("exp", num(now+10)).set("nbf", num(now+4)).json())
	g.add("time", causeTime, f+"/iat-after-exp", h, p.set("exp", num(now+10)).set("iat", num(now+5)).json())
	g.add("time", causeTime, f+"/exp-0", h, p.set("exp", "0").json())
	g.add("time", causeTime, f+"/exp-negative", h, p.set("exp", "-1").json())
	g.add("time", causeTime, f+"/exp-year-9999", h, p.set("exp", "253402300799").json())
	g.add("time", causeTime, f+"/exp-2^53", h, p.set("exp", "9007199254740992").json())
	g.add("time", causeTime, f+"/exp-max-int64", h, p.set("exp", "9223372036854775807").json())
	g.add("time", causeTime, f+"/nbf-0", h, p.set("nbf", "0").json())
	g.add("time", causeTime, f+"/iat-negative", h, p.set("iat", "-1").json())
}

func (g *generator) categories(f string, p object) {
	h := g.header()
	for _, c := range []struct{ name, value string }{
		{"session", q(catSession)}, {"template", q(catTmpl)}, {"m2m", q(catM2M)}, {"ignore", q(catIgnore)},
		{"empty", `""`}, {"junk", q("cl_junk")}, {"session-lower", q(strings.ToLower(catSession))},
		{"session-upper", q(strings.ToUpper(catSession))}, {"session-space", q(catSession + " ")},
		{"session-escaped", `"cl_B7d4PD111AA\u0041"`}, {"number", "111"}, {"true", "true"},
		{"array", `["` + catSession + `"]`}, {"object", `{}`},
	} {
		g.add("category", causeCategory, f+"/cat-"+c.name, h.set("cat", c.value).json(), p.json())
	}
	// The attack from the issue: an M2M token shaped like an admin session.
	m2m := p.set("org_role", q("org:admin")).set("sub", q("user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"))
	g.add("category", causeCategory, f+"/m2m-shaped-as-admin-session", h.set("cat", q(catM2M)).json(), m2m.json())
	g.add("category", causeCategory, f+"/template-without-sid", h.set("cat", q(catTmpl)).json(), p.del("sid").json())
}

// headerMembers covers typ, alg and crit values.
func (g *generator) headerMembers(f string, p object) {
	h := g.header()
	for _, t := range []struct{ name, value string }{
		{"JWT", q("JWT")}, {"jwt", q("jwt")}, {"Jwt", q("Jwt")}, {"JWT-space", q("JWT ")}, {"at+jwt", q("at+jwt")},
		{"application-at+jwt", q("application/at+jwt")}, {"AT+JWT", q("AT+JWT")}, {"empty", `""`}, {"JOSE", q("JOSE")},
		{"JWS", q("JWS")}, {"number", "1"}, {"array", `["JWT"]`}, {"object", `{}`}, {"escaped", `"JW\u0054"`},
	} {
		g.add("typ", causeTyp, f+"/typ-"+t.name, h.set("typ", t.value).json(), p.json())
	}
	for _, a := range []struct{ name, value string }{
		{"rs256", q("rs256")}, {"none", q("none")}, {"None", q("None")}, {"HS256", q("HS256")}, {"PS256", q("PS256")},
		{"ES256", q("ES256")}, {"empty", `""`}, {"number", "256"}, {"array", `["RS256"]`}, {"RS256-space", q("RS256 ")},
	} {
		g.add("alg", causeAlg, f+"/alg-"+a.name, h.set("alg", a.value).json(), p.json())
	}
	g.add("alg", causeAlg, f+"/alg-absent", h.del("alg").json(), p.json())
	// Algorithm confusion: HMAC keyed with the public key's PEM.
	signed := b64(h.set("alg", q("HS256")).json()) + "." + b64(p.json())
	m := hmac.New(crypto.SHA256.New, []byte(g.pemText))
	m.Write([]byte(signed))
	g.addRaw("alg", causeAlg, f+"/alg-HS256-pem-hmac", signed+"."+base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
	g.addRaw("alg", causeAlg, f+"/alg-none-empty-sig", b64(h.set("alg", q("none")).json())+"."+b64(p.json())+".")

	for _, c := range []struct{ name, value string }{
		{"exp", `["exp"]`}, {"b64", `["b64"]`}, {"empty", `[]`}, {"string", q("exp")}, {"object", `{}`}, {"number", "1"},
	} {
		g.add("crit", causeCrit, f+"/crit-"+c.name, h.set("crit", c.value).json(), p.json())
	}
	g.add("crit", causeCrit, f+"/crit-b64-false", h.set("crit", `["b64"]`).set("b64", "false").json(), p.json())
	for _, k := range []struct{ name, value string }{{"number", "1"}, {"array", `["` + kid + `"]`}, {"object", `{}`}, {"true", "true"}} {
		g.add("header-type", causeClaimType, f+"/kid-"+k.name, h.set("kid", k.value).json(), p.json())
	}
}

// foldVariants are spellings that encoding/json matches to name ignoring
// case (including its Unicode folds: ſ for s, K (Kelvin) for k), as raw
// JSON names.
func foldVariants(name string) []string {
	var out []string
	up := strings.ToUpper(name)
	out = append(out, q(up))
	if len(name) > 1 {
		out = append(out, q(strings.ToUpper(name[:1])+name[1:]), q(name[:len(name)-1]+strings.ToUpper(name[len(name)-1:])))
	}
	if strings.Contains(name, "s") {
		out = append(out, q(strings.Replace(name, "s", "ſ", 1)), `"`+strings.Replace(name, "s", `\u017f`, 1)+`"`)
	}
	if strings.Contains(name, "k") {
		out = append(out, q(strings.Replace(name, "k", "\u212a", 1)))
	}
	return out
}

func (g *generator) caseVariants(f string, p object) {
	h := g.header()
	// Header: the variant alone, and next to the real member carrying a
	// value that must not count.
	for _, hm := range []struct{ name, bad string }{
		{"alg", q("none")}, {"typ", q("at+jwt")}, {"cat", q(catM2M)}, {"kid", "1"}, {"crit", `["exp"]`},
	} {
		real := h.get(hm.name)
		for _, v := range foldVariants(hm.name) {
			if real != "" {
				base := h.del(hm.name)
				g.add("case-header", causeCase, f+"/header-only-"+v, base.add(v, real).json(), p.json())
			}
			g.add("case-header", causeCase, f+"/header-bad-after-"+v, h.add(v, hm.bad).json(), p.json())
			g.add("case-header", causeCase, f+"/header-bad-before-"+v, h.prepend(v, hm.bad).json(), p.json())
		}
	}
	// Payload: the variant alone holding the genuine value, the genuine
	// name holding a bad value next to a variant holding a good one, and
	// the other way round.
	for _, c := range []struct{ name, good, bad string }{
		{"sub", p.get("sub"), q("user_attacker")},
		{"sid", p.get("sid"), q("sess_attacker")},
		{"azp", p.get("azp"), q("https://evil.example.com")},
		{"iss", p.get("iss"), q("https://clerk.evil.example.com")},
		{"exp", p.get("exp"), num(g.now - 3600)},
		{"nbf", p.get("nbf"), num(g.now + 3600)},
		{"iat", p.get("iat"), num(g.now + 3600)},
		{"sts", q("active"), q("pending")},
		{"v", "2", "1"},
		{"org_role", q("org:member"), q("org:admin")},
		{"o", p.get("o"), `{"id":"org_attacker","rol":"admin"}`},
	} {
		if c.good == "" {
			continue // a claim this format does not have
		}
		only := causeCase
		if c.name == "sid" {
			only = causeSidMissing // the variant is no sid, so there is none
		}
		for _, v := range foldVariants(c.name) {
			g.add("case-payload", only, f+"/only-"+v, h.json(), p.del(c.name).add(v, c.good).json())
			g.add("case-payload", causeCase, f+"/real-bad-variant-good-after-"+v, h.json(), p.set(c.name, c.bad).add(v, c.good).json())
			g.add("case-payload", causeCase, f+"/real-bad-variant-good-before-"+v, h.json(), p.set(c.name, c.bad).prepend(v, c.good).json())
			g.add("case-payload", causeCase, f+"/real-good-variant-bad-after-"+v, h.json(), p.add(v, c.bad).json())
			g.add("case-payload", causeCase, f+"/real-good-variant-bad-before-"+v, h.json(), p.prepend(v, c.bad).json())
		}
	}
}

func (g *generator) duplicates(f string, p object) {
	h := g.header()
	for _, hm := range []struct{ name, bad string }{
		{"alg", q("none")}, {"typ", q("at+jwt")}, {"cat", q(catM2M)}, {"kid", q("ins_other")},
	} {
		good := h.get(hm.name)
		g.add("duplicate", causeDuplicate, f+"/header-same-"+hm.name, h.add(q(hm.name), good).json(), p.json())
		g.add("duplicate", causeDuplicate, f+"/header-bad-last-"+hm.name, h.add(q(hm.name), hm.bad).json(), p.json())
		g.add("duplicate", causeDuplicate, f+"/header-bad-first-"+hm.name, h.prepend(q(hm.name), hm.bad).json(), p.json())
		g.add("duplicate", causeDuplicate, f+"/header-null-last-"+hm.name, h.add(q(hm.name), "null").json(), p.json())
		g.add("duplicate", causeDuplicate, f+"/header-null-first-"+hm.name, h.prepend(q(hm.name), "null").json(), p.json())
	}
	g.add("duplicate", causeDuplicate, f+"/header-escaped-name-alg", h.add(`"\u0061lg"`, q("none")).json(), p.json())
	for _, c := range []struct{ name, bad string }{
		{"sub", q("user_attacker")}, {"sid", q("sess_attacker")}, {"azp", q("https://evil.example.com")},
		{"iss", q("https://clerk.evil.example.com")}, {"exp", num(g.now - 3600)}, {"nbf", num(g.now + 3600)},
		{"iat", num(g.now + 3600)}, {"sts", q("pending")}, {"v", "1"}, {"org_role", q("org:admin")},
		{"o", `{"id":"org_attacker","rol":"admin"}`}, {"org_id", q("org_attacker")}, {"act", `{"sub":"user_admin"}`},
	} {
		good := p.get(c.name)
		if good == "" {
			continue
		}
		g.add("duplicate", causeDuplicate, f+"/same-"+c.name, h.json(), p.add(q(c.name), good).json())
		g.add("duplicate", causeDuplicate, f+"/bad-last-"+c.name, h.json(), p.add(q(c.name), c.bad).json())
		g.add("duplicate", causeDuplicate, f+"/bad-first-"+c.name, h.json(), p.prepend(q(c.name), c.bad).json())
		g.add("duplicate", causeDuplicate, f+"/null-last-"+c.name, h.json(), p.add(q(c.name), "null").json())
		g.add("duplicate", causeDuplicate, f+"/null-first-"+c.name, h.json(), p.prepend(q(c.name), "null").json())
		// The same name spelled with an escape.
		esc := `"\u00` + strconv.FormatInt(int64(c.name[0]), 16) + c.name[1:] + `"`
		g.add("duplicate", causeDuplicate, f+"/escaped-bad-last-"+c.name, h.json(), p.add(esc, c.bad).json())
	}
	g.add("duplicate", causeDuplicate, f+"/custom-claim-twice", h.json(), p.set("email", q("a@example.com")).add(q("email"), q("b@example.com")).json())
	if o := p.get("o"); o != "" {
		g.add("duplicate", causeDuplicate, f+"/o-inner-rol", h.json(), p.set("o", strings.TrimSuffix(o, "}")+`,"rol":"admin"}`).json())
	}
}

func (g *generator) nulls(f string, p object) {
	h := g.header()
	for _, name := range []string{"alg", "kid", "typ", "cat", "crit"} {
		g.add("null", causeNull, f+"/header-"+name, h.set(name, "null").json(), p.json())
	}
	for _, m := range p {
		name, _ := strconv.Unquote(m.name)
		g.add("null", causeNull, f+"/"+name, h.json(), p.set(name, "null").json())
	}
	for _, name := range []string{"jti", "sts", "v", "act", "fva", "pla", "fea", "o", "org_id", "org_role", "org_slug", "org_permissions", "aud"} {
		if p.get(name) == "" {
			g.add("null", causeNull, f+"/absent-"+name, h.json(), p.set(name, "null").json())
		}
	}
	g.add("null", causeNull, f+"/org_permissions-element", h.json(), p.set("org_permissions", `["org:a:b",null]`).json())
	g.add("null", causeNull, f+"/fva-element", h.json(), p.set("fva", `[null,1]`).json())
	g.add("null", causeNull, f+"/act-sub", h.json(), p.set("act", `{"sub":null}`).json())
	if o := p.get("o"); o != "" {
		g.add("null", causeNull, f+"/o-id", h.json(), p.set("o", `{"id":null,"rol":"admin"}`).json())
	}
	g.add("null", causeNull, f+"/custom-claim", h.json(), p.set("email", "null").json())
}

func (g *generator) claimTypes(f string, p object) {
	h := g.header().json()
	now := g.now
	type alt struct{ value, cause string }
	for _, c := range []struct {
		name string
		alts []alt
	}{
		{"sub", []alt{{"123", causeClaimType}, {"true", causeClaimType}, {`["user_x"]`, causeClaimType}, {`{"id":"user_x"}`, causeClaimType}, {`""`, causeSubEmpty}}},
		{"sid", []alt{{"123", causeClaimType}, {`["sess_x"]`, causeClaimType}, {`{}`, causeClaimType}, {`""`, causeSidMissing}}},
		{"iss", []alt{{`["` + g.issuer + `"]`, causeClaimType}, {"1", causeClaimType}, {`""`, causeIssuer}}},
		{"azp", []alt{{`["` + g.party + `"]`, causeClaimType}, {"1", causeClaimType}, {`""`, causeParty}}},
		{"exp", []alt{
			{q(num(now + 50)), causeClaimType}, {num(now+50) + ".0", causeClaimType}, {num(now+50) + ".5", causeClaimType},
			{num(now+50) + "e0", causeClaimType}, {num(now+50) + "E+0", causeClaimType}, {"1.7e300", causeJSDate},
			{"1e400", causeJSDate}, {"-1e400", causeJSDate}, {"9223372036854775808", causeJSDate}, {"1e13", causeClaimType},
			{"10000000000000", causeTime}, {"true", causeClaimType}, {"[" + num(now+50) + "]", causeClaimType},
			{"-0", causeTime}, {"0.5", causeClaimType}, {num(now-g.skew) + ".9", causeClaimType},
		}},
		{"nbf", []alt{
			{q(num(now - 20)), causeClaimType}, {num(now-20) + ".5", causeClaimType}, {num(now-20) + "e0", causeClaimType},
			{"1e13", causeJSDate}, {"10000000000000", causeJSDate}, {"8640000000000", causeTime}, {"8640000000001", causeJSDate},
			{"1e400", causeJSDate}, {"-1e400", causeClaimType}, {"true", causeClaimType}, {"[]", causeClaimType},
			{num(now+g.skew) + ".5", causeClaimType},
		}},
		{"iat", []alt{
			{q(num(now - 10)), causeClaimType}, {num(now-10) + ".5", causeClaimType}, {"1e13", causeJSDate},
			{"10000000000000", causeJSDate}, {"1e400", causeJSDate}, {"false", causeClaimType}, {"{}", causeClaimType},
		}},
		{"v", []alt{{`"2"`, causeClaimType}, {"2.0", causeClaimType}, {"3", causeClaimType}, {"0", causeClaimType}, {"-1", causeClaimType}, {"1e400", causeClaimType}, {"true", causeClaimType}}},
		{"sts", []alt{{"1", causeClaimType}, {q("PENDING"), causePending}, {q("Pending"), causePending}, {q("pending "), causePending}, {"true", causeClaimType}, {`["pending"]`, causeClaimType}}},
		{"jti", []alt{{"1", causeClaimType}}},
		{"fva", []alt{{q("5,5"), causeClaimType}, {"[5.5,1]", causeClaimType}, {"{}", causeClaimType}, {"[1e400]", causeClaimType}}},
		{"act", []alt{{q("user_admin"), causeClaimType}, {"1", causeClaimType}, {`{"sub":1}`, causeClaimType}, {"[]", causeClaimType}}},
		{"org_id", []alt{{"1", causeClaimType}, {`["org_x"]`, causeClaimType}}},
		{"org_role", []alt{{"1", causeClaimType}}},
		{"org_permissions", []alt{{q("org:x:y"), causeClaimType}, {"[1]", causeClaimType}}},
		{"o", []alt{{q("org_x"), causeClaimType}, {`{"id":1}`, causeClaimType}, {"[]", causeClaimType}}},
		{"pla", []alt{{"1", causeClaimType}}},
		{"fea", []alt{{`["o:x"]`, causeClaimType}}},
	} {
		for _, a := range c.alts {
			g.add("claim-type", a.cause, f+"/"+c.name+"="+a.value, h, p.set(c.name, a.value).json())
		}
	}
}

func (g *generator) missing(f string, p object) {
	h := g.header().json()
	for _, m := range p {
		name, _ := strconv.Unquote(m.name)
		cause := causeMissing
		if name == "sid" {
			cause = causeSidMissing
		}
		g.add("missing", cause, f+"/no-"+name, h, p.del(name).json())
	}
	g.add("missing", causeMissing, f+"/empty-object", h, "{}")
}

func (g *generator) parties(f string, p object) {
	h := g.header().json()
	for _, a := range []struct{ name, value string }{
		{"other", q("https://evil.example.com")}, {"trailing-slash", q(g.party + "/")},
		{"upper", q(strings.ToUpper(g.party))}, {"http", q(strings.Replace(g.party, "https://", "http://", 1))},
		{"port", q(g.party + ":443")}, {"space", q(g.party + " ")}, {"prefix", q(g.party + ".evil.com")},
	} {
		g.add("party", causeParty, f+"/azp-"+a.name, h, p.set("azp", a.value).json())
	}
	for _, i := range []struct{ name, value string }{
		{"other", q("https://clerk.evil.example.com")}, {"trailing-slash", q(g.issuer + "/")},
		{"upper", q(strings.ToUpper(g.issuer))}, {"http", q(strings.Replace(g.issuer, "https://", "http://", 1))},
	} {
		g.add("issuer", causeIssuer, f+"/iss-"+i.name, h, p.set("iss", i.value).json())
	}
}

// encodings covers what lies under JSON: UTF-8, BOMs, non-JSON payloads.
func (g *generator) encodings(f string, p object) {
	h := g.header().json()
	pj := p.json()
	g.add("utf8", causeBOM, f+"/payload-bom", h, "\uFEFF"+pj)
	g.add("utf8", causeBOM, f+"/header-bom", "\uFEFF"+h, pj)
	g.add("utf8", causeBOM, f+"/payload-bom-after-space", h, " \uFEFF"+pj)
	g.add("utf8", causeUTF8, f+"/custom-claim-invalid", h, p.set("name", "\"Zo\xeb\"").json())
	g.add("utf8", causeUTF8, f+"/sub-invalid", h, p.set("sub", "\"user_\xff\"").json())
	g.add("utf8", causeUTF8, f+"/overlong-slash", h, p.set("name", "\"\xc0\xaf\"").json())
	g.add("utf8", causeUTF8, f+"/surrogate-bytes", h, p.set("name", "\"\xed\xa0\x80\"").json())
	g.add("utf8", causeUTF8, f+"/lone-surrogate-escape", h, p.set("name", `"\ud800"`).json())
	g.add("utf8", causeUTF8, f+"/lone-surrogate-escape-sub", h, p.set("sub", `"user_\udfff"`).json())
	g.add("utf8", causeUTF8, f+"/kid-invalid", g.header().set("kid", "\"ins_\xff\"").json(), pj)
	g.add("utf8", causeUTF8, f+"/name-invalid", h, p.add("\"s\xffb\"", q("user_x")).json())
	g.add("utf8", causeValid, f+"/surrogate-pair-escape", h, p.set("name", `"\ud83d\ude42"`).json())
	g.add("not-json", causeNotJSON, f+"/payload-array", h, "["+pj+"]")
	g.add("not-json", causeNotJSON, f+"/payload-string", h, q(pj))
	g.add("not-json", causeNotJSON, f+"/payload-trailing-comma", h, strings.TrimSuffix(pj, "}")+",}")
	g.add("not-json", causeNotJSON, f+"/payload-trailing-data", h, pj+"{}")
	g.add("not-json", causeNotJSON, f+"/payload-trailing-garbage", h, pj+"x")
	g.add("not-json", causeNotJSON, f+"/payload-truncated", h, pj[:len(pj)-1])
	g.add("not-json", causeNotJSON, f+"/payload-single-quotes", h, strings.ReplaceAll(pj, `"`, `'`))
	g.add("not-json", causeNotJSON, f+"/payload-comment", h, "/*x*/"+pj)
	g.add("not-json", causeNotJSON, f+"/payload-nul", h, pj+"\x00")
	g.add("not-json", causeNotJSON, f+"/payload-empty", h, "")
	g.add("not-json", causeNotJSON, f+"/payload-null", h, "null")
	g.add("not-json", causeNotJSON, f+"/header-array", "["+h+"]", pj)
	g.add("not-json", causeNotJSON, f+"/header-trailing-data", h+"{}", pj)
	g.add("not-json", causeNotJSON, f+"/payload-nan", h, p.set("exp", "NaN").json())
	g.add("not-json", causeNotJSON, f+"/payload-leading-zero", h, p.set("exp", "0"+num(g.now+50)).json())
	g.add("not-json", causeNotJSON, f+"/payload-plus", h, p.set("exp", "+"+num(g.now+50)).json())
	g.add("not-json", causeNotJSON, f+"/payload-control-char", h, p.set("name", "\"a\tb\"").json())
	g.add("not-json", causeValid, f+"/payload-trailing-space", h, pj+" \n")
	g.add("not-json", causeValid, f+"/payload-deep", h, p.set("meta", strings.Repeat("[", 50)+strings.Repeat("]", 50)).json())
	g.add("not-json", causeDepth, f+"/payload-too-deep", h, p.set("meta", strings.Repeat(`{"a":[`, 50)+strings.Repeat("]}", 50)).json())
	g.add("not-json", causeDepth, f+"/header-too-deep", g.header().set("x", strings.Repeat("[", 100)+strings.Repeat("]", 100)).json(), pj)
}

// base64Variants spells segments in every way base64url decoders differ on.
// Variants of the header and payload are re-signed (the signature covers
// the text as sent); variants of the signature keep the genuine one, so
// that an accepted variant is a second spelling of one genuine token.
func (g *generator) base64Variants(f string, p object) {
	hdr := b64(g.header().json())
	// A claim whose encoding holds '-' and '_', so that the standard
	// alphabet differs from the URL one in the payload too.
	pay := b64(p.set("x", q("??>>~~??")).json())
	for len(pay)%4 == 0 {
		p = p.set("pad", q(strings.Repeat("a", len(p.get("pad")))))
		pay = b64(p.set("x", q("??>>~~??")).json())
	}
	genuine := g.sign(hdr+"."+pay, crypto.SHA256)

	type variant struct {
		name, cause string
		apply       func(string) string
	}
	insert := func(s, at string) func(string) string {
		return func(seg string) string { return seg[:len(seg)/2] + at + seg[len(seg)/2:] }
	}
	variants := []variant{
		{"cr", causeBase64, insert("", "\r")}, {"lf", causeBase64, insert("", "\n")}, {"crlf", causeBase64, insert("", "\r\n")},
		{"space", causeBase64, insert("", " ")}, {"tab", causeBase64, insert("", "\t")}, {"nul", causeBase64, insert("", "\x00")},
		{"plus", causeBase64, insert("", "+")}, {"slash", causeBase64, insert("", "/")}, {"inner-equals", causeBase64, insert("", "=")},
		{"dot", causeShape, insert("", ".")}, {"non-ascii", causeBase64, insert("", "é")},
		{"lf-end", causeBase64, func(s string) string { return s + "\n" }},
		{"cr-start", causeBase64, func(s string) string { return "\r" + s }},
		{"std-alphabet", causeBase64, func(s string) string {
			return strings.NewReplacer("-", "+", "_", "/").Replace(s)
		}},
		{"padded", causePadding, func(s string) string {
			for len(s)%4 != 0 {
				s += "="
			}
			return s
		}},
		{"over-padded", causePadding, func(s string) string { return s + "====" }},
		{"one-equals", causePadding, func(s string) string { return s + "=" }},
		{"std-alphabet-padded", causeBase64, func(s string) string {
			s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
			for len(s)%4 != 0 {
				s += "="
			}
			return s
		}},
		{"trailing-bits", causeBase64, func(s string) string {
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, s[len(s)-1])
			return s[:len(s)-1] + string(alphabet[last|1])
		}},
		{"one-extra-char", causeBase64, func(s string) string {
			if len(s)%4 == 0 {
				return s + "A"
			}
			return s + strings.Repeat("A", 5-len(s)%4)
		}},
		{"truncated", causeBase64, func(s string) string { return s[:len(s)-1] }},
	}
	for _, v := range variants {
		apply := v.apply
		if strings.HasPrefix(v.name, "std-alphabet") {
			// Only where the alphabets differ; elsewhere the variant
			// would be plain (padded) base64url under a wrong label.
			apply = func(s string) string {
				if !strings.ContainsAny(s, "-_") {
					return s
				}
				return v.apply(s)
			}
		}
		h2, p2 := apply(hdr), apply(pay)
		if h2 != hdr {
			g.addSigned("base64", v.cause, f+"/header-"+v.name, h2+"."+pay, crypto.SHA256)
		}
		if p2 != pay {
			g.addSigned("base64", v.cause, f+"/payload-"+v.name, hdr+"."+p2, crypto.SHA256)
		}
		if s2 := apply(genuine); s2 != genuine {
			g.addRaw("base64", v.cause, f+"/signature-"+v.name, hdr+"."+pay+"."+s2)
		}
	}
	g.addRaw("valid", causeValid, f+"/base64-baseline", hdr+"."+pay+"."+genuine)
}

func (g *generator) pendingSessions(p object) {
	h := g.header().json()
	g.add("pending", causePending, "v2/sts-pending", h, p.set("sts", q("pending")).json())
	g.add("pending", causeValid, "v2/sts-absent", h, p.del("sts").json())
	g.add("pending", causePending, "v1/sts-pending", h, g.v1().set("sts", q("pending")).json())
}

func (g *generator) machines(p object) {
	h := g.header()
	g.add("machine", causeMachine, "v1/sub-mch", h.json(), p.set("sub", q("mch_2GIpXOEpVyJw51rkZn9Kmnc6Sxr")).json())
	g.add("machine", causeMachine, "v1/sub-mch-no-cat", h.del("cat").json(), p.set("sub", q("mch_x")).json())
	g.add("machine", causeMachine, "v1/sub-mch-cat-ignore", h.set("cat", q(catIgnore)).json(), p.set("sub", q("mch_x")).json())
	g.add("machine", causeMachine, "v1/sub-mch-escaped", h.json(), p.set("sub", `"\u006dch_x"`).json())
	g.add("machine", causeMachine, "v1/typ-at+jwt", h.set("typ", q("at+jwt")).json(), p.json())
	g.add("machine", causeMachine, "v1/typ-application-at+jwt-cat-ignore", h.set("typ", q("application/at+jwt")).set("cat", q(catIgnore)).json(), p.json())
	g.add("machine", causeMachine, "v1/m2m-no-sid", h.set("cat", q(catM2M)).json(), p.del("sid").set("sub", q("mch_x")).json())
}

func (g *generator) shapes(p object) {
	h := b64(g.header().json())
	pay := b64(p.json())
	full := g.sign(h+"."+pay, crypto.SHA256)
	for _, s := range []struct{ name, token string }{
		{"two-segments", h + "." + pay}, {"four-segments", h + "." + pay + "." + full + "." + full},
		{"trailing-dot", h + "." + pay + "." + full + "."}, {"leading-dot", "." + h + "." + pay + "." + full},
		{"empty-header", "." + pay + "." + full}, {"empty-payload", h + ".." + full}, {"empty", ""}, {"dots", ".."},
		{"bearer-prefix", "Bearer " + h + "." + pay + "." + full}, {"leading-space", " " + h + "." + pay + "." + full},
		{"trailing-space", h + "." + pay + "." + full + " "}, {"quoted", `"` + h + "." + pay + "." + full + `"`},
		{"swapped", pay + "." + h + "." + full},
	} {
		g.addRaw("shape", causeShape, "v1/"+s.name, s.token)
	}
}

func (g *generator) sizes(p object) {
	h := g.header().json()
	// A custom claim sized so that the token lands just under and just over
	// clerkgate's 16 KiB cap.
	base := len(b64(h)) + 1 + len(b64(p.set("blob", `""`).json())) + 1 + 342
	for _, s := range []struct {
		name, cause string
		total       int
	}{{"under-16KiB", causeValid, 16<<10 - 4}, {"over-16KiB", causeSize, 16<<10 + 4}, {"64KiB", causeSize, 64 << 10}} {
		n := (s.total - base) * 3 / 4
		g.add("size", s.cause, "v1/"+s.name, h, p.set("blob", q(strings.Repeat("a", n))).json())
	}
}

// flips re-signs payloads with random bytes changed. The cause of each is
// what the changed payload turns out to hold, so that a flip which happens
// to produce a deliberate case is judged as one.
func (g *generator) flips(f string, p object, n int) {
	h := g.header().json()
	base := []byte(p.json())
	for i := range n {
		b := bytes.Clone(base)
		flips := 1 + g.rng.IntN(2)
		for range flips {
			at := g.rng.IntN(len(b))
			switch g.rng.IntN(3) {
			case 0:
				b[at] = byte(0x20 + g.rng.IntN(0x5f)) // printable ASCII
			case 1:
				b[at] ^= 1 << g.rng.IntN(8)
			default:
				b[at] = byte(g.rng.IntN(256))
			}
		}
		g.add("flip", flipCause(b), fmt.Sprintf("%s/flip-%d", f, i), h, string(b))
	}
}

// flipCause names what a mutated payload holds that a verifier could
// treat differently on purpose. It is a labeller, not a verifier: it looks
// only for the properties on the deliberate list, in the order clerkgate's
// decoding meets them, and calls the rest plain flips.
func flipCause(b []byte) string {
	if !utf8.Valid(b) {
		return causeUTF8
	}
	if bytes.HasPrefix(b, []byte("\uFEFF")) {
		return causeBOM
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return causeFlip
	}
	seen := map[string]bool{}
	members := map[string]any{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return causeFlip
		}
		name := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return causeFlip
		}
		if seen[name] {
			return causeDuplicate
		}
		seen[name] = true
		members[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return causeFlip
	}
	if _, err := dec.Token(); err == nil {
		return causeFlip // trailing data
	}
	for _, name := range []string{"sub", "sid", "iss", "azp", "exp", "nbf", "iat", "jti", "sts", "pla", "fea", "v", "fva", "act", "o", "org_id", "org_role", "org_slug", "org_permissions"} {
		if v, ok := members[name]; ok && v == nil {
			return causeNull
		}
	}
	if s, ok := members["sub"].(string); ok && strings.HasPrefix(s, "mch_") {
		return causeMachine
	}
	if s, _ := members["sid"].(string); s == "" {
		return causeSidMissing
	}
	if s, ok := members["sub"].(string); ok && s == "" {
		return causeSubEmpty
	}
	for _, name := range []string{"exp", "nbf", "iat", "v"} {
		v, ok := members[name]
		if !ok {
			continue
		}
		n, isNum := v.(json.Number)
		if !isNum {
			return causeClaimType
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			if name == "v" {
				return causeClaimType
			}
			fl, _ := strconv.ParseFloat(string(n), 64)
			if fl >= 8.64e12 || fl <= -8.64e12 {
				return causeJSDate
			}
			return causeClaimType
		}
		if name != "exp" && name != "v" && i > 8.64e12 {
			return causeJSDate
		}
	}
	for _, name := range []string{"sub", "sid", "iss", "azp", "jti", "sts", "pla", "fea", "org_id", "org_role", "org_slug"} {
		if v, ok := members[name]; ok {
			if _, isString := v.(string); !isString {
				return causeClaimType
			}
		}
	}
	for name, want := range map[string]string{"fva": "array", "org_permissions": "array", "act": "object", "o": "object"} {
		v, ok := members[name]
		if !ok {
			continue
		}
		switch v.(type) {
		case []any:
			if want != "array" {
				return causeClaimType
			}
		case map[string]any:
			if want != "object" {
				return causeClaimType
			}
		default:
			return causeClaimType
		}
	}
	// Inside the objects and arrays clerkgate decodes into Go types.
	nested := map[string]map[string]bool{
		"o":   {"id": true, "slg": true, "rol": true, "per": true, "fpm": true},
		"act": {"sub": true, "iss": true, "sid": true},
	}
	for name, fields := range nested {
		obj, _ := members[name].(map[string]any)
		for field, v := range obj {
			if !fields[field] {
				continue
			}
			if v == nil {
				return causeNull
			}
			if _, isString := v.(string); !isString {
				return causeClaimType
			}
		}
	}
	for _, name := range []string{"fva", "org_permissions"} {
		list, _ := members[name].([]any)
		for _, v := range list {
			if v == nil {
				return causeNull
			}
			n, isNum := v.(json.Number)
			_, isString := v.(string)
			_, intErr := strconv.ParseInt(string(n), 10, 64)
			if (name == "fva" && (!isNum || intErr != nil)) || (name == "org_permissions" && !isString) {
				return causeClaimType
			}
		}
	}
	if hasNestedDuplicate(b) {
		return causeDuplicate
	}
	if s, ok := members["sts"].(string); ok && s == "pending" {
		return causePending
	}
	return causeFlip
}

// hasNestedDuplicate reports a member name repeated in any object of the
// JSON text b, at any depth.
func hasNestedDuplicate(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		names     map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t {
		case json.Delim('{'):
			if top != nil && !top.expectKey {
				top.expectKey = true
			}
			stack = append(stack, &frame{names: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			if top != nil && !top.expectKey {
				top.expectKey = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top == nil || top.names == nil {
			continue // a value in an array
		}
		if top.expectKey {
			name := t.(string)
			if top.names[name] {
				return true
			}
			top.names[name] = true
			top.expectKey = false
		} else {
			top.expectKey = true
		}
	}
}

// TestFlipCause checks the labeller on payloads whose cause is known, since
// a wrong label could excuse a real disagreement.
func TestFlipCause(t *testing.T) {
	const base = `"sub":"user_a","sid":"sess_a","exp":1,"o":{"id":"org_a","rol":"admin"}`
	for payload, want := range map[string]string{
		`{` + base + `}`:                                        causeFlip,
		`{` + base + `,"sub":"user_b"}`:                         causeDuplicate,
		`{` + base + `,"x":{"a":1,"b":[{"c":1,"c":2}]}}`:        causeDuplicate,
		`{` + base + `,"x":{"a":1},"y":{"a":1}}`:                causeFlip,
		`{"sub":"user_a","sid":"","exp":1}`:                     causeSidMissing,
		`{"sub":"user_a","sid":"s","exp":1.5}`:                  causeClaimType,
		`{"sub":"user_a","sid":"s","exp":1,"nbf":1e13}`:         causeJSDate,
		`{"sub":"user_a","sid":"s","exp":1,"o":{"id":1}}`:       causeClaimType,
		`{"sub":"user_a","sid":"s","exp":1,"act":{"sub":null}}`: causeNull,
		`{"sub":"user_a","sid":"s","exp":null}`:                 causeNull,
		`{"sub":"mch_a","sid":"s","exp":1}`:                     causeMachine,
		"{\"sub\":\"user_\xff\",\"sid\":\"s\",\"exp\":1}":       causeUTF8,
		"\uFEFF{" + base + "}":                                  causeBOM,
		`{` + base:                                              causeFlip,
	} {
		require.Equal(t, want, flipCause([]byte(payload)), payload)
	}
}
