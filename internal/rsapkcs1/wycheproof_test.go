package rsapkcs1_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/rsapkcs1"
)

// wycheproofFile is the part of Wycheproof's rsassa_pkcs1_verify schema
// the test reads.
type wycheproofFile struct {
	Algorithm     string `json:"algorithm"`
	NumberOfTests int    `json:"numberOfTests"`
	TestGroups    []struct {
		Sha       string `json:"sha"`
		PublicKey struct {
			Modulus        string `json:"modulus"`
			PublicExponent string `json:"publicExponent"`
		} `json:"publicKey"`
		Tests []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			Flags   []string `json:"flags"`
			Msg     string   `json:"msg"`
			Sig     string   `json:"sig"`
			Result  string   `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproof runs every vector of every Wycheproof RSASSA-PKCS1-v1_5
// file in testdata: "valid" must verify, and "invalid" and "acceptable"
// (legacy encodings) must be refused. crypto/rsa must agree on each one,
// so a vector file misread by the test fails too.
func TestWycheproof(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/wycheproof/rsa_signature_*_test.json")
	require.NoError(t, err)
	require.Len(t, files, 5, "the five PKCS#1 v1.5 files: 2048-bit SHA-256/384/512, 3072 and 4096-bit SHA-256")
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(name)
			require.NoError(t, err)
			var f wycheproofFile
			require.NoError(t, json.Unmarshal(raw, &f))
			require.Equal(t, "RSASSA-PKCS1-v1_5", f.Algorithm)
			ran, valid := 0, 0
			for _, g := range f.TestGroups {
				h := hashNamed(t, g.Sha)
				pub := &rsa.PublicKey{N: new(big.Int).SetBytes(unhex(t, g.PublicKey.Modulus)),
					E: int(new(big.Int).SetBytes(unhex(t, g.PublicKey.PublicExponent)).Int64())}
				k, err := rsapkcs1.NewPublicKey(pub)
				require.NoError(t, err)
				for _, tc := range g.Tests {
					d := digest(h, unhex(t, tc.Msg))
					sig := unhex(t, tc.Sig)
					got := k.Verify(h, d, sig) == nil
					std := rsa.VerifyPKCS1v15(pub, h, d, sig) == nil
					require.Equal(t, tc.Result == "valid", got, "tcId %d (%s) %v: result %q", tc.TcID, tc.Comment, tc.Flags, tc.Result)
					if tc.Result != "acceptable" {
						require.Equal(t, got, std, "tcId %d: crypto/rsa disagrees", tc.TcID)
					}
					ran++
					if got {
						valid++
					}
				}
			}
			require.Equal(t, f.NumberOfTests, ran)
			require.Positive(t, valid)
		})
	}
}

func hashNamed(t *testing.T, name string) crypto.Hash {
	switch name {
	case "SHA-256":
		return crypto.SHA256
	case "SHA-384":
		return crypto.SHA384
	case "SHA-512":
		return crypto.SHA512
	}
	t.Fatalf("unexpected hash %q", name)
	return 0
}

func digest(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return d[:]
	}
	d := sha256.Sum256(msg)
	return d[:]
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
