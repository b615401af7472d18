package verifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/verifier"
)

// m2m signs an M2M token JWT as Clerk issues them, valid for an hour from
// the vectors' clock.
func (f *fixture) m2m(t *testing.T) string {
	t.Helper()
	hdr := f.header()
	hdr["cat"] = "cl_B7d4PD333AAA"
	return f.sign(t, hdr, map[string]any{
		"sub": "mch_caller", "scopes": "mch_target", "jti": "mt_1",
		"iat": f.vec.Now, "exp": f.vec.Now + 3600,
	})
}

// A machine JWT costs an RSA check once; later requests hit the cache,
// which rechecks the clock as it does for session tokens.
func TestMachineCacheHitRechecksTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.vec.Now
	v := f.verifier(t, func(c *verifier.Config) { c.Clock = func() time.Time { return time.Unix(now, 0) } })
	tok := f.m2m(t)
	ctx := context.Background()

	first, err := v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.NoError(t, err)
	again, err := v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.NoError(t, err)
	require.Same(t, first, again)
	require.Equal(t, verifier.CacheStats{Hits: 1, Misses: 1, Entries: 1}, v.CacheStats())

	now += 3605 // exp <= now - skew
	_, err = v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.ErrorIs(t, err, verifier.ReasonTokenExpired)
	require.Equal(t, uint64(2), v.CacheStats().Hits, "the expiry came from the cached entry")

	now -= 7200 // the clock stepped back before iat
	_, err = v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.ErrorIs(t, err, verifier.ReasonTokenNotYetValid)
}

// An entry is for the kind it was verified as: the same JWT asked for as
// another kind, or as a session token, is verified afresh and refused by
// type, never served from the cache.
func TestMachineCacheKeepsKinds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	tok := f.m2m(t)
	ctx := context.Background()
	_, err := v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.NoError(t, err)

	_, err = v.VerifyMachine(ctx, tok, verifier.KindOAuth)
	require.ErrorIs(t, err, verifier.ReasonTokenTypeInvalid)
	_, err = v.Verify(ctx, tok)
	require.Error(t, err)
	require.Zero(t, v.CacheStats().Hits)

	// And a session token's entry is never a machine's.
	session := f.sign(t, f.header(), f.claims())
	_, err = v.Verify(ctx, session)
	require.NoError(t, err)
	_, err = v.VerifyMachine(ctx, session, verifier.KindM2M)
	require.ErrorIs(t, err, verifier.ReasonTokenTypeInvalid)
	require.Zero(t, v.CacheStats().Hits)
}

// A key that left the key set, or whose material changed under the same
// kid, takes its machine JWTs with it.
func TestMachineCacheDropsTokensOfRemovedKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	tok := f.m2m(t)
	ctx := context.Background()
	_, err := v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.NoError(t, err)

	k := f.keys[f.kid]
	k.Public = &f.foreign.PublicKey // same kid, other key
	f.keys[f.kid] = k
	_, err = v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.ErrorIs(t, err, verifier.ReasonSignatureInvalid)

	delete(f.keys, f.kid)
	_, err = v.VerifyMachine(ctx, tok, verifier.KindM2M)
	require.ErrorIs(t, err, verifier.ReasonKeyNotFound)
	require.Zero(t, v.CacheStats().Entries)
	require.Zero(t, v.CacheStats().Hits)
}

// Failures are never stored: a forged JWT is refused every time.
func TestMachineCacheNeverStoresFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	tok := f.m2m(t)
	forged := tok[:len(tok)-4] + "AAAA"
	for range 2 {
		_, err := v.VerifyMachine(context.Background(), forged, verifier.KindM2M)
		require.ErrorIs(t, err, verifier.ReasonSignatureInvalid)
	}
	require.Zero(t, v.CacheStats().Entries)
}

// The Verifier's SniffMachineJWT answers from the cache for tokens it
// verified, and its answer is the package's, for each class of token,
// before and after verification; looking counts as no hit.
func TestSniffFromCacheAgrees(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	ctx := context.Background()
	oauthHdr := f.header()
	oauthHdr["typ"] = "at+jwt"
	oauth := f.sign(t, oauthHdr, map[string]any{
		"sub": "user_1", "client_id": "client_1", "scp": []string{"read"}, "jti": "oat_1",
		"iat": f.vec.Now, "exp": f.vec.Now + 3600,
	})
	for _, tc := range []struct {
		token  string
		want   verifier.MachineKind
		verify func(string) error
	}{
		{f.sign(t, f.header(), f.claims()), "", func(tok string) error { _, err := v.Verify(ctx, tok); return err }},
		{f.m2m(t), verifier.KindM2M, func(tok string) error { _, err := v.VerifyMachine(ctx, tok, verifier.KindM2M); return err }},
		{oauth, verifier.KindOAuth, func(tok string) error { _, err := v.VerifyMachine(ctx, tok, verifier.KindOAuth); return err }},
	} {
		require.Equal(t, tc.want, verifier.SniffMachineJWT(tc.token))
		require.Equal(t, tc.want, v.SniffMachineJWT(tc.token), "not cached yet")
		require.NoError(t, tc.verify(tc.token))
		before := v.CacheStats()
		require.Equal(t, tc.want, v.SniffMachineJWT(tc.token), "from the cache")
		require.Equal(t, before, v.CacheStats(), "a sniff is no cache hit")
	}
	require.Equal(t, 3, v.CacheStats().Entries)
}

// A cached token that has since expired is refused with its claims (the
// Gate refreshes from them), and those claims are the caller's copy: one
// caller editing them changes nothing for the next, nor for the entry.
func TestExpiredCacheHitHandsOutACopy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.vec.Now
	v := f.verifier(t, func(c *verifier.Config) { c.Clock = func() time.Time { return time.Unix(now, 0) } })
	claims := f.claims()
	claims["exp"], claims["iat"] = now+60, now
	tok := f.sign(t, f.header(), claims)
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)

	now += 600
	expiredClaims := func() *verifier.Claims {
		_, err := v.Verify(context.Background(), tok)
		var ve *verifier.Error
		require.ErrorAs(t, err, &ve)
		require.ErrorIs(t, err, verifier.ReasonTokenExpired)
		require.NotNil(t, ve.Claims)
		return ve.Claims
	}
	first := expiredClaims()
	require.Equal(t, uint64(1), v.CacheStats().Hits, "the refusal came from the cached entry")
	sid := first.SessionID
	first.SessionID = "sess_mallory"
	second := expiredClaims()
	require.NotSame(t, first, second)
	require.Equal(t, sid, second.SessionID)
}
