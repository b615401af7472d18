package verifier_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/testkit"
	"github.com/clerkgate/clerkgate/verifier"
)

func TestCacheHitRechecksTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.vec.Now
	v := f.verifier(t, func(c *verifier.Config) { c.Clock = func() time.Time { return time.Unix(now, 0) } })
	tok := f.sign(t, f.header(), f.claims()) // exp = Now+60
	ctx := context.Background()

	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, verifier.CacheStats{Hits: 1, Misses: 1, Entries: 1}, v.CacheStats())

	now += 65 // exp <= now - skew
	_, err = v.Verify(ctx, tok)
	require.ErrorIs(t, err, verifier.ReasonTokenExpired)
	require.Equal(t, uint64(2), v.CacheStats().Hits, "the expiry came from the cached entry")
	var ve *verifier.Error
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "sess_123", ve.Claims.SessionID, "an expired hit still offers its claims for refresh")
}

// TestVerifyAtJudgesAtTheInstantGiven: VerifyAt uses the instant it is
// given, not the Verifier's clock, on a first check and on a cache hit
// alike: a token that is good by the clock is expired at a later instant,
// and one the clock calls expired is good at an earlier one.
func TestVerifyAtJudgesAtTheInstantGiven(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.vec.Now
	v := f.verifier(t, func(c *verifier.Config) { c.Clock = func() time.Time { return time.Unix(now, 0) } })
	ctx := context.Background()
	later := time.Unix(f.vec.Now+65, 0) // exp = Now+60, past the skew
	for i, tok := range []string{f.sign(t, f.header(), f.claims()), f.sign(t, f.header(), testkit.With(f.claims(), "sid", "sess_2"))} {
		if i == 1 {
			_, err := v.Verify(ctx, tok) // the second token is judged from the cache
			require.NoError(t, err)
		}
		_, err := v.VerifyAt(ctx, tok, later)
		require.ErrorIs(t, err, verifier.ReasonTokenExpired, "token %d", i)
		_, err = v.Verify(ctx, tok)
		require.NoError(t, err, "token %d by the clock", i)
	}
	require.Equal(t, uint64(2), v.CacheStats().Hits, "the second token's VerifyAt and Verify after it were hits")

	now += 65
	tok := f.sign(t, f.header(), testkit.With(f.claims(), "sid", "sess_3"))
	_, err := v.Verify(ctx, tok)
	require.ErrorIs(t, err, verifier.ReasonTokenExpired)
	_, err = v.VerifyAt(ctx, tok, time.Unix(f.vec.Now, 0))
	require.NoError(t, err, "good at the instant it was issued")
}

func TestCacheHitRechecksNotBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.vec.Now
	v := f.verifier(t, func(c *verifier.Config) { c.Clock = func() time.Time { return time.Unix(now, 0) } })
	tok := f.sign(t, f.header(), testkit.With(f.claims(), "nbf", f.vec.Now+3))
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	now -= 10 // the clock stepped back: nbf is now beyond the skew
	_, err = v.Verify(context.Background(), tok)
	require.ErrorIs(t, err, verifier.ReasonTokenNotYetValid)
}

func TestCacheDropsTokensOfRemovedKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	tok := f.sign(t, f.header(), f.claims())
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)

	delete(f.keys, f.kid) // the key set rotated the key out
	_, err = v.Verify(context.Background(), tok)
	require.ErrorIs(t, err, verifier.ReasonKeyNotFound)
	require.Zero(t, v.CacheStats().Entries)
}

func TestCacheDropsTokensWhenKeyMaterialChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	tok := f.sign(t, f.header(), f.claims())
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)

	k := f.keys[f.kid]
	k.Public = &f.foreign.PublicKey // same kid, other key
	f.keys[f.kid] = k
	_, err = v.Verify(context.Background(), tok)
	require.ErrorIs(t, err, verifier.ReasonSignatureInvalid)
}

func TestCacheNeverStoresFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	good := f.sign(t, f.header(), f.claims())
	_, err := v.Verify(context.Background(), good)
	require.NoError(t, err)

	// The same token with one signature character changed is another
	// token: no hit, and it fails on its own merits, every time.
	i, swap := len(good)-5, "A"
	if good[i] == 'A' {
		swap = "B"
	}
	flipped := good[:i] + swap + good[i+1:]
	for range 2 {
		_, err = v.Verify(context.Background(), flipped)
		require.ErrorIs(t, err, verifier.ReasonSignatureInvalid)
	}
	require.Equal(t, 1, v.CacheStats().Entries)
}

func TestCacheDisabled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, func(c *verifier.Config) { c.CacheSize = -1 })
	tok := f.sign(t, f.header(), f.claims())
	for range 2 {
		_, err := v.Verify(context.Background(), tok)
		require.NoError(t, err)
	}
	require.Equal(t, verifier.CacheStats{}, v.CacheStats())
}

func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, func(c *verifier.Config) { c.CacheSize = 3 })
	for i := range 10 {
		tok := f.sign(t, f.header(), testkit.With(f.claims(), "jti", fmt.Sprint(i)))
		_, err := v.Verify(context.Background(), tok)
		require.NoError(t, err)
	}
	require.Equal(t, 3, v.CacheStats().Entries)
}
