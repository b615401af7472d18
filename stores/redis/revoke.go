package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clerkgate/clerkgate/stores/redis/internal/revoked"
)

// Revocations under a hostile writer.
//
// Whoever can write to Redis can publish revocations and edit the revoked
// set. Such a writer can sign sessions out; it must not be able to sign
// one out for longer than a token lives, nor to make a replica forget a
// revocation. So every revocation heard (a message, or an entry of the
// set) is capped at the Gate's RevocationTerm from when it is heard;
// messages and entries that are not exactly "<expiry ms> sess_<base62>"
// are refused; and the local copy never drops a revocation in force to
// make room. It holds at most Options.RevocationCacheSize heard ones: past
// that, what is heard is refused and counted, and the replica is in doubt
// until it has reloaded the shared set with room to spare. Revocations
// made through this replica's own Gate are always held.

// maxSessionIDLen bounds a session id: "sess_" and Clerk's 27 base62
// characters, with room to spare should Clerk lengthen them.
const maxSessionIDLen = 64

// reloadEvery is how often a replica in doubt reloads the shared set.
const reloadEvery = time.Second

// warnEvery spaces out the warnings about refused revocations, so that a
// flood of them is not also a flood of log lines.
const warnEvery = 10 * time.Second

// RevocationStats counts what a Store did with the revocations it heard of
// from other replicas (through Redis) since it started.
type RevocationStats struct {
	// Own and Heard are the revocations held now: made through this
	// replica's Gate, and heard from Redis. Expired ones may be counted
	// until the next revocation is added.
	Own, Heard int
	// Refused counts revocations heard but not held, because
	// Options.RevocationCacheSize of them were already in force.
	Refused uint64
	// Malformed counts pub/sub messages and set entries refused as not
	// shaped like a revocation: not "<expiry ms> sess_<base62>", or an id
	// longer than 64 characters.
	Malformed uint64
	// Reloads counts loads of the shared set: on every (re)subscription,
	// and while the store is in doubt after refusing a revocation.
	Reloads uint64
}

// RevocationStats reports what the store did with revocations.
func (s *Store) RevocationStats() RevocationStats {
	st := RevocationStats{Refused: s.refused.Load(), Malformed: s.malformed.Load(), Reloads: s.reloads.Load()}
	if s.revoked != nil {
		st.Own, st.Heard = s.revoked.Counts()
	}
	return st
}

// validSessionID reports whether id has the shape of a Clerk session id.
func validSessionID(id string) bool { return validID(id, "sess_") }

// validUserID reports whether id has the shape of a Clerk user id.
func validUserID(id string) bool { return validID(id, "user_") }

func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || len(id) > maxSessionIDLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// A user's revocation (from a Clerk webhook, through the Gate) is kept in
// the same set and channel as sessions', as the member "<user id>
// <cutoff>": the user's tokens issued (iat, Unix s) at or before the
// cutoff are refused.

// userMember is the set member of a user's revocation.
func userMember(userID string, cutoff int64) string {
	return userID + " " + strconv.FormatInt(max(cutoff, 0), 10)
}

// parseMember reads a member of the revoked set: a session id (every token
// refused) or "<user id> <cutoff>".
func parseMember(m string) (id string, cutoff int64, ok bool) {
	if validSessionID(m) {
		return m, revoked.All, true
	}
	id, c, found := strings.Cut(m, " ")
	if !found || !validUserID(id) || c == "" || len(c) > 15 {
		return "", 0, false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return "", 0, false
		}
	}
	cutoff, err := strconv.ParseInt(c, 10, 64)
	return id, cutoff, err == nil
}

// parseRevocation reads "<expiry ms> <member>": decimal digits only (no
// sign, no spaces), one space, a member (see parseMember).
func parseRevocation(payload string) (id string, cutoff, untilMs int64, ok bool) {
	if len(payload) > 20+maxSessionIDLen+16 {
		return "", 0, 0, false
	}
	i := 0
	for i < len(payload) && '0' <= payload[i] && payload[i] <= '9' {
		i++
	}
	if i == 0 || i > 15 || i >= len(payload) || payload[i] != ' ' {
		return "", 0, 0, false
	}
	ms, err := strconv.ParseInt(payload[:i], 10, 64)
	if err != nil {
		return "", 0, 0, false
	}
	id, cutoff, ok = parseMember(payload[i+1:])
	return id, cutoff, ms, ok
}

// revokeScript adds a session id to the revoked set (never shortening its
// stay), drops the expired ones, makes the set expire with its last entry
// and tells the replicas, with ARGV[5]: PUBLISH, or SPUBLISH on a cluster
// (the channel has the set's slot).
var revokeScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
redis.call(ARGV[5], ARGV[4], ARGV[2] .. ' ' .. ARGV[1])
return 1
`)

// loadScript drops the expired revocations, caps those that would outlast
// the term (ARGV[2], now + term, in Unix ms) so that one write cannot
// revoke a session at every later load, and returns the ARGV[3] entries in
// force that expire last, with their scores.
var loadScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local over = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf', 'LIMIT', 0, ARGV[3])
for _, id in ipairs(over) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
`)

// RevokeSession refuses the session in this replica at once, for its
// whole term, then tells the others through Redis. If Redis cannot be
// reached, the revocation is shared when it is back (if it has not
// expired by then).
func (s *Store) RevokeSession(ctx context.Context, sessionID string, ttl time.Duration) error {
	ttl = min(ttl, s.term)
	s.revoked.AddOwn(sessionID, ttl)
	if !validSessionID(sessionID) {
		return errors.New("redisstore: not shared: not shaped like a Clerk session id, so other replicas would refuse it")
	}
	return s.share(ctx, sessionID, time.Now().Add(ttl).UnixMilli())
}

// share adds a member to the shared set and tells the replicas; when Redis
// cannot be reached, it is kept for sharing once Redis is back.
func (s *Store) share(ctx context.Context, member string, until int64) error {
	err := s.call(ctx, "share a revocation", func(ctx context.Context) error {
		return s.runRevoke(ctx, member, until)
	})
	if err != nil {
		s.mu.Lock()
		if len(s.unshared) < maxUnshared {
			s.unshared[member] = until
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *Store) runRevoke(ctx context.Context, sessionID string, until int64) error {
	return revokeScript.Run(ctx, s.rdb, []string{s.revokedKey()},
		sessionID, until, time.Now().UnixMilli(), s.revokedCh, s.publishCommand()).Err()
}

// publishCommand is what the revocation script publishes with.
func (s *Store) publishCommand() string {
	if s.sharded {
		return "SPUBLISH"
	}
	return "PUBLISH"
}

// SessionRevoked reads the local copy of the revoked set: no Redis call.
func (s *Store) SessionRevoked(sessionID string) bool {
	return s.revoked.Has(sessionID)
}

// RevokeUser refuses the user's tokens issued at or before cutoff in this
// replica at once, for its whole term, then tells the others through
// Redis, as RevokeSession does.
func (s *Store) RevokeUser(ctx context.Context, userID string, cutoff time.Time, ttl time.Duration) error {
	ttl = min(ttl, s.term)
	c := max(cutoff.Unix(), 0)
	s.revoked.AddOwnCutoff(userID, c, ttl)
	if !validUserID(userID) {
		return errors.New("redisstore: not shared: not shaped like a Clerk user id, so other replicas would refuse it")
	}
	return s.share(ctx, userMember(userID, c), time.Now().Add(ttl).UnixMilli())
}

// UserRevoked reads the local copy of the revoked set: no Redis call.
func (s *Store) UserRevoked(userID string, issuedAt time.Time) bool {
	return s.revoked.Refuses(userID, issuedAt.Unix())
}

// MarkOnce sets the key, unless it is set, with SET NX PX.
func (s *Store) MarkOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	var first bool
	err := s.call(ctx, "mark a webhook", func(ctx context.Context) error {
		var err error
		first, err = s.rdb.SetNX(ctx, s.markKey(key), "1", max(ttl, time.Millisecond)).Result()
		return err
	})
	return first, err
}

// Unmark deletes the key.
func (s *Store) Unmark(ctx context.Context, key string) error {
	return s.call(ctx, "unmark a webhook", func(ctx context.Context) error {
		return s.rdb.Del(ctx, s.markKey(key)).Err()
	})
}

func (s *Store) markKey(key string) string { return s.base + ":mark:{" + key + "}" }

// learnRevocation takes in a revocation message from another replica (or
// from whoever else publishes on the channel).
func (s *Store) learnRevocation(payload string) {
	id, cutoff, until, ok := parseRevocation(payload)
	if !ok {
		s.malformed.Add(1)
		s.warnRefused("redisstore: refusing malformed revocation messages", "channel", s.revokedCh)
		return
	}
	s.hear(id, cutoff, until)
}

// hear holds a revocation heard through Redis, capped at the term, or
// counts it refused and puts the store in doubt.
func (s *Store) hear(id string, cutoff, untilMs int64) {
	if s.revoked.AddHeardCutoff(id, cutoff, s.localUntil(untilMs)) {
		return
	}
	s.refused.Add(1)
	s.inDoubt.Store(true)
	s.warnRefused("redisstore: the local revoked set holds RevocationCacheSize revocations heard from Redis; refusing more until some expire (is someone flooding the channel?)",
		"size", s.opts.RevocationCacheSize)
}

// warnRefused logs at most once per warnEvery, with the counts so far.
func (s *Store) warnRefused(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(warnEvery) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, append(args, "refused", s.refused.Load(), "malformed", s.malformed.Load())...)
}

// loadRevocations reads the revocations in force from the shared set, at
// most as many as the local copy may hold, latest expiry first, capping
// them at the term in Redis as well. The store stays in doubt while one of
// them does not fit, or when there may be more than it read.
func (s *Store) loadRevocations() error {
	s.inDoubt.Store(false)
	s.lastLoad = time.Now()
	s.reloads.Add(1)
	now := time.Now()
	var flat []any
	err := s.listenerCall("load revocations", func(ctx context.Context) error {
		var err error
		flat, err = loadScript.Run(ctx, s.rdb, []string{s.revokedKey()},
			now.UnixMilli(), now.Add(s.term).UnixMilli(), s.opts.RevocationCacheSize).Slice()
		return err
	})
	if err != nil {
		s.inDoubt.Store(true)
		return err
	}
	if len(flat)/2 >= s.opts.RevocationCacheSize {
		s.inDoubt.Store(true)
	}
	for i := 0; i+1 < len(flat); i += 2 {
		member, _ := flat[i].(string)
		score, _ := flat[i+1].(string)
		ms, err := strconv.ParseFloat(score, 64)
		id, cutoff, ok := parseMember(member)
		if err != nil || ms != ms || !ok {
			s.malformed.Add(1)
			continue
		}
		// The script capped every score at now + term.
		s.hear(id, cutoff, int64(min(ms, float64(now.Add(s.term).UnixMilli()))))
	}
	return nil
}

// reloadIfInDoubt reloads the shared set when the store refused a
// revocation (or could not read them all) and now has room for more, at
// most once per reloadEvery. Only the listener calls it.
func (s *Store) reloadIfInDoubt() error {
	if !s.inDoubt.Load() || time.Since(s.lastLoad) < reloadEvery || s.revoked.Room() == 0 {
		return nil
	}
	return s.loadRevocations()
}
