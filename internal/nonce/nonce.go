// Package nonce trades the nonces a browser brings back from Clerk's
// handshake for the handshake's cookie directives, through the Backend
// API, within bounds: a client can make the Gate call Clerk for junk
// nonces only at its own bucket's rate.
//
//	t := nonce.New(nonce.Config{API: sessions, Limiter: perClient, Timeout: 5 * time.Second, Now: time.Now})
//	directives, err := t.Trade(ctx, clientKey, n)
package nonce

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/expiring"
	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/internal/flight"
)

const (
	// maxTradesInFlight bounds the Backend API calls that resolve
	// handshake nonces at once; past it a nonce is not resolved (the
	// browser is decided without it, and at worst handshakes again).
	maxTradesInFlight = 16
	// failedMemory is how long a nonce that could not be resolved is
	// refused without a call, and failedNonces how many are remembered.
	failedMemory = 10 * time.Second
	failedNonces = 1024
)

// API is the Backend API call that trades a nonce (session.Client).
type API interface {
	HandshakePayload(ctx context.Context, nonce string) ([]string, error)
}

// Config is what a Trader needs; every field is required.
type Config struct {
	API     API
	Limiter *fairshare.Limiter // calls per client
	Timeout time.Duration
	Now     func() time.Time
}

// Trader resolves handshake nonces through the Backend API within
// bounds: only nonce-shaped values, one call per nonce however many
// requests carry it, a nonce that failed is refused without a call for a
// while, calls are taken from the sending client's token bucket and the
// Gate's global one (past them, none is made; a nonce Clerk resolves
// gives its client the call back) and a bounded number run at once. A
// client sending junk nonces, replayed or each new, thus costs at most
// its own bucket's rate in calls, never another client's share, and never
// more than the slots in parallel.
type Trader struct {
	api     API
	slots   chan struct{}
	group   singleflight.Group
	failed  *expiring.Cache[string, struct{}]
	limiter *fairshare.Limiter
	timeout time.Duration
	now     func() time.Time
}

// New returns a Trader.
func New(cfg Config) *Trader {
	return &Trader{
		api:     cfg.API,
		slots:   make(chan struct{}, maxTradesInFlight),
		failed:  expiring.New[string, struct{}](failedNonces, cfg.Now),
		limiter: cfg.Limiter,
		timeout: cfg.Timeout,
		now:     cfg.Now,
	}
}

var (
	errShape  = errors.New("handshake nonce: not shaped like one")
	errFailed = errors.New("handshake nonce: failed recently")
	errBusy   = errors.New("handshake nonce: too many resolutions in flight")
	errRate   = errors.New("handshake nonce: too many resolutions this second")
)

// Trade returns the directives of the handshake nonce, for client (a
// fairshare key).
func (t *Trader) Trade(ctx context.Context, client, nonce string) ([]string, error) {
	if !handshake.NonceShaped(nonce) {
		return nil, errShape
	}
	if _, failed := t.failed.Get(nonce); failed {
		return nil, errFailed
	}
	ch := t.group.DoChan(nonce, func() (any, error) {
		if !t.limiter.Take(ctx, client) {
			return nil, errRate
		}
		select {
		case t.slots <- struct{}{}:
		default:
			return nil, errBusy
		}
		defer func() { <-t.slots }()
		// A nonce is good once: the call finishes for whoever waits on it
		// even if the request that started it is gone.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
		defer cancel()
		directives, err := t.api.HandshakePayload(cctx, nonce)
		if err != nil {
			t.failed.Add(nonce, struct{}{}, t.now().Add(failedMemory))
		} else {
			t.limiter.Refund(client)
		}
		return directives, err
	})
	return flight.Await[[]string](ctx, ch, t.timeout, "handshake nonce")
}
