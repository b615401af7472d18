package handshake_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/handshake"
)

const (
	fapi   = "clerk.example.com"
	suffix = "AbCd1234"
	app    = "https://app.example.com"
)

var now = time.Unix(1_800_000_000, 0)

// jwt builds an unsigned token: decisions only peek at tokens.
func jwt(header, claims map[string]any) string {
	enc := func(v map[string]any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + ".c2ln"
}

func session(iat int64, extra ...map[string]any) string {
	c := map[string]any{"iss": "https://" + fapi, "sub": "user_1", "sid": "sess_1", "iat": iat, "exp": iat + 60}
	h := map[string]any{"alg": "RS256", "kid": "ins_1", "typ": "JWT", "cat": "cl_B7d4PD111AAA"}
	for _, e := range extra {
		for k, v := range e {
			if k == "cat" || k == "typ" {
				h[k] = v
			} else {
				c[k] = v
			}
		}
	}
	return jwt(h, c)
}

func prodConfig() handshake.Config {
	return handshake.Config{FrontendAPI: fapi, InstanceHost: fapi, Production: true, CookieSuffix: suffix}
}

func devConfig() handshake.Config {
	c := prodConfig()
	c.Production = false
	return c
}

// page is a browser's navigation to /page?q=1.
func page(mod ...func(*handshake.Request)) handshake.Request {
	r := handshake.Request{Method: "GET", URL: pageURL(app + "/page?q=1"), SecFetchDest: "document", Accept: "text/html", Now: now}
	for _, m := range mod {
		m(&r)
	}
	return r
}

// decide, afterVerify, afterSignIn and resolved are the package's
// functions for a request and a configuration the test builds in place.
func decide(req handshake.Request, cfg handshake.Config) handshake.Decision {
	return handshake.Decide(&req, &cfg)
}

func afterVerify(req handshake.Request, cfg handshake.Config, d handshake.Decision, f handshake.Failure) handshake.Decision {
	return handshake.AfterVerify(&req, &cfg, d, f)
}

func afterSignIn(req handshake.Request, cfg handshake.Config, d handshake.Decision, s handshake.Session) handshake.Decision {
	return handshake.AfterSignIn(&req, &cfg, d, s)
}

func resolved(req handshake.Request, cfg handshake.Config, directives []string) handshake.Resolution {
	return handshake.Resolved(&req, &cfg, directives)
}

// pageURL is the page at s, which must parse.
func pageURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

func withQuery(q string) func(*handshake.Request) {
	return func(r *handshake.Request) { r.URL = pageURL(app + "/page?" + q) }
}

func signedIn(r *handshake.Request) {
	r.Cookies.Session = session(now.Unix() - 10)
	r.Cookies.ClientUAT = "1700000000"
	r.Cookies.DevBrowser = "dvb_1"
}

func api(r *handshake.Request) { r.SecFetchDest, r.Accept = "empty", "application/json" }

// TestDecide has one row per branch of Clerk's decision
// (clerk-browser-auth.md §5, §6); the row names start with the section.
func TestDecide(t *testing.T) {
	t.Parallel()
	type row struct {
		name   string
		cfg    handshake.Config
		req    handshake.Request
		action handshake.Action
		reason string
		check  func(t *testing.T, d handshake.Decision)
	}
	satellite := func(dev bool) handshake.Config {
		c := prodConfig()
		if dev {
			c = devConfig()
		}
		c.IsSatellite, c.SignInURL, c.FrontendAPI = true, "https://primary.example.com/sign-in", "clerk.satellite.example"
		return c
	}
	redirectsToFAPI := func(t *testing.T, d handshake.Decision) {
		require.True(t, strings.HasPrefix(d.Location, "https://"+fapi+"/v1/client/handshake?"), d.Location)
		require.Equal(t, []string{"__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2"}, d.Cookies)
	}
	rows := []row{
		// §5.1: back from a handshake.
		{name: "5.1 nonce in the query (development)", cfg: devConfig(), req: page(withQuery("__clerk_handshake_nonce=n1")), action: handshake.Resolve,
			check: func(t *testing.T, d handshake.Decision) { require.Equal(t, "n1", d.Nonce) }},
		{name: "5.1 handshake token in a cookie", cfg: prodConfig(), req: page(func(r *handshake.Request) { r.Cookies.Handshake = "hs" }), action: handshake.Resolve,
			check: func(t *testing.T, d handshake.Decision) { require.Equal(t, "hs", d.HandshakeToken) }},
		{name: "5.1 already resolved: go on", cfg: prodConfig(), req: page(withQuery("__clerk_handshake_nonce=n1"), func(r *handshake.Request) { r.Resolved = true }),
			action: handshake.SignedOut, reason: handshake.ReasonSessionTokenAndUATMissing},

		// §5.2–5.3: production satellite.
		{name: "5.3 satellite, first visit without cookies: signed out, no sync", cfg: satellite(false), req: page(),
			action: handshake.SignedOut, reason: handshake.ReasonSessionTokenAndUATMissing},
		{name: "5.3 satellite back from sign-in (__clerk_synced=false): handshake", cfg: satellite(false), req: page(withQuery("__clerk_synced=false")),
			action: handshake.Redirect, reason: handshake.ReasonSatelliteNeedsSyncing,
			check: func(t *testing.T, d handshake.Decision) {
				require.True(t, strings.HasPrefix(d.Location, "https://clerk.satellite.example/v1/client/handshake?"), d.Location)
			}},
		{name: "5.3 satellite with auto sync and no cookies: handshake", cfg: func() handshake.Config { c := satellite(false); c.SatelliteAutoSync = true; return c }(),
			req: page(), action: handshake.Redirect, reason: handshake.ReasonSatelliteNeedsSyncing},
		{name: "5.3 satellite with cookies: verify", cfg: satellite(false), req: page(signedIn), action: handshake.Verify},
		{name: "5.3 satellite, sync done (__clerk_synced=true): on", cfg: satellite(false), req: page(withQuery("__clerk_synced=true")),
			action: handshake.SignedOut, reason: handshake.ReasonSessionTokenAndUATMissing},
		// §5.4: development satellite syncs through the primary's sign-in.
		{name: "5.4 dev satellite syncs at the primary's sign-in", cfg: satellite(true), req: page(withQuery("__clerk_synced=false")),
			action: handshake.Redirect, reason: handshake.ReasonSatelliteNeedsSyncing,
			check: func(t *testing.T, d handshake.Decision) {
				u, err := url.Parse(d.Location)
				require.NoError(t, err)
				require.Equal(t, "primary.example.com", u.Host)
				require.Equal(t, app+"/page?__clerk_synced=false", u.Query().Get("__clerk_redirect_url"))
			}},
		// §5.5: development primary answers a satellite's sync.
		{name: "5.5 dev primary sends a listed satellite back", cfg: func() handshake.Config {
			c := devConfig()
			c.SatelliteOrigins = []string{"https://sat.example"}
			return c
		}(), req: page(withQuery("__clerk_redirect_url="+url.QueryEscape("https://sat.example/x?__clerk_synced=false")), signedIn),
			action: handshake.Redirect, reason: handshake.ReasonPrimaryRespondsToSyncing,
			check: func(t *testing.T, d handshake.Decision) {
				u, _ := url.Parse(d.Location)
				require.Equal(t, "sat.example", u.Host)
				require.Equal(t, "true", u.Query().Get("__clerk_synced"))
				require.Equal(t, "dvb_1", u.Query().Get("__clerk_db_jwt"))
			}},
		{name: "5.5 the satellite's parameters keep their places (URLSearchParams append, then set)", cfg: func() handshake.Config {
			c := devConfig()
			c.SatelliteOrigins = []string{"https://sat.example"}
			return c
		}(), req: page(withQuery("__clerk_redirect_url="+url.QueryEscape("https://sat.example/x?z=1&__clerk_synced=false&a=b c*~&__clerk_synced=x&bad=%zz")), signedIn),
			action: handshake.Redirect, reason: handshake.ReasonPrimaryRespondsToSyncing,
			check: func(t *testing.T, d handshake.Decision) {
				// As Node writes it.
				require.Equal(t, "https://sat.example/x?z=1&__clerk_synced=true&a=b+c*%7E&bad=%25zz&__clerk_db_jwt=dvb_1", d.Location)
			}},
		{name: "5.4 the sign-in URL's own parameters come first", cfg: func() handshake.Config {
			c := satellite(true)
			c.SignInURL = "https://primary.example.com/sign-in?z=1&a=2"
			return c
		}(), req: page(withQuery("__clerk_synced=false")),
			action: handshake.Redirect, reason: handshake.ReasonSatelliteNeedsSyncing,
			check: func(t *testing.T, d handshake.Decision) {
				require.Equal(t, "https://primary.example.com/sign-in?z=1&a=2&__clerk_redirect_url="+url.QueryEscape(app+"/page?__clerk_synced=false"), d.Location)
			}},
		{name: "5.5 open redirect: an unlisted __clerk_redirect_url is ignored", cfg: devConfig(),
			req:    page(withQuery("__clerk_redirect_url="+url.QueryEscape("https://evil.example/")), signedIn),
			action: handshake.Verify},
		// §5.6–5.7: the dev browser.
		{name: "5.6 dev browser token in the query: sync", cfg: devConfig(), req: page(withQuery("__clerk_db_jwt=dvb_2"), signedIn),
			action: handshake.Redirect, reason: handshake.ReasonDevBrowserSync,
			check: func(t *testing.T, d handshake.Decision) {
				u, _ := url.Parse(d.Location)
				require.Equal(t, "dvb_2", u.Query().Get("__clerk_db_jwt"))
				require.Equal(t, app+"/page", u.Query().Get("redirect_url"), "the dev browser token is not sent back")
			}},
		{name: "5.7 dev browser missing", cfg: devConfig(), req: page(), action: handshake.Redirect, reason: handshake.ReasonDevBrowserMissing},
		{name: "5.7 production needs no dev browser", cfg: prodConfig(), req: page(signedIn, func(r *handshake.Request) { r.Cookies.DevBrowser = "" }),
			action: handshake.Verify},
		// §5.8–5.10: client_uat against the session cookie.
		{name: "5.8 no client, no session: signed out", cfg: prodConfig(), req: page(), action: handshake.SignedOut, reason: handshake.ReasonSessionTokenAndUATMissing},
		{name: "5.9 session but client_uat 0 (signed out elsewhere): handshake", cfg: prodConfig(),
			req: page(signedIn, func(r *handshake.Request) { r.Cookies.ClientUAT = "0" }), action: handshake.Redirect,
			reason: handshake.ReasonSessionTokenWithoutClientUAT, check: redirectsToFAPI},
		{name: "5.9 the same API call: verified as before handshakes", cfg: prodConfig(),
			req: page(signedIn, api, func(r *handshake.Request) { r.Cookies.ClientUAT = "" }), action: handshake.Verify,
			reason: handshake.ReasonSessionTokenWithoutClientUAT},
		{name: "5.10 client_uat but no session (token gone): handshake", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "5.9 client_uat -1 is a client (parseInt reads the sign): verify", cfg: prodConfig(),
			req: page(signedIn, func(r *handshake.Request) { r.Cookies.ClientUAT = "-1" }), action: handshake.Verify},
		{name: "5.13 client_uat 0x6B49D201 is read as hexadecimal (parseInt without a radix): newer than the token, handshake", cfg: prodConfig(),
			req: page(signedIn, func(r *handshake.Request) { r.Cookies.ClientUAT = "0x6B49D201" }), action: handshake.Redirect,
			reason: handshake.ReasonSessionTokenIATBeforeClientUAT},
		// §5.11–5.13: the token before verification.
		{name: "5.11 undecodable token: signed out", cfg: prodConfig(), req: page(signedIn, func(r *handshake.Request) { r.Cookies.Session = "garbage" }),
			action: handshake.SignedOut, reason: handshake.ReasonTokenInvalid},
		{name: "5.12 JWT template in the cookie: signed out", cfg: prodConfig(),
			req: page(signedIn, func(r *handshake.Request) {
				r.Cookies.Session = session(now.Unix(), map[string]any{"cat": "cl_B7d4PD222AAA"})
			}),
			action: handshake.SignedOut, reason: handshake.ReasonTokenTypeMismatch},
		{name: "5.12 machine token in the cookie: signed out", cfg: prodConfig(),
			req:    page(signedIn, func(r *handshake.Request) { r.Cookies.Session = session(now.Unix(), map[string]any{"sub": "mch_1"}) }),
			action: handshake.SignedOut, reason: handshake.ReasonTokenTypeMismatch},
		{name: "5.13 token older than the client's last change: handshake", cfg: prodConfig(),
			req: page(signedIn, func(r *handshake.Request) { r.Cookies.ClientUAT = "1900000000" }), action: handshake.Redirect,
			reason: handshake.ReasonSessionTokenIATBeforeClientUAT},
		{name: "5.14 all in order: verify", cfg: prodConfig(), req: page(signedIn), action: handshake.Verify,
			check: func(t *testing.T, d handshake.Decision) { require.False(t, d.Suffixed) }},

		// §6: who may be redirected, and the loop guard.
		{name: "6 a POST is never redirected", cfg: prodConfig(), req: page(signedIn, func(r *handshake.Request) { r.Method = "POST"; r.Cookies.ClientUAT = "0" }),
			action: handshake.Verify, reason: handshake.ReasonSessionTokenWithoutClientUAT},
		{name: "6 no Sec-Fetch-Dest, Accept text/html: redirected", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.SecFetchDest = ""; r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "6 an iframe is redirected", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.SecFetchDest = "iframe"; r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "6 loop: the third handshake in a row is the last", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.Cookies.RedirectCount = "3"; r.Cookies.ClientUAT = "1700000000" }), action: handshake.Verify,
			reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "6 loop counter counts on", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.Cookies.RedirectCount = "2"; r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			check: func(t *testing.T, d handshake.Decision) {
				require.Equal(t, []string{"__clerk_redirect_count=3; SameSite=Lax; HttpOnly; Max-Age=2"}, d.Cookies)
			}, reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "6 a negative loop counter counts on from itself, as JavaScript's Number reads it", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.Cookies.RedirectCount = "-1"; r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			check: func(t *testing.T, d handshake.Decision) {
				require.Equal(t, []string{"__clerk_redirect_count=0; SameSite=Lax; HttpOnly; Max-Age=2"}, d.Cookies)
			}, reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "6 a fractional loop counter, with white space", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.Cookies.RedirectCount = " 1.5"; r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			check: func(t *testing.T, d handshake.Decision) {
				require.Equal(t, []string{"__clerk_redirect_count=2.5; SameSite=Lax; HttpOnly; Max-Age=2"}, d.Cookies)
			}, reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "6 a loop counter that is not a number is 0", cfg: prodConfig(),
			req: page(func(r *handshake.Request) { r.Cookies.RedirectCount = "2x"; r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			check: func(t *testing.T, d handshake.Decision) {
				require.Equal(t, []string{"__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2"}, d.Cookies)
			}, reason: handshake.ReasonClientUATWithoutSessionToken},
		{name: "13 a token without iat is not older than client_uat", cfg: prodConfig(),
			req: page(func(r *handshake.Request) {
				signedIn(r)
				r.Cookies.Session = jwt(map[string]any{"alg": "RS256", "typ": "JWT"}, map[string]any{"iss": "https://" + fapi, "sub": "user_1", "exp": now.Unix() + 50})
			}), action: handshake.Verify},
		{name: "6 every parameter, in Clerk's order", cfg: devConfig(),
			req: page(withQuery("q=1&__dev_session=x&__clerk_db_jwt=dvb_q"), signedIn), action: handshake.Redirect,
			reason: handshake.ReasonDevBrowserSync, check: func(t *testing.T, d handshake.Decision) {
				want := "https://" + fapi + "/v1/client/handshake?redirect_url=" + url.QueryEscape(app+"/page?q=1") +
					"&__clerk_api_version=2026-05-12&suffixed_cookies=false&__clerk_hs_reason=dev-browser-sync&format=nonce" +
					"&__session=" + url.QueryEscape(session(now.Unix()-10)) + "&__clerk_db_jwt=dvb_q"
				require.Equal(t, want, d.Location)
			}},
		{name: "6 a proxy URL is used as is; without a secret key, the token format", cfg: func() handshake.Config {
			c := prodConfig()
			c.FrontendAPI, c.TokenFormat = "https://app.example.com/__clerk/", true
			return c
		}(), req: page(func(r *handshake.Request) { r.Cookies.ClientUAT = "1700000000" }), action: handshake.Redirect,
			reason: handshake.ReasonClientUATWithoutSessionToken, check: func(t *testing.T, d handshake.Decision) {
				require.True(t, strings.HasPrefix(d.Location, "https://app.example.com/__clerk/v1/client/handshake?"), d.Location)
				require.Contains(t, d.Location, "&format=token")
			}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.req, tc.cfg)
			require.Equal(t, tc.action, d.Action, "%+v", d)
			require.Equal(t, tc.reason, d.Reason)
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

// TestSuffixedCookies: one row per rule of clerk-browser-auth.md §3.
func TestSuffixedCookies(t *testing.T) {
	t.Parallel()
	foreign := jwt(map[string]any{"alg": "RS256"}, map[string]any{"iss": "https://clerk.other.example", "iat": now.Unix()})
	for _, tc := range []struct {
		name     string
		c        handshake.Cookies
		dev      bool
		suffixed bool
	}{
		{"1 plain session without iss: plain", handshake.Cookies{Session: jwt(map[string]any{}, map[string]any{"iat": 1}), SessionSuffixed: session(now.Unix()), ClientUATSuffixed: "1"}, false, false},
		{"2 plain session of another instance: suffixed", handshake.Cookies{Session: foreign, SessionSuffixed: session(now.Unix()), ClientUATSuffixed: "1"}, false, true},
		{"3 no suffixed cookies: plain", handshake.Cookies{Session: session(now.Unix()), ClientUAT: "1"}, false, false},
		{"4 both signed in, plain newer: plain", handshake.Cookies{Session: session(now.Unix()), SessionSuffixed: session(now.Unix() - 100), ClientUAT: "1", ClientUATSuffixed: "1"}, false, false},
		{"5 suffixed signed out, plain in: plain", handshake.Cookies{ClientUAT: "1", ClientUATSuffixed: "0"}, false, false},
		{"6 dev, suffixed in but expired, plain out: plain", handshake.Cookies{SessionSuffixed: session(now.Unix() - 600), ClientUAT: "0", ClientUATSuffixed: "1"}, true, false},
		{"6 production ignores that: suffixed", handshake.Cookies{SessionSuffixed: session(now.Unix() - 600), ClientUAT: "0", ClientUATSuffixed: "1"}, false, true},
		{"7 suffixed session without suffixed client_uat: plain", handshake.Cookies{SessionSuffixed: session(now.Unix()), ClientUAT: "1"}, false, false},
		{"8 otherwise suffixed", handshake.Cookies{SessionSuffixed: session(now.Unix()), ClientUATSuffixed: "1", DevBrowserSuffixed: "dvb"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := prodConfig()
			if tc.dev {
				cfg = devConfig()
			}
			d := decide(page(func(r *handshake.Request) { r.Cookies = tc.c }), cfg)
			require.Equal(t, tc.suffixed, d.Suffixed, "%+v", d)
		})
	}
}

// TestAfterVerify: §5.14 and §7, a token the verifier refused.
func TestAfterVerify(t *testing.T) {
	t.Parallel()
	cfg := prodConfig()
	for _, tc := range []struct {
		name   string
		req    handshake.Request
		f      handshake.Failure
		action handshake.Action
		reason string
	}{
		{"expired, no refresh cookie: handshake", page(signedIn), handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: handshake.RefreshNoCookie},
			handshake.Redirect, "session-token-expired-refresh-non-eligible-no-refresh-cookie"},
		{"expired, refresh refused by Clerk: handshake with its code", page(signedIn), handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: "refresh_token_not_found"},
			handshake.Redirect, "session-token-expired-refresh-refresh_token_not_found"},
		{"expired API call: signed out", page(signedIn, api), handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: handshake.RefreshNoCookie},
			handshake.SignedOut, "session-token-expired-refresh-non-eligible-no-refresh-cookie"},
		{"not yet valid: handshake", page(signedIn), handshake.Failure{Reason: handshake.VerifyTokenNotActiveYet}, handshake.Redirect, handshake.ReasonSessionTokenNBF},
		{"iat in the future: handshake", page(signedIn), handshake.Failure{Reason: handshake.VerifyTokenIATInTheFuture}, handshake.Redirect, handshake.ReasonSessionTokenIATInTheFuture},
		{"outdated by a webhook: handshake for a fresh token", page(signedIn), handshake.Failure{Reason: handshake.VerifyTokenOutdated},
			handshake.Redirect, handshake.ReasonSessionTokenOutdated},
		{"outdated API call: signed out", page(signedIn, api), handshake.Failure{Reason: handshake.VerifyTokenOutdated},
			handshake.SignedOut, handshake.ReasonSessionTokenOutdated},
		{"forged signature: signed out, never a handshake", page(signedIn), handshake.Failure{Reason: "token-invalid-signature"}, handshake.SignedOut, "token-invalid-signature"},
		{"expired in a loop: signed out", page(signedIn, func(r *handshake.Request) { r.Cookies.RedirectCount = "3" }),
			handshake.Failure{Reason: handshake.VerifyTokenExpired, Refresh: handshake.RefreshNoCookie}, handshake.SignedOut, "session-token-expired-refresh-non-eligible-no-refresh-cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.req, cfg)
			require.Equal(t, handshake.Verify, d.Action)
			out := afterVerify(tc.req, cfg, d, tc.f)
			require.Equal(t, tc.action, out.Action)
			require.Equal(t, tc.reason, out.Reason)
			require.Contains(t, out.Message, "token-carrier=cookie")
		})
	}
}

// TestAfterSignIn: §5.15, a page of the primary opened from another site.
func TestAfterSignIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     handshake.Config
		referer string
		mod     func(*handshake.Request)
		action  handshake.Action
	}{
		{"same origin", prodConfig(), app + "/other", nil, handshake.SignedIn},
		{"no referer", prodConfig(), "", nil, handshake.SignedIn},
		{"a satellite's page: handshake", prodConfig(), "https://satellite.example/", nil, handshake.Redirect},
		{"the Frontend API", prodConfig(), "https://" + fapi + "/v1/client", nil, handshake.SignedIn},
		{"the account portal", prodConfig(), "https://accounts.example.com/sign-in", nil, handshake.SignedIn},
		{"a dev account portal in production: handshake", prodConfig(), "https://foo.accounts.dev/", nil, handshake.Redirect},
		{"a dev account portal in development", devConfig(), "https://foo.accounts.dev/", nil, handshake.SignedIn},
		{"already in a handshake", prodConfig(), "https://satellite.example/", func(r *handshake.Request) { r.Cookies.RedirectCount = "1" }, handshake.SignedIn},
		{"a fetch", prodConfig(), "https://satellite.example/", api, handshake.SignedIn},
		// Referers compared as new URL(referer).origin reads them.
		{"same origin in upper case, with the default port", prodConfig(), "HTTPS://APP.EXAMPLE.COM:443/x", nil, handshake.SignedIn},
		{"same origin with user info", prodConfig(), "https://user@app.example.com/x", nil, handshake.SignedIn},
		{"same origin with backslashes", prodConfig(), `https:\\app.example.com\x`, nil, handshake.SignedIn},
		{"another port: handshake", prodConfig(), app + ":8443/", nil, handshake.Redirect},
		{"about:blank has an opaque origin: handshake", prodConfig(), "about:blank", nil, handshake.Redirect},
		{"an app's referer has an opaque origin: handshake", prodConfig(), "android-app://com.example/", nil, handshake.Redirect},
		{"a file: page has an opaque origin: handshake", prodConfig(), "file:///tmp/x.html", nil, handshake.Redirect},
		{"null is no URL: not cross-origin", prodConfig(), "null", nil, handshake.SignedIn},
		{"not a URL: not cross-origin", prodConfig(), "not a url", nil, handshake.SignedIn},
		{"a port past 65535 is no URL: not cross-origin", prodConfig(), "https://satellite.example:65536/", nil, handshake.SignedIn},
		{"the account portal in upper case", prodConfig(), "HTTPS://ACCOUNTS.EXAMPLE.COM/sign-in", nil, handshake.SignedIn},
		{"the Frontend API under another scheme is still Clerk's host", prodConfig(), "android-app://" + fapi + "/", nil, handshake.SignedIn},
		{"a host this reader does not rewrite counts as cross-origin: handshake", prodConfig(), "https://app%2Eexample.com/", nil, handshake.Redirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := page(signedIn, func(r *handshake.Request) { r.Referer = tc.referer })
			if tc.mod != nil {
				tc.mod(&req)
			}
			d := afterSignIn(req, tc.cfg, decide(req, tc.cfg), handshake.Session{UserID: "user_1"})
			require.Equal(t, tc.action, d.Action)
			if d.Action == handshake.Redirect {
				require.Equal(t, handshake.ReasonPrimaryDomainCrossOriginSync, d.Reason)
				require.Equal(t, "Cross-origin request from satellite domain requires handshake", d.Message)
			}
		})
	}
}

// TestOrganizationSync: §10, a page whose URL names another organization
// than the session's active one goes through the handshake, which asks
// the Frontend API to activate it; every handshake on such a page carries
// organization_id.
func TestOrganizationSync(t *testing.T) {
	t.Parallel()
	sync, err := handshake.NewOrganizationSync(
		[]string{"/orgs/:slug", "/orgs/:slug/(.*)", "/by-id/:id/settings"},
		[]string{"/me", "/me/(.*)"})
	require.NoError(t, err)
	cfg := prodConfig()
	cfg.OrganizationSync = sync
	acme := handshake.Session{UserID: "user_1", Org: handshake.ActiveOrganization{ID: "org_acme", Slug: "acme"}}
	personal := handshake.Session{UserID: "user_1"}
	at := func(path string, mod ...func(*handshake.Request)) handshake.Request {
		return page(append([]func(*handshake.Request){signedIn, func(r *handshake.Request) { r.URL = pageURL(app + path) }}, mod...)...)
	}
	for _, tc := range []struct {
		name    string
		req     handshake.Request
		session handshake.Session
		orgID   string // organization_id on the handshake; "-" for no redirect
	}{
		{"the active organization's page", at("/orgs/acme"), acme, "-"},
		{"its page in any case, with a trailing slash", at("/ORGS/acme/"), acme, "-"},
		{"the slug is compared as it is", at("/orgs/ACME"), acme, "ACME"},
		{"another organization's page", at("/orgs/globex/billing"), acme, "globex"},
		{"an organization's page without an active one", at("/orgs/globex"), personal, "globex"},
		{"by id", at("/by-id/org_globex/settings"), acme, "org_globex"},
		{"the active organization by id", at("/by-id/org_acme/settings"), acme, "-"},
		{"the personal account with an active organization", at("/me/profile"), acme, ""},
		{"the personal account without one", at("/me"), personal, "-"},
		{"a page no pattern names", at("/dashboard"), acme, "-"},
		{"a parameter is one segment", at("/by-id/a/b/settings"), acme, "-"},
		{"a pending session (no user) is not synced", at("/orgs/globex"), handshake.Session{}, "-"},
		{"the loop guard: served as it is", at("/orgs/globex", func(r *handshake.Request) { r.Cookies.RedirectCount = "3" }), acme, "-"},
		{"an API call is never redirected", at("/orgs/globex", api), acme, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := afterSignIn(tc.req, cfg, decide(tc.req, cfg), tc.session)
			if tc.orgID == "-" {
				require.Equal(t, handshake.SignedIn, d.Action, d.Location)
				return
			}
			require.Equal(t, handshake.Redirect, d.Action)
			require.Equal(t, handshake.ReasonActiveOrganizationMismatch, d.Reason)
			u, err := url.Parse(d.Location)
			require.NoError(t, err)
			require.Equal(t, []string{tc.orgID}, u.Query()["organization_id"])
			require.True(t, strings.HasSuffix(u.RawQuery, "&organization_id="+url.QueryEscape(tc.orgID)), "organization_id comes last: %s", u.RawQuery)
		})
	}

	t.Run("every handshake on a matching page carries the target", func(t *testing.T) {
		req := page(func(r *handshake.Request) { r.URL = pageURL(app + "/orgs/globex") }, func(r *handshake.Request) {
			r.Cookies.Session = session(now.Unix() - 10)
		})
		d := decide(req, cfg)
		require.Equal(t, handshake.ReasonSessionTokenWithoutClientUAT, d.Reason)
		u, _ := url.Parse(d.Location)
		require.Equal(t, "globex", u.Query().Get("organization_id"))

		req.URL = pageURL(app + "/elsewhere")
		u, _ = url.Parse(decide(req, cfg).Location)
		require.False(t, u.Query().Has("organization_id"))
	})
	t.Run("without OrganizationSync nothing is synced", func(t *testing.T) {
		req := at("/orgs/globex")
		d := afterSignIn(req, prodConfig(), decide(req, prodConfig()), acme)
		require.Equal(t, handshake.SignedIn, d.Action)
	})
}

// TestOrganizationPatterns: the subset of path-to-regexp that Clerk
// documents is compiled; anything else is refused, never guessed at.
func TestOrganizationPatterns(t *testing.T) {
	t.Parallel()
	none, err := handshake.NewOrganizationSync(nil, nil)
	require.NoError(t, err)
	require.Nil(t, none)
	_, ok := none.Target("/orgs/x")
	require.False(t, ok)

	for _, bad := range []string{
		"orgs/:slug",        // not a path
		"/orgs/:slug?",      // optional parameter
		"/orgs/:slug*",      // repeated parameter
		"/orgs/:slug(\\d+)", // custom expression
		"/orgs/(\\d+)",      // a group other than (.*)
		"/orgs/org-:slug",   // a parameter inside a segment
		"/orgs/:slug.json",  // a parameter followed by text
		"/orgs/:",           // no name
		"/orgs/{:slug}",     // braces
		"/orgs/\\:slug",     // escapes
	} {
		_, err := handshake.NewOrganizationSync([]string{bad}, nil)
		require.Error(t, err, bad)
		_, err = handshake.NewOrganizationSync(nil, []string{bad})
		require.Error(t, err, bad)
	}

	s, err := handshake.NewOrganizationSync([]string{"/t/(.*)/:slug", "/o/:id/:slug"}, []string{"/me(.*)"})
	require.NoError(t, err)
	for path, want := range map[string]handshake.OrganizationTarget{
		"/t/a/b/acme":   {Slug: "acme"},
		"/o/org_1/acme": {ID: "org_1"}, // the id wins
		"/o/org%201/x":  {ID: "org%201"},
		"/me":           {Personal: true},
		"/mezzanine":    {Personal: true},
		"/ME/":          {Personal: true},
	} {
		got, ok := s.Target(path)
		require.True(t, ok, path)
		require.Equal(t, want, got, path)
	}
	for _, path := range []string{"/t/acme", "/o/org_1", "/", "/o/org_1/acme/x", "/you"} {
		_, ok := s.Target(path)
		require.False(t, ok, path)
	}
	// An organization pattern without :id or :slug names none: the
	// personal-account patterns are tried next.
	s, err = handshake.NewOrganizationSync([]string{"/(.*)"}, []string{"/me"})
	require.NoError(t, err)
	got, ok := s.Target("/me")
	require.True(t, ok)
	require.Equal(t, handshake.OrganizationTarget{Personal: true}, got)
}

// FuzzOrganizationPatterns: any pattern either compiles or is refused,
// and a compiled one matches any path without a panic.
func FuzzOrganizationPatterns(f *testing.F) {
	f.Add("/orgs/:slug/(.*)", "/orgs/acme/x")
	f.Add("/:id", "/")
	f.Add("/((.*))", "/a")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		s, err := handshake.NewOrganizationSync([]string{pattern}, []string{pattern})
		if err != nil {
			return
		}
		s.Target(path)
	})
}

// TestRetryWithClockSkew: §8, a development handshake's session token
// that the clock refused is verified again with a day's leeway;
// production never retries, nor does any other failure.
func TestRetryWithClockSkew(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{handshake.VerifyTokenExpired, handshake.VerifyTokenNotActiveYet, handshake.VerifyTokenIATInTheFuture} {
		require.True(t, handshake.RetryWithClockSkew(devConfig(), reason), reason)
		require.False(t, handshake.RetryWithClockSkew(prodConfig(), reason), reason)
	}
	for _, reason := range []string{"token-invalid-signature", "token-invalid-issuer", "token-invalid", ""} {
		require.False(t, handshake.RetryWithClockSkew(devConfig(), reason), reason)
	}
	require.Equal(t, 24*time.Hour, handshake.DevClockSkew)
}

// TestBinding: a handshake is resolved only by the browser it was started
// in (the binding cookie the 307 sets), and in production only as the
// Frontend API hands it over there, in a cookie; anything else is decided
// as if the request carried no handshake (login CSRF).
func TestBinding(t *testing.T) {
	t.Parallel()
	key := handshake.BindingKey("sk_test_binding")
	bind := func(c handshake.Config) handshake.Config { c.BindingKey = key; return c }
	dev, prod := bind(devConfig()), bind(prodConfig())

	// The 307 to the handshake sets the cookie; the browser that follows
	// it comes back with it.
	start := decide(page(), dev)
	require.Equal(t, handshake.Redirect, start.Action)
	require.Len(t, start.Cookies, 2)
	sc, err := http.ParseSetCookie(start.Cookies[1])
	require.NoError(t, err)
	require.Equal(t, handshake.CookieBindingSecure, sc.Name, "the page is on https")
	require.True(t, sc.Secure)
	require.True(t, sc.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, sc.SameSite)
	require.Equal(t, "/", sc.Path)
	require.Equal(t, int(handshake.BindingLifetime/time.Second), sc.MaxAge)
	genuine := func(r *handshake.Request) { r.Cookies.BindingSecure = sc.Value }

	back := func(q string, mod ...func(*handshake.Request)) handshake.Request {
		return page(append([]func(*handshake.Request){withQuery(q)}, mod...)...)
	}
	later := func(d time.Duration) func(*handshake.Request) {
		return func(r *handshake.Request) { r.Now = r.Now.Add(d) }
	}
	for _, tc := range []struct {
		name    string
		cfg     handshake.Config
		req     handshake.Request
		resolve bool
	}{
		{"the browser that started it", dev, back("__clerk_handshake_nonce=n1", genuine), true},
		{"a handshake token likewise", dev, back("__clerk_handshake=hs", genuine), true},
		{"just before the cookie expires", dev, back("__clerk_handshake_nonce=n1", genuine, later(handshake.BindingLifetime-time.Second)), true},
		{"another browser: no cookie", dev, back("__clerk_handshake_nonce=n1"), false},
		{"another browser: a handshake token", dev, back("__clerk_handshake=hs"), false},
		{"the cookie has expired", dev, back("__clerk_handshake_nonce=n1", genuine, later(handshake.BindingLifetime+time.Second)), false},
		{"a forged cookie", dev, back("__clerk_handshake_nonce=n1", func(r *handshake.Request) {
			last := "A"
			if strings.HasSuffix(sc.Value, last) {
				last = "B"
			}
			r.Cookies.BindingSecure = sc.Value[:len(sc.Value)-1] + last
		}), false},
		{"a cookie with a later expiry than any the Gate sets", dev, back("__clerk_handshake_nonce=n1", func(r *handshake.Request) {
			r.Cookies.BindingSecure = "9" + sc.Value
		}), false},
		{"another instance's cookie", bind(devConfig()), back("__clerk_handshake_nonce=n1", func(r *handshake.Request) {
			c := devConfig()
			c.BindingKey = handshake.BindingKey("sk_test_other")
			d := decide(page(), c)
			o, _ := http.ParseSetCookie(d.Cookies[1])
			r.Cookies.BindingSecure = o.Value
		}), false},
		{"production: a nonce in a cookie, bound", prod, page(genuine, func(r *handshake.Request) { r.Cookies.HandshakeNonce = "n1" }), true},
		{"production: a handshake token in a cookie, bound", prod, page(genuine, func(r *handshake.Request) { r.Cookies.Handshake = "hs" }), true},
		{"production: a nonce in a cookie, unbound", prod, page(func(r *handshake.Request) { r.Cookies.HandshakeNonce = "n1" }), false},
		{"production: a nonce in the query, which Clerk never sends", prod, back("__clerk_handshake_nonce=n1", genuine), false},
		{"production: a handshake token in the query", prod, back("__clerk_handshake=hs", genuine), false},
		{"production without a binding key: the cookie still counts", prodConfig(), page(func(r *handshake.Request) { r.Cookies.HandshakeNonce = "n1" }), true},
		{"production without a binding key: never the query", prodConfig(), back("__clerk_handshake_nonce=n1"), false},
		{"development without a binding key resolves any, as Clerk", devConfig(), back("__clerk_handshake_nonce=n1"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.req, tc.cfg)
			if tc.resolve {
				require.Equal(t, handshake.Resolve, d.Action)
				return
			}
			require.NotEqual(t, handshake.Resolve, d.Action)
			if d.Action == handshake.Redirect {
				// The ignored handshake does not go round again.
				u, _ := url.Parse(d.Location)
				back := u.Query().Get("redirect_url")
				require.NotContains(t, back, "__clerk_handshake")
				require.Contains(t, back, "/page")
			}
		})
	}

	t.Run("https: the __Host- cookie, Secure; the http name does not count", func(t *testing.T) {
		https := func(r *handshake.Request) { r.URL = pageURL(app + "/page?__clerk_handshake_nonce=n1") }
		d := decide(page(), dev)
		sc, err := http.ParseSetCookie(d.Cookies[1])
		require.NoError(t, err)
		require.Equal(t, handshake.CookieBindingSecure, sc.Name)
		require.True(t, sc.Secure)
		require.Equal(t, handshake.Resolve, decide(page(https, func(r *handshake.Request) { r.Cookies.BindingSecure = sc.Value }), dev).Action)
		require.NotEqual(t, handshake.Resolve, decide(page(https, func(r *handshake.Request) { r.Cookies.Binding = sc.Value }), dev).Action)
	})
	t.Run("plain http: no Secure, no prefix", func(t *testing.T) {
		req := page(func(r *handshake.Request) { r.URL = pageURL("http://localhost:3000/page") })
		d := decide(req, dev)
		sc, err := http.ParseSetCookie(d.Cookies[1])
		require.NoError(t, err)
		require.Equal(t, handshake.CookieBinding, sc.Name)
		require.False(t, sc.Secure)
	})
	t.Run("only handshakes set it", func(t *testing.T) {
		c := dev
		c.SatelliteOrigins = []string{"https://sat.example"}
		d := decide(page(withQuery("__clerk_redirect_url="+url.QueryEscape("https://sat.example/x")), signedIn), c)
		require.Equal(t, handshake.ReasonPrimaryRespondsToSyncing, d.Reason)
		require.Len(t, d.Cookies, 1)
		d = decide(page(), devConfig())
		require.Len(t, d.Cookies, 1, "no binding key, no binding cookie")
	})
	t.Run("resolving a handshake removes it: each serves once", func(t *testing.T) {
		req := page(withQuery("__clerk_handshake_nonce=n1"), genuine)
		res := resolved(req, dev, nil)
		var found bool
		for _, c := range res.Cookies {
			sc, err := http.ParseSetCookie(c)
			require.NoError(t, err)
			if sc.Name == handshake.CookieBindingSecure {
				found = true
				require.Equal(t, -1, sc.MaxAge)
			}
		}
		require.True(t, found, res.Cookies)
		require.Empty(t, resolved(req, devConfig(), nil).Cookies)
	})
}

// TestResolved: only Clerk's cookies come out of a handshake.
func TestResolved(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	req := page(withQuery("q=1&__clerk_handshake=hs&__clerk_help=1&__clerk_db_jwt=d&__clerk_handshake_nonce=n"))
	res := resolved(req, cfg, []string{
		"__session=plain; Path=/",
		"__session_" + suffix + "=suffixed; Path=/; Secure",
		"__client_uat=1; Path=/",
		"__refresh_" + suffix + "=r; Path=/; HttpOnly",
		"admin=true; Path=/",                             // another cookie of the app's
		"__refresh=r; Path=/",                            // Clerk never sets it unsuffixed
		"__session_other=x; Path=/",                      // another instance's
		"__client_uat=1\r\nSet-Cookie: admin=true",       // a header smuggled in
		"__session=x; Path=/\nLocation: https://evil.ex", // the same with LF only
		"not a cookie",
	})
	require.Equal(t, 6, res.Refused)
	require.Equal(t, "suffixed", res.Token)
	require.Equal(t, []string{
		"__session=plain; Path=/", "__session_" + suffix + "=suffixed; Path=/; Secure",
		"__client_uat=1; Path=/", "__refresh_" + suffix + "=r; Path=/; HttpOnly",
	}, res.Cookies)
	require.Equal(t, app+"/page?q=1", res.Location)

	// Production: no redirect; a cleared session cookie signs out.
	res = resolved(req, prodConfig(), []string{"__session=; Path=/; Max-Age=0"})
	require.Empty(t, res.Location)
	require.Empty(t, res.Token)
	require.Len(t, res.Cookies, 1)
}

func TestNonceShaped(t *testing.T) {
	t.Parallel()
	require.True(t, handshake.NonceShaped("AbC_-9"))
	for _, bad := range []string{"", strings.Repeat("a", 129), "a b", "a/b", "a%2F", "ä"} {
		require.False(t, handshake.NonceShaped(bad), bad)
	}
}

func FuzzDecide(f *testing.F) {
	f.Add("q=1&__clerk_db_jwt=x", session(now.Unix()), "1", "", "GET", "document", "/p", "")
	f.Add("__clerk_redirect_url=https%3A%2F%2Fe", "a.b.c", "0", "3", "POST", "", "/orgs/x", "")
	f.Add("__clerk_handshake_nonce=n", "", "", "", "GET", "document", "/me/", "1800000060.x")
	sync, err := handshake.NewOrganizationSync([]string{"/orgs/:slug", "/orgs/:slug/(.*)", "/o/:id"}, []string{"/me", "/me/(.*)"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query, token, uat, count, method, dest, path, binding string) {
		u, err := url.Parse(app + "/" + strings.TrimPrefix(path, "/") + "?" + query)
		if err != nil {
			return
		}
		req := handshake.Request{Method: method, URL: *u, SecFetchDest: dest, Accept: "text/html", Now: now,
			Cookies: handshake.Cookies{Session: token, ClientUAT: uat, RedirectCount: count, SessionSuffixed: token,
				HandshakeNonce: "n", Binding: binding, BindingSecure: binding}}
		bound := devConfig()
		bound.BindingKey, bound.OrganizationSync = handshake.BindingKey("sk_test_fuzz"), sync
		if d := decide(req, bound); d.Action == handshake.Resolve {
			t.Fatalf("resolved a handshake with a binding cookie the Gate never set: %q", binding)
		}
		if d := afterSignIn(req, bound, decide(req, bound), handshake.Session{UserID: "u"}); d.Action == handshake.Redirect {
			if _, err := url.Parse(d.Location); err != nil {
				t.Fatalf("bad location %q", d.Location)
			}
		}
		// The peeks a caller gives are the peeks Decide would make.
		peeked := req
		peeked.Cookies.SessionPeek, peeked.Cookies.SessionSuffixedPeek = handshake.PeekToken(token), handshake.PeekToken(token)
		for _, cfg := range []handshake.Config{prodConfig(), devConfig(), bound} {
			d := decide(req, cfg)
			if p := decide(peeked, cfg); !reflect.DeepEqual(p, d) {
				t.Fatalf("given its peeks, %+v; peeking itself, %+v", p, d)
			}
			if d.Action == handshake.Redirect {
				if !handshake.Eligible(method, dest, "text/html") {
					t.Fatalf("redirected a request that cannot be: %+v", d)
				}
				if _, err := url.Parse(d.Location); err != nil {
					t.Fatalf("bad location %q", d.Location)
				}
			}
		}
	})
}

// FuzzResolved: whatever a handshake carries, only Clerk's cookies come
// out, each a single well-formed Set-Cookie value.
func FuzzResolved(f *testing.F) {
	f.Add("__session=a; Path=/", "admin=1", "__client_uat=1\r\nX: y")
	f.Add("__refresh_"+suffix+"=r; HttpOnly", "__session_"+suffix+"=s; Domain=.example.com", "__clerk_db_jwt=d; Max-Age=0")
	allowed := map[string]bool{
		"__session": true, "__client_uat": true, "__clerk_db_jwt": true, "__clerk_handshake": true,
		"__clerk_handshake_nonce": true, "__clerk_redirect_count": true,
		"__session_" + suffix: true, "__client_uat_" + suffix: true, "__clerk_db_jwt_" + suffix: true, "__refresh_" + suffix: true,
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		res := resolved(page(), devConfig(), []string{a, b, c})
		if len(res.Cookies)+res.Refused != 3 {
			t.Fatalf("%d cookies and %d refused of 3", len(res.Cookies), res.Refused)
		}
		for _, sc := range res.Cookies {
			if strings.ContainsAny(sc, "\r\n\x00") {
				t.Fatalf("a header break in %q", sc)
			}
			name, _, _ := strings.Cut(sc, "=")
			if !allowed[name] {
				t.Fatalf("cookie %q is not Clerk's", name)
			}
		}
	})
}
