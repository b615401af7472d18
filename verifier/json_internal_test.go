package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// jsonSeeds are texts the strict reader must accept or refuse exactly as
// referenceDecode does, plus the cases it refuses on purpose.
var jsonSeeds = []string{
	`{"alg":"RS256","kid":"ins_2abc","typ":"JWT"}`,
	`{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_2abc","typ":"JWT"}`,
	` { "typ" : "JWT" , "kid":"k", "alg":"RS512" } `,
	`{}`, `[]`, `[1,2,[3]]`, `"s"`, `0`, `-0`, `-1.5e+3`, `1E2`, `true`, `false`, `null`,
	`{"a":{"b":[{"c":null}]}}`,
	`{"ALG":"HS256","alg":"RS256"}`,
	`{"alg":"RS256","alg":"HS256"}`,
	`{"a":{"x":1,"x":2}}`,
	`[{"x":1},{"x":2}]`,
	`{"\u0061":1,"a":2}`,
	`{"alg":"RS\u0032\u0035\u0036"}`,
	`{"kid":"k\u00e9"}`,
	"{\"kid\":\"k\xc3\xa9\"}",
	"{\"kid\":\"\xff\"}",
	"\xef\xbb\xbf{}",
	`{"k":"\ud83d\ude00"}`,
	`{"k":"\ud83d"}`,
	`{"k":"\ude00"}`,
	`{"k":"\ud83dx"}`,
	`{"k":"\ud83d\u0041"}`,
	`{"k":"\\ud83d"}`,
	`{"k":"\/\b\f\n\r\t\"\\"}`,
	`{"k":"\x"}`,
	`{"k":"\u12"}`,
	`{"alg":"RS256",}`,
	`{"alg":"RS256"} x`,
	`{"alg":"RS256"`,
	`{"alg" "RS256"}`,
	`{"alg":nul}`,
	`[1,]`, `[,1]`, `01`, `1.`, `.5`, `1e`, `+1`, `--1`, `-`, `"\u0000"`,
	"\"a\tb\"", "\"a\x7fb\"",
	``, ` `,
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"a":18}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18}`,
}

// decodeAny reads any value with the strict reader, into the shapes
// encoding/json gives with UseNumber.
func decodeAny(r *jsonReader, depth int) any {
	switch r.peek() {
	case '{', '[':
		if depth >= maxJSONDepth {
			r.fail("nested too deeply")
			return nil
		}
		if r.peek() == '{' {
			m := map[string]any{}
			var o object
			for name, ok := r.member(&o); ok; name, ok = r.member(&o) {
				m[name] = decodeAny(r, depth+1)
			}
			return m
		}
		a := []any{}
		var started bool
		for r.element(&started) {
			a = append(a, decodeAny(r, depth+1))
		}
		return a
	case '"':
		return r.str()
	case 't', 'f', 'n':
		lit := map[byte]string{'t': "true", 'f': "false", 'n': "null"}[r.peek()]
		r.literal(lit)
		return map[string]any{"true": true, "false": false, "null": nil}[lit]
	default:
		return json.Number(r.number())
	}
}

func strictDecode(s string) (any, bool) {
	r := jsonReader{s: s}
	v := decodeAny(&r, 0)
	r.end()
	return v, r.err == ""
}

// referenceDecode is the strict rules built from encoding/json, an
// independent implementation: valid JSON and UTF-8, no repeated name in
// any object (names compared after unescaping), nesting within
// maxJSONDepth. It cannot see \u escapes of half a surrogate pair, which
// encoding/json turns into U+FFFD; the fuzz test allows for that.
func referenceDecode(b []byte) (any, bool) {
	if !utf8.Valid(b) || !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		names    map[string]bool // nil for an array
		wantName bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.names != nil && top.wantName {
			if _, isDelim := tok.(json.Delim); !isDelim {
				name := tok.(string)
				if top.names[name] {
					return nil, false
				}
				top.names[name] = true
				top.wantName = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{names: map[string]bool{}, wantName: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].names != nil {
				stack[len(stack)-1].wantName = true
			}
			continue
		default:
			if top != nil && top.names != nil {
				top.wantName = true
			}
			continue
		}
		if len(stack) > maxJSONDepth {
			return nil, false
		}
	}
	var v any
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

var surrogateEscape = regexp.MustCompile(`(?i)\\ud[89a-f]`)

func TestStrictJSONAgainstReference(t *testing.T) {
	t.Parallel()
	for _, in := range jsonSeeds {
		checkAgainstReference(t, []byte(in))
	}
}

// FuzzStrictJSON checks the strict reader against referenceDecode: both
// accept or both refuse, and what they accept they read alike.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkAgainstReference)
}

func checkAgainstReference(t *testing.T, in []byte) {
	got, ok := strictDecode(string(in))
	want, wantOK := referenceDecode(in)
	switch {
	case ok && wantOK:
		require.Equal(t, want, got, "%q", in)
	case !ok && wantOK:
		// The one difference: half a surrogate pair, which the reference
		// cannot see and the strict reader refuses.
		lone := surrogateEscape.Match(in)
		require.True(t, lone, "strict reader refused valid JSON %q", in)
	case ok && !wantOK:
		t.Fatalf("strict reader accepted %q, which the reference refuses", in)
	}
}

func TestStrictJSONRefusals(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"alg":"RS256","alg":"HS256"}`, // a repeated name
		`{"\u0061":1,"a":2}`,            // repeated once unescaped
		`{"a":{"x":1,"x":2}}`,           // at depth
		"\xef\xbb\xbf{}",                // a byte order mark
		"{\"kid\":\"\xff\"}",            // invalid UTF-8
		`{"k":"\ud83d"}`,                // half a surrogate pair
		`{"k":"\ude00"}`,
		`{"k":"\ud83d\u0041"}`,
		strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	} {
		_, ok := strictDecode(in)
		require.False(t, ok, "%q", in)
	}
	v, ok := strictDecode(`{"k":"\ud83d\ude00"}`)
	require.True(t, ok)
	require.Equal(t, map[string]any{"k": "😀"}, v)
}

// TestDecodeHeaderDoesNotAllocate keeps the common header free of
// allocations: its values are substrings of the decoded header.
func TestDecodeHeaderDoesNotAllocate(t *testing.T) {
	hdr := `{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_2abc","typ":"JWT"}`
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := decodeHeader(hdr); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// FuzzDecodeHeader checks decodeHeader against a reference built from
// referenceDecode: the verdict (accept, malformed, type) and, when
// accepted, every field.
func FuzzDecodeHeader(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"alg":"RS256","typ":null}`, `{"alg":null}`, `{"kid":1}`, `{"crit":null}`,
		`{"cat":"cl_B7d4PD222AAA"}`, `{"cat":"cl_B7d4PD333AAA"}`, `{"cat":"cl_I7d4PD111III"}`, `{"cat":null}`, `{"cat":1}`,
		`{"typ":"at+jwt"}`, `{"typ":"application/at+jwt"}`, `{"typ":"jwt"}`, `{"Typ":"x","TYP":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := decodeHeader(string(in))
		want, wantReason := referenceHeader(in)
		if err != nil && err.Reason == ReasonTokenMalformed && wantReason == "" && surrogateEscape.Match(in) {
			return // half a surrogate pair: see checkAgainstReference
		}
		require.Equal(t, wantReason, ReasonOf(errOrNil(err)), "%q: %v", in, err)
		if err == nil {
			// The reference knows the values; presence flags are the reader's own.
			got := header{Alg: h.Alg, Kid: h.Kid, Typ: h.Typ, Cat: h.Cat}
			require.Equal(t, want, got, "%q", in)
		}
	})
}

func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

func referenceHeader(in []byte) (header, Reason) {
	var h header
	v, ok := referenceDecode(in)
	m, isObj := v.(map[string]any)
	if !ok || !isObj {
		return h, ReasonTokenMalformed
	}
	for _, name := range []string{"alg", "kid", "typ"} {
		if x, present := m[name]; present {
			if _, isStr := x.(string); !isStr {
				return h, ReasonTokenMalformed
			}
		}
	}
	h.Alg, _ = m["alg"].(string)
	h.Kid, _ = m["kid"].(string)
	h.Typ, _ = m["typ"].(string)
	h.Cat, _ = m["cat"].(string)
	if _, crit := m["crit"]; crit {
		return h, ReasonTokenMalformed
	}
	if _, present := m["typ"]; present && h.Typ != "JWT" {
		if h.Typ == "at+jwt" || h.Typ == "application/at+jwt" {
			return h, ReasonTokenTypeInvalid
		}
		return h, ReasonTokenMalformed
	}
	if cat, present := m["cat"]; present && cat != catSession && cat != catIgnore {
		return h, ReasonTokenTypeInvalid
	}
	return h, ""
}

// FuzzDecodeClaims checks decodeClaims against a reference built from
// referenceDecode: the verdict and, when accepted, the claims.
func FuzzDecodeClaims(f *testing.F) {
	base := `"sub":"user_1","sid":"sess_1","exp":1700000000`
	for _, s := range []string{
		`{` + base + `}`,
		`{` + base + `,"iss":"https://clerk.example.com","azp":"https://app.example.com","nbf":1,"iat":2,"jti":"j","v":2,"sts":"active","pla":"u:free","fea":"o:a,u:b","fva":[1,-1],"act":{"sub":"user_2","iss":"i","sid":"s","x":{}},"o":{"id":"org_1","slg":"s","rol":"admin","per":"r,w","fpm":"3","y":[]}}`,
		`{` + base + `,"org_id":"org_1","org_slug":"s","org_role":"org:admin","org_permissions":["org:a:b"]}`,
		`{` + base + `,"v":2,"org_id":"org_1","org_role":"org:admin"}`,
		`{` + base + `,"o":{"id":"org_1","rol":"admin"}}`,
		`{` + base + `,"Azp":"x"}`, `{` + base + `,"SUB":"x"}`, `{` + base + `,"sub":null}`, `{` + base + `,"exp":null}`,
		`{` + base + `,"nbf":null}`, `{` + base + `,"iat":1.5}`, `{` + base + `,"exp":1e9}`, `{` + base + `,"v":99999999999999999999}`,
		`{` + base + `,"fva":[1,null]}`, `{` + base + `,"fva":[]}`, `{` + base + `,"v":2,"fea":"o:a,o:b","o":{"id":"o","per":"x,y","fpm":"1,"}}`, `{` + base + `,"org_permissions":[1]}`, `{` + base + `,"act":null}`, `{` + base + `,"o":{"id":null}}`,
		`{"sub":"mch_1","sid":"s","exp":1}`, `{"sub":"","sid":"s","exp":1}`, `{"sid":"s","exp":1,"sub":"u","sub":"v"}`,
		`[1]`, `"x"`, `{`, `{"sub":"u","sid":"s"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := decodeClaims(string(in))
		want, wantReason := referenceClaims(in)
		if err != nil && err.Reason == ReasonTokenMalformed && wantReason != ReasonTokenMalformed && surrogateEscape.Match(in) {
			return // half a surrogate pair: see checkAgainstReference
		}
		require.Equal(t, wantReason, ReasonOf(errOrNil(err)), "%q: %v", in, err)
		if err == nil {
			require.Equal(t, want, c, "%q", in)
		}
	})
}

// referenceClaims decodes a payload from the generic value, one claim at a
// time, independently of decodeClaims.
func referenceClaims(in []byte) (*Claims, Reason) {
	v, ok := referenceDecode(in)
	m, isObj := v.(map[string]any)
	if !ok || !isObj {
		return nil, ReasonTokenMalformed
	}
	c := &Claims{Version: 1, raw: string(in)}
	bad := false
	str := func(m map[string]any, name string, dst *string) {
		if x, present := m[name]; present {
			s, isStr := x.(string)
			bad = bad || !isStr
			*dst = s
		}
	}
	integer := func(x any) int64 {
		n, isNum := x.(json.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		bad = bad || !isNum || err != nil
		return i
	}
	object := func(name string) map[string]any {
		x, present := m[name]
		if !present {
			return nil
		}
		o, isObj := x.(map[string]any)
		bad = bad || !isObj
		return o
	}
	for name, dst := range map[string]*string{"sub": &c.Subject, "sid": &c.SessionID, "iss": &c.Issuer, "azp": &c.AuthorizedParty,
		"jti": &c.ID, "sts": &c.SessionStatus, "pla": &c.Plans, "fea": &c.Features} {
		str(m, name, dst)
	}
	for name, dst := range map[string]*int64{"exp": &c.Expiry, "nbf": &c.NotBefore, "iat": &c.IssuedAt} {
		if x, present := m[name]; present {
			*dst = integer(x)
		}
	}
	if x, present := m["v"]; present {
		c.Version = int(integer(x))
	}
	if x, present := m["fva"]; present {
		a, isArr := x.([]any)
		bad = bad || !isArr
		c.FactorVerificationAge = []int{}
		for _, e := range a {
			c.FactorVerificationAge = append(c.FactorVerificationAge, int(integer(e)))
		}
	}
	var v1 Organization
	str(m, "org_id", &v1.ID)
	str(m, "org_slug", &v1.Slug)
	str(m, "org_role", &v1.Role)
	if x, present := m["org_permissions"]; present {
		a, isArr := x.([]any)
		bad = bad || !isArr
		for _, e := range a {
			s, isStr := e.(string)
			bad = bad || !isStr
			v1.Permissions = append(v1.Permissions, s)
		}
	}
	if act := object("act"); act != nil {
		c.Actor = &Actor{}
		str(act, "sub", &c.Actor.Subject)
		str(act, "iss", &c.Actor.Issuer)
		str(act, "sid", &c.Actor.SessionID)
	}
	var v2 wireOrg
	o := object("o")
	if o != nil {
		str(o, "id", &v2.ID)
		str(o, "slg", &v2.Slug)
		str(o, "rol", &v2.Role)
		str(o, "per", &v2.Permissions)
		str(o, "fpm", &v2.FeatureMap)
	}
	_, hasExp := m["exp"]
	switch {
	case bad:
		return nil, ReasonClaimsInvalid
	case !hasExp || c.Subject == "" || c.SessionID == "":
		return nil, ReasonClaimsInvalid
	case strings.HasPrefix(c.Subject, "mch_"):
		return nil, ReasonTokenTypeInvalid
	}
	if c.Version == 2 && v2.ID != "" {
		role := v2.Role
		if role != "" && !strings.HasPrefix(role, "org:") {
			role = "org:" + role
		}
		c.Organization = &Organization{ID: v2.ID, Slug: v2.Slug, Role: role, Permissions: orgPermissions(c.Features, v2.Permissions, v2.FeatureMap)}
	} else if c.Version != 2 && v1.ID != "" {
		c.Organization = &v1
	}
	return c, ""
}

// TestJWTBytesEveryByte holds jwtBytes's table to isBase64URL and '.':
// every byte alone, and every byte at each place of an eight-byte round
// and of the tail after it.
func TestJWTBytesEveryByte(t *testing.T) {
	t.Parallel()
	for b := range 256 {
		want := isBase64URL(byte(b)) || b == '.'
		for _, at := range []int{0, 3, 7, 8, 10} {
			s := []byte("abcdefghijk")
			s[at] = byte(b)
			if got := jwtBytes(string(s)); got != want {
				t.Fatalf("byte %#x at %d: jwtBytes %v, want %v", b, at, got, want)
			}
		}
	}
	if !jwtBytes("") || !jwtBytes("eyJhbGciOiJSUzI1NiJ9.e30.c2ln-_") {
		t.Fatal("a token of the alphabet and dots refused")
	}
}
