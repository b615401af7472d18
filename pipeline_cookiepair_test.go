package clerkgate_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
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
		return get(t, b.srv, func(r *http.Request) {
			r.Header.Set("Cookie", "__session_"+sfx+"="+token+"; "+uat+"; __clerk_db_jwt_"+sfx+"=dvb_test")
		})
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
