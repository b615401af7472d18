package clerkgate_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestPlantedSessionCookieIsRefused: a sibling subdomain can plant a
// session cookie for the app's parent domain, and browsers send the one
// with the longer Path first. Taking the first, as Clerk's SDKs do, signs
// the victim in as the attacker's own (genuine) session; the Gate refuses
// two different values of the cookie it reads instead.
func TestPlantedSessionCookieIsRefused(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	victim := b.fake.Token(b.fake.CreateSession("user_victim").ID)
	planted := b.fake.Token(b.fake.CreateSession("user_attacker").ID)
	suffixed := "__session_" + b.fake.CookieSuffix()
	uat := clientUAT(b.fake.CookieSuffix())

	for name, mod := range map[string]func(*http.Request){
		"suffixed, one header": both(cookie(suffixed, planted), cookie(suffixed, victim)),
		"suffixed, two headers": func(r *http.Request) {
			r.Header.Add("Cookie", suffixed+"="+planted)
			r.Header.Add("Cookie", suffixed+"="+victim)
		},
		"plain":                both(cookie("__session", planted), cookie("__session", victim)),
		"empty suffixed, then": both(cookie(suffixed, ""), cookie(suffixed, victim)),
		"a second value":       both(cookie(suffixed, victim), cookie(suffixed, planted+"x")),
		// Two plain values decide Clerk's choice of cookies as one
		// undecodable token would: the plain pair, refused.
		"plain, beside the suffixed pair": both(cookie("__session", planted), cookie(suffixed, victim), cookie("__session", victim)),
	} {
		rep := get(t, b.srv, both(uat, mod))
		require.Equal(t, http.StatusUnauthorized, rep.status, "%s: %s", name, rep.body)
		require.Equal(t, string(clerkgate.ReasonTokenMalformed), rep.reason, name)
	}

	// The same cookie twice (two paths, one value) is one cookie.
	rep := get(t, b.srv, both(cookie(suffixed, victim), uat, func(r *http.Request) {
		r.Header.Add("Cookie", suffixed+"="+victim)
	}))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_victim", rep.body)

	// A quoted token is one to net/http (which unquotes it) and another
	// to Clerk (which keeps the quotes and refuses it): refused.
	rep = get(t, b.srv, both(uat, func(r *http.Request) {
		r.Header.Add("Cookie", suffixed+`="`+victim+`"`)
	}))
	require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
	require.Equal(t, string(clerkgate.ReasonTokenMalformed), rep.reason)
}

// TestPlantedRefreshCookieMakesNoCall: two different refresh cookies
// make no refresh call with either; the expired token is refused as such.
func TestPlantedRefreshCookieMakesNoCall(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_victim")
	other := b.fake.CreateSession("user_attacker")
	expired := b.fake.Token(s.ID, clerktest.Expired())

	rep := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(other), b.refreshCookie(s)))
	require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
	require.Equal(t, string(clerkgate.ReasonTokenExpired), rep.reason)
	require.Zero(t, b.refreshCalls())

	// One refresh cookie, sent twice alike, is still one.
	rep = get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, 1, b.refreshCalls())
}

// TestOversizedCookieHeaderIsReadAsNone: past 64 KiB of Cookie headers
// the Gate reads no cookie, so a flood of junk cookies costs it nothing;
// a genuine token at the end of such a header is not looked for.
func TestOversizedCookieHeaderIsReadAsNone(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	token := b.fake.Token(b.fake.CreateSession("user_1").ID)
	suffixed := "__session_" + b.fake.CookieSuffix()
	withJunk := func(junk int) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Cookie", "junk="+strings.Repeat("x", junk)+"; "+suffixed+"="+token+"; __client_uat_"+b.fake.CookieSuffix()+"=1")
		}
	}

	rep := get(t, b.srv, withJunk(60<<10))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)

	for _, junk := range []int{64 << 10, 1 << 20} {
		rep := get(t, b.srv, withJunk(junk))
		require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
		require.Equal(t, string(clerkgate.ReasonTokenMissing), rep.reason)
	}
	// 3,001 tiny cookies, past net/http's own limit, are read as none too.
	rep = get(t, b.srv, func(r *http.Request) {
		r.Header.Set("Cookie", strings.Repeat("a=b; ", 3000)+suffixed+"="+token+"; __client_uat_"+b.fake.CookieSuffix()+"=1")
	})
	require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
	require.Equal(t, string(clerkgate.ReasonTokenMissing), rep.reason)
}
