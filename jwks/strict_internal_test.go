package jwks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/jwktest"
)

// member renders a JWK object as JSON, for tests that then corrupt the
// text itself (duplicate names cannot be built with a map).
func member(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// TestStrictJWKParsing: each member below is ambiguous, malformed or of a
// kind that must never verify a token, and would be dangerous to accept;
// it sits beside a good key, which must still be used (RFC 7517 §5), while
// it is skipped for the reason given.
func TestStrictJWKParsing(t *testing.T) {
	t.Parallel()
	k := fuzzKeys()
	good := member(t, jwktest.Of(&k.rsa.PublicKey, "kid", "ins_good", "alg", "RS256", "use", "sig"))
	bad := jwktest.Of(&k.rsa.PublicKey, "kid", "ins_bad", "alg", "RS256", "use", "sig")
	n := bad["n"].(string)
	nBytes, err := base64.RawURLEncoding.DecodeString(n)
	require.NoError(t, err)
	other := jwktest.Of(&k.small.PublicKey)["n"].(string)
	ec := jwktest.Of(&k.ec.PublicKey, "kid", "ins_bad", "alg", "ES256")
	ed := jwktest.Of(k.ed.Public(), "kid", "ins_bad", "alg", "EdDSA")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	// A last character whose unused low bits are set decodes, leniently,
	// to the same bytes: a second spelling of the same value.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", n[len(n)-1])
	strayBits := n[:len(n)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	with := func(kv ...any) string { return member(t, jwktest.With(bad, kv...)) }
	// dupe appends a second member of an existing name, which a
	// last-one-wins parser would take and a first-one-wins parser not.
	dupe := func(m map[string]any, extra string) string {
		s := member(t, m)
		return s[:len(s)-1] + "," + extra + "}"
	}

	for _, tc := range []struct {
		name, member, why string
	}{
		{"n given twice", dupe(bad, `"n":"`+other+`"`), `"n" appears twice`},
		{"kty given twice", dupe(jwktest.With(bad, "kty", "oct", "k", nil), `"kty":"RSA"`), `"kty" appears twice`},
		{"kid given twice", dupe(bad, `"kid":"ins_good"`), `"kid" appears twice`},
		{"alg given twice", dupe(bad, `"alg":"HS256"`), `"alg" appears twice`},
		{"the same name spelt with an escape", dupe(bad, `"\u006e":"`+other+`"`), `"n" appears twice`},
		{"kty in capitals", with("kty", nil, "KTY", "RSA"), `kty "" is not a public signature key`},
		{"unknown kty", with("kty", "PQC"), `kty "PQC" is not a public signature key`},
		{"oct key", member(t, jwktest.Of([]byte("0123456789abcdef0123456789abcdef"), "kid", "ins_bad", "alg", "HS256")), `kty "oct"`},
		{"kty not a string", with("kty", []string{"RSA"}), "kty is not a string"},
		{"kid not a string", with("kid", 7), "kid is not a string"},
		{"kid empty", with("kid", ""), "no kid"},
		{"n padded", with("n", n+"="), "n: not base64url"},
		{"n with a line break", with("n", n[:40]+"\n"+n[40:]), "n: not base64url"},
		{"n in the standard alphabet", with("n", strings.NewReplacer("-", "+", "_", "/").Replace(n)+"+/"), "n: not base64url"},
		{"n with stray bits", with("n", strayBits), "n: not base64url"},
		{"n with a leading zero octet", with("n", base64.RawURLEncoding.EncodeToString(append([]byte{0}, nBytes...))), "n has a leading zero octet"},
		{"n missing", with("n", nil), "n is missing"},
		{"n a number", with("n", 12345), "n is not a string"},
		{"e with a leading zero octet", with("e", "AAEAAQ"), "e has a leading zero octet"},
		{"e over 32 bits", with("e", "AQAAAAAB"), "larger than 32 bits"},
		{"e of 2^31+1", with("e", "gAAAAQ"), "exponent 2147483649 is invalid"},
		{"e zero", with("e", "AA"), "exponent 0 is invalid"},
		{"e a number", with("e", 65537), "e is not a string"},
		{"n too small", with("n", other), "bits, want at least 2048"},
		{"private member d", with("d", "AQAB"), "private key"},
		{"private member d empty", with("d", ""), "private key"},
		{"private member oth", with("oth", []any{}), "private key"},
		{"secret member k", with("k", "c2VjcmV0"), "private key"},
		{"use enc", with("use", "enc"), `use is "enc"`},
		{"use not a string", with("use", []string{"sig"}), "use is not a string"},
		{"key_ops without verify", with("key_ops", []string{"encrypt"}), "does not allow verify"},
		{"key_ops twice verify", with("key_ops", []string{"verify", "verify"}), "lists an operation twice"},
		{"key_ops a string", with("key_ops", "verify"), "key_ops is not an array"},
		{"alg HS256 on an RSA key", with("alg", "HS256"), `alg "HS256" does not fit a RSA key`},
		{"alg none on an RSA key", with("alg", "none"), `alg "none" does not fit`},
		{"alg ES256 on an RSA key", with("alg", "ES256"), `alg "ES256" does not fit`},
		{"alg a number", with("alg", 256), "alg is not a string"},
		{"alg RS256 on an EC key", member(t, jwktest.With(ec, "alg", "RS256")), `alg "RS256" does not fit a EC key`},
		{"alg ES384 on a P-256 key", member(t, jwktest.With(ec, "alg", "ES384")), `alg "ES384" does not fit`},
		{"alg ES256 on a P-384 key", member(t, jwktest.Of(&p384.PublicKey, "kid", "ins_bad", "alg", "ES256")), `alg "ES256" does not fit`},
		{"alg HS256 on an Ed25519 key", member(t, jwktest.With(ed, "alg", "HS256")), `alg "HS256" does not fit a OKP key`},
		{"EC coordinate without its leading zero", member(t, jwktest.With(ec, "x", "AQ")), "coordinates of 1 and 32 octets"},
		{"EC point off the curve", member(t, jwktest.With(ec, "y", ec["x"])), "invalid EC point"},
		{"EC point at infinity", member(t, jwktest.With(ec, "x", strings.Repeat("A", 43), "y", strings.Repeat("A", 43))), "invalid EC point"},
		{"EC on secp256k1", member(t, jwktest.With(ec, "crv", "secp256k1")), `unsupported elliptic curve "secp256k1"`},
		{"EC y missing", member(t, jwktest.With(ec, "y", nil)), "y is missing"},
		{"OKP X25519", member(t, jwktest.With(ed, "crv", "X25519", "alg", nil)), `OKP curve "X25519"`},
		{"OKP Ed448", member(t, jwktest.With(ed, "crv", "Ed448")), `OKP curve "Ed448"`},
		{"Ed25519 key of 31 bytes", member(t, jwktest.With(ed, "x", base64.RawURLEncoding.EncodeToString(make([]byte, 31)))), "bad Ed25519 key length"},
		{"member not an object", `"ins_bad"`, "malformed JWK: not a JSON object"},
		{"member null", `null`, "malformed JWK: not a JSON object"},
		{"member an array", `[` + good + `]`, "malformed JWK: not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := parseKeySet([]byte(`{"keys":[`+good+`,`+tc.member+`]}`), nil)
			require.NoError(t, err, "the good key is still used")
			require.Contains(t, res.keys, "ins_good")
			require.Len(t, res.keys, 1, "the bad member yields no key")
			require.Contains(t, skipList(res), tc.why)

			// Alone, the member leaves the set without a usable key, and
			// the error says why.
			_, err = parseKeySet([]byte(`{"keys":[`+tc.member+`]}`), nil)
			require.ErrorContains(t, err, tc.why)
		})
	}
}

// TestStrictKeySetDocument: a document that is not one well-formed JWK Set
// is refused as a whole, whatever good keys it holds, because a second
// reading of it might find other keys.
func TestStrictKeySetDocument(t *testing.T) {
	t.Parallel()
	k := fuzzKeys()
	good := member(t, jwktest.Of(&k.rsa.PublicKey, "kid", "ins_good", "alg", "RS256", "use", "sig"))
	evil := member(t, jwktest.Of(&k.ec.PublicKey, "kid", "ins_good", "alg", "ES256"))
	for _, tc := range []struct {
		name, doc, why string
	}{
		{"keys given twice", `{"keys":[` + good + `],"keys":[` + evil + `]}`, `"keys" appears twice`},
		{"a second document after the first", `{"keys":[` + good + `]} {"keys":[` + evil + `]}`, "data after the JSON object"},
		{"trailing garbage", `{"keys":[` + good + `]}x`, "data after the JSON object"},
		{"invalid UTF-8", `{"keys":[` + good + `],"note":"` + "\xff" + `"}`, "not UTF-8"},
		{"keys an object", `{"keys":` + good + `}`, `"keys" is not an array`},
		{"keys null", `{"keys":null}`, `"keys" is not an array`},
		{"keys a string", `{"keys":"[]"}`, `"keys" is not an array`},
		{"no keys member", `{"Keys":[` + good + `]}`, `no "keys" member`},
		{"a bare array", `[` + good + `]`, "not a JSON object"},
		{"empty", ``, "EOF"},
		{"truncated", `{"keys":[` + good, "parse key set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := parseKeySet([]byte(tc.doc), nil)
			require.ErrorContains(t, err, "parse key set")
			require.ErrorContains(t, err, tc.why)
			require.Empty(t, res.keys)
		})
	}
}

// TestSkipListIsBounded: a document of many tiny junk members gives a log
// line and an error of bounded size.
func TestSkipListIsBounded(t *testing.T) {
	t.Parallel()
	doc := `{"keys":[` + strings.Repeat(`{"kty":"oct","kid":"x"},`, 100_000) + `{}]}`
	res, err := parseKeySet([]byte(doc), nil)
	require.Error(t, err)
	require.Len(t, res.skipped, 100_001)
	require.Less(t, len(err.Error()), 2000)
	require.Contains(t, err.Error(), "and 99991 more")
}

// TestKeySetLayoutIsFree: strictness is about meaning, not layout: a
// pretty-printed document, members in any order, escapes in names and
// values, and members the parser does not know are all fine.
func TestKeySetLayoutIsFree(t *testing.T) {
	t.Parallel()
	k := fuzzKeys()
	rsaKey := jwktest.Of(&k.rsa.PublicKey, "kid", "ins_rsa", "alg", "RS256", "use", "sig",
		"key_ops", []string{"verify"}, "x5t", "ignored", "ext", map[string]any{"nested": []any{1, "two"}})
	ecKey := jwktest.Of(&k.ec.PublicKey, "kid", "ins_ec", "alg", "ES256")
	doc, err := json.MarshalIndent(map[string]any{"keys": []any{rsaKey, ecKey}, "extra": true}, " ", "\t ")
	require.NoError(t, err)
	escaped := strings.Replace(string(doc), `"kid": "ins_rsa"`, `"\u006bid" : "ins\u005frsa"`, 1)
	require.NotEqual(t, string(doc), escaped)
	for _, d := range []string{string(doc), " \r\n" + escaped + "\n\t "} {
		res, err := parseKeySet([]byte(d), nil)
		require.NoError(t, err)
		require.Empty(t, res.skipped)
		require.ElementsMatch(t, []string{"ins_rsa", "ins_ec"}, sortedKids(res.keys))
		require.True(t, k.rsa.PublicKey.Equal(res.keys["ins_rsa"].Public))
		require.True(t, k.ec.PublicKey.Equal(res.keys["ins_ec"].Public))
	}
}
