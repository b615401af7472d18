package verifier_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/testkit"
	"github.com/clerkgate/clerkgate/verifier"
)

func TestVerifyHandshake(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	directives := []any{"__session=abc; Path=/", "__client_uat=1; Path=/"}
	payload := func(extra map[string]any) map[string]any {
		p := map[string]any{"handshake": directives}
		for k, val := range extra {
			p[k] = val
		}
		return p
	}
	got, err := v.VerifyHandshake(context.Background(), f.sign(t, f.header(), payload(nil)))
	require.NoError(t, err)
	require.Equal(t, []string{"__session=abc; Path=/", "__client_uat=1; Path=/"}, got)

	// No handshake claim: no directives, no error (Clerk sets nothing).
	got, err = v.VerifyHandshake(context.Background(), f.sign(t, f.header(), map[string]any{}))
	require.NoError(t, err)
	require.Empty(t, got)

	// A handshake claim that is not an array: no directives and no
	// error, so the request is signed out with no cookies set, as Clerk's
	// Array.isArray check leaves it (not decided without the handshake,
	// which could sign in the old cookies' session).
	for _, claim := range []any{"__session=x; Path=/", nil, map[string]any{"0": "__session=x"}, 1, true} {
		got, err = v.VerifyHandshake(context.Background(), f.sign(t, f.header(), map[string]any{"handshake": claim}))
		require.NoError(t, err, "handshake claim %#v", claim)
		require.Empty(t, got, "handshake claim %#v", claim)
	}

	hdr := func(k string, val any) map[string]any {
		h := f.header()
		h[k] = val
		return h
	}
	many := make([]any, verifier.MaxHandshakeDirectives+1)
	for i := range many {
		many[i] = "__session=x"
	}
	// Each would set cookies an attacker chose if accepted.
	for name, tc := range map[string]struct {
		token  string
		reason verifier.Reason
	}{
		"signed by a foreign key": {testkit.SignRS(t, f.foreign, crypto.SHA256, f.header(), payload(nil)), verifier.ReasonSignatureInvalid},
		"another instance's kid":  {f.sign(t, hdr("kid", "ins_other"), payload(nil)), verifier.ReasonKeyNotFound},
		"alg none":                {unsigned(hdr("alg", "none"), payload(nil)), verifier.ReasonAlgorithmNotAllowed},
		"JWT template category":   {f.sign(t, hdr("cat", "cl_B7d4PD222AAA"), payload(nil)), verifier.ReasonTokenTypeInvalid},
		"M2M category":            {f.sign(t, hdr("cat", "cl_B7d4PD333AAA"), payload(nil)), verifier.ReasonTokenTypeInvalid},
		"typ not JWT":             {f.sign(t, hdr("typ", "at+jwt"), payload(nil)), verifier.ReasonTokenTypeInvalid},
		"a directive not string":  {f.sign(t, f.header(), map[string]any{"handshake": []any{"__client_uat=1", 1}}), verifier.ReasonTokenMalformed},
		"too many directives":     {f.sign(t, f.header(), map[string]any{"handshake": many}), verifier.ReasonTokenMalformed},
		"expired":                 {f.sign(t, f.header(), payload(map[string]any{"exp": f.vec.Now - 60})), verifier.ReasonTokenExpired},
		"not a JWT":               {"abc", verifier.ReasonTokenMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := v.VerifyHandshake(context.Background(), tc.token)
			require.ErrorIs(t, err, tc.reason)
			require.Nil(t, got)
		})
	}

	// A duplicate handshake member: two parsers could read two cookie sets.
	dup := testkit.SignRawRS(t, f.key, crypto.SHA256, `{"alg":"RS256","kid":"`+f.kid+`","typ":"JWT"}`,
		`{"handshake":["__session=a"],"handshake":["__session=b"]}`)
	_, err = v.VerifyHandshake(context.Background(), dup)
	require.ErrorIs(t, err, verifier.ReasonTokenMalformed)
}

func unsigned(h, p map[string]any) string { return testkit.Enc(h) + "." + testkit.Enc(p) + ".x" }

// FuzzVerifyHandshake: no panic, every failure has a reason, and nothing
// is accepted unless the trusted key signed it.
func FuzzVerifyHandshake(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.sign(f, fx.header(), map[string]any{"handshake": []any{"__session=a"}}))
	f.Add(fx.sign(f, fx.header(), map[string]any{"handshake": []any{"a", 1}}))
	f.Add("a.b.c")
	v := fx.verifier(f, nil)
	f.Fuzz(func(t *testing.T, token string) {
		_, err := v.VerifyHandshake(context.Background(), token)
		if err != nil {
			if verifier.ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		i := strings.LastIndexByte(token, '.')
		sig, derr := base64.RawURLEncoding.DecodeString(token[i+1:])
		d := sha256.Sum256([]byte(token[:i]))
		if derr != nil || rsa.VerifyPKCS1v15(&fx.key.PublicKey, crypto.SHA256, d[:], sig) != nil {
			t.Fatalf("accepted a handshake not signed by the trusted key: %q", token)
		}
	})
}
