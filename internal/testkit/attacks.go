package testkit

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/verifier"
)

// AttackSetup describes the key set the attack tokens are aimed at.
type AttackSetup struct {
	// Trusted signs genuine tokens; its kid is Kid and it declares RS256.
	Trusted *rsa.PrivateKey
	Kid     string
	// RS512Kid names the trusted key again, declared as RS512.
	RS512Kid string
	// ECKid names an EC key in the key set.
	ECKid string
	// Foreign is an attacker's key, unknown to the key set.
	Foreign *rsa.PrivateKey
	// EvilURL is a server the verifier must never contact.
	EvilURL string
	// Header and Claims make a genuine token when signed by Trusted.
	Header, Claims map[string]any
	// Now is the verifier's clock, in Unix seconds.
	Now int64
}

// Attack is one token that would be dangerous if accepted, with the reason
// it must be refused for.
type Attack struct {
	Name   string
	Token  string
	Reason verifier.Reason
}

// Attacks is the project's attack table: one token per rejection path.
// The verifier's tests run it directly and the middleware's over HTTP.
func Attacks(t testing.TB, s AttackSetup) []Attack {
	t.Helper()
	h, c := s.Header, s.Claims
	pubDER, err := x509.MarshalPKIXPublicKey(&s.Trusted.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	valid := SignRS(t, s.Trusted, crypto.SHA256, h, c)
	parts := strings.Split(valid, ".")

	evilJWK := map[string]any{
		"kty": "RSA", "kid": s.Kid, "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(s.Foreign.N.Bytes()), "e": "AQAB",
	}

	// Tokens signed with the genuine key whose only fault is how strictly
	// they must be read (issue 10): each was accepted once, and Clerk's
	// own verifier refuses each, or reads it differently.
	raw := func(header, payload string) string {
		return SignRawRS(t, s.Trusted, crypto.SHA256, header, payload)
	}
	hj, cj := JSONWith(h), JSONWith(c)
	v2 := With(c, "v", 2, "sts", "active", "fea", "o:dashboard", "o", map[string]any{"id": "org_1", "rol": "member", "per": "manage", "fpm": "0"})
	// One genuine token, respelled: a byte inside each segment.
	spell := func(seg int, b string) string {
		p := slices.Clone(parts)
		p[seg] = p[seg][:8] + b + p[seg][8:]
		return strings.Join(p, ".")
	}

	strict := []Attack{
		// Categories: the same instance key signs M2M tokens and JWT
		// templates; a session-shaped one must not pass as a session.
		{"M2M category with session claims and an admin role", SignRS(t, s.Trusted, crypto.SHA256, With(h, "cat", "cl_B7d4PD333AAA"), With(c, "org_id", "org_1", "org_role", "org:admin")), verifier.ReasonTokenTypeInvalid},
		{"JWT template category", SignRS(t, s.Trusted, crypto.SHA256, With(h, "cat", "cl_B7d4PD222AAA"), c), verifier.ReasonTokenTypeInvalid},
		{"unknown category", SignRS(t, s.Trusted, crypto.SHA256, With(h, "cat", "cl_B7d4PD999AAA"), c), verifier.ReasonTokenTypeInvalid},
		{"category not a string", SignRS(t, s.Trusted, crypto.SHA256, With(h, "cat", 1), c), verifier.ReasonTokenTypeInvalid},
		{"category null", raw(JSONWith(h, `"cat":null`), cj), verifier.ReasonTokenTypeInvalid},
		{"session category in another case", SignRS(t, s.Trusted, crypto.SHA256, With(h, "cat", "CL_B7D4PD111AAA"), c), verifier.ReasonTokenTypeInvalid},
		{"machine subject", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "sub", "mch_2abc")), verifier.ReasonTokenTypeInvalid},
		{"typ at+jwt", SignRS(t, s.Trusted, crypto.SHA256, With(h, "typ", "at+jwt"), c), verifier.ReasonTokenTypeInvalid},
		{"typ application/at+jwt", SignRS(t, s.Trusted, crypto.SHA256, With(h, "typ", "application/at+jwt"), c), verifier.ReasonTokenTypeInvalid},
		// Member names match exactly, never ignoring case.
		{"Azp without azp", raw(hj, JSONWith(With(c, "azp", nil), `"Azp":`+quote(c["azp"]))), verifier.ReasonAuthorizedPartyInvalid},
		{"sts pending and STS active", raw(hj, JSONWith(With(c, "v", 2, "sts", "pending"), `"STS":"active"`)), verifier.ReasonSessionPending},
		{"SUB for sub", raw(hj, JSONWith(With(c, "sub", nil), `"SUB":"user_123"`)), verifier.ReasonClaimsInvalid},
		{"long s sub for sub", raw(hj, JSONWith(With(c, "sub", nil), `"ſub":"user_123"`)), verifier.ReasonClaimsInvalid},
		{"EXP for exp", raw(hj, JSONWith(With(c, "exp", nil), `"EXP":9999999999`)), verifier.ReasonClaimsInvalid},
		{"KID for kid", raw(JSONWith(With(h, "kid", nil), `"KID":`+quote(s.Kid)), cj), verifier.ReasonKeyNotFound},
		// null is a wrong type, never "absent".
		{"nbf null", raw(hj, JSONWith(With(c, "nbf", nil), `"nbf":null`)), verifier.ReasonClaimsInvalid},
		{"iat null", raw(hj, JSONWith(With(c, "iat", nil), `"iat":null`)), verifier.ReasonClaimsInvalid},
		{"exp null", raw(hj, JSONWith(With(c, "exp", nil), `"exp":null`)), verifier.ReasonClaimsInvalid},
		{"azp null", raw(hj, JSONWith(With(c, "azp", nil), `"azp":null`)), verifier.ReasonClaimsInvalid},
		{"act null", raw(hj, JSONWith(c, `"act":null`)), verifier.ReasonClaimsInvalid},
		{"typ null", raw(JSONWith(With(h, "typ", nil), `"typ":null`), cj), verifier.ReasonTokenMalformed},
		{"kid null", raw(JSONWith(With(h, "kid", nil), `"kid":null`), cj), verifier.ReasonTokenMalformed},
		// A repeated name: parsers disagree on which one counts.
		{"sub repeated as null", raw(hj, JSONWith(c, `"sub":null`)), verifier.ReasonTokenMalformed},
		{"exp repeated as null", raw(hj, JSONWith(c, `"exp":null`)), verifier.ReasonTokenMalformed},
		{"sub repeated with another user", raw(hj, JSONWith(c, `"sub":"user_admin"`)), verifier.ReasonTokenMalformed},
		{"sub repeated through an escape", raw(hj, JSONWith(c, `"s\u0075b":"user_admin"`)), verifier.ReasonTokenMalformed},
		{"custom claim repeated", raw(hj, JSONWith(c, `"role":"user"`, `"role":"admin"`)), verifier.ReasonTokenMalformed},
		{"organization role repeated", raw(hj, strings.Replace(JSONWith(v2), `"rol":"member"`, `"rol":"member","rol":"admin"`, 1)), verifier.ReasonTokenMalformed},
		{"actor repeated inside act", raw(hj, JSONWith(c, `"act":{"sub":"user_support","sub":"user_admin"}`)), verifier.ReasonTokenMalformed},
		{"header repeats kid", raw(JSONWith(h, `"kid":"ins_attacker"`), cj), verifier.ReasonTokenMalformed},
		// Bytes a second parser would read differently.
		{"byte order mark before the payload", raw(hj, "\ufeff"+cj), verifier.ReasonTokenMalformed},
		{"byte order mark before the header", raw("\ufeff"+hj, cj), verifier.ReasonTokenMalformed},
		{"invalid UTF-8 in a claim", raw(hj, JSONWith(c, "\"name\":\"\xff\"")), verifier.ReasonTokenMalformed},
		{"half a surrogate pair in a claim", raw(hj, JSONWith(c, `"name":"\ud800"`)), verifier.ReasonTokenMalformed},
		{"payload not JSON, signed", raw(hj, "{sub:1}"), verifier.ReasonTokenMalformed},
		{"payload an array, signed", raw(hj, `[`+cj+`]`), verifier.ReasonTokenMalformed},
		// One token, one spelling: nothing outside the base64url alphabet.
		{"CR LF in the header", spell(0, "\r\n"), verifier.ReasonTokenMalformed},
		{"CR LF in the payload", spell(1, "\r\n"), verifier.ReasonTokenMalformed},
		{"CR LF in the signature", spell(2, "\r\n"), verifier.ReasonTokenMalformed},
		{"LF in the payload", spell(1, "\n"), verifier.ReasonTokenMalformed},
		{"space in the payload", spell(1, " "), verifier.ReasonTokenMalformed},
	}

	return append(strict, []Attack{
		{"alg none", Enc(With(h, "alg", "none")) + "." + Enc(c) + ".", verifier.ReasonTokenMalformed},
		{"alg none with junk signature", Enc(With(h, "alg", "none")) + "." + Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg None", Enc(With(h, "alg", "None")) + "." + Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg NONE", Enc(With(h, "alg", "NONE")) + "." + Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg nOnE", Enc(With(h, "alg", "nOnE")) + "." + Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"alg missing", Enc(With(h, "alg", nil)) + "." + Enc(c) + ".AAAA", verifier.ReasonAlgorithmNotAllowed},
		{"HS256 keyed with public key PEM", SignHS(pubPEM, With(h, "alg", "HS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"HS256 keyed with public key DER", SignHS(pubDER, With(h, "alg", "HS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"HS256 keyed with modulus", SignHS(s.Trusted.N.Bytes(), With(h, "alg", "HS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"HS512 keyed with public key PEM", SignHS(pubPEM, With(h, "alg", "HS512"), c), verifier.ReasonAlgorithmNotAllowed},
		{"RS256 naming an EC key", SignRS(t, s.Trusted, crypto.SHA256, With(h, "kid", s.ECKid), c), verifier.ReasonAlgorithmNotAllowed},
		{"ES256 all-zero signature", Enc(With(h, "alg", "ES256", "kid", s.ECKid)) + "." + Enc(c) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)), verifier.ReasonAlgorithmNotAllowed},
		{"PS256 against RSA key", SignRS(t, s.Trusted, crypto.SHA256, With(h, "alg", "PS256"), c), verifier.ReasonAlgorithmNotAllowed},
		{"RS384 on a key declaring RS256", SignRS(t, s.Trusted, crypto.SHA384, With(h, "alg", "RS384"), c), verifier.ReasonAlgorithmNotAllowed},
		{"RS256 on a key declaring RS512", SignRS(t, s.Trusted, crypto.SHA256, With(h, "kid", s.RS512Kid), c), verifier.ReasonAlgorithmNotAllowed},
		{"tampered payload", parts[0] + "." + Enc(With(c, "sub", "user_admin")) + "." + parts[2], verifier.ReasonSignatureInvalid},
		{"tampered header", Enc(With(h, "x", "y")) + "." + parts[1] + "." + parts[2], verifier.ReasonSignatureInvalid},
		{"foreign key with the right kid", SignRS(t, s.Foreign, crypto.SHA256, h, c), verifier.ReasonSignatureInvalid},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], verifier.ReasonSignatureInvalid},
		{"padded signature", valid + "==", verifier.ReasonTokenMalformed},
		{"jku to attacker", SignRS(t, s.Foreign, crypto.SHA256, With(h, "jku", s.EvilURL+"/jwks.json"), c), verifier.ReasonSignatureInvalid},
		{"x5u to attacker", SignRS(t, s.Foreign, crypto.SHA256, With(h, "x5u", s.EvilURL+"/cert.pem"), c), verifier.ReasonSignatureInvalid},
		{"embedded attacker jwk", SignRS(t, s.Foreign, crypto.SHA256, With(h, "jwk", evilJWK), c), verifier.ReasonSignatureInvalid},
		{"embedded attacker x5c", SignRS(t, s.Foreign, crypto.SHA256, With(h, "x5c", []string{"MIIB"}), c), verifier.ReasonSignatureInvalid},
		{"unknown kid", SignRS(t, s.Foreign, crypto.SHA256, With(h, "kid", "ins_attacker"), c), verifier.ReasonKeyNotFound},
		{"crit header", SignRS(t, s.Trusted, crypto.SHA256, With(h, "crit", []string{"exp"}), c), verifier.ReasonTokenMalformed},
		{"empty crit", SignRS(t, s.Trusted, crypto.SHA256, With(h, "crit", []string{}), c), verifier.ReasonTokenMalformed},
		{"typ JWS", SignRS(t, s.Trusted, crypto.SHA256, With(h, "typ", "JWS"), c), verifier.ReasonTokenMalformed},
		{"typ not a string", SignRS(t, s.Trusted, crypto.SHA256, With(h, "typ", 1), c), verifier.ReasonTokenMalformed},
		{"alg not a string", Enc(With(h, "alg", 256)) + "." + Enc(c) + ".AAAA", verifier.ReasonTokenMalformed},
		{"oversized", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "pad", strings.Repeat("a", verifier.MaxTokenSize))), verifier.ReasonTokenMalformed},
		{"two segments", parts[0] + "." + parts[1], verifier.ReasonTokenMalformed},
		{"four segments", valid + "." + parts[2], verifier.ReasonTokenMalformed},
		{"empty", "", verifier.ReasonTokenMalformed},
		{"header not base64", "%%%." + parts[1] + "." + parts[2], verifier.ReasonTokenMalformed},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{alg")) + "." + parts[1] + "." + parts[2], verifier.ReasonTokenMalformed},
		{"JSON Web Encryption", valid + ".a.b", verifier.ReasonTokenMalformed},
		{"exp as string", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "exp", "9999999999")), verifier.ReasonClaimsInvalid},
		{"exp missing", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "exp", nil)), verifier.ReasonClaimsInvalid},
		{"exp as float", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "exp", 1e12+0.5)), verifier.ReasonClaimsInvalid},
		{"nbf as string", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "nbf", "0")), verifier.ReasonClaimsInvalid},
		{"sub as number", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "sub", 42)), verifier.ReasonClaimsInvalid},
		{"sub missing", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "sub", nil)), verifier.ReasonClaimsInvalid},
		{"sid missing", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "sid", nil)), verifier.ReasonClaimsInvalid},
		{"sid empty", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "sid", "")), verifier.ReasonClaimsInvalid},
		{"payload is an array", Enc(h) + "." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + "." + parts[2], verifier.ReasonSignatureInvalid},
		{"issuer of another Clerk instance", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "iss", "https://clerk.other-app.com")), verifier.ReasonIssuerInvalid},
		{"issuer missing", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "iss", nil)), verifier.ReasonIssuerInvalid},
		{"foreign azp", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "azp", "https://evil.example")), verifier.ReasonAuthorizedPartyInvalid},
		{"missing azp", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "azp", nil)), verifier.ReasonAuthorizedPartyInvalid},
		{"pending session", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "v", 2, "sts", "pending")), verifier.ReasonSessionPending},
		{"expired", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "exp", s.Now-6)), verifier.ReasonTokenExpired},
		{"nbf in the future", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "nbf", s.Now+6)), verifier.ReasonTokenNotYetValid},
		{"iat in the future", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "iat", s.Now+6)), verifier.ReasonTokenNotYetValid},
		// Order: everything is checked before time, so an expired token
		// with a bad issuer is an issuer failure, not a refresh candidate.
		{"expired and foreign issuer", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "exp", s.Now-100, "iss", "https://clerk.other-app.com")), verifier.ReasonIssuerInvalid},
		{"expired and foreign azp", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "exp", s.Now-100, "azp", "https://evil.example")), verifier.ReasonAuthorizedPartyInvalid},
		{"expired and forged", SignRS(t, s.Foreign, crypto.SHA256, h, With(c, "exp", s.Now-100)), verifier.ReasonSignatureInvalid},
		// Order: the header's category is judged before the algorithm, and
		// a machine's subject before issuer and time.
		{"M2M category and alg none", Enc(With(h, "alg", "none", "cat", "cl_B7d4PD333AAA")) + "." + Enc(c) + ".AAAA", verifier.ReasonTokenTypeInvalid},
		{"machine subject, expired", SignRS(t, s.Trusted, crypto.SHA256, h, With(c, "sub", "mch_2abc", "exp", s.Now-100)), verifier.ReasonTokenTypeInvalid},
	}...)
}

func quote(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
