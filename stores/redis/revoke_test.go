package redisstore_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

// What a Redis writer can and cannot do to revocations. The writer here is
// a plain Redis client with the replicas' key names, as anyone with write
// access to the Redis would be.

// fakeClock is a Gate clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func withClock(clock *fakeClock) replicaMod {
	return func(cfg *clerkgate.Config, _ *redisstore.Options) { cfg.Clock = clock.Now }
}

func withRevocationCacheSize(n int) replicaMod {
	return func(_ *clerkgate.Config, o *redisstore.Options) { o.RevocationCacheSize = n }
}

// writer is a Redis client that writes to the app's revocation keys.
type writer struct {
	t       *testing.T
	rdb     redis.UniversalClient
	sharded bool
	key     string // the revoked set, and the name of the revocation channel
}

func (c *app) writer() *writer {
	c.t.Helper()
	rdb := c.redis.client(c.t)
	c.waitSubscribed(5 * time.Second)
	chans, err := subscribers(context.Background(), rdb, c.prefix+":*:revoked")
	require.NoError(c.t, err)
	require.Len(c.t, chans, 1)
	w := &writer{t: c.t, rdb: rdb, sharded: c.redis.seeds != ""}
	for ch := range chans {
		w.key = ch
	}
	return w
}

func (w *writer) publish(payloads ...string) {
	w.t.Helper()
	ctx := context.Background()
	for chunk := range slicesChunk(payloads, 1000) {
		_, err := w.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range chunk {
				publish(ctx, p, w.sharded, w.key, m)
			}
			return nil
		})
		require.NoError(w.t, err)
	}
}

func slicesChunk(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

func revocation(until time.Time, id string) string {
	return strconv.FormatInt(until.UnixMilli(), 10) + " " + id
}

// sessionID is shaped like Clerk's: "sess_" and base62.
func sessionID(tag string, i int) string { return "sess_" + tag + strconv.Itoa(i) }

const tenYears = 10 * 365 * 24 * time.Hour

// A writer that publishes a revocation, or writes one into the shared set,
// with an expiry years away revokes the session for the Gate's revocation
// term (MaxTokenLifetime + 2 × skew, 70 s by default), not for years; and
// the entry in the set is capped too, so one write does not come back at
// every later load.
func TestAWriterCannotRevokeForLongerThanTheTerm(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		clock := newFakeClock()
		c := newApp(t, be, 1, relaxed, withClock(clock))
		a := c.replicas[0]
		w := c.writer()
		ctx := context.Background()
		published, stored := c.fake.CreateSession("user_1"), c.fake.CreateSession("user_2")
		token := func(s clerktest.Session) string { return c.fake.Token(s.ID, clerktest.IssuedAt(clock.Now())) }

		require.NoError(t, w.rdb.ZAdd(ctx, w.key, redis.Z{Member: stored.ID, Score: float64(time.Now().Add(tenYears).UnixMilli())}).Err())
		w.publish(revocation(time.Now().Add(tenYears), published.ID))
		b := c.addReplica("B") // loads the set when it subscribes
		c.waitSubscribed(5 * time.Second)
		require.Eventually(t, func() bool {
			return c.get(a, bearer(token(published))).reason == "session_revoked" &&
				c.get(b, bearer(token(stored))).reason == "session_revoked"
		}, 3*time.Second, 10*time.Millisecond, "the writer's revocations do take effect")
		score, err := w.rdb.ZScore(ctx, w.key, stored.ID).Result()
		require.NoError(t, err)
		require.LessOrEqual(t, score, float64(time.Now().Add(70*time.Second).UnixMilli()), "capped in Redis as well")
		ttl, err := w.rdb.PTTL(ctx, w.key).Result()
		require.NoError(t, err)
		require.LessOrEqual(t, ttl, 70*time.Second, "the set expires with its last (capped) entry")

		clock.Advance(69 * time.Second)
		require.Equal(t, "session_revoked", c.get(a, bearer(token(published))).reason)
		require.Equal(t, "session_revoked", c.get(b, bearer(token(stored))).reason)
		clock.Advance(2 * time.Second)
		for _, r := range []*replica{a, b} {
			for _, s := range []clerktest.Session{published, stored} {
				rep := c.get(r, bearer(token(s)))
				require.Equal(t, http.StatusOK, rep.status, "replica %s still refuses %s 71 s later: %s", r.name, s.ID, rep.body)
			}
		}
	})
}

// 10,001 junk revocations, well-formed, do not push out a real one: not
// on the replica that made it, nor on the one that heard of it. The local
// set stays within RevocationCacheSize and refuses the excess instead.
// Deleting the shared set does not undo a revocation a replica holds
// either; it only hides it from replicas that start afterwards.
func TestAJunkFloodEvictsNoRevocation(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 2, relaxed)
		a, b := c.replicas[0], c.replicas[1]
		w := c.writer()
		s := c.fake.CreateSession("user_1")
		tok := c.fake.Token(s.ID)
		_, err := a.gate.Sessions().Revoke(context.Background(), s.ID)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return c.get(b, bearer(tok)).reason == "session_revoked" }, 3*time.Second, 5*time.Millisecond)

		junk := make([]string, 10_001)
		until := time.Now().Add(time.Minute)
		for i := range junk {
			junk[i] = revocation(until, sessionID("junk", i))
		}
		w.publish(junk...)
		heardAll := func(r *replica, want uint64) func() bool {
			return func() bool {
				st := r.store.RevocationStats()
				return uint64(st.Heard)+st.Refused >= want
			}
		}
		require.Eventually(t, heardAll(a, 10_001), 20*time.Second, 10*time.Millisecond)
		require.Eventually(t, heardAll(b, 10_002), 20*time.Second, 10*time.Millisecond)
		for _, r := range []*replica{a, b} {
			st := r.store.RevocationStats()
			require.Equal(t, 10_000, st.Heard, "replica %s holds no more heard revocations than RevocationCacheSize", r.name)
			require.Positive(t, st.Refused)
			require.Equal(t, "session_revoked", c.get(r, bearer(tok)).reason, "replica %s forgot the revocation", r.name)
		}
		require.Equal(t, 1, a.store.RevocationStats().Own)
		require.Equal(t, 1, c.get(a, bearer(c.fake.Token(c.fake.CreateSession("user_2").ID))).status/200, "other sessions pass")

		require.NoError(t, w.rdb.Del(context.Background(), w.key).Err())
		for _, r := range []*replica{a, b} {
			require.Equal(t, "session_revoked", c.get(r, bearer(tok)).reason, "replica %s forgot the revocation", r.name)
		}
		late := c.addReplica("C")
		c.waitSubscribed(5 * time.Second)
		require.Equal(t, http.StatusOK, c.get(late, bearer(tok)).status, "a replica started after the deletion never learns of it")
	})
}

// A replica whose local set is full refuses what it hears, and is then in
// doubt: once room frees up, it reloads the shared set and learns the
// revocations it refused.
func TestAFullReplicaReloadsWhatItRefused(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		clock := newFakeClock()
		c := newApp(t, be, 1, relaxed, withRevocationCacheSize(5))
		a := c.replicas[0]
		b := c.addReplica("B", withClock(clock))
		w := c.writer()
		junk := make([]string, 5)
		for i := range junk {
			junk[i] = revocation(time.Now().Add(time.Minute), sessionID("junk", i))
		}
		w.publish(junk...) // on the channel only: not in the shared set
		require.Eventually(t, func() bool { return b.store.RevocationStats().Heard == 5 }, 3*time.Second, 5*time.Millisecond)

		s := c.fake.CreateSession("user_1")
		_, err := a.gate.Sessions().Revoke(context.Background(), s.ID)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return b.store.RevocationStats().Refused == 1 }, 3*time.Second, 5*time.Millisecond)
		reloads := b.store.RevocationStats().Reloads
		require.Equal(t, http.StatusOK, c.get(b, bearer(c.fake.Token(s.ID, clerktest.IssuedAt(clock.Now())))).status,
			"full, replica B could not take the revocation in")

		clock.Advance(61 * time.Second) // the junk expires on B's clock
		require.Eventually(t, func() bool {
			return c.get(b, bearer(c.fake.Token(s.ID, clerktest.IssuedAt(clock.Now())))).reason == "session_revoked"
		}, 5*time.Second, 20*time.Millisecond, "replica B did not reload the shared set")
		require.Greater(t, b.store.RevocationStats().Reloads, reloads)
	})
}

// Messages and set entries that are not exactly "<expiry ms> sess_<base62>"
// are refused and counted, never held: no sign or other number syntax, no
// extra spaces, no other id shape, no id over 64 characters.
func TestMalformedRevocationsAreRefused(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 1, relaxed)
		a := c.replicas[0]
		w := c.writer()
		s := c.fake.CreateSession("user_1")
		ms := strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)
		malformed := []string{
			"+" + ms + " " + s.ID,
			"-" + ms + " " + s.ID,
			ms + "  " + s.ID,
			" " + ms + " " + s.ID,
			ms + " " + s.ID + " ",
			ms + " " + s.ID + "\n",
			ms + " " + s.ID + "\x00",
			ms + "\t" + s.ID,
			"0x" + strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 16) + " " + s.ID,
			"1e13 " + s.ID,
			ms + ".5 " + s.ID,
			"99999999999999999999 " + s.ID,
			ms,
			ms + " ",
			"",
			ms + " sess_",
			ms + " user_2abc",
			ms + " SESS_" + strings.TrimPrefix(s.ID, "sess_"),
			ms + " sess_" + strings.Repeat("a", 60),
			ms + " sess_" + strings.Repeat("a", 1<<20),
			ms + " sess_abc-def",
			ms + " sess_ſ",
			// Users' revocations: "<expiry ms> user_<base62> <cutoff s>".
			ms + " user_2abc ",
			ms + " user_2abc -1",
			ms + " user_2abc +1",
			ms + " user_2abc 1e9",
			ms + " user_2abc 12 ",
			ms + " user_2abc  12",
			ms + " user_2abc 1234567890123456",
			ms + " user_ 12",
			ms + " user_2a-c 12",
			ms + " " + s.ID + " 12",
		}
		w.publish(malformed...)
		// A well-formed revocation after them: once it is held, they have all
		// been read.
		sentinel := c.fake.CreateSession("user_3")
		w.publish(revocation(time.Now().Add(time.Minute), sentinel.ID))
		require.Eventually(t, func() bool { return c.get(a, bearer(c.fake.Token(sentinel.ID))).reason == "session_revoked" },
			3*time.Second, 5*time.Millisecond)
		require.EqualValues(t, len(malformed), a.store.RevocationStats().Malformed)
		require.Equal(t, 1, a.store.RevocationStats().Heard)

		// A well-formed user revocation is held: the user's tokens issued
		// up to the cutoff are refused, later ones pass.
		u := c.fake.CreateSession("user_4")
		cutoff := time.Now().Add(-10 * time.Second)
		w.publish(revocation(time.Now().Add(time.Minute), "user_4 "+strconv.FormatInt(cutoff.Unix(), 10)))
		require.Eventually(t, func() bool {
			return c.get(a, bearer(c.fake.Token(u.ID, clerktest.IssuedAt(cutoff)))).reason == "token_outdated"
		}, 3*time.Second, 5*time.Millisecond)
		require.Equal(t, http.StatusOK, c.get(a, bearer(c.fake.Token(u.ID))).status)
		require.Equal(t, http.StatusOK, c.get(a, bearer(c.fake.Token(s.ID))).status)

		// The same in the shared set: a replica that loads it refuses them.
		ctx := context.Background()
		score := float64(time.Now().Add(time.Minute).UnixMilli())
		for _, m := range []string{s.ID + " ", s.ID + "\n", "sess_" + strings.Repeat("a", 1000), "user_2abc", sentinel.ID} {
			require.NoError(t, w.rdb.ZAdd(ctx, w.key, redis.Z{Member: m, Score: score}).Err())
		}
		late := c.addReplica("B")
		c.waitSubscribed(5 * time.Second)
		// Reloads counts a load as it starts: wait for what it refuses.
		require.Eventually(t, func() bool { return late.store.RevocationStats().Malformed >= 4 }, 3*time.Second, 5*time.Millisecond)
		require.EqualValues(t, 4, late.store.RevocationStats().Malformed)
		require.Positive(t, late.store.RevocationStats().Reloads)
		require.Equal(t, http.StatusOK, c.get(late, bearer(c.fake.Token(s.ID))).status)
		require.Equal(t, "session_revoked", c.get(late, bearer(c.fake.Token(sentinel.ID))).reason)
	})
}
