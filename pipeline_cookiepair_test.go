package clerkgate_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

// TestUnreadableClientUATServesNoSession: a suffixed session cookie beside
// a __client_uat_<suffix> the Gate cannot read as Clerk does. Clerk reads
// " 0 " (padded) as "0", and of "0" sent twice the first: "0" makes it
// choose the plain pair, which is empty, and sign the request out. The
// Gate, which does not know which pair Clerk chose, reads no session
// cookie: it served the suffixed session before. A readable value still
// decides as before.
func TestUnreadableClientUATServesNoSession(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	sfx := b.fake.CookieSuffix()
	token := b.fake.Token(b.fake.CreateSession("user_1").ID)
	send := func(uat string) reply {
		return get(t, b.srv, cookieHeader("__session_"+sfx+"="+token+"; "+uat+"; __clerk_db_jwt_"+sfx+"=dvb_test"))
	}
	for _, uat := range []string{
		"__client_uat_" + sfx + "= 0 ",
		"__client_uat_" + sfx + "=0; __client_uat_" + sfx + "=1",
		"__client_uat_" + sfx + "=%30",
	} {
		rep := send(uat)
		require.Equal(t, http.StatusUnauthorized, rep.status, "%s: %s", uat, rep.body)
		require.NotEqual(t, "user_1", rep.body, uat)
	}
	rep := send("__client_uat_" + sfx + "=1")
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)
}

// TestUnusableSessionCookieTipsNoPair: Clerk chooses between the plain and
// the suffixed cookie pair by what it reads in both session cookies (the
// newer token's pair, unless ...). A __session_<suffix> the Gate cannot
// read as Clerk does (padded, sent twice, quoted, over 4 KiB) was read as
// the oldest token there is, so the Gate served the plain pair's session
// where Clerk, reading the newer token there, served the suffixed one:
// another user. The Gate now reads no session cookie when Clerk's choice
// depends on what it read there. Readable cookies still decide as Clerk
// does, both ways.
func TestUnusableSessionCookieTipsNoPair(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	sfx := b.fake.CookieSuffix()
	now := time.Now()
	older := b.fake.Token(b.fake.CreateSession("user_1").ID, clerktest.IssuedAt(now.Add(-30*time.Second)))
	session2 := b.fake.CreateSession("user_2").ID
	newer := b.fake.Token(session2, clerktest.IssuedAt(now.Add(-5*time.Second)))
	huge := b.fake.Token(session2, clerktest.IssuedAt(now.Add(-5*time.Second)), clerktest.WithClaims(map[string]any{"pad": strings.Repeat("p", 4200)}))
	send := func(suffixed string) reply { return sendPairs(t, b, "__session="+older+"; __client_uat=1", suffixed) }
	name := "__session_" + sfx
	for _, suffixed := range []string{
		name + "= " + newer + " ",
		name + "=" + newer + "; " + name + "=junk",
		name + "=junk; " + name + "=" + newer, // Clerk reads junk, and the plain pair; the Gate cannot tell
		name + `="` + newer + `"`,
		name + "=" + huge,
	} {
		rep := send(suffixed)
		require.Equal(t, http.StatusUnauthorized, rep.status, "%.60s: %s", suffixed, rep.body)
	}
	// Readable: the newer token's pair, whichever it is.
	rep := send(name + "=" + newer)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_2", rep.body)
	rep = send(name + "=" + b.fake.Token(session2, clerktest.IssuedAt(now.Add(-50*time.Second))))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)
}

// TestSuffixedSessionWithoutExpIsNotExpired: on a development instance a
// browser whose plain __client_uat is 0 and suffixed one is not keeps the
// suffixed pair unless its session token has expired, which Clerk
// (sessionExpired) finds only of a JWT with an exp in the past: a
// __session_<suffix> that is no JWT, or one without exp, is not expired,
// so Clerk reads it and signs the request out. The Gate took either for
// expired, chose the plain pair and served its session. A truly expired
// suffixed token still sends Clerk and the Gate to the plain pair.
func TestSuffixedSessionWithoutExpIsNotExpired(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	sfx := b.fake.CookieSuffix()
	plain := b.fake.Token(b.fake.CreateSession("user_1").ID)
	session2 := b.fake.CreateSession("user_2").ID
	send := func(suffixed string) reply {
		return sendPairs(t, b, "__session="+plain+"; __client_uat=0", "__session_"+sfx+"="+suffixed)
	}
	for _, suffixed := range []string{
		"junk",
		"a.b.c",
		b.fake.Token(session2, clerktest.WithClaims(map[string]any{"exp": nil})),
	} {
		rep := send(suffixed)
		require.Equal(t, http.StatusUnauthorized, rep.status, "%.60s: %s", suffixed, rep.body)
		require.NotEqual(t, "user_1", rep.body)
	}
	// Expired: the plain pair, whose token (beside a __client_uat of 0)
	// the Gate verifies on a request it cannot redirect.
	rep := send(b.fake.Token(session2, clerktest.Expired()))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)
}

// TestHandMadeSuffixedTokenTipsNoPair: a __session_<suffix> whose token
// the Gate's strict peek gives up on (here a float iat) but Clerk's
// decodeJwt reads was taken for no JWT, the oldest token there is: the
// Gate served the plain pair's older session where Clerk, reading the
// newer token, chose the suffixed pair. The Gate now reads neither.
func TestHandMadeSuffixedTokenTipsNoPair(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	sfx := b.fake.CookieSuffix()
	now := time.Now()
	older := b.fake.Token(b.fake.CreateSession("user_1").ID, clerktest.IssuedAt(now.Add(-30*time.Second)))
	session2 := b.fake.CreateSession("user_2").ID
	send := func(suffixed string) reply {
		return sendPairs(t, b, "__session="+older+"; __client_uat=1", "__session_"+sfx+"="+suffixed)
	}
	float := b.fake.Token(session2, clerktest.IssuedAt(now.Add(-5*time.Second)),
		clerktest.WithClaims(map[string]any{"iat": float64(now.Unix()) - 4.5}))
	rep := send(float)
	require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
	// Garbage Clerk cannot decode either is no JWT: the plain pair.
	rep = send("not.a-jwt")
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)
}

// sendPairs sends a page load to b with both of Clerk's cookie pairs:
// plain (__session and __client_uat, as given), and the suffixed pair,
// the suffixed cookies given (a raw Cookie header part) beside
// __client_uat_<suffix>=1. Both dev browser cookies are there, so that
// the development instance decides by the session cookies alone.
func sendPairs(t *testing.T, b *backend, plain, suffixed string) reply {
	sfx := b.fake.CookieSuffix()
	return get(t, b.srv, cookieHeader(plain+"; "+suffixed+"; __client_uat_"+sfx+"=1; __clerk_db_jwt=dvb_test; __clerk_db_jwt_"+sfx+"=dvb_test"))
}
