package verifier

import (
	"context"
)

// MaxHandshakeDirectives bounds the Set-Cookie directives one handshake
// token may carry. Clerk's carry under ten (the session, client_uat and
// refresh cookies, suffixed and not, the dev browser).
const MaxHandshakeDirectives = 32

// VerifyHandshake checks a handshake token, the signed answer of Clerk's
// Frontend API handshake (__clerk_handshake), and returns the Set-Cookie
// directives of its handshake claim. It checks what Clerk's SDK checks:
// the header (typ JWT if set, the session token category or none, no
// crit), an RSA algorithm the key allows, and the signature with the
// Verifier's keys; and, beyond Clerk, exp when the token has one. It
// judges nothing in the directives: the caller verifies the session token
// they set like any other. The payload is read with the same strict JSON
// rules as a session token's: a duplicate member, a handshake array that
// holds anything but strings, or more than MaxHandshakeDirectives of them
// are token_malformed. A handshake claim that is not an array (missing,
// null, a string, an object) gives no directives and no error, as Clerk
// sets cookies only from an array: the request is then signed out.
func (v *Verifier) VerifyHandshake(ctx context.Context, token string) ([]string, error) {
	p, err := parse(token)
	if err != nil {
		return nil, err
	}
	h, err := hashFor(p.header.Alg)
	if err != nil {
		return nil, err
	}
	if _, err := v.checkSignature(ctx, p.header.Kid, p.header.Alg, h, p.signed, p.sig64); err != nil {
		return nil, err
	}
	payload, derr := decodeSegment(nil, p.payload64)
	if derr != nil {
		return nil, fail(ReasonTokenMalformed, "payload is not base64url: %v", derr)
	}
	directives, exp, err := decodeHandshake(string(payload))
	if err != nil {
		return nil, err
	}
	if exp != 0 && exp <= v.now().Unix()-v.skew {
		return nil, fail(ReasonTokenExpired, "handshake expired at %d", exp)
	}
	return directives, nil
}

// decodeHandshake reads the payload of a handshake token: its handshake
// claim (absent means no directives) and its exp (0 when absent).
func decodeHandshake(s string) (directives []string, exp int64, _ *Error) {
	d := claimDecoder{r: jsonReader{s: s}}
	if d.r.peek() != '{' {
		return nil, 0, fail(ReasonTokenMalformed, "payload is not a JSON object")
	}
	var o object
	for name, ok := d.r.member(&o); ok; name, ok = d.r.member(&o) {
		switch name {
		case "handshake":
			if d.r.peek() != '[' {
				// Clerk sets cookies only from an array
				// (Array.isArray): anything else sets none, and the
				// request is signed out.
				directives = nil
				d.r.skip(1)
				continue
			}
			directives = d.strs("handshake")
		case "exp":
			exp = d.int("exp")
		default:
			d.r.skip(1)
		}
	}
	d.r.end()
	switch {
	case d.r.err != "":
		return nil, 0, fail(ReasonTokenMalformed, "payload: %s", d.r.err)
	case d.wrong != "":
		return nil, 0, fail(ReasonTokenMalformed, "handshake member %s has the wrong type", d.wrong)
	case len(directives) > MaxHandshakeDirectives:
		return nil, 0, fail(ReasonTokenMalformed, "%d directives, over the limit of %d", len(directives), MaxHandshakeDirectives)
	}
	return directives, exp, nil
}
