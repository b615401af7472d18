package clerkgate

import (
	"context"
	"errors"
	"fmt"

	"github.com/clerkgate/clerkgate/internal/refresh"
	"github.com/clerkgate/clerkgate/verifier"
)

// Refreshing expired sessions is package internal/refresh's; the rule of
// when to refresh is the pipeline's (tryRefresh). Here the Gate hands the
// refresher its Store, its verifier and its limits, and reports its
// counters.

// RefreshStats counts what expired-session refreshes cost (Stats.Refresh):
// Backend API calls, and requests refused without one, by cause.
type RefreshStats struct {
	// Calls is how many refresh calls the Gate made to the Backend API, and
	// Failed how many of them failed (Clerk refused, timed out, or answered
	// with cookies that do not verify).
	Calls, Failed uint64
	// RecentFailure counts refreshes refused because a refresh of the
	// same session failed within Config.Refresh.FailureWindow.
	RecentFailure uint64
	// Busy counts refreshes refused because Config.Refresh.MaxInFlight calls
	// were in flight.
	Busy uint64
	// TooOld counts expired tokens not refreshed because they expired more
	// than Config.Refresh.MaxExpiredTokenAge ago.
	TooOld uint64
	// InFlight is how many calls are in flight now.
	InFlight int
}

// refreshStats reports the Gate's refresh counters.
func (g *Gate) refreshStats() RefreshStats {
	if g.refresher == nil {
		return RefreshStats{}
	}
	s := g.refresher.Stats()
	return RefreshStats{Calls: s.Calls, Failed: s.Failed, RecentFailure: s.RecentFailure, Busy: s.Busy, TooOld: s.TooOld, InFlight: s.InFlight}
}

// newRefresher returns the Gate's refresher, or nil without a secret key
// (no Backend API to refresh through).
func newRefresher(cfg Config, g *Gate) (*refresh.Refresher, error) {
	rc := refresh.Config{
		Store:         refreshStore{g.store},
		SessionCookie: sessionCookie + "_" + g.cookieSuffix,
		Timeout:       g.refreshAfter,
		FailureWindow: cfg.Refresh.FailureWindow,
		MaxInFlight:   cfg.Refresh.MaxInFlight,
		MaxExpiredAge: cfg.Refresh.MaxExpiredTokenAge,
		Now:           g.now,
		Log:           g.log,
		Accept: func(ctx context.Context, token string) (*verifier.Claims, error) {
			c, err := g.verifier.Verify(ctx, token)
			var ve *verifier.Error
			if errors.As(err, &ve) && ve.Reason == ReasonSessionPending && ve.Claims != nil {
				// A pending session's token is held to the same lifetime.
				if lerr := g.checkLifetime((*Claims)(ve.Claims)); lerr != nil {
					return nil, lerr
				}
			}
			if err != nil {
				return nil, err
			}
			return c, g.checkLifetime((*Claims)(c))
		},
	}
	if g.sessions != nil {
		rc.Sessions = g.sessions
	}
	f, err := refresh.New(rc)
	if err != nil {
		return nil, fmt.Errorf("clerkgate: %w", err)
	}
	if g.sessions == nil || g.cookieSuffix == "" {
		return nil, nil // checked, but nothing to refresh with
	}
	return f, nil
}

// refreshStore is the Gate's Store as the refresher sees it.
type refreshStore struct{ Store }

func (s refreshStore) PublishRefresh(ctx context.Context, key string, out refresh.Outcome) error {
	return s.Store.PublishRefresh(ctx, key, RefreshOutcome{Sealed: out.Sealed, Failed: out.Failed, TTL: out.TTL})
}

var _ refresh.Store = refreshStore{}
