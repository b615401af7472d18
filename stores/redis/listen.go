package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// listen keeps a subscription to the store's two channels until Close,
// starting it over whenever it breaks. Each time it is (re)established the
// replica shares the revocations Redis missed and reloads the revoked set,
// so nothing published during an outage is lost.
func (s *Store) listen() {
	defer s.wg.Done()
	delay := 50 * time.Millisecond
	for {
		wasUp, err := s.subscribeOnce()
		if s.ctx.Err() != nil {
			return
		}
		if wasUp {
			delay = 50 * time.Millisecond
		}
		if err != nil {
			// Only logged: the calls of refreshes and revocations decide
			// for themselves whether Redis answers.
			s.logDown("subscribe", err)
			// The node that owned the channels' slot may have failed over:
			// the next attempt should find the new owner.
			s.reloadSlots()
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		delay = min(2*delay, maxReconnectDelay)
	}
}

// subscribeOnce runs one subscription until it fails or the store closes.
// wasUp reports whether it got as far as a full resync.
func (s *Store) subscribeOnce() (wasUp bool, err error) {
	// No channels yet, so no I/O.
	ps, subscribe, subscribed := s.rdb.Subscribe(s.ctx), (*redis.PubSub).Subscribe, "subscribe"
	if s.sharded {
		ps, subscribe, subscribed = s.rdb.SSubscribe(s.ctx), (*redis.PubSub).SSubscribe, "ssubscribe"
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ps.Close()
		return false, nil
	}
	s.pubsub = ps
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.pubsub == ps {
			s.pubsub = nil
		}
		s.mu.Unlock()
		ps.Close()
	}()

	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	// Both channels hash to one slot, so on a cluster one connection to
	// the node that owns it carries them.
	err = subscribe(ps, ctx, s.revokedCh, s.refreshCh)
	cancel()
	if err != nil {
		return false, err
	}
	heard := time.Now()
	// catchUp is when a cluster replica reads the shared set once more
	// after subscribing: a revocation published while the shard was changing
	// hands (a failover) can reach neither the old subscription nor the
	// new one, and the resync may have read the set just before it.
	var catchUp time.Time
	for {
		msg, err := ps.ReceiveTimeout(s.ctx, healthInterval)
		if s.ctx.Err() != nil {
			return wasUp, nil
		}
		if !catchUp.IsZero() && time.Now().After(catchUp) {
			catchUp = time.Time{}
			if err := s.loadRevocations(); err != nil {
				return wasUp, err
			}
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return wasUp, err
			}
			if err := s.reloadIfInDoubt(); err != nil {
				return wasUp, err
			}
			s.shareUnsharedNow()
			if time.Since(heard) > 3*healthInterval {
				return wasUp, errors.New("the subscription got no answer to pings")
			}
			ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
			err = ps.Ping(ctx)
			cancel()
			if err != nil {
				return wasUp, err
			}
			continue
		}
		heard = time.Now()
		if err := s.reloadIfInDoubt(); err != nil {
			return wasUp, err
		}
		s.shareUnsharedNow()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "unsubscribe" || m.Kind == "sunsubscribe" {
				// A cluster node drops the subscribers of a slot it no
				// longer owns, such as a master demoted after a failover.
				return wasUp, fmt.Errorf("the node dropped the subscription to %s", m.Channel)
			}
			if m.Kind == subscribed && m.Channel == s.revokedCh {
				if err := s.resync(); err != nil {
					return wasUp, err
				}
				wasUp = true
				if s.sharded {
					catchUp = time.Now().Add(reloadEvery)
				}
				s.recovered()
				// A publication may have been missed while the
				// subscription was down: let waiting refreshes look.
				s.wake("")
			}
		case *redis.Message:
			switch m.Channel {
			case s.revokedCh:
				s.learnRevocation(m.Payload)
			case s.refreshCh:
				s.wake(m.Payload)
			}
		}
	}
}

// resync shares the revocations made while Redis was unreachable, then
// loads every revocation still in force. It runs right after subscribing,
// so a revocation is either in the set it loads or in a later message.
func (s *Store) resync() error {
	if err := s.shareUnshared(); err != nil {
		return err
	}

	// Loading the scripts now spares the first refresh after a (re)start
	// a round trip, and opens a pooled connection. Not on a cluster, where
	// it takes every node: the subscription must depend on the node that
	// owns the channels alone, not wait for a failed one elsewhere.
	if !s.sharded {
		for _, script := range []*redis.Script{claimScript, publishScript, revokeScript, loadScript} {
			if err := s.listenerCall("load scripts", func(ctx context.Context) error {
				return script.Load(ctx, s.rdb).Err()
			}); err != nil {
				return err
			}
		}
	}
	return s.loadRevocations()
}

// listenerCall runs one call of the subscription's within Options.Timeout.
// Its failures end the subscription, which starts over; they do not make
// the store skip Redis.
func (s *Store) listenerCall(what string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	defer cancel()
	if err := f(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// reloadSlots asks a cluster client to read again which node owns which
// slot, in the background, rather than wait for its periodic reload.
func (s *Store) reloadSlots() {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		cc.ReloadState(s.ctx)
	}
}

// shareUnshared shares the revocations that Redis missed, those still in
// force.
func (s *Store) shareUnshared() error {
	s.lastShare = time.Now()
	s.mu.Lock()
	pending := make(map[string]int64, len(s.unshared))
	for id, until := range s.unshared {
		pending[id] = until
	}
	s.mu.Unlock()
	now := time.Now().UnixMilli()
	for id, until := range pending {
		if until > now {
			if err := s.listenerCall("share a revocation", func(ctx context.Context) error {
				return s.runRevoke(ctx, id, until)
			}); err != nil {
				return err
			}
		}
		s.mu.Lock()
		delete(s.unshared, id)
		s.mu.Unlock()
	}
	return nil
}

// shareUnsharedNow tries, at most once per healthInterval, to share what
// Redis missed while the subscription held: on a cluster, calls to the
// revoked set's slot fail while a failed master awaits its successor, yet
// a subscription on the slot's replica lives through it, so no resync
// comes. A failure leaves the revocations for the next try.
func (s *Store) shareUnsharedNow() {
	s.mu.Lock()
	pending := len(s.unshared)
	s.mu.Unlock()
	if pending == 0 || time.Since(s.lastShare) < healthInterval {
		return
	}
	if err := s.shareUnshared(); err != nil {
		// The slot's master may have failed over: the next try should
		// find the new one, as the next subscription does.
		s.log.Debug("redisstore: revocations Redis missed are not shared yet", "pending", pending, "err", err)
		s.reloadSlots()
	}
}
