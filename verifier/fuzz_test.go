package verifier_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/clerkgate/clerkgate/internal/testkit"
	"github.com/clerkgate/clerkgate/verifier"
)

// FuzzVerify feeds arbitrary strings to Verify with a fixed key set. The
// properties: no panic, every failure has a Reason, and nothing is ever
// accepted unless its signature really is the trusted key's.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	for _, c := range fx.vec.Cases {
		f.Add(c.Token)
	}
	for _, a := range testkit.Attacks(f, fx.attackSetup("http://127.0.0.1:1")) {
		f.Add(a.Token)
	}
	f.Add(fx.sign(f, fx.header(), fx.claims()))
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add(strings.Repeat("A", 100) + "." + strings.Repeat("B", 100) + ".")

	v := fx.verifier(f, func(c *verifier.Config) { c.CacheSize = -1 })
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token)
		if err != nil {
			if verifier.ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			if claims != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		// Accepted: check the signature independently of the verifier.
		i := strings.LastIndexByte(token, '.')
		sig, derr := base64.RawURLEncoding.DecodeString(token[i+1:])
		if derr != nil {
			t.Fatalf("accepted a token whose signature is not base64url: %q", token)
		}
		d := sha256.Sum256([]byte(token[:i]))
		if rsa.VerifyPKCS1v15(&fx.key.PublicKey, crypto.SHA256, d[:], sig) != nil {
			t.Fatalf("accepted a token not signed by the trusted key: %q", token)
		}
		if claims.Subject == "" || claims.SessionID == "" {
			t.Fatalf("accepted a token without sub or sid: %q", token)
		}
	})
}
