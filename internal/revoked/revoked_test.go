package revoked

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time              { return c.t }
func (c *clock) advance(d time.Duration)     { c.t = c.t.Add(d) }
func newSet(c *clock, heard int) *Set        { return New(c.now, time.Minute, heard) }
func id(i int) string                        { return "sess_" + strconv.Itoa(i) }
func (s *Set) heardCount() int               { _, h := s.Counts(); return h }
func (s *Set) ownCount() int                 { o, _ := s.Counts(); return o }
func at(c *clock, d time.Duration) time.Time { return c.t.Add(d) }

// A flood of heard revocations never pushes out one in force, made here or
// heard: what does not fit is refused, and the caller told.
func TestNothingInForceIsEvicted(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	s := newSet(c, 3)
	s.AddOwn("sess_mine", time.Minute)
	require.True(t, s.AddHeard("sess_theirs", at(c, time.Minute)))
	for i := range 10_001 {
		s.AddHeard(id(i), at(c, time.Minute))
	}
	require.True(t, s.Has("sess_mine"))
	require.True(t, s.Has("sess_theirs"))
	require.Equal(t, 3, s.heardCount(), "heard revocations stay within their bound")
	require.True(t, s.Has(id(0)))
	require.True(t, s.Has(id(1)))
	require.False(t, s.Has(id(2)), "refused, not made room for")
	require.False(t, s.AddHeard("sess_late", at(c, time.Minute)))
	require.Zero(t, s.Room())

	// Made here is never refused, whatever the heard ones.
	for i := range 100 {
		s.AddOwn(id(100_000+i), time.Minute)
	}
	require.Equal(t, 101, s.ownCount())
	require.True(t, s.Has(id(100_099)))

	// Terms end; then there is room again.
	c.advance(time.Minute)
	require.False(t, s.Has("sess_mine"))
	require.False(t, s.Has("sess_theirs"))
	require.Equal(t, 3, s.Room())
	require.True(t, s.AddHeard("sess_late", at(c, time.Minute)))
	require.True(t, s.Has("sess_late"))
	require.Equal(t, 0, s.ownCount(), "expired entries are dropped")
}

// No deadline outlasts the longest term, however far away it was said to
// be; and none is shortened by a later, earlier one.
func TestTermsAreCappedAndNeverShortened(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	s := newSet(c, 10)
	require.True(t, s.AddHeard("sess_forever", at(c, 10*365*24*time.Hour)))
	s.AddOwn("sess_own", 10*365*24*time.Hour)
	require.True(t, s.AddHeard("sess_x", at(c, 50*time.Second)))
	require.True(t, s.AddHeard("sess_x", at(c, 10*time.Second)))
	require.True(t, s.AddHeard("sess_past", at(c, -time.Second)), "a past deadline is no news")
	require.False(t, s.Has("sess_past"))

	c.advance(59 * time.Second)
	require.True(t, s.Has("sess_forever"))
	require.True(t, s.Has("sess_own"))
	require.False(t, s.Has("sess_x"), "ends at the later of its deadlines, 50 s")
	c.advance(time.Second)
	require.False(t, s.Has("sess_forever"), "capped at the longest term")
	require.False(t, s.Has("sess_own"))
}

// A heard revocation later made here becomes one of ours, and counts as
// such; heard once more, it stays ours.
func TestOwnWinsOverHeard(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	s := newSet(c, 1)
	require.True(t, s.AddHeard("sess_a", at(c, time.Second)))
	s.AddOwn("sess_a", time.Minute)
	require.Equal(t, 0, s.heardCount())
	require.True(t, s.AddHeard("sess_a", at(c, time.Second)))
	require.Equal(t, 0, s.heardCount())
	require.True(t, s.AddHeard("sess_b", at(c, time.Second)), "the heard bound is free again")
	c.advance(30 * time.Second)
	require.True(t, s.Has("sess_a"))
}

// A user's cutoff refuses the tokens issued at or before it, never those
// issued after; a later cutoff moves it on, an earlier one does not move
// it back, and it ends with its term.
func TestCutoffs(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	s := newSet(c, 10)
	s.AddOwnCutoff("user_a", 999_990, time.Minute)
	require.True(t, s.Refuses("user_a", 999_980))
	require.True(t, s.Refuses("user_a", 999_990), "the cutoff's own second is refused")
	require.False(t, s.Refuses("user_a", 999_991))
	require.False(t, s.Has("user_a") && s.Refuses("user_a", 999_991))

	require.True(t, s.AddHeardCutoff("user_a", 999_995, at(c, time.Minute)))
	require.True(t, s.Refuses("user_a", 999_995))
	require.True(t, s.AddHeardCutoff("user_a", 999_000, at(c, time.Minute)))
	require.True(t, s.Refuses("user_a", 999_995), "never moved back")

	s.AddOwnCutoff("user_b", All, time.Minute)
	require.True(t, s.Refuses("user_b", 2_000_000_000), "every token")
	require.False(t, s.Refuses("user_c", 0))

	c.advance(time.Minute)
	require.False(t, s.Refuses("user_a", 0))
	require.False(t, s.Refuses("user_b", 0))
}

func TestRefusesAllocatesNothing(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	s := newSet(c, 10)
	s.AddOwnCutoff("user_a", 999_990, time.Minute)
	require.Zero(t, testing.AllocsPerRun(100, func() { s.Refuses("user_a", 999_999) }))
}
