package backendapi

import (
	"math/rand/v2"
	"time"
)

// retryPolicy says how GETs are retried. It is a value on the Client, not
// package state, so clients never affect each other.
type retryPolicy struct {
	attempts int           // total attempts, including the first
	base     time.Duration // backoff before the 2nd attempt, doubled after
	cap      time.Duration // largest backoff
	// maxWait is the longest Retry-After we sleep through. A server asking
	// for longer gets its error back at once, RetryAfter set, so the
	// caller decides; we never park a request for minutes.
	maxWait time.Duration
}

// defaultRetryPolicy: at most three attempts, 100 ms then about 200 ms
// apart, and a Retry-After of up to 10 s honoured.
func defaultRetryPolicy() retryPolicy {
	return retryPolicy{attempts: 3, base: 100 * time.Millisecond, cap: 2 * time.Second, maxWait: 10 * time.Second}
}

// backoff is the wait before attempt n+1 after n failed attempts: capped
// exponential with "equal jitter" (half fixed, half random) so that many
// clients failing together do not retry in lockstep, yet never retry at
// once. math/rand/v2's top-level functions are goroutine-safe and seeded
// per process, so no package state is needed.
func (p retryPolicy) backoff(n int) time.Duration {
	d := p.base
	for i := 1; i < n && d < p.cap; i++ {
		d *= 2
	}
	d = min(d, p.cap)
	half := d / 2
	return half + rand.N(half+1)
}
