package handshake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// peekSeeds are header and payload JSON, as Clerk writes them and as it
// never does: each is a case peek must read as peekJSON does, or give up
// on.
var peekSeeds = [][2]string{
	{`{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_1","typ":"JWT"}`,
		`{"azp":"https://app.example.com","exp":1800000060,"fva":[0,-1],"iat":1800000000,"iss":"https://clerk.example.com","nbf":1799999990,"sid":"sess_1","sts":"active","sub":"user_1","v":2,"o":{"id":"org_1","rol":"admin","per":"read,write","fpm":"3"}}`},
	{`{"alg":"RS256"}`, `{}`},
	{` { "cat" : "" , "typ" : "at+jwt" } `, "\t{\"sub\" :\"mch_1\"\n,\"iat\":0}\r\n"},
	{`{"cat":"a","CAT":"b"}`, `{"Sub":"mch_1","sub":"user_1"}`},
	{`{"cat":"a","cat":"b"}`, `{"sub":"a","sub":"b"}`},
	{`{"cat":null}`, `{"iss":null,"sub":null}`},
	{`{"cat":5,"typ":true}`, `{"iss":false,"sub":["x"],"iat":"1","exp":{}}`},
	{`{"c\u0061t":"x"}`, `{"s\u0075b":"mch_1","iss":"http:\/\/x"}`},
	{`{"cat":"caf\u00e9"}`, "{\"sub\":\"us\xc3\xa9r\",\"iss\":\"\xff\"}"},
	{`{}`, `{"iat":1.5e9,"exp":-1,"nbf":1e400}`},
	{`{}`, `{"iat":0123}`},
	{`{}`, `{"iat":null,"exp":5}`},
	{`{}`, `{"exp":5,"sub":"user_1"}`},
	{`{}`, `{"iat":1800000000000000000000}`},
	{`{}`, `{"iat":123456789012345678,"exp":1234567890123456789}`},
	{`{}`, `{"x":[1,2,{"a":[true,false,null,"\"\\\/\b\f\n\r\t\uABCD"]}],"y":"\u12"}`},
	{`{}`, `{"x":"` + "\x01" + `"}`},
	{`{}`, `{"a":1} trailing`},
	{`{}`, `{"a":1}{"sub":"x"}`},
	{`{}`, `{"a":1,}`},
	{`{}`, `{"a":[1,]}`},
	{`{}`, `{"a" 1}`},
	{`{}`, `null`},
	{`[]`, `{}`},
	{`{}`, `{"k` + "\u212a" + `":1,"ſub":"x"}`},
	{`{}`, `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`},
	{`{}`, `{"a":tru}`},
	{`{}`, `{"a":-}`},
	{`{}`, `{"a":"x"`},
	{`{"cat":"x"`, `{}`},
}

// FuzzPeek: whatever peek reads, it reads exactly as encoding/json does
// (peekJSON, the reference), on any header and payload; and it is sure of
// Clerk's own tokens.
func FuzzPeek(f *testing.F) {
	for _, s := range peekSeeds {
		f.Add(s[0], s[1])
	}
	enc := base64.RawURLEncoding.EncodeToString
	f.Fuzz(func(t *testing.T, header, payload string) {
		for _, token := range []string{
			enc([]byte(header)) + "." + enc([]byte(payload)) + ".c2ln",
			header + "." + payload + ".", // not base64
		} {
			want, wantOK := peekJSON(token)
			got, ok := peek(token)
			if ok && (got != want || !wantOK) {
				t.Fatalf("header %q, payload %q: peek %+v (%v), peekJSON %+v (%v)", header, payload, got, ok, want, wantOK)
			}
		}
	})
}

// TestPeekFastReadsClerkTokens: the fast path is taken for a session
// token as Clerk mints it, so that a page load does not pay for
// encoding/json.
func TestPeekFastReadsClerkTokens(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	token := enc([]byte(peekSeeds[0][0])) + "." + enc([]byte(peekSeeds[0][1])) + ".c2ln"
	p, sure := peekFast(token)
	if !sure {
		t.Fatal("peekFast gave up on a Clerk session token")
	}
	want := peeked{iss: "https://clerk.example.com", hasIss: true, iat: 1800000000, hasIat: true, exp: 1800000060, hasExp: true, sub: "user_1", cat: "cl_B7d4PD111AAA", typ: "JWT"}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if n := testing.AllocsPerRun(10, func() { peekFast(token) }); n > 1 {
		t.Errorf("%v allocations, want 1", n)
	}
}

// TestTrimScheme: every http:// and https://, in any case, goes, as with
// Clerk's iss.replace(/https?:\/\//gi, ""); a Clerk issuer costs nothing.
func TestTrimScheme(t *testing.T) {
	for in, want := range map[string]string{
		"https://clerk.example.com":   "clerk.example.com",
		"HTTP://clerk.example.com":    "clerk.example.com",
		"Https://a.example/http://b":  "a.example/b",
		"x.example/hTTps://y.example": "x.example/y.example",
		"ftp://clerk.example.com":     "ftp://clerk.example.com",
		"https://https://x":           "x",
		"clerk.example.com":           "clerk.example.com",
		"":                            "",
	} {
		if got := trimScheme(in); got != want {
			t.Errorf("trimScheme(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(10, func() { trimScheme("https://clerk.example.com") }); n != 0 {
		t.Errorf("%v allocations for a Clerk issuer, want 0", n)
	}
}

// peekJSON is the reference peek, through encoding/json, which peek once
// fell back to: it cost hostile cookies milliseconds and megabytes.
func peekJSON(token string) (peeked, bool) {
	var p peeked
	if token == "" || len(token) > maxPeekSize {
		return p, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return p, false
	}
	var h struct {
		Cat any `json:"cat"`
		Typ any `json:"typ"`
	}
	var c struct {
		Iss *json.RawMessage `json:"iss"`
		Iat json.Number      `json:"iat"`
		Exp json.Number      `json:"exp"`
		Sub any              `json:"sub"`
	}
	if !decodeSegment(parts[0], &h) || !decodeSegment(parts[1], &c) {
		return p, false
	}
	p.cat, _ = h.Cat.(string)
	if h.Cat != nil && p.cat == "" {
		p.cat = "?"
	}
	p.typ, _ = h.Typ.(string)
	p.sub, _ = c.Sub.(string)
	if c.Iss != nil {
		var iss any
		_ = json.Unmarshal(*c.Iss, &iss)
		p.iss, _ = iss.(string)
		p.hasIss = iss != nil && iss != "" && iss != false
	}
	p.iat, p.hasIat = number(c.Iat), c.Iat != ""
	p.exp, p.hasExp = number(c.Exp), c.Exp != ""
	if p.hasIss {
		p.issHost = trimScheme(p.iss) // as peek derives it
	}
	return p, true
}

func decodeSegment(seg string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v) == nil
}

func number(n json.Number) int64 {
	if i, err := n.Int64(); err == nil {
		return i
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0
	}
	return int64(f)
}

// TestPeekOfHostileCookiesIsCheap: what no Clerk token holds costs a
// bounded scan and no allocation: a token past maxPeekSize is not read,
// and JSON peek gives up on (a sub of thousands of numbers) is dropped
// without being decoded into anything.
func TestPeekOfHostileCookiesIsCheap(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	numbers := "[" + strings.Repeat("0,", 1300) + "0]"
	hostile := enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(`{"sub":`+numbers+`,"iat":1}`)) + ".c2ln"
	long := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"sub":"user_1","x":"`+strings.Repeat("a", maxPeekSize)+`"}`)) + ".c2ln"
	for name, token := range map[string]string{"hostile": hostile, "too long": long} {
		if _, ok := peek(token); ok {
			t.Fatalf("%s: peek read it", name)
		}
		if n := testing.AllocsPerRun(10, func() { peek(token) }); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
