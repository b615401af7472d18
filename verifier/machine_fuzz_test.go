package verifier_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/clerkgate/clerkgate/verifier"
)

// FuzzMachineJWT feeds the machine JWT classifier and verifier arbitrary
// tokens, seeded with genuine M2M and OAuth JWTs and their near misses.
// Whatever the input: no panic; a refusal has a reason and no claims; an
// accepted token is signed by the trusted key, has the claims its kind
// requires, and is one the classifier routes to that kind.
func FuzzMachineJWT(f *testing.F) {
	fx := newFixture(f)
	m2mHeader := fx.header()
	m2mHeader["cat"] = "cl_B7d4PD333AAA"
	oauthHeader := fx.header()
	oauthHeader["typ"] = "at+jwt"
	m2m := map[string]any{"sub": "mch_caller", "scopes": "mch_a mch_b", "jti": "mt_1", "iat": fx.vec.Now, "exp": fx.vec.Now + 3600}
	oauth := map[string]any{"sub": "user_1", "scp": []string{"read"}, "client_id": "c", "jti": "oat_1", "iat": fx.vec.Now, "exp": fx.vec.Now + 3600}
	for _, seed := range []struct {
		hdr, claims map[string]any
	}{
		{m2mHeader, m2m},
		{fx.header(), m2m},
		{oauthHeader, oauth},
		{oauthHeader, map[string]any{"sub": "user_1", "scope": "read write", "exp": fx.vec.Now + 60}},
		{oauthHeader, m2m},
		{m2mHeader, oauth},
		{fx.header(), fx.claims()},
		{m2mHeader, map[string]any{"sub": "mch_caller", "aud": []string{"mch_a"}, "exp": fx.vec.Now + 60}},
		{m2mHeader, map[string]any{"sub": "mch_caller", "exp": "soon"}},
	} {
		f.Add(fx.sign(f, seed.hdr, seed.claims))
	}
	f.Add("")
	f.Add("..")
	f.Add("mt_0123")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJtY2hfMSJ9.")

	v := fx.verifier(f, func(c *verifier.Config) { c.CacheSize = -1 })
	f.Fuzz(func(t *testing.T, token string) {
		sniffed := verifier.SniffMachineJWT(token)
		for _, kind := range []verifier.MachineKind{verifier.KindM2M, verifier.KindOAuth} {
			c, err := v.VerifyMachine(context.Background(), token, kind)
			if err != nil {
				if verifier.ReasonOf(err) == "" {
					t.Fatalf("error without a reason: %v", err)
				}
				if c != nil {
					t.Fatal("claims returned with an error")
				}
				continue
			}
			i := strings.LastIndexByte(token, '.')
			sig, derr := base64.RawURLEncoding.DecodeString(token[i+1:])
			if derr != nil {
				t.Fatalf("accepted a token whose signature is not base64url: %q", token)
			}
			d := sha256.Sum256([]byte(token[:i]))
			if rsa.VerifyPKCS1v15(&fx.key.PublicKey, crypto.SHA256, d[:], sig) != nil {
				t.Fatalf("accepted a token not signed by the trusted key: %q", token)
			}
			if c.Kind != kind || c.Subject == "" || c.Expiry <= fx.vec.Now-5 || c.Scopes == nil {
				t.Fatalf("accepted as %s with claims %+v: %q", kind, c, token)
			}
			if strings.HasPrefix(c.Subject, "mch_") != (kind == verifier.KindM2M) {
				t.Fatalf("accepted as %s for subject %q", kind, c.Subject)
			}
			if sniffed != kind {
				t.Fatalf("accepted as %s but classified as %q: %q", kind, sniffed, token)
			}
		}
	})
}
