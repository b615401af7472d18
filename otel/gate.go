package clerkotel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"

	"github.com/clerkgate/clerkgate"
)

// ObserveGate registers counters read from g's own statistics
// (Gate.Stats) when metrics are collected, so that they cost the requests nothing:
//
//   - clerkgate.token_cache.lookups {lookup}: verified-token cache lookups,
//     by clerkgate.cache.result (hit, miss);
//   - clerkgate.refresh.calls {call}: refresh calls made to the Backend
//     API, by clerkgate.outcome (success, failure);
//   - clerkgate.refresh.refused {refresh}: refreshes refused without a
//     call, by clerkgate.cause (recent_failure, busy, too_old);
//   - clerkgate.machine.lookups {lookup}: opaque machine credentials
//     answered from the cache (hit), by a Backend API call (call), or
//     refused by the bound on new ones (busy).
//
// Unregister the result when the Gate is closed.
func (t *Telemetry) ObserveGate(g *clerkgate.Gate) (metric.Registration, error) {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := t.meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	cache := counter("clerkgate.token_cache.lookups", "{lookup}", "Verified-token cache lookups, by result.")
	calls := counter("clerkgate.refresh.calls", "{call}", "Refresh calls made to the Backend API, by outcome.")
	refused := counter("clerkgate.refresh.refused", "{refresh}", "Refreshes refused without a Backend API call, by cause.")
	machines := counter("clerkgate.machine.lookups", "{lookup}", "Opaque machine credential lookups, by result.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	hit, miss := metric.WithAttributes(ResultKey.String("hit")), metric.WithAttributes(ResultKey.String("miss"))
	call, busy := metric.WithAttributes(ResultKey.String("call")), metric.WithAttributes(ResultKey.String("busy"))
	success, failure := metric.WithAttributes(OutcomeKey.String("success")), metric.WithAttributes(OutcomeKey.String("failure"))
	recent := metric.WithAttributes(CauseKey.String("recent_failure"))
	full := metric.WithAttributes(CauseKey.String("busy"))
	old := metric.WithAttributes(CauseKey.String("too_old"))

	return t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := g.Stats()
		cs := s.Tokens
		o.ObserveInt64(cache, int64(cs.Hits), hit)
		o.ObserveInt64(cache, int64(cs.Misses), miss)

		rs := s.Refresh
		o.ObserveInt64(calls, int64(rs.Calls-rs.Failed), success)
		o.ObserveInt64(calls, int64(rs.Failed), failure)
		o.ObserveInt64(refused, int64(rs.RecentFailure), recent)
		o.ObserveInt64(refused, int64(rs.Busy), full)
		o.ObserveInt64(refused, int64(rs.TooOld), old)

		ms := s.Machine
		o.ObserveInt64(machines, int64(ms.Hits), hit)
		o.ObserveInt64(machines, int64(ms.Calls), call)
		o.ObserveInt64(machines, int64(ms.Busy), busy)
		return nil
	}, cache, calls, refused, machines)
}
