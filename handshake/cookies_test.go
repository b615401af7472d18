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
		d := decide(page(api, func(r *handshake.Request) { r.Cookies = tc.cookies }), prodConfig())
		require.Equal(t, tc.token, d.Token, tc.name)
	}
}

// TestUnreadableSessionCookieChoosesNoAmbiguousPair: Clerk's choice of
// pair also reads both session cookies (the plain one's issuer, both
// tokens' iat, the suffixed one's exp). An Unreadable session cookie
// (padded, sent twice, over 4 KiB: Clerk may have read any token there)
// lets the decision read the other session cookie only if Clerk would
// choose its pair whatever it read.
func TestUnreadableSessionCookieChoosesNoAmbiguousPair(t *testing.T) {
	t.Parallel()
	plain, suffixed := session(now.Unix()-30), session(now.Unix()-5, map[string]any{"sid": "sess_2"})
	for _, tc := range []struct {
		name    string
		cookies handshake.Cookies
		token   string
	}{
		// Clerk takes the newer token's pair: the Gate cannot tell which,
		// and reads the unusable token (malformed) rather than either.
		{"unreadable suffixed session", handshake.Cookies{Session: plain, ClientUAT: "1", SessionSuffixed: handshake.Unreadable, ClientUATSuffixed: "1"}, handshake.Unreadable},
		// An unreadable plain session cookie keeps the plain pair (rule
		// 1), whose unusable token serves no session, never the other.
		{"unreadable plain session", handshake.Cookies{Session: handshake.Unreadable, ClientUAT: "1", SessionSuffixed: suffixed, ClientUATSuffixed: "1"}, handshake.Unreadable},
		// Without a suffixed __client_uat, a suffixed session cookie is
		// never chosen (rules 3 and 7): the plain one is read.
		{"unreadable suffixed session, no suffixed uat", handshake.Cookies{Session: plain, ClientUAT: "1", SessionSuffixed: handshake.Unreadable}, plain},
		// A suffixed __client_uat of 0 beside a plain one that is not:
		// the plain pair, whatever the session cookies hold (rule 5),
		// unless the plain token is another instance's.
		{"suffixed uat 0", handshake.Cookies{Session: plain, ClientUAT: "1", SessionSuffixed: handshake.Unreadable, ClientUATSuffixed: "0"}, plain},
		{"unreadable plain session alone", handshake.Cookies{Session: handshake.Unreadable, ClientUAT: "1"}, handshake.Unreadable},
	} {
		d := decide(page(api, func(r *handshake.Request) { r.Cookies = tc.cookies }), prodConfig())
		require.Equal(t, tc.token, d.Token, tc.name)
	}
}

// TestSuffixedSessionExpiredAsClerkFindsIt: on a development instance
// whose plain __client_uat is 0 and suffixed one is not, Clerk leaves the
// suffixed pair only for an expired suffixed token: a JWT whose exp has
// passed. One that is no JWT, or has no exp, is not expired (Clerk's
// sessionExpired), so the suffixed pair is read.
func TestSuffixedSessionExpiredAsClerkFindsIt(t *testing.T) {
	t.Parallel()
	plain := session(now.Unix() - 10)
	noExp := jwt(map[string]any{"alg": "RS256", "typ": "JWT"}, map[string]any{"iss": "https://" + fapi, "sid": "sess_2", "iat": now.Unix() - 5})
	for _, tc := range []struct {
		suffixed, token string
	}{
		{"junk", "junk"},
		{noExp, noExp},
		{session(now.Unix() - 100), plain}, // expired 40 s ago
	} {
		d := decide(page(api, func(r *handshake.Request) {
			r.Cookies = handshake.Cookies{Session: plain, ClientUAT: "0", SessionSuffixed: tc.suffixed, ClientUATSuffixed: "1", DevBrowser: "dvb_1", DevBrowserSuffixed: "dvb_1"}
		}), devConfig())
		require.Equal(t, tc.token, d.Token, "%.30s", tc.suffixed)
	}
}

// TestUnsureSessionTokenChoosesNoAmbiguousPair: a session cookie peek
// gives up on but Clerk's decodeJwt may read (a float iat, an escaped
// iss) may hold a newer token than the other cookie: Clerk's choice
// cannot be known, so neither is read. What is no JWT to Clerk either
// (not three parts, not base64 of an object) is read as no JWT.
func TestUnsureSessionTokenChoosesNoAmbiguousPair(t *testing.T) {
	t.Parallel()
	plain := session(now.Unix() - 30)
	float := jwt(map[string]any{"alg": "RS256", "typ": "JWT"}, map[string]any{"iss": "https://" + fapi, "sid": "sess_2", "iat": float64(now.Unix()) - 4.5, "exp": now.Unix() + 55})
	newer := session(now.Unix()-5, map[string]any{"sid": "sess_2"})
	for _, tc := range []struct {
		name, suffixed, token string
	}{
		{"float iat", float, handshake.Unreadable},
		{"readable newer token", newer, newer},
		{"not three parts", "not.a-jwt", plain},
		{"three parts, no object", "a.b.c", plain},
	} {
		d := decide(page(api, func(r *handshake.Request) {
			r.Cookies = handshake.Cookies{Session: plain, ClientUAT: "1", SessionSuffixed: tc.suffixed, ClientUATSuffixed: "1"}
		}), prodConfig())
		require.Equal(t, tc.token, d.Token, tc.name)
	}
}
