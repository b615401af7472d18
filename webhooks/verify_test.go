package webhooks_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/webhooks"
)

func newSecret(t testing.TB) string {
	b := make([]byte, 24)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

var now = time.Unix(1_760_000_000, 0)

const body = `{"data":{"id":"sess_2abc","user_id":"user_2xyz","status":"revoked","object":"session"},"object":"event","type":"session.revoked","timestamp":1760000000123,"instance_id":"ins_2q"}`

// signed returns the headers of a message signed with secret at ts.
func signed(t testing.TB, id string, ts time.Time, b string, secrets ...string) http.Header {
	sig, err := webhooks.SignatureHeader(id, ts, []byte(b), secrets...)
	require.NoError(t, err)
	h := http.Header{}
	h.Set("Svix-Id", id)
	h.Set("Svix-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("Svix-Signature", sig)
	return h
}

func verifier(t testing.TB, secret string) *webhooks.Verifier {
	v, err := webhooks.NewVerifier(secret, webhooks.Options{Clock: func() time.Time { return now }})
	require.NoError(t, err)
	return v
}

func TestVerifyAcceptsGenuineMessages(t *testing.T) {
	secret, old := newSecret(t), newSecret(t)
	v := verifier(t, secret)

	msg, err := v.Verify(signed(t, "msg_1", now, body, secret), []byte(body))
	require.NoError(t, err)
	require.Equal(t, "msg_1", msg.ID)
	require.Equal(t, now, msg.Timestamp)

	// During a rotation the header carries both signatures, in any order.
	_, err = v.Verify(signed(t, "msg_1", now, body, old, secret), []byte(body))
	require.NoError(t, err)

	// The webhook- form of the headers, and both forms when they agree.
	h := signed(t, "msg_1", now, body, secret)
	w := http.Header{}
	for k, vs := range h {
		w[strings.Replace(k, "Svix-", "Webhook-", 1)] = vs
	}
	_, err = v.Verify(w, []byte(body))
	require.NoError(t, err)
	for k, vs := range w {
		h[k] = vs
	}
	_, err = v.Verify(h, []byte(body))
	require.NoError(t, err)

	// Right at the tolerance, either way.
	for _, d := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
		_, err = v.Verify(signed(t, "msg_1", now.Add(d), body, secret), []byte(body))
		require.NoError(t, err, d)
	}

	// A secret given without its prefix is the same secret.
	_, err = verifier(t, strings.TrimPrefix(secret, "whsec_")).Verify(signed(t, "msg_1", now, body, secret), []byte(body))
	require.NoError(t, err)
}

// Every message here would, if accepted, let its sender revoke sessions,
// replay an old event or smuggle a body Clerk never signed.
func TestVerifyRefuses(t *testing.T) {
	secret := newSecret(t)
	v := verifier(t, secret)
	good := func() http.Header { return signed(t, "msg_1", now, body, secret) }
	with := func(f func(h http.Header)) http.Header { h := good(); f(h); return h }
	tampered := strings.Replace(body, "sess_2abc", "sess_2abd", 1)

	cases := []struct {
		name string
		h    http.Header
		body string
		want error
	}{
		{"wrong secret", signed(t, "msg_1", now, body, newSecret(t)), body, webhooks.ErrNoMatchingSignature},
		{"tampered body", good(), tampered, webhooks.ErrNoMatchingSignature},
		{"body with a trailing newline", good(), body + "\n", webhooks.ErrNoMatchingSignature},
		{"tampered id", with(func(h http.Header) { h.Set("Svix-Id", "msg_2") }), body, webhooks.ErrNoMatchingSignature},
		{"tampered timestamp", with(func(h http.Header) { h.Set("Svix-Timestamp", strconv.FormatInt(now.Unix()+1, 10)) }), body, webhooks.ErrNoMatchingSignature},
		{"stale", signed(t, "msg_1", now.Add(-5*time.Minute-time.Second), body, secret), body, webhooks.ErrTimestampOutOfTolerance},
		{"future", signed(t, "msg_1", now.Add(5*time.Minute+time.Second), body, secret), body, webhooks.ErrTimestampOutOfTolerance},
		{"no id", with(func(h http.Header) { h.Del("Svix-Id") }), body, webhooks.ErrMissingHeader},
		{"empty id", with(func(h http.Header) { h.Set("Svix-Id", "") }), body, webhooks.ErrMissingHeader},
		{"no timestamp", with(func(h http.Header) { h.Del("Svix-Timestamp") }), body, webhooks.ErrMissingHeader},
		{"no signature", with(func(h http.Header) { h.Del("Svix-Signature") }), body, webhooks.ErrMissingHeader},
		{"no headers", http.Header{}, body, webhooks.ErrMissingHeader},
		{"id twice", with(func(h http.Header) { h.Add("Svix-Id", "msg_1") }), body, webhooks.ErrAmbiguousHeaders},
		{"signature twice", with(func(h http.Header) { h.Add("Svix-Signature", h.Get("Svix-Signature")) }), body, webhooks.ErrAmbiguousHeaders},
		{"forms disagree", with(func(h http.Header) { h.Set("Webhook-Id", "msg_2") }), body, webhooks.ErrAmbiguousHeaders},
		{"forms disagree on the signature", with(func(h http.Header) { h.Set("Webhook-Signature", "v1,"+strings.Repeat("A", 43)+"=") }), body, webhooks.ErrAmbiguousHeaders},
		{"dot in the id", with(func(h http.Header) { h.Set("Svix-Id", "msg.1") }), body, webhooks.ErrInvalidID},
		{"space in the id", with(func(h http.Header) { h.Set("Svix-Id", "msg 1") }), body, webhooks.ErrInvalidID},
		{"long id", with(func(h http.Header) { h.Set("Svix-Id", strings.Repeat("m", 257)) }), body, webhooks.ErrInvalidID},
		{"signed timestamp, leading zero", with(func(h http.Header) { h.Set("Svix-Timestamp", "0"+h.Get("Svix-Timestamp")) }), body, webhooks.ErrInvalidTimestamp},
		{"timestamp with a sign", with(func(h http.Header) { h.Set("Svix-Timestamp", "+"+h.Get("Svix-Timestamp")) }), body, webhooks.ErrInvalidTimestamp},
		{"timestamp with trailing junk", with(func(h http.Header) { h.Set("Svix-Timestamp", h.Get("Svix-Timestamp")+"x") }), body, webhooks.ErrInvalidTimestamp},
		{"timestamp in ms", with(func(h http.Header) { h.Set("Svix-Timestamp", h.Get("Svix-Timestamp")+"000") }), body, webhooks.ErrInvalidTimestamp},
		{"huge timestamp", with(func(h http.Header) { h.Set("Svix-Timestamp", strings.Repeat("9", 40)) }), body, webhooks.ErrInvalidTimestamp},
		{"unversioned signature", with(func(h http.Header) { h.Set("Svix-Signature", strings.TrimPrefix(h.Get("Svix-Signature"), "v1,")) }), body, webhooks.ErrInvalidSignatureHeader},
		{"double space", with(func(h http.Header) { h.Set("Svix-Signature", "v1,x  "+h.Get("Svix-Signature")) }), body, webhooks.ErrInvalidSignatureHeader},
		{"extra comma", with(func(h http.Header) { h.Set("Svix-Signature", h.Get("Svix-Signature")+",x") }), body, webhooks.ErrInvalidSignatureHeader},
		{"short signature", with(func(h http.Header) { h.Set("Svix-Signature", h.Get("Svix-Signature")[:20]) }), body, webhooks.ErrInvalidSignatureHeader},
		{"44 characters that decode to 33 bytes", with(func(h http.Header) { h.Set("Svix-Signature", "v1,"+strings.Repeat("A", 44)) }), body, webhooks.ErrInvalidSignatureHeader},
		{"url-safe base64", with(func(h http.Header) {
			h.Set("Svix-Signature", "v1,"+strings.Repeat("_", 43)+"=")
		}), body, webhooks.ErrInvalidSignatureHeader},
		{"only another version", with(func(h http.Header) {
			h.Set("Svix-Signature", "v1a,"+strings.TrimPrefix(h.Get("Svix-Signature"), "v1,"))
		}), body, webhooks.ErrNoMatchingSignature},
		{"too many entries", with(func(h http.Header) {
			h.Set("Svix-Signature", strings.Repeat("v2,x ", 16)+h.Get("Svix-Signature"))
		}), body, webhooks.ErrInvalidSignatureHeader},
		{"oversized body", good(), strings.Repeat(" ", webhooks.MaxBodySize+1), webhooks.ErrBodyTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(c.h, []byte(c.body))
			require.ErrorIs(t, err, c.want)
			require.Equal(t, http.StatusBadRequest == webhooks.Status(err), c.want != webhooks.ErrBodyTooLarge)
		})
	}
}

func TestSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_!!!!", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 15)),
		"whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 23))} {
		_, err := webhooks.NewVerifier(s, webhooks.Options{})
		require.ErrorIs(t, err, webhooks.ErrInvalidSecret, s)
		if len(s) > len("whsec_") {
			require.NotContains(t, err.Error(), strings.TrimPrefix(s, "whsec_"), "the secret is never quoted")
		}
	}
	_, err := webhooks.NewVerifier(newSecret(t), webhooks.Options{Tolerance: -1})
	require.Error(t, err)
}

func TestVerifyRequest(t *testing.T) {
	secret := newSecret(t)
	v := verifier(t, secret)
	req := func(b string, h http.Header) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/clerk", strings.NewReader(b))
		r.Header = h
		return r
	}
	e, err := v.VerifyRequest(req(body, signed(t, "msg_1", now, body, secret)))
	require.NoError(t, err)
	require.Equal(t, webhooks.SessionRevoked, e.Type)
	require.Equal(t, "msg_1", e.MessageID)
	require.Equal(t, "ins_2q", e.InstanceID)
	require.Equal(t, time.UnixMilli(1760000000123), e.Timestamp)
	s, err := e.Session()
	require.NoError(t, err)
	require.Equal(t, "sess_2abc", s.ID)
	require.Equal(t, "user_2xyz", s.UserID)
	_, err = e.User()
	require.ErrorIs(t, err, webhooks.ErrInvalidEvent, "a session event has no user data")

	big := strings.Repeat("x", webhooks.MaxBodySize+1)
	_, err = v.VerifyRequest(req(big, signed(t, "msg_1", now, big, secret)))
	require.ErrorIs(t, err, webhooks.ErrBodyTooLarge)
	require.Equal(t, http.StatusRequestEntityTooLarge, webhooks.Status(err))

	// Signed, but not an event.
	for _, b := range []string{``, `[]`, `{"type":"user.deleted","timestamp":1,"data":null}`, `{"type":"","timestamp":1,"data":{}}`,
		`{"type":"user.deleted","data":{"id":"user_1"}}`, `{"object":"user","type":"user.deleted","timestamp":1,"data":{}}`} {
		_, err = v.VerifyRequest(req(b, signed(t, "msg_1", now, b, secret)))
		require.ErrorIs(t, err, webhooks.ErrInvalidEvent, b)
	}
}

func TestEventData(t *testing.T) {
	ev := func(typ, data string) *webhooks.Event {
		b := `{"object":"event","type":"` + typ + `","timestamp":1760000000000,"data":` + data + `}`
		e, err := webhooks.ParseEvent(webhooks.Message{ID: "msg_1", Timestamp: now}, []byte(b))
		require.NoError(t, err)
		return e
	}
	u, err := ev(webhooks.UserDeleted, `{"deleted":true,"id":"user_1","object":"user"}`).User()
	require.NoError(t, err)
	require.True(t, u.Deleted)
	require.Equal(t, "user_1", u.ID)

	u, err = ev(webhooks.UserUpdated, `{"id":"user_1","banned":true,"locked":false,"primary_email_address_id":"idn_2",
		"email_addresses":[{"id":"idn_1","email_address":"a@example.com"},{"id":"idn_2","email_address":"b@example.com"}]}`).User()
	require.NoError(t, err)
	require.True(t, u.Banned)
	require.Equal(t, "b@example.com", u.PrimaryEmail())

	m, err := ev(webhooks.MembershipUpdated, `{"id":"orgmem_1","role":"org:admin","permissions":["org:sys_memberships:manage"],
		"organization":{"id":"org_1","slug":"acme"},"public_user_data":{"user_id":"user_1"}}`).Membership()
	require.NoError(t, err)
	require.Equal(t, "user_1", m.UserID())
	require.Equal(t, "org_1", m.Organization.ID)

	_, err = ev(webhooks.MembershipDeleted, `{"id":"orgmem_1"}`).Membership()
	require.ErrorIs(t, err, webhooks.ErrInvalidEvent, "a membership without its user is no use")
	_, err = ev(webhooks.SessionRevoked, `{"id":1}`).Session()
	require.ErrorIs(t, err, webhooks.ErrInvalidEvent)
}
