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

// BenchmarkFloorRSAVerify is the floor every other number is compared to:
// the standard library's RSA check of the same token's signature.
func BenchmarkFloorRSAVerify(b *testing.B) {
	f := newFixture(b)
	tok := f.sign(b, f.header(), f.claims())
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	b.ReportAllocs()
	for b.Loop() {
		d := sha256.Sum256([]byte(tok[:i]))
		if err := rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCold verifies a first-seen RS256 token with its key cached.
func BenchmarkVerifyCold(b *testing.B) {
	f := newFixture(b)
	v := f.verifier(b, func(c *verifier.Config) { c.CacheSize = -1 })
	tok := f.sign(b, f.header(), f.claims())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWarm verifies a token already in the verified-token cache.
func BenchmarkVerifyWarm(b *testing.B) {
	f := newFixture(b)
	v := f.verifier(b, nil)
	tok := f.sign(b, f.header(), f.claims())
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
