package clerkgate_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/webhooks"
)

// A session revoked, a user deleted or a membership changed in Clerk, not
// through the Gate, is refused as soon as Clerk's webhook is delivered.
func TestWebhooksRevokeWhatClerkRevokes(t *testing.T) {
	t.Parallel()
	a := newHookApp(t, nil)

	s := a.fake.CreateSession("")
	other := a.fake.CreateSession("")
	token, otherToken := a.fake.Token(s.ID), a.fake.Token(other.ID)
	require.Equal(t, http.StatusOK, get(t, a.url, bearer(token)).status)

	a.backendAPI(t, http.MethodPost, "/v1/sessions/"+s.ID+"/revoke", "")
	d := a.delivered(t, 1)
	require.Equal(t, "session.revoked", d[0].Type)
	require.Equal(t, http.StatusOK, d[0].Status)
	require.Equal(t, clerkgate.ReasonSessionRevoked, clerkgate.Reason(get(t, a.url, bearer(token)).reason))
	require.Equal(t, http.StatusOK, get(t, a.url, bearer(otherToken)).status, "another session is untouched")

	// A deleted user: every token, whatever its session.
	u := a.fake.CreateSession("")
	u2 := a.fake.CreateSession(u.UserID)
	tokens := []string{a.fake.Token(u.ID), a.fake.Token(u2.ID)}
	a.backendAPI(t, http.MethodDelete, "/v1/users/"+u.UserID, "")
	require.Equal(t, "user.deleted", a.delivered(t, 2)[1].Type)
	for _, tok := range tokens {
		require.Equal(t, clerkgate.ReasonTokenOutdated, clerkgate.Reason(get(t, a.url, bearer(tok)).reason))
	}
	require.Equal(t, http.StatusOK, get(t, a.url, bearer(otherToken)).status)

	// A banned user: user.updated (banned) and session.revoked.
	b := a.fake.CreateSession("")
	bt := a.fake.Token(b.ID)
	a.backendAPI(t, http.MethodPost, "/v1/users/"+b.UserID+"/ban", "")
	a.delivered(t, 4)
	require.Equal(t, http.StatusUnauthorized, get(t, a.url, bearer(bt)).status)
	require.Equal(t, http.StatusUnauthorized, get(t, a.url, bearer(a.fake.Token(b.ID))).status, "every token of the user")

	// A membership changed: tokens issued up to the change are refused,
	// tokens issued after it pass (their claims are the new ones).
	m := a.fake.CreateSession("", clerktest.WithOrg("org_1", "acme", "org:admin"))
	before := a.fake.Token(m.ID)
	require.Equal(t, http.StatusOK, get(t, a.url, bearer(before)).status)
	a.backendAPI(t, http.MethodPatch, "/v1/organizations/org_1/memberships/"+m.UserID, `{"role":"org:member"}`)
	d = a.delivered(t, 5)
	require.Equal(t, "organizationMembership.updated", d[4].Type)
	require.Equal(t, clerkgate.ReasonTokenOutdated, clerkgate.Reason(get(t, a.url, bearer(before)).reason))
	after := a.fake.Token(m.ID, clerktest.IssuedAt(time.Now().Add(time.Second)))
	require.Equal(t, http.StatusOK, get(t, a.url, bearer(after)).status)

	// The app's handler saw each verified event once (in any order: the
	// deliveries run in parallel, as Clerk's do).
	var types []string
	for _, e := range a.handled() {
		types = append(types, e.Type)
	}
	require.ElementsMatch(t, []string{"session.revoked", "user.deleted", "user.updated", "session.revoked", "organizationMembership.updated"}, types)
}

// Clerk delivers at least once: a message delivered again is answered 200
// and not handled again, by this replica or another on the same Store.
func TestWebhooksReplayIsAppliedOnce(t *testing.T) {
	t.Parallel()
	a := newHookApp(t, nil)
	s := a.fake.CreateSession("")
	require.True(t, a.fake.RevokeSession(s.ID))
	d := a.delivered(t, 1)
	for range 3 {
		require.True(t, a.fake.RedeliverWebhook(d[0].MessageID))
	}
	d = a.delivered(t, 4)
	for _, x := range d {
		require.Equal(t, http.StatusOK, x.Status)
		require.Equal(t, d[0].MessageID, x.MessageID)
	}
	require.Len(t, a.handled(), 1)
}

// When the app's handler fails, Clerk is told to try again, and the next
// delivery is handled again (the Gate's own effects stay).
func TestWebhooksHandlerFailureIsRetried(t *testing.T) {
	t.Parallel()
	a := newHookApp(t, nil)
	a.mu.Lock()
	a.fail = errors.New("database down")
	a.mu.Unlock()
	s := a.fake.CreateSession("")
	tok := a.fake.Token(s.ID)
	a.fake.RevokeSession(s.ID)
	d := a.delivered(t, 1)
	require.Equal(t, http.StatusInternalServerError, d[0].Status)
	require.Equal(t, http.StatusUnauthorized, get(t, a.url, bearer(tok)).status, "revoked all the same")
	a.mu.Lock()
	a.fail = nil
	a.mu.Unlock()
	// The fake retries by itself.
	d = a.delivered(t, 2)
	require.Equal(t, http.StatusOK, d[1].Status)
	require.Len(t, a.handled(), 1)
}

// Each of these deliveries, if accepted, would let whoever sent it revoke
// a session. Each is refused with a 4xx, and nothing changes.
func TestWebhooksRefuseForgeries(t *testing.T) {
	t.Parallel()
	a := newHookApp(t, nil)
	s := a.fake.CreateSession("")
	tok := a.fake.Token(s.ID)
	body := []byte(`{"object":"event","type":"session.revoked","timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) +
		`,"data":{"object":"session","id":"` + s.ID + `","user_id":"` + s.UserID + `","status":"revoked"}}`)
	otherSecret := clerktest.New()
	otherSecret.Close()
	url := a.url + "/webhooks/clerk"
	send := func(secret, id string, ts time.Time, b []byte, mod func(*http.Request)) int {
		req, err := webhooks.NewRequest(t.Context(), url, secret, id, ts, b)
		require.NoError(t, err)
		if mod != nil {
			mod(req)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	secret, now := a.fake.WebhookSecret(), time.Now()
	tampered := []byte(strings.Replace(string(body), `"status":"revoked"`, `"status":"revokeD"`, 1))
	cases := map[string]int{
		"wrong secret": send(otherSecret.WebhookSecret(), "msg_1", now, body, nil),
		"stale":        send(secret, "msg_2", now.Add(-6*time.Minute), body, nil),
		"future":       send(secret, "msg_3", now.Add(6*time.Minute), body, nil),
		"tampered body": send(secret, "msg_4", now, body, func(r *http.Request) {
			r.Body = io.NopCloser(bytes.NewReader(tampered))
		}),
		"no signature":    send(secret, "msg_5", now, body, func(r *http.Request) { r.Header.Del("Svix-Signature") }),
		"no headers":      send(secret, "msg_6", now, body, func(r *http.Request) { r.Header = http.Header{} }),
		"ambiguous":       send(secret, "msg_7", now, body, func(r *http.Request) { r.Header.Set("Webhook-Id", "msg_other") }),
		"not an event":    send(secret, "msg_8", now, []byte(`{"type":"session.revoked"}`), nil),
		"not a session":   send(secret, "msg_9", now, []byte(strings.Replace(string(body), s.ID, "user_x", 1)), nil),
		"oversized":       send(secret, "msg_10", now, append(body, make([]byte, webhooks.MaxBodySize)...), nil),
		"oversized, hush": send(secret, "msg_11", now, append(body, make([]byte, webhooks.MaxBodySize)...), func(r *http.Request) { r.ContentLength = -1 }),
	}
	for name, status := range cases {
		want := http.StatusBadRequest
		if strings.HasPrefix(name, "oversized") {
			want = http.StatusRequestEntityTooLarge
		}
		require.Equal(t, want, status, name)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	require.Equal(t, http.MethodPost, res.Header.Get("Allow"))

	require.Equal(t, http.StatusOK, get(t, a.url, bearer(tok)).status, "nothing was revoked")
	require.Empty(t, a.handled())
	// The genuine message does revoke; one refused earlier under its id
	// did not mark it handled.
	require.Equal(t, http.StatusOK, send(secret, "msg_1", now, body, nil))
	require.Equal(t, http.StatusUnauthorized, get(t, a.url, bearer(tok)).status)
}

func TestWebhooksNeedTheSecret(t *testing.T) {
	t.Parallel()
	a := newHookApp(t, func(c *clerkgate.Config) { c.WebhookSigningSecret = "" })
	s := a.fake.CreateSession("")
	a.fake.RevokeSession(s.ID)
	require.Equal(t, http.StatusInternalServerError, a.delivered(t, 1)[0].Status, "Clerk retries until the secret is set")

	fake := clerktest.New()
	defer fake.Close()
	_, err := clerkgate.New(clerkgate.Config{PublishableKey: fake.PublishableKey(), WebhookSigningSecret: "whsec_short"})
	require.ErrorIs(t, err, clerkgate.ErrConfig)
	require.ErrorIs(t, err, webhooks.ErrInvalidSecret)
	require.NotContains(t, err.Error(), "short", "the secret is not quoted")
}

func TestWebhookSecretFromEnv(t *testing.T) {
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", " whsec_abc ")
	require.Equal(t, "whsec_abc", clerkgate.ConfigFromEnv().WebhookSigningSecret)
}
