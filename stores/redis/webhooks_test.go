package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
	"github.com/clerkgate/clerkgate/webhooks"
)

// webhookApp is two replicas on one Redis, each serving Clerk's webhooks
// too; the fake delivers them to replica A, as a load balancer might.
type webhookApp struct {
	*app
	hooks []string // each replica's webhook URL

	mu      sync.Mutex
	handled map[string]int // message id → calls of the app's handler, over both replicas
}

func newWebhookApp(t *testing.T, be backend) *webhookApp {
	c := newApp(t, be, 0, relaxed)
	w := &webhookApp{app: c, handled: map[string]int{}}
	secret := func(cfg *clerkgate.Config, _ *redisstore.Options) { cfg.WebhookSigningSecret = c.fake.WebhookSecret() }
	for _, name := range []string{"A", "B"} {
		r := c.addReplica(name, secret)
		srv := httptest.NewServer(r.gate.Webhooks(func(_ context.Context, e *webhooks.Event) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.handled[e.MessageID]++
			return nil
		}))
		t.Cleanup(srv.Close)
		w.hooks = append(w.hooks, srv.URL)
	}
	// Deliveries end before the servers close: the fake's Close waits for
	// them.
	t.Cleanup(func() { c.fake.SendWebhooksTo("") })
	c.fake.SendWebhooksTo(w.hooks[0])
	c.waitSubscribed(5 * time.Second)
	return w
}

// delivery waits for the delivery of an event of type typ, after the
// first n, and returns it.
func (w *webhookApp) delivery(n int, typ string) clerktest.WebhookDelivery {
	w.t.Helper()
	var found clerktest.WebhookDelivery
	require.Eventually(w.t, func() bool {
		for _, d := range w.fake.WebhookDeliveries()[n:] {
			if d.Type == typ {
				found = d
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond)
	require.Equal(w.t, http.StatusOK, found.Status, "%s delivered", typ)
	return found
}

// refusedBy waits until every replica refuses tok with reason, and
// returns when the last one did.
func (w *webhookApp) refusedBy(tok, reason string) time.Time {
	w.t.Helper()
	began := time.Now()
	for _, r := range w.replicas {
		for {
			rep := w.get(r, bearer(tok))
			if rep.reason == reason {
				break
			}
			require.Equal(w.t, http.StatusOK, rep.status, "replica %s: %s", r.name, rep.body)
			// A guard against waiting forever, not a latency bound: the
			// test reports the latencies.
			require.Less(w.t, time.Since(began), 15*time.Second, "replica %s still accepts the token", r.name)
			time.Sleep(200 * time.Microsecond)
		}
	}
	return time.Now()
}

// A session revoked in Clerk (the fake's Backend API, not through the
// Gate), a deleted user and a removed membership are refused by both
// replicas soon after Clerk's webhook reaches one of them; a token issued
// after a membership change passes; a message delivered again, to either
// replica, is answered 200 and handled once.
func TestWebhooksReachEveryReplica(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		w := newWebhookApp(t, be)
		f := w.fake
		var lat []time.Duration
		measure := func(d clerktest.WebhookDelivery, refused time.Time) {
			lat = append(lat, refused.Sub(d.Sent))
		}
		api := func(method, path, body string) {
			req, err := http.NewRequestWithContext(t.Context(), method, f.URL()+path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+f.SecretKey())
			res, err := f.Client().Do(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode, "%s %s", method, path)
		}
		accepted := func(tok string) {
			for _, r := range w.replicas {
				require.Equal(t, http.StatusOK, w.get(r, bearer(tok)).status, "replica %s", r.name)
			}
		}

		const rounds = 5
		for range rounds {
			// A session revoked in Clerk.
			s := f.CreateSession("")
			tok := f.Token(s.ID)
			accepted(tok)
			n := len(f.WebhookDeliveries())
			api(http.MethodPost, "/v1/sessions/"+s.ID+"/revoke", "")
			refused := w.refusedBy(tok, "session_revoked")
			measure(w.delivery(n, "session.revoked"), refused)

			// A user deleted in Clerk: every session's tokens.
			u := f.CreateSession("")
			toks := []string{f.Token(u.ID), f.Token(f.CreateSession(u.UserID).ID)}
			accepted(toks[0])
			n = len(f.WebhookDeliveries())
			api(http.MethodDelete, "/v1/users/"+u.UserID, "")
			refused = w.refusedBy(toks[0], "token_outdated")
			measure(w.delivery(n, "user.deleted"), refused)
			w.refusedBy(toks[1], "token_outdated")

			// A membership removed: tokens issued up to the change are
			// refused, a token issued after it passes.
			m := f.CreateSession("", clerktest.WithOrg("org_1", "acme", "org:admin"))
			pre := f.Token(m.ID)
			accepted(pre)
			n = len(f.WebhookDeliveries())
			api(http.MethodDelete, "/v1/organizations/org_1/memberships/"+m.UserID, "")
			refused = w.refusedBy(pre, "token_outdated")
			measure(w.delivery(n, "organizationMembership.deleted"), refused)
			accepted(f.Token(m.ID, clerktest.IssuedAt(time.Now().Add(time.Second))))
		}
		slices.Sort(lat)
		t.Logf("%s: a change made in Clerk, refused by both replicas: median %s, worst %s after the webhook's delivery began, over %d changes (revoked sessions, deleted users, removed memberships)",
			t.Name(), lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond), len(lat))

		// Replays, to the replica that handled the message and to the
		// other: 200, and the app's handler is not called again.
		ds := f.WebhookDeliveries()
		for _, d := range ds {
			require.Equal(t, http.StatusOK, d.Status, d.Type)
		}
		first := ds[0].MessageID
		require.True(t, f.RedeliverWebhook(first))
		f.SendWebhooksTo(w.hooks[1])
		require.True(t, f.RedeliverWebhook(first))
		w.mu.Lock()
		defer w.mu.Unlock()
		require.Len(t, w.handled, len(ds), "every message handled")
		for id, calls := range w.handled {
			require.Equal(t, 1, calls, "message %s handled once", id)
		}
	})
}
