package jwks

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/clerkgate/clerkgate/internal/jwktest"
)

// BenchmarkParseKeySet parses a key set shaped like Clerk's (two RS256
// keys, as during a rotation), the work each fetch does. "carried" passes
// the previous snapshot, as every refresh after the first does.
func BenchmarkParseKeySet(b *testing.B) {
	retired, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	doc := keySetDoc(b,
		jwktest.Of(&fuzzKeys().rsa.PublicKey, "kid", "ins_current", "alg", "RS256", "use", "sig"),
		jwktest.Of(&retired.PublicKey, "kid", "ins_retired", "alg", "RS256", "use", "sig"))
	prev, err := parseKeySet(doc, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		prev map[string]Key
	}{{"fresh", nil}, {"carried", prev.keys}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res, err := parseKeySet(doc, bc.prev); err != nil || len(res.keys) != 2 {
					b.Fatal(err, len(res.keys))
				}
			}
		})
	}
}
