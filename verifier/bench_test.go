package verifier_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate/internal/testkit"
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

// BenchmarkColdOverFloor pairs the two numbers that matter: each iteration
// runs the floor (the bare RSA check) and a cold Verify of the same token,
// alternately, and reports the ratio of their total times. On a shared,
// noisy machine the pair sees the same noise, so the ratio is steadier
// than two separate benchmarks.
func BenchmarkColdOverFloor(b *testing.B) {
	f := newFixture(b)
	v := f.verifier(b, func(c *verifier.Config) { c.CacheSize = -1 })
	tok := f.sign(b, f.header(), f.claims())
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	ctx := context.Background()
	var floor, cold time.Duration
	for b.Loop() {
		start := time.Now()
		d := sha256.Sum256([]byte(tok[:i]))
		if err := rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		floor += mid.Sub(start)
		cold += time.Since(mid)
	}
	b.ReportMetric(float64(cold)/float64(floor), "cold/floor")
}

// BenchmarkVerifyColdClerkV2 verifies a first-seen token shaped as Clerk
// sends them today: the session category in the header, and v2 claims
// with an organization and its compact permissions.
func BenchmarkVerifyColdClerkV2(b *testing.B) {
	f := newFixture(b)
	v := f.verifier(b, func(c *verifier.Config) { c.CacheSize = -1 })
	tok := f.sign(b, testkit.With(f.header(), "cat", "cl_B7d4PD111AAA"), testkit.With(f.claims(),
		"v", 2, "jti", "a5f1c2d3e4b5a6f7c8d9", "sts", "active", "fva", []int{3, -1}, "pla", "u:free",
		"fea", "o:dashboard,o:teams", "o", map[string]any{"id": "org_2abc", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyAllocations pins the allocation budgets of issue 14: at most 20
// per cold verification, none for a cached token. Allocation counts, unlike
// times, do not depend on the machine's load.
func TestVerifyAllocations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok := f.sign(t, f.header(), f.claims())
	cold := f.verifier(t, func(c *verifier.Config) { c.CacheSize = -1 })
	warm := f.verifier(t, nil)
	if _, err := warm.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	coldAllocs := testing.AllocsPerRun(20, func() {
		if _, err := cold.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	warmAllocs := testing.AllocsPerRun(100, func() {
		if _, err := warm.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	if coldAllocs > 20 || warmAllocs != 0 {
		t.Fatalf("allocations per Verify: cold %v (budget 20), warm %v (budget 0)", coldAllocs, warmAllocs)
	}
}
