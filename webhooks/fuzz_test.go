package webhooks_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/webhooks"
)

// FuzzParseSignatures: any header either parses into 32-byte v1
// signatures or fails with ErrInvalidSignatureHeader; never a panic.
func FuzzParseSignatures(f *testing.F) {
	for _, s := range []string{"", "v1,", "v1,abc", "v1," + "g3/0dK2kgS2fNwGX3A1ZAB4ZG6sqWd4K1Y3nFXQBrGs=",
		"v1a,xyz v1,g3/0dK2kgS2fNwGX3A1ZAB4ZG6sqWd4K1Y3nFXQBrGs=", "v1,a,b", " v1,a", "v1,a  v1,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		sigs, err := webhooks.ParseSignatures(header)
		if err != nil {
			require.ErrorIs(t, err, webhooks.ErrInvalidSignatureHeader)
			require.Nil(t, sigs)
			return
		}
		require.LessOrEqual(t, len(sigs), 16)
	})
}

// FuzzParseHeaders: the three headers, in any form and number, either
// give one id, timestamp and signature or a sentinel error.
func FuzzParseHeaders(f *testing.F) {
	f.Add("msg_1", "", "1760000000", "", "v1,x", "", false)
	f.Add("msg_1", "msg_1", "1760000000", "1760000000", "v1,x", "v1,x", true)
	f.Add("msg.1", "msg_2", "01", "+1", "v1,x", "", false)
	f.Fuzz(func(t *testing.T, sid, wid, sts, wts, ssig, wsig string, twice bool) {
		h := http.Header{}
		for name, v := range map[string]string{"Svix-Id": sid, "Webhook-Id": wid, "Svix-Timestamp": sts,
			"Webhook-Timestamp": wts, "Svix-Signature": ssig, "Webhook-Signature": wsig} {
			if v != "" {
				h[name] = []string{v}
			}
		}
		if twice && sid != "" {
			h["Svix-Id"] = append(h["Svix-Id"], sid)
		}
		hd, err := webhooks.ParseHeaders(h)
		if err != nil {
			require.True(t, errors.Is(err, webhooks.ErrMissingHeader) || errors.Is(err, webhooks.ErrAmbiguousHeaders) ||
				errors.Is(err, webhooks.ErrInvalidID), err)
			return
		}
		require.False(t, twice && sid != "", "a repeated header is never accepted")
		require.NotEmpty(t, hd.ID)
		require.NotContains(t, hd.ID, ".")
		if sid != "" && wid != "" {
			require.Equal(t, sid, wid)
		}
		if _, err := webhooks.ParseTimestamp(hd.Timestamp); err != nil {
			require.ErrorIs(t, err, webhooks.ErrInvalidTimestamp)
		}
	})
}

// FuzzVerify: whatever the headers and body, Verify answers with an
// error of this package or a verified message, and a message it accepts
// was signed.
func FuzzVerify(f *testing.F) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	f.Add("msg_1", "1760000000", "v1,x", []byte(body))
	f.Fuzz(func(t *testing.T, id, ts, sig string, b []byte) {
		v := verifier(t, secret)
		h := http.Header{"Svix-Id": {id}, "Svix-Timestamp": {ts}, "Svix-Signature": {sig}}
		msg, err := v.Verify(h, b)
		if err != nil {
			require.Contains(t, err.Error(), "webhooks: ")
			return
		}
		require.Equal(t, id, msg.ID)
		if _, err := webhooks.ParseEvent(msg, b); err != nil {
			require.ErrorIs(t, err, webhooks.ErrInvalidEvent)
		}
	})
}
