// Package revoked is the set of revoked sessions a Store keeps in memory,
// and of users whose tokens issued before some time are refused.
//
// Unlike a cache, it never drops a revocation before its term: forgetting
// one early lets a signed-out session back in. Memory is bounded another
// way. Every term is capped (a Gate accepts no token that outlives it), so
// entries leave on their own; revocations made through this process are
// each a successful Backend API call, which Clerk's rate limit bounds; and
// revocations heard from elsewhere are admitted only while fewer than a
// fixed number of them are in force. One that does not fit is refused,
// not made room for, and the caller learns of it.
package revoked

import (
	"container/heap"
	"math"
	"sync"
	"time"
)

// Set is a set of ids, each revoked until its own deadline: a session id
// wholly, a user id for the tokens issued up to a cutoff. It is safe for
// concurrent use.
type Set struct {
	now      func() time.Time
	maxTerm  time.Duration // no entry lasts longer, from when it is added
	maxHeard int           // entries heard from elsewhere held at once

	mu      sync.RWMutex
	entries map[string]*entry
	byEnd   deadlines // every entry, soonest deadline first
	heard   int       // entries not made here
}

type entry struct {
	id     string
	until  time.Time
	cutoff int64 // tokens issued (iat, Unix s) at or before it are refused
	own    bool  // made through this process: never refused
	index  int   // in byEnd
}

// All is the cutoff that refuses every token.
const All = math.MaxInt64

// New returns an empty set. Terms are capped at maxTerm from the moment a
// revocation is added; at most maxHeard revocations heard from elsewhere
// are held at once. now is the clock.
func New(now func() time.Time, maxTerm time.Duration, maxHeard int) *Set {
	return &Set{now: now, maxTerm: maxTerm, maxHeard: maxHeard, entries: make(map[string]*entry)}
}

// AddOwn records a revocation made through this process. It is always
// kept, for the shorter of ttl and the set's longest term.
func (s *Set) AddOwn(id string, ttl time.Duration) { s.AddOwnCutoff(id, All, ttl) }

// AddOwnCutoff is AddOwn for the tokens issued at or before cutoff (Unix
// seconds) only.
func (s *Set) AddOwnCutoff(id string, cutoff int64, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.dropExpired(now)
	s.put(id, now.Add(min(ttl, s.maxTerm)), cutoff, true)
}

// AddHeard records a revocation heard from elsewhere, until the deadline,
// which is capped at the set's longest term from now. It reports false
// when the revocation is not held: the set already holds as many heard
// revocations in force as it may. A deadline already past is ignored and
// reported as held.
func (s *Set) AddHeard(id string, until time.Time) bool { return s.AddHeardCutoff(id, All, until) }

// AddHeardCutoff is AddHeard for the tokens issued at or before cutoff
// (Unix seconds) only.
func (s *Set) AddHeardCutoff(id string, cutoff int64, until time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !until.After(now) {
		return true
	}
	s.dropExpired(now)
	if _, held := s.entries[id]; !held && s.heard >= s.maxHeard {
		return false
	}
	if limit := now.Add(s.maxTerm); until.After(limit) {
		until = limit
	}
	s.put(id, until, cutoff, false)
	return true
}

// Has reports whether the session is revoked now.
func (s *Set) Has(id string) bool { return s.Refuses(id, math.MinInt64) }

// Refuses reports whether a token of id issued at iat (Unix seconds) is
// refused now. It allocates nothing: it runs on every request.
func (s *Set) Refuses(id string, iat int64) bool {
	s.mu.RLock()
	e, ok := s.entries[id]
	held := ok && iat <= e.cutoff && s.now().Before(e.until)
	s.mu.RUnlock()
	return held
}

// Counts returns how many revocations made here and heard from elsewhere
// the set holds, expired ones included until the next addition drops them.
func (s *Set) Counts() (own, heard int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries) - s.heard, s.heard
}

// Room reports how many more heard revocations fit now.
func (s *Set) Room() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpired(s.now())
	return max(s.maxHeard-s.heard, 0)
}

// put adds or extends an entry; a deadline and a cutoff are never
// shortened, and an entry made here stays one.
func (s *Set) put(id string, until time.Time, cutoff int64, own bool) {
	if e, ok := s.entries[id]; ok {
		e.cutoff = max(e.cutoff, cutoff)
		if own && !e.own {
			e.own = true
			s.heard--
		}
		if until.After(e.until) {
			e.until = until
			heap.Fix(&s.byEnd, e.index)
		}
		return
	}
	e := &entry{id: id, until: until, cutoff: cutoff, own: own}
	s.entries[id] = e
	heap.Push(&s.byEnd, e)
	if !own {
		s.heard++
	}
}

func (s *Set) dropExpired(now time.Time) {
	for len(s.byEnd) > 0 && !now.Before(s.byEnd[0].until) {
		e := heap.Pop(&s.byEnd).(*entry)
		delete(s.entries, e.id)
		if !e.own {
			s.heard--
		}
	}
}

// deadlines is a min-heap of entries by deadline.
type deadlines []*entry

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].until.Before(d[j].until) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].index, d[j].index = i, j
}
func (d *deadlines) Push(x any) {
	e := x.(*entry)
	e.index = len(*d)
	*d = append(*d, e)
}
func (d *deadlines) Pop() any {
	old := *d
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	return e
}
