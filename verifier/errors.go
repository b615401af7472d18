package verifier

import (
	"errors"
	"fmt"
)

// Reason names why a token was refused. It is stable and machine-readable:
// the HTTP layer sends it as the "error" field of its JSON body, and it works
// with errors.Is:
//
//	if errors.Is(err, verifier.ReasonTokenExpired) { … }
type Reason string

// Error makes a Reason usable as an errors.Is target.
func (r Reason) Error() string { return "verifier: " + string(r) }

// The reasons Verify reports. When several checks would fail, Verify reports
// the first in this order: shape, token type (header), algorithm, key,
// signature, payload shape, claim types, token type (subject), authorized
// party, issuer (Clerk's verifyJwt order), session status, time. Time comes last on purpose: an
// expired token is worth refreshing only when everything else holds. The
// payload is read only once its signature holds, so its shape and claims
// are judged after the signature.
const (
	// ReasonTokenMalformed: not three segments of the base64url alphabet
	// (no CR, LF, space, padding or other byte), over the size cap, a
	// header or payload that is not a JSON object, not UTF-8, starts with a
	// byte order mark, or repeats a member name (at any depth); a header
	// whose alg, kid or typ is not a string (null included), whose typ is
	// not JWT, or that has a crit member.
	ReasonTokenMalformed Reason = "token_malformed"
	// ReasonTokenTypeInvalid: a token of another class that Clerk signs
	// with the same instance key: a header cat other than the session
	// category or the "ignore categories" value (a JWT template, an M2M
	// token, or cat not a string), a typ of an OAuth access token (at+jwt,
	// application/at+jwt), or a machine's subject (sub starting "mch_").
	// The header's verdict comes before the algorithm check; the subject's
	// right after the claim types.
	ReasonTokenTypeInvalid Reason = "token_type_invalid"
	// ReasonAlgorithmNotAllowed: "none", HMAC, or an alg the key does not allow.
	ReasonAlgorithmNotAllowed Reason = "algorithm_not_allowed"
	// ReasonKeyNotFound: the key set holds no key with the token's kid.
	ReasonKeyNotFound Reason = "key_not_found"
	// ReasonJWKSUnavailable: the key set could not be fetched. The fault is
	// on the server's side; the token may be fine.
	ReasonJWKSUnavailable Reason = "jwks_unavailable"
	// ReasonSignatureInvalid: the signature does not match the key.
	ReasonSignatureInvalid Reason = "signature_invalid"
	// ReasonClaimsInvalid: exp, sub or sid is missing, or a claim the
	// verifier reads has the wrong JSON type: null counts as a wrong type,
	// never as absent, and exp, nbf, iat and v must be integers.
	ReasonClaimsInvalid Reason = "claims_invalid"
	// ReasonIssuerInvalid: iss is not the configured issuer, or, with none
	// configured, does not have the shape of a Clerk Frontend API URL.
	ReasonIssuerInvalid Reason = "issuer_invalid"
	// ReasonAuthorizedPartyInvalid: azp is missing or not in the allowed list.
	ReasonAuthorizedPartyInvalid Reason = "authorized_party_invalid"
	// ReasonSessionPending: sts is "pending" and pending sessions are not allowed.
	ReasonSessionPending Reason = "session_pending"
	// ReasonTokenExpired: exp <= now - skew.
	ReasonTokenExpired Reason = "token_expired"
	// ReasonTokenNotYetValid: nbf or iat is later than now + skew.
	ReasonTokenNotYetValid Reason = "token_not_yet_valid"
)

// Error is the error Verify returns. It matches its Reason with errors.Is
// and unwraps to the underlying cause, if any.
type Error struct {
	Reason Reason
	// Detail says what exactly failed, naming the offending value where that
	// is safe to show.
	Detail string
	// Err is the underlying cause, such as a key source error.
	Err error
	// Claims is set only for ReasonTokenExpired and ReasonSessionPending,
	// when every other check passed: the signature is good, so the claims
	// are authentic, just too old or a pending session's. Callers use them
	// to refresh the session, or to decide a pending one as Clerk does;
	// they must not treat the request as authenticated.
	Claims *Claims
}

func (e *Error) Error() string {
	msg := "verifier: " + string(e.Reason)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is this error's Reason.
func (e *Error) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of a verification error, or "" if err is not one.
func ReasonOf(err error) Reason {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

func fail(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}
