package testkit

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
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

	return []Attack{
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
		{"padded signature", valid + "==", verifier.ReasonSignatureInvalid},
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
	}
}
