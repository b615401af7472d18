package clerkgate

import (
	"hash/maphash"
	"strings"
	"sync/atomic"

	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/cookies"
)

// peekMemo remembers what recent session tokens say about themselves
// (handshake.PeekToken), for handshake.Cookies.SessionPeek: a browser sends one
// token on every page load for about a minute, and reading it (two
// base64 segments and their JSON) was more than half of what a signed-in
// page load cost the Gate. The answer depends on the token alone, so a
// remembered one is never stale; only the memory needs a bound.
//
// It is a table of peekSlots entries, each chosen by a hash of the token
// with a seed of the Gate's own (so that no client can aim at another's
// entry), replaced whole by the last token to land there: lock-free, and
// at most peekSlots tokens of at most handshake's peek limit (4 KiB)
// each. Only tokens read as JWTs are remembered: a junk cookie costs what
// it did, and evicts nothing. And only tokens whose every byte is a
// cookie-octet, so that a remembered one needs no octet check when it
// comes back (peekReader.known).
type peekMemo struct {
	seed  maphash.Seed
	slots [peekSlots]atomic.Pointer[peekEntry]
}

// peekSlots bounds the memo: 1,024 tokens, about 1 MiB of Clerk's
// session tokens (4 MiB at most). A site with more browsers active at
// once than that peeks some tokens again, as it did before.
const peekSlots = 1024

type peekEntry struct {
	token string
	peek  handshake.TokenPeek
}

func newPeekMemo() *peekMemo { return &peekMemo{seed: maphash.MakeSeed()} }

// slot is token's slot, chosen by a hash of its last bytes alone: a
// token's signature, which differs between any two tokens Clerk mints
// (their headers, at the start, are alike), and the bytes an attacker
// would have to vary to spread junk over the slots, which the seed hides.
// Hashing a kilobyte token whole cost as much as the octet check the memo
// saves; an entry is still compared on the whole token.
func (m *peekMemo) slot(token string) *atomic.Pointer[peekEntry] {
	tail := token[max(0, len(token)-peekTail):]
	return &m.slots[maphash.String(m.seed, tail)%peekSlots]
}

// peekTail is how many of a token's last bytes choose its slot: 64 of
// the 342 characters of an RS256 signature.
const peekTail = 64

// lookup is token's entry, or nil.
func (m *peekMemo) lookup(token string) *peekEntry {
	if e := m.slot(token).Load(); e != nil && e.token == token {
		return e
	}
	return nil
}

// peek is handshake.PeekToken(token), remembered.
func (m *peekMemo) peek(token string) handshake.TokenPeek {
	slot := m.slot(token)
	if e := slot.Load(); e != nil && e.token == token {
		return e.peek
	}
	p := handshake.PeekToken(token)
	if p.Sure() && cookies.ValidValue(token) {
		// A copy: token is part of the request's Cookie header, which
		// the entry must not keep alive.
		slot.Store(&peekEntry{token: strings.Clone(token), peek: p})
	}
	return p
}

// peekReader reads one request's session cookies through the memo, so
// that each is looked up once: Find asks known about each long value
// (a remembered token needs no octet check), and of tells the decision
// what the token says, from the entry known found.
type peekReader struct {
	memo *peekMemo
	hits [2]*peekEntry // the session cookies, plain and suffixed
}

// known is cookies.Find's known: whether v is remembered, and so holds
// only cookie-octets.
func (r *peekReader) known(v string) bool {
	e := r.memo.lookup(v)
	if e != nil {
		r.hits[1] = r.hits[0]
		r.hits[0] = e
	}
	return e != nil
}

// of is handshake.PeekToken(token), for a session cookie's value as Find
// read it: from the entry known found for it, or read and remembered.
func (r *peekReader) of(token string) handshake.TokenPeek {
	if token == "" {
		return handshake.TokenPeek{}
	}
	for _, e := range r.hits {
		if e != nil && e.token == token {
			return e.peek
		}
	}
	return r.memo.peek(token)
}
