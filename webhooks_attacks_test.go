package clerkgate_test

// The independent review's attacks on webhooks (TestReview…, as in
// pipeline_attacks_test.go), over real HTTP against clerktest.

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/webhooks"
)

// hook signs body as Clerk would for a's endpoint, sends it with mod
// applied, and returns the status.
func (a *hookApp) hook(t *testing.T, id string, ts time.Time, body []byte, mod func(*http.Request)) int {
	t.Helper()
	req, err := webhooks.NewRequest(t.Context(), a.url+"/webhooks/clerk", a.fake.WebhookSecret(), id, ts, body)
	require.NoError(t, err)
	if mod != nil {
		mod(req)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

func eventJSON(typ string, at time.Time, instance, data string) []byte {
	return fmt.Appendf(nil, `{"object":"event","type":%q,"timestamp":%d,"instance_id":%q,"data":%s}`, typ, at.UnixMilli(), instance, data)
}

func membershipJSON(userID string) string {
	return fmt.Sprintf(`{"object":"organization_membership","id":"orgmem_1","role":"org:member","organization":{"id":"org_1"},"public_user_data":{"user_id":%q}}`, userID)
}

// Webhook deliveries a forger, a replayer or a confused proxy might send.
func TestReviewWebhookAttacks(t *testing.T) {
	a := newHookApp(t, nil)
	now := time.Now()
	s := a.fake.CreateSession("")
	tok := a.fake.Token(s.ID)
	revoke := eventJSON("session.revoked", now, "ins_1", fmt.Sprintf(`{"object":"session","id":%q,"user_id":%q,"status":"revoked"}`, s.ID, s.UserID))
	sig := func(id string, body []byte) string {
		h, err := webhooks.SignatureHeader(id, now, body, a.fake.WebhookSecret())
		require.NoError(t, err)
		return h
	}

	// Ambiguous headers, each with one valid signature among them, change nothing.
	for name, mod := range map[string]func(*http.Request){
		"two svix-id":                      func(r *http.Request) { r.Header.Add("Svix-Id", "msg_other") },
		"two svix-timestamp":               func(r *http.Request) { r.Header.Add("Svix-Timestamp", fmt.Sprint(now.Unix()-1)) },
		"two svix-signature lines":         func(r *http.Request) { r.Header.Add("Svix-Signature", "v1,AAAA") },
		"webhook-id disagrees":             func(r *http.Request) { r.Header.Set("Webhook-Id", "msg_x") },
		"webhook-timestamp disagrees":      func(r *http.Request) { r.Header.Set("Webhook-Timestamp", fmt.Sprint(now.Unix()+1)) },
		"webhook-signature disagrees":      func(r *http.Request) { r.Header.Set("Webhook-Signature", "v1,AAAA") },
		"timestamp with a sign":            func(r *http.Request) { r.Header.Set("Svix-Timestamp", "+"+fmt.Sprint(now.Unix())) },
		"timestamp in milliseconds":        func(r *http.Request) { r.Header.Set("Svix-Timestamp", fmt.Sprint(now.UnixMilli())) },
		"empty svix-id":                    func(r *http.Request) { r.Header.Set("Svix-Id", "") },
		"no svix-timestamp":                func(r *http.Request) { r.Header.Del("Svix-Timestamp") },
		"signature of another id":          func(r *http.Request) { r.Header.Set("Svix-Signature", sig("msg_zz", revoke)) },
		"v2 scheme with a valid signature": func(r *http.Request) { r.Header.Set("Svix-Signature", "v2,"+sig("msg_a", revoke)[3:]) },
	} {
		st := a.hook(t, "msg_a", now, revoke, mod)
		require.Equal(t, http.StatusBadRequest, st, name)
	}
	require.Equal(t, http.StatusOK, get(t, a.url, bearer(tok)).status, "nothing was revoked")

	// The same values under both prefixes are one delivery.
	require.Equal(t, http.StatusOK, a.hook(t, "msg_a", now, revoke, func(r *http.Request) {
		r.Header.Set("Webhook-Id", r.Header.Get("Svix-Id"))
		r.Header.Set("Webhook-Timestamp", r.Header.Get("Svix-Timestamp"))
		r.Header.Set("Webhook-Signature", r.Header.Get("Svix-Signature"))
	}))
	require.Equal(t, http.StatusUnauthorized, get(t, a.url, bearer(tok)).status)
	// Replays, within the window, are answered 200 and handled once.
	for range 5 {
		require.Equal(t, http.StatusOK, a.hook(t, "msg_a", now, revoke, nil))
	}
	require.Len(t, a.handled(), 1)

	// Reordered: a membership change, then an older one delivered late.
	// The cutoff never moves back: a token issued between them stays refused.
	m := a.fake.CreateSession("")
	between := a.fake.Token(m.ID, clerktest.IssuedAt(now.Add(-10*time.Second)))
	require.Equal(t, http.StatusOK, get(t, a.url, bearer(between)).status)
	require.Equal(t, http.StatusOK, a.hook(t, "msg_new", now, eventJSON("organizationMembership.updated", now, "ins_1", membershipJSON(m.UserID)), nil))
	require.Equal(t, http.StatusOK, a.hook(t, "msg_old", now, eventJSON("organizationMembership.updated", now.Add(-30*time.Second), "ins_1", membershipJSON(m.UserID)), nil))
	require.Equal(t, clerkgate.ReasonTokenOutdated, clerkgate.Reason(get(t, a.url, bearer(between)).reason))

	// Huge JSON within 1 MiB: a 4xx or a 200, never a 5xx.
	deep := eventJSON("session.revoked", now, "ins_1", strings.Repeat("[", 500_000)+strings.Repeat("]", 500_000))
	wide := eventJSON("user.created", now, "ins_1", `{"object":"user","id":"user_wide","junk":[`+strings.Repeat(`{"a":[1,2,3]},`, 70_000)+"0]}")
	require.Less(t, len(wide), webhooks.MaxBodySize)
	for name, body := range map[string][]byte{"deep": deep[:min(len(deep), webhooks.MaxBodySize)], "wide": wide} {
		t0 := time.Now()
		st := a.hook(t, "msg_"+name, now, body, nil)
		t.Logf("%s JSON of %d bytes: %d in %v", name, len(body), st, time.Since(t0).Round(time.Millisecond))
		require.Less(t, st, 500, name)
	}
}

// A valid signature is the whole of the trust: an event naming another
// instance is applied as any other (the signing secret is the endpoint's
// own). Logged, as a finding.
func TestReviewWebhookOfAnotherInstance(t *testing.T) {
	a := newHookApp(t, nil)
	s := a.fake.CreateSession("")
	tok := a.fake.Token(s.ID)
	now := time.Now()
	body := eventJSON("session.revoked", now, "ins_someone_else", fmt.Sprintf(`{"object":"session","id":%q,"user_id":%q,"status":"revoked"}`, s.ID, s.UserID))
	require.Equal(t, http.StatusOK, a.hook(t, "msg_other_instance", now, body, nil))
	t.Logf("a signed session.revoked naming instance ins_someone_else: token now %d", get(t, a.url, bearer(tok)).status)
}

// A flood of valid deliveries (only the signing secret's holder can make
// one) revoking distinct sessions: each is held for the revocation term;
// the message ids remembered stay within MarkCacheSize.
func TestReviewWebhookRevocationFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 12,000 deliveries")
	}
	a := newHookApp(t, nil)
	now := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 12_000
	for i := range n {
		body := eventJSON("session.revoked", now, "ins_1", fmt.Sprintf(`{"object":"session","id":"sess_flood%d","user_id":"user_x","status":"revoked"}`, i))
		require.Equal(t, http.StatusOK, a.hook(t, fmt.Sprint("msg_flood", i), now, body, nil))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d valid revocations by webhook: heap grew %d KiB (%d B per delivery), held for the term", n, (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10, (int64(after.HeapAlloc)-int64(before.HeapAlloc))/n)
	// The first message id was let go of past MarkCacheSize (10,000): a
	// replay is applied again, which changes nothing.
	first := eventJSON("session.revoked", now, "ins_1", `{"object":"session","id":"sess_flood0","user_id":"user_x","status":"revoked"}`)
	require.Equal(t, http.StatusOK, a.hook(t, "msg_flood0", now, first, nil))
	require.Len(t, a.handled(), n+1, "remembered ids are bounded: the oldest is handled again")
}
