package clerkgate

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

// Refresh limits: what one genuine expired token can cost.
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
//     for RefreshFailureWindow, on every Gate of a shared Store;
//   - at most MaxRefreshesInFlight calls at once in this process, across
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

const (
	defaultRefreshFailureWindow = 10 * time.Second
	defaultMaxRefreshesInFlight = 64
	// defaultMaxExpiredTokenAge: Clerk's refresh endpoint refuses tokens
	// that expired long ago (session_refresh_expired_session_token_too_old)
	// at a cutoff it does not document; clerktest models it as 5 minutes.
	// Older tokens are not worth a call: they make one for a session the
	// sender no longer keeps alive.
	defaultMaxExpiredTokenAge = 5 * time.Minute
)

// RefreshStats counts what expired-session refreshes cost, for metrics:
// Backend API calls, and requests refused without one, by cause.
type RefreshStats struct {
	// Calls is how many refresh calls the Gate made to the Backend API, and
	// Failed how many of them failed (Clerk refused, timed out, or answered
	// with cookies that do not verify).
	Calls, Failed uint64
	// RecentFailure counts refreshes refused because a refresh of the
	// same session failed within RefreshFailureWindow.
	RecentFailure uint64
	// Busy counts refreshes refused because MaxRefreshesInFlight calls
	// were in flight.
	Busy uint64
	// TooOld counts expired tokens not refreshed because they expired more
	// than MaxExpiredTokenAge ago.
	TooOld uint64
	// InFlight is how many calls are in flight now.
	InFlight int
}

// RefreshStats reports the Gate's refresh counters.
func (g *Gate) RefreshStats() RefreshStats {
	c := &g.limits.counts
	return RefreshStats{
		Calls:         c.calls.Load(),
		Failed:        c.failed.Load(),
		RecentFailure: c.recentFailure.Load(),
		Busy:          c.busy.Load(),
		TooOld:        c.tooOld.Load(),
		InFlight:      int(g.limits.inFlight.Load()),
	}
}

type refreshCounts struct {
	calls, failed, recentFailure, busy, tooOld atomic.Uint64
}

// refreshLimits holds the Gate's refresh limits and their state.
type refreshLimits struct {
	window      time.Duration // RefreshFailureWindow
	maxInFlight int64         // MaxRefreshesInFlight
	maxAge      time.Duration // MaxExpiredTokenAge

	inFlight atomic.Int64 // calls in flight, across sessions
	counts   refreshCounts

	mu       sync.Mutex
	sessions map[string]*sessionCall // the call in flight per session key; never more entries than inFlight allows
}

// sessionCall is one refresh call in flight for a session, which the
// session's requests with other pairs wait for.
type sessionCall struct {
	done   chan struct{}
	failed bool // written before done is closed
}

func newRefreshLimits(cfg Config) (*refreshLimits, error) {
	if cfg.RefreshFailureWindow < 0 || cfg.MaxRefreshesInFlight < 0 || cfg.MaxExpiredTokenAge < 0 {
		return nil, errors.New("clerkgate: RefreshFailureWindow, MaxRefreshesInFlight and MaxExpiredTokenAge must not be negative")
	}
	return &refreshLimits{
		window:      orDefault(cfg.RefreshFailureWindow, defaultRefreshFailureWindow),
		maxInFlight: int64(orDefault(cfg.MaxRefreshesInFlight, defaultMaxRefreshesInFlight)),
		maxAge:      orDefault(cfg.MaxExpiredTokenAge, defaultMaxExpiredTokenAge),
		sessions:    make(map[string]*sessionCall),
	}, nil
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
func (g *Gate) callLimited(ctx context.Context, session string, call func(context.Context) (*refreshResult, error)) (*refreshResult, error) {
	l := g.limits
	for {
		if g.refreshFailedRecently(ctx, session) {
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
			return g.callAndRecord(ctx, session, mine, call)
		}
		l.mu.Unlock()

		// Another pair of this session is being refreshed: wait for it.
		// If it failed, so does this one; if it succeeded, this pair may
		// make its own call (its outcome is its own, sealed to it).
		wait := time.NewTimer(g.refreshAfter)
		select {
		case <-other.done:
			wait.Stop()
		case <-wait.C:
			return nil, fmt.Errorf("refresh: another refresh of this session took over %s", g.refreshAfter)
		}
		if other.failed {
			l.counts.recentFailure.Add(1)
			return nil, errRecentFailure
		}
	}
}

// callAndRecord makes the call the session's slot was taken for, and
// frees the slot for the requests waiting on it.
func (g *Gate) callAndRecord(ctx context.Context, session string, mine *sessionCall, call func(context.Context) (*refreshResult, error)) (*refreshResult, error) {
	l := g.limits
	defer func() {
		l.mu.Lock()
		delete(l.sessions, session)
		l.mu.Unlock()
		l.inFlight.Add(-1)
		close(mine.done)
	}()
	l.counts.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, g.refreshAfter)
	res, err := call(cctx)
	cancel()
	if err != nil {
		l.counts.failed.Add(1)
		mine.failed = true
		g.recordRefreshFailure(ctx, session)
	}
	return res, err
}

// refreshFailedRecently asks the Store. A store that fails leaves the
// decision to the process's own limits.
func (g *Gate) refreshFailedRecently(ctx context.Context, session string) bool {
	ctx, cancel := context.WithTimeout(ctx, g.refreshAfter)
	defer cancel()
	failed, err := g.store.RefreshFailed(ctx, session, g.limits.window)
	if err != nil {
		// Debug: a store that is down says so itself, once.
		g.log.Debug("clerkgate: refresh coordination store failed to say whether a refresh failed recently",
			"err", err)
	}
	return failed
}

func (g *Gate) recordRefreshFailure(ctx context.Context, session string) {
	ctx, cancel := context.WithTimeout(ctx, g.refreshAfter)
	defer cancel()
	if err := g.store.FailRefresh(ctx, session, g.limits.window); err != nil {
		g.log.Warn("clerkgate: refresh coordination store failed to keep a failed refresh; other replicas may call Clerk for the session once more",
			"err", err)
	}
}
