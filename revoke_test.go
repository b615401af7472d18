package clerkgate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/session"
)

// The case the security review demonstrated: a 1-hour token from
// CreateToken, of a session revoked through the Gate, was accepted again
// 66 s after the logout, once the revocation was forgotten. The Gate now
// refuses such a token outright, so no revocation needs to outlive it.
func TestLongLivedTokenOfRevokedSessionStaysRefused(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := clockedBackend(t, clock, nil)
	s := b.fake.CreateSession("user_1")
	long := createToken(t, b, s.ID, time.Hour)
	_, err := b.gate.Sessions().Revoke(context.Background(), s.ID)
	require.NoError(t, err)

	logout := clock.Now()
	for _, after := range []time.Duration{0, 66 * time.Second, 30 * time.Minute, 59 * time.Minute} {
		clock.Advance(logout.Add(after).Sub(clock.Now()))
		rep := get(t, b.srv, bearer(long))
		require.Equal(t, http.StatusUnauthorized, rep.status, "accepted %s after the logout: %s", after, rep.body)
		require.Equal(t, "token_lifetime_invalid", rep.reason)
	}
}

// Tokens that live longer than MaxTokenLifetime (60 s unless configured)
// are refused with their own reason; tokens that do not say when they
// were issued are too. Clerk's own tokens, which live 60 s, pass.
func TestTokenLifetimeIsBounded(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")

	require.Equal(t, http.StatusOK, get(t, b.srv, bearer(b.fake.Token(s.ID))).status, "Clerk's 60 s tokens pass")
	require.Equal(t, http.StatusOK, get(t, b.srv, bearer(createToken(t, b, s.ID, 60*time.Second))).status)
	require.Equal(t, http.StatusOK, get(t, b.srv, bearer(b.fake.Token(s.ID, clerktest.ExpiresIn(30*time.Second)))).status)

	for name, tok := range map[string]string{
		"CreateToken, 1 hour":     createToken(t, b, s.ID, time.Hour),
		"CreateToken, 10 years":   createToken(t, b, s.ID, session.MaxTokenLifetime*time.Second),
		"61 seconds":              b.fake.Token(s.ID, clerktest.ExpiresIn(61*time.Second)),
		"no iat":                  b.fake.Token(s.ID, clerktest.WithClaims(map[string]any{"iat": nil})),
		"iat far before now":      b.fake.Token(s.ID, clerktest.IssuedAt(time.Now().Add(-time.Hour)), clerktest.ExpiresIn(time.Hour+time.Minute)),
		"iat zero, exp in a year": b.fake.Token(s.ID, clerktest.WithClaims(map[string]any{"iat": 0, "exp": time.Now().Add(365 * 24 * time.Hour).Unix()})),
	} {
		rep := get(t, b.srv, bearer(tok))
		require.Equal(t, http.StatusUnauthorized, rep.status, "%s: %s", name, rep.body)
		require.Equal(t, "token_lifetime_invalid", rep.reason, name)
		require.Contains(t, rep.header.Get("WWW-Authenticate"), `error_description="token_lifetime_invalid"`)
		require.Contains(t, rep.body, "the session token lives longer than this app accepts")
	}

	// A configured lifetime admits tokens up to it.
	long := newBackend(t, func(c *clerkgate.Config) { c.MaxTokenLifetime = time.Hour })
	ls := long.fake.CreateSession("user_1")
	require.Equal(t, http.StatusOK, get(t, long.srv, bearer(createToken(t, long, ls.ID, time.Hour))).status)
	require.Equal(t, "token_lifetime_invalid", get(t, long.srv, bearer(createToken(t, long, ls.ID, time.Hour+time.Second))).reason)

	_, err := clerkgate.New(clerkgate.Config{SecretKey: b.fake.SecretKey(), APIURL: b.fake.URL(), MaxTokenLifetime: -time.Second})
	require.ErrorContains(t, err, "MaxTokenLifetime")
}

// With a longer MaxTokenLifetime, a revocation through the Gate lasts as
// long as the longest token of the session it would accept: the whole
// life of a 1-hour token, plus the skew either side.
func TestRevocationOutlivesEveryAcceptedToken(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	store := newWatchedStore(t)
	b := clockedBackend(t, clock, func(c *clerkgate.Config) {
		c.MaxTokenLifetime = time.Hour
		c.Store = store
	})
	s := b.fake.CreateSession("user_1")
	tok := createToken(t, b, s.ID, time.Hour)
	require.Equal(t, http.StatusOK, get(t, b.srv, bearer(tok)).status)
	_, err := b.gate.Sessions().Revoke(context.Background(), s.ID)
	require.NoError(t, err)
	store.mu.Lock()
	term := store.revoked[s.ID]
	store.mu.Unlock()
	require.Equal(t, time.Hour+10*time.Second, term, "the lifetime plus twice the 5 s skew")

	logout := clock.Now()
	for _, after := range []time.Duration{0, 66 * time.Second, 30 * time.Minute, 59*time.Minute + 59*time.Second} {
		clock.Advance(logout.Add(after).Sub(clock.Now()))
		rep := get(t, b.srv, bearer(tok))
		require.Equal(t, "session_revoked", rep.reason, "%s after the logout", after)
	}
	// 1 h 4 s after it was issued the token is still within the skew, and
	// still revoked; a second later it has expired.
	clock.Advance(5 * time.Second)
	require.Equal(t, "session_revoked", get(t, b.srv, bearer(tok)).reason)
	clock.Advance(time.Second)
	require.Equal(t, "token_expired", get(t, b.srv, bearer(tok)).reason)
}

// A token that lives too long is not refreshed when it expires: the Gate
// would not have accepted it, and Clerk is not asked on its behalf.
func TestExpiredLongLivedTokenIsNotRefreshed(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired(), clerktest.ExpiresIn(time.Hour))
	rep := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s)))
	require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
	require.Equal(t, "token_expired", rep.reason)
	require.Empty(t, rep.header.Values("Set-Cookie"))
	require.Zero(t, b.refreshCalls())
}

// The token a refresh brings back obeys the same bound.
func TestRefreshRefusesALongLivedNewToken(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired(), clerktest.IssuedAt(time.Now().Add(-2*time.Minute)))
	answer, err := json.Marshal(map[string]any{"object": "cookies", "cookies": []string{
		"__session_" + b.fake.CookieSuffix() + "=" + b.fake.Token(s.ID, clerktest.ExpiresIn(time.Hour)) + "; Path=/",
	}})
	require.NoError(t, err)
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Status: 200, Body: answer})
	rep := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s)))
	require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
	require.Equal(t, "refresh_failed", rep.reason)
	require.Empty(t, rep.header.Values("Set-Cookie"))
}

// The default store never pushes out a revocation before its term to make
// room: 10,001 logouts in a row are all still in force. (It used to be an
// LRU of 10,000 entries, which forgot the first.)
func TestMemoryStoreKeepsEveryRevocationForItsTerm(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m := clerkgate.NewMemoryStore()
	require.NoError(t, m.Start(clerkgate.StoreOptions{Instance: "test", Clock: clock.Now, RevocationTerm: 70 * time.Second}))
	ctx := context.Background()
	for i := range 10_001 {
		require.NoError(t, m.RevokeSession(ctx, "sess_"+strconv.Itoa(i), 70*time.Second))
	}
	for _, i := range []int{0, 1, 5_000, 10_000} {
		require.True(t, m.SessionRevoked("sess_"+strconv.Itoa(i)), "revocation %d forgotten", i)
	}
	// A longer ttl than the term is capped.
	require.NoError(t, m.RevokeSession(ctx, "sess_forever", 10*365*24*time.Hour))
	clock.Advance(69 * time.Second)
	require.True(t, m.SessionRevoked("sess_0"))
	require.True(t, m.SessionRevoked("sess_forever"))
	clock.Advance(time.Second)
	require.False(t, m.SessionRevoked("sess_0"), "the term ends")
	require.False(t, m.SessionRevoked("sess_forever"), "capped at the term")
}
