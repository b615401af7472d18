package handshake_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/handshake"
)

// TestUnreadableClientUATChoosesNoAmbiguousPair: which session cookie
// Clerk reads depends, through its choice of cookie pair, on how it read
// each __client_uat. When the caller cannot tell (Unreadable: a padded
// " 0 " Clerk reads as "0", a value sent twice whose first is "0"), the
// decision reads a session cookie only if Clerk would choose its pair
// whatever it read; else none, so it never serves a session Clerk does
// not.
func TestUnreadableClientUATChoosesNoAmbiguousPair(t *testing.T) {
	t.Parallel()
	plain, suffixed := session(now.Unix()-10), session(now.Unix()-5, map[string]any{"sid": "sess_2"})
	for _, tc := range []struct {
		name    string
		cookies handshake.Cookies
		token   string
	}{
		// Clerk reads "0": the plain pair (empty); anything else: the
		// suffixed one. The Gate reads neither.
		{"suffixed session, unreadable suffixed uat", handshake.Cookies{SessionSuffixed: suffixed, ClientUATSuffixed: handshake.Unreadable}, ""},
		{"both sessions, unreadable suffixed uat", handshake.Cookies{Session: plain, ClientUAT: "1", SessionSuffixed: suffixed, ClientUATSuffixed: handshake.Unreadable}, ""},
		{"both sessions, both uats unreadable", handshake.Cookies{Session: plain, ClientUAT: handshake.Unreadable, SessionSuffixed: suffixed, ClientUATSuffixed: handshake.Unreadable}, ""},
		// Whatever Clerk read there, it chooses the same pair.
		{"plain pair only, unreadable uat", handshake.Cookies{Session: plain, ClientUAT: handshake.Unreadable}, plain},
		{"suffixed session, readable 0, unreadable plain uat", handshake.Cookies{SessionSuffixed: suffixed, ClientUATSuffixed: "0", ClientUAT: handshake.Unreadable}, ""},
		// Readable values are read as they are.
		{"suffixed pair", handshake.Cookies{SessionSuffixed: suffixed, ClientUATSuffixed: "1"}, suffixed},
		{"suffixed uat 0", handshake.Cookies{SessionSuffixed: suffixed, ClientUATSuffixed: "0"}, ""},
	} {
		d := handshake.Decide(page(api, func(r *handshake.Request) { r.Cookies = tc.cookies }), prodConfig())
		require.Equal(t, tc.token, d.Token, tc.name)
	}
}
