// Package ratelimit holds the token bucket that bounds the Backend API
// calls anonymous clients can cause: one call per credential or nonce
// never seen before is all a forger gets, so the total of those is what
// needs a ceiling.
package ratelimit

import (
	"sync"
	"time"
)

// Bucket is a token bucket on an injectable clock: Burst calls at once,
// refilled at PerSecond. The zero Bucket refuses everything; use New.
type Bucket struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
}

// New returns a full bucket of burst tokens refilled at perSecond.
func New(perSecond float64, burst int) *Bucket {
	return &Bucket{rate: perSecond, burst: float64(burst), tokens: float64(burst)}
}

// Take spends a token if one is left at now and reports whether it did.
// A clock that steps back refills nothing and is not remembered.
func (b *Bucket) Take(now time.Time) bool {
	_, ok := b.Reserve(now, 0)
	return ok
}

// Reserve spends a token that will be there within maxWait of now, and
// says how long to wait for it: 0 when one is left now. Past maxWait it
// spends nothing and reports false. Tokens reserved ahead are owed: the
// bucket refills them before any other.
func (b *Bucket) Reserve(now time.Time, maxWait time.Duration) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	if b.rate <= 0 || maxWait <= 0 {
		return 0, false
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	if wait > maxWait {
		return 0, false
	}
	b.tokens--
	return wait, true
}

// TakeAbove spends a token if more than floor are left at now, so that
// at least floor stay, and reports whether it did. It never waits: a
// caller kept above a floor must not reserve tokens ahead either, or its
// reservations would queue in front of the callers the floor is kept
// for.
func (b *Bucket) TakeAbove(now time.Time, floor float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens < floor+1 {
		return false
	}
	b.tokens--
	return true
}

// refill adds what the time since the last call earned, up to the burst.
// A clock that steps back refills nothing and is not remembered.
func (b *Bucket) refill(now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
}

// Return gives back a token that was taken or reserved and not spent on
// a call, up to the burst.
func (b *Bucket) Return() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.burst, b.tokens+1)
}
