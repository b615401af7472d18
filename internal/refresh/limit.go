package refresh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Limits: what one genuine expired token can cost.
//
// Anyone who signs up gets genuine expired tokens of their own session, and
// an expired token passes every check up to the refresh. Outcomes are
// sealed per (expired token, refresh cookie) pair, so a made-up refresh
// cookie makes a pair no request has seen, and each such pair used to cost
// one Backend API call on the app's secret key: enough to spend the app's
// rate limit, after which Clerk refused genuine browsers' refreshes too.
// Three limits now hold, all keyed by session, never by pair:
//
//   - one call in flight per session in this process: requests for the
//     session with other pairs wait for it;
//   - after a call for the session fails, its other refreshes are refused
//     for Config.FailureWindow, on every Gate of a shared Store;
//   - at most Config.MaxInFlight calls at once in this process, across
//     sessions; past it, refuse at once rather than queue.
//
// A genuine browser sends one pair (its tabs share cookies), so it makes one
// call as before; its parallel requests share it through the pair's
// singleflight and outcome, which stay sealed to that pair. An attacker's
// junk pairs for their own session cost one failed call, then nothing until
// the window passes. Junk pairs for someone else's session (with a stolen
// expired token) can only make that session's server-side refresh fail
// for a window; they never receive its cookies, and the browser's clerk-js
// renews the token through the Frontend API regardless. Refreshes of other
// sessions wait for nothing: the only thing they share with a flood is the
// bound on calls in flight, and a flood holds at most one slot per session.

// Defaults of Config.FailureWindow, MaxInFlight and MaxExpiredAge.
const (
	DefaultFailureWindow = 10 * time.Second
	DefaultMaxInFlight   = 64
	// DefaultMaxExpiredAge: Clerk's refresh endpoint refuses tokens
	// that expired long ago (session_refresh_expired_session_token_too_old)
	// at a cutoff it does not document; clerktest models it as 5 minutes.
	// Older tokens are not worth a call: they make one for a session the
	// sender no longer keeps alive.
	DefaultMaxExpiredAge = 5 * time.Minute
)

// Stats counts what refreshes cost: Backend API calls, and refreshes
// refused without one, by cause (see clerkgate.Stats.Refresh).
type Stats struct {
	Calls, Failed, RecentFailure, Busy, TooOld uint64
	InFlight                                   int
}

// Stats reports the counters.
func (f *Refresher) Stats() Stats {
	c := &f.limits.counts
	return Stats{
		Calls:         c.calls.Load(),
		Failed:        c.failed.Load(),
		RecentFailure: c.recentFailure.Load(),
		Busy:          c.busy.Load(),
		TooOld:        c.tooOld.Load(),
		InFlight:      int(f.limits.inFlight.Load()),
	}
}

type counts struct {
	calls, failed, recentFailure, busy, tooOld atomic.Uint64
}

// limits holds the refresh limits and their state.
type limits struct {
	window      time.Duration // Config.FailureWindow
	maxInFlight int64         // Config.MaxInFlight
	maxAge      time.Duration // Config.MaxExpiredAge

	inFlight atomic.Int64 // calls in flight, across sessions
	counts   counts

	mu       sync.Mutex
	sessions map[string]*sessionCall // the call in flight per session key; never more entries than inFlight allows
}

// sessionCall is one refresh call in flight for a session, which the
// session's requests with other pairs wait for.
type sessionCall struct {
	done   chan struct{}
	failed bool // written before done is closed
}

// Refusals without a call. They are not Clerk's answers, so they carry no
// Clerk code; the counters tell them apart.
var (
	errRecentFailure = errors.New("refresh: this session's refresh failed moments ago; not calling Clerk again yet")
	errBusy          = errors.New("refresh: too many refresh calls in flight")
)

// sessionKey names a session in the Store: a digest, like every other
// name the Store sees.
func sessionKey(sessionID string) string {
	sum := sha256.Sum256([]byte("clerkgate refresh session\x00" + sessionID))
	return hex.EncodeToString(sum[:])
}

// callLimited makes the refresh call for one pair within the limits: it
// waits for a call of the same session that is in flight, refuses when
// one failed within the window or when too many calls are in flight, and
// records a failure for the session's other requests. ctx bounds nothing
// but the store; each wait and the call have their own bound.
func (f *Refresher) callLimited(ctx context.Context, session string, call func(context.Context) (*Result, error)) (*Result, error) {
	l := f.limits
	for {
		if f.failedRecently(ctx, session) {
			l.counts.recentFailure.Add(1)
			return nil, errRecentFailure
		}
		l.mu.Lock()
		other, busy := l.sessions[session]
		if !busy {
			if l.inFlight.Add(1) > l.maxInFlight {
				l.inFlight.Add(-1)
				l.mu.Unlock()
				l.counts.busy.Add(1)
				return nil, errBusy
			}
			mine := &sessionCall{done: make(chan struct{})}
			l.sessions[session] = mine
			l.mu.Unlock()
			return f.callAndRecord(ctx, session, mine, call)
		}
		l.mu.Unlock()

		// Another pair of this session is being refreshed: wait for it.
		// If it failed, so does this one; if it succeeded, this pair may
		// make its own call (its outcome is its own, sealed to it).
		wait := time.NewTimer(f.timeout)
		select {
		case <-other.done:
			wait.Stop()
		case <-wait.C:
			return nil, fmt.Errorf("refresh: another refresh of this session took over %s", f.timeout)
		}
		if other.failed {
			l.counts.recentFailure.Add(1)
			return nil, errRecentFailure
		}
	}
}

// callAndRecord makes the call the session's slot was taken for, and
// frees the slot for the requests waiting on it.
func (f *Refresher) callAndRecord(ctx context.Context, session string, mine *sessionCall, call func(context.Context) (*Result, error)) (*Result, error) {
	l := f.limits
	defer func() {
		l.mu.Lock()
		delete(l.sessions, session)
		l.mu.Unlock()
		l.inFlight.Add(-1)
		close(mine.done)
	}()
	l.counts.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	res, err := call(cctx)
	cancel()
	if err != nil {
		l.counts.failed.Add(1)
		mine.failed = true
		f.recordFailure(ctx, session)
	}
	return res, err
}

// refreshFailedRecently asks the Store. A store that fails leaves the
// decision to the process's own limits.
func (f *Refresher) failedRecently(ctx context.Context, session string) bool {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	failed, err := f.store.RefreshFailed(ctx, session, f.limits.window)
	if err != nil {
		// Debug: a store that is down says so itself, once.
		f.log.Debug("clerkgate: refresh coordination store failed to say whether a refresh failed recently",
			"err", err)
	}
	return failed
}

func (f *Refresher) recordFailure(ctx context.Context, session string) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := f.store.FailRefresh(ctx, session, f.limits.window); err != nil {
		f.log.Warn("clerkgate: refresh coordination store failed to keep a failed refresh; other replicas may call Clerk for the session once more",
			"err", err)
	}
}
