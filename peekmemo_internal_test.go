package clerkgate

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/clerkgate/clerkgate/handshake"
)

// peekToken is a JWT as Clerk mints one (for peeking: the signature is
// not read), for the user sub issued at iat.
func peekToken(sub string, iat int) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_1","typ":"JWT"}`)) + "." +
		enc([]byte(fmt.Sprintf(`{"exp":%d,"iat":%d,"iss":"https://clerk.example.com","sub":%q}`, iat+60, iat, sub))) + ".c2ln"
}

// TestPeekMemoAnswersAsPeekToken: the memo answers what PeekToken answers
// for every token, the first time and again, when another token took its
// slot in between, and for a token it does not remember (junk, which
// takes no slot).
func TestPeekMemoAnswersAsPeekToken(t *testing.T) {
	t.Parallel()
	m := newPeekMemo()
	slot := m.slot
	a := peekToken("user_a", 1800000000)
	// Another user's token in the same slot, which must not be taken
	// for a's.
	var b string
	for i := 0; b == ""; i++ {
		if c := peekToken(fmt.Sprint("user_", i), 1800000000+i); slot(c) == slot(a) && c != a {
			b = c
		}
	}
	junk := strings.Repeat("x", 40) + ".e30.c2ln"
	for _, token := range []string{a, a, b, a, b, b, junk, junk, "", "not.a.jwt"} {
		want := handshake.PeekToken(token)
		if got := m.peek(token); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: memo %+v, PeekToken %+v", token, got, want)
		}
	}
	if e := slot(b).Load(); e == nil || e.token != b {
		t.Fatalf("b's slot holds %+v, want b, the last token peeked there", e)
	}
	if e := slot(junk).Load(); e != nil && e.token == junk {
		t.Fatal("a token that is no JWT was remembered")
	}
	if reflect.DeepEqual(handshake.PeekToken(a), handshake.PeekToken(b)) {
		t.Fatal("two users' tokens peek alike: the test proves nothing")
	}
}

// TestPeekMemoTellsTokensWithOneSignatureApart: two tokens that end alike
// (a signature copied onto another payload) share a slot, and each is
// still answered as PeekToken answers it.
func TestPeekMemoTellsTokensWithOneSignatureApart(t *testing.T) {
	t.Parallel()
	m := newPeekMemo()
	sig := "." + strings.Repeat("s", 2*peekTail)
	a := strings.TrimSuffix(peekToken("user_a", 1800000000), ".c2ln") + sig
	b := strings.TrimSuffix(peekToken("user_b", 1800000001), ".c2ln") + sig
	if m.slot(a) != m.slot(b) {
		t.Fatal("tokens that end alike were given different slots: the test proves nothing")
	}
	for _, token := range []string{a, b, a, b} {
		if got, want := m.peek(token), handshake.PeekToken(token); !reflect.DeepEqual(got, want) || !want.Sure() {
			t.Fatalf("%q: memo %+v, PeekToken %+v", token, got, want)
		}
	}
	if reflect.DeepEqual(handshake.PeekToken(a), handshake.PeekToken(b)) {
		t.Fatal("the two tokens peek alike: the test proves nothing")
	}
}

// TestPeekMemoKeepsNoRequestMemory: an entry holds a copy of the token,
// never the request's Cookie header it was cut from.
func TestPeekMemoKeepsNoRequestMemory(t *testing.T) {
	t.Parallel()
	m := newPeekMemo()
	token := peekToken("user_a", 1800000000)
	header := "theme=dark; __session=" + token + "; x=y"
	cut := header[len("theme=dark; __session=") : len(header)-len("; x=y")]
	m.peek(cut)
	e := m.slot(token).Load()
	if e == nil || e.token != token {
		t.Fatal("the token was not remembered")
	}
	if unsafe.StringData(e.token) == unsafe.StringData(cut) {
		t.Fatal("the entry keeps the Cookie header alive")
	}
}

// TestPeekMemoVouchesOnlyForCookieOctets: a remembered token skips
// cookies.Find's octet check (peekReader.known), so the memo must never
// remember one that check refuses, however well it reads as a JWT: a
// '%' in its signature, which Clerk would percent-decode, would otherwise
// be read as the token on its second page load and malformed on its first.
func TestPeekMemoVouchesOnlyForCookieOctets(t *testing.T) {
	t.Parallel()
	m := newPeekMemo()
	good := peekToken("user_a", 1800000000)
	for _, bad := range []string{good + "%41", good + ",", good + "\\", `"` + good + `"`} {
		if !handshake.PeekToken(bad).Sure() && !strings.HasPrefix(bad, `"`) {
			t.Fatalf("%q: PeekToken gives up on it, so this case proves nothing", bad)
		}
		m.peek(bad)
		m.peek(bad)
		if m.lookup(bad) != nil {
			t.Errorf("%q was remembered", bad)
		}
		r := peekReader{memo: m}
		if r.known(bad) {
			t.Errorf("%q is vouched for", bad)
		}
	}
	m.peek(good)
	r := peekReader{memo: m}
	if !r.known(good) || !reflect.DeepEqual(r.of(good), handshake.PeekToken(good)) {
		t.Fatal("a token peeked before is not vouched for, or not answered as PeekToken answers")
	}
}
