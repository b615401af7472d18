package clerkgate

import (
	"hash/maphash"
	"strings"
	"sync/atomic"

	"github.com/clerkgate/clerkgate/handshake"
)

// peekMemo remembers what recent session tokens say about themselves
// (handshake.PeekToken), for handshake.Config.Peek: a browser sends one
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
// it did, and evicts nothing.
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

// peek is handshake.PeekToken(token), remembered.
func (m *peekMemo) peek(token string) handshake.TokenPeek {
	slot := &m.slots[maphash.String(m.seed, token)%peekSlots]
	if e := slot.Load(); e != nil && e.token == token {
		return e.peek
	}
	p := handshake.PeekToken(token)
	if p.Sure() {
		// A copy: token is part of the request's Cookie header, which
		// the entry must not keep alive.
		slot.Store(&peekEntry{token: strings.Clone(token), peek: p})
	}
	return p
}
