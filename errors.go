package clerkgate

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/verifier"
)

// Reason is the machine-readable cause of a refusal, sent as the "error"
// field of the JSON body. It is the verifier's Reason type, so errors.Is
// works across both packages.
type Reason = verifier.Reason

// Reasons added by the HTTP layer; the verifier's own reasons are repeated
// here so that handlers need import only this package.
const (
	ReasonTokenMissing   Reason = "token_missing"
	ReasonSessionRevoked Reason = "session_revoked"
	ReasonRefreshFailed  Reason = "refresh_failed"
	// ReasonTokenLifetimeInvalid: the token lives longer than
	// Config.MaxTokenLifetime, or carries no iat to tell.
	ReasonTokenLifetimeInvalid Reason = "token_lifetime_invalid"
	// ReasonTokenOutdated: a Clerk webhook said the token's user was
	// deleted, banned or locked, or their organization membership changed,
	// after the token was issued (see Gate.Webhooks).
	ReasonTokenOutdated Reason = "token_outdated"

	ReasonTokenMalformed         = verifier.ReasonTokenMalformed
	ReasonTokenTypeInvalid       = verifier.ReasonTokenTypeInvalid
	ReasonAlgorithmNotAllowed    = verifier.ReasonAlgorithmNotAllowed
	ReasonKeyNotFound            = verifier.ReasonKeyNotFound
	ReasonJWKSUnavailable        = verifier.ReasonJWKSUnavailable
	ReasonSignatureInvalid       = verifier.ReasonSignatureInvalid
	ReasonClaimsInvalid          = verifier.ReasonClaimsInvalid
	ReasonIssuerInvalid          = verifier.ReasonIssuerInvalid
	ReasonAuthorizedPartyInvalid = verifier.ReasonAuthorizedPartyInvalid
	ReasonSessionPending         = verifier.ReasonSessionPending
	ReasonTokenExpired           = verifier.ReasonTokenExpired
	ReasonTokenNotYetValid       = verifier.ReasonTokenNotYetValid
)

// message is the human-readable text of the failure contract for a reason.
// The texts are fixed on purpose: nothing from the request is echoed back.
func message(r Reason) string {
	switch r {
	case ReasonTokenMissing:
		return "no session token in the Authorization header or the session cookie"
	case ReasonTokenMalformed:
		return "the session token is not a well-formed JWT"
	case ReasonTokenTypeInvalid:
		return "the token is not a session token"
	case ReasonAlgorithmNotAllowed:
		return "the session token's signing algorithm is not allowed"
	case ReasonKeyNotFound:
		return "the session token was signed by an unknown key"
	case ReasonJWKSUnavailable:
		return "signing keys are temporarily unavailable; try again shortly"
	case ReasonSignatureInvalid:
		return "the session token's signature is invalid"
	case ReasonClaimsInvalid:
		return "the session token's claims are missing or of the wrong type"
	case ReasonIssuerInvalid:
		return "the session token was issued by another Clerk instance"
	case ReasonAuthorizedPartyInvalid:
		return "the session token was issued to an origin that is not authorized"
	case ReasonSessionPending:
		return "the session has pending tasks and is not signed in yet"
	case ReasonTokenExpired:
		return "the session token has expired"
	case ReasonTokenNotYetValid:
		return "the session token is not valid yet"
	case ReasonSessionRevoked:
		return "the session has been revoked"
	case ReasonTokenLifetimeInvalid:
		return "the session token lives longer than this app accepts"
	case ReasonRefreshFailed:
		return "the expired session could not be refreshed"
	case ReasonTokenOutdated:
		return "the session token was issued before a change to its user; get a new one"
	}
	return string(r)
}

// explain gives a refusal the message that fits the request, where the
// reason's own text would mislead: an Authorization header that is there
// but not Bearer is not "no session token", two of them are not "not a
// well-formed JWT", and a route that takes machine credentials does not
// call what it was sent a session token. The reason stays; only the fixed
// text changes (nothing from the request is echoed). machines reports
// whether the route accepts machine credentials, sessions whether it
// accepts session tokens.
func explain(r *http.Request, machines, sessions bool, e *AuthError) *AuthError {
	if e == nil {
		return nil
	}
	auth := r.Header["Authorization"]
	switch {
	case len(auth) > 1 && (e.Reason == ReasonTokenMalformed || e.Reason == ReasonTokenMissing):
		e.Message = "the request has more than one Authorization header: send exactly one"
	case e.Reason == ReasonTokenMissing && len(auth) == 1:
		// Had its scheme been Bearer, it would have given a token.
		e.Message = "the Authorization header must use the Bearer scheme: Authorization: Bearer <token>"
	case e.Reason == ReasonTokenMissing && machines && !sessions:
		e.Message = "no credential in the Authorization header"
	case e.Reason == ReasonTokenMissing && machines:
		e.Message = "no token in the Authorization header or the session cookie"
	case e.Reason == ReasonTokenMalformed && machines:
		e.Message = "the token is neither a well-formed JWT nor a Clerk machine credential"
	}
	return e
}

// jwksRetryAfter is what a 503 asks clients to wait: about one refetch
// interval of the key source.
const jwksRetryAfter = 10 * time.Second

// AuthError is a refused request: the error that Authenticate,
// AuthenticateToken and Authorize return (find it with
// errors.As), and what Config.ErrorHandler is given.
type AuthError struct {
	// Status is 401, 403 when the session failed a check of Require or
	// came in a cookie on a cross-origin request, or 503 when signing
	// keys could not be had.
	Status int
	// Reason is the machine-readable cause.
	Reason Reason
	// Message is a fixed human-readable text for Reason, plus Clerk's
	// error code for refresh failures.
	Message string
	// TokenPresented reports whether the request carried a token at all.
	TokenPresented bool
	// RetryAfter is set for 503 answers.
	RetryAfter time.Duration
	// Check is the check the session failed, for 403 answers; nil for
	// a cross-origin refusal (ReasonCrossOrigin).
	Check *authz.Check
	// Err is the underlying cause, for logging. Never send it to clients.
	Err error
	// Location is set when the answer is a redirect rather than a
	// refusal (Status 307, Reason ReasonHandshake): the browser goes
	// through Clerk's handshake, or on to its page once it is resolved.
	// WriteError and the middlewares redirect there; an ErrorHandler of
	// your own is not called for redirects.
	Location string
}

// Error is the refusal's message, with the reason and, when one caused
// it, the underlying error: for logs, never for the client (WriteError
// writes what the client may read).
func (e *AuthError) Error() string {
	msg := "clerkgate: " + string(e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, clerkgate.ReasonTokenExpired) work.
func (e *AuthError) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

// Unwrap returns the error that caused the refusal (a verification or a
// Backend API error), or nil, for errors.Is and errors.As.
func (e *AuthError) Unwrap() error { return e.Err }

// asError is how an exported function returns a refusal: as an error
// that is nil itself when e is nil. A nil *AuthError returned as an error
// would be a non-nil error, and callers would refuse an accepted token
// (the Go FAQ's "Why is my nil error value not equal to nil?").
func asError(e *AuthError) error {
	if e == nil {
		return nil
	}
	return e
}

func newAuthError(reason Reason, presented bool, cause error) *AuthError {
	e := &AuthError{Status: http.StatusUnauthorized, Reason: reason, Message: message(reason), TokenPresented: presented, Err: cause}
	if reason == ReasonJWKSUnavailable {
		e.Status = http.StatusServiceUnavailable
		e.RetryAfter = jwksRetryAfter
	}
	return e
}

// WriteError is the default Config.ErrorHandler. It writes the failure
// contract: a 401 (or 503) with a JSON body {"error","message"} and a
// WWW-Authenticate challenge (RFC 6750) that says invalid_token when a token
// was presented. A 403 gets the body writeForbidden describes.
func WriteError(w http.ResponseWriter, _ *http.Request, e *AuthError) {
	if e.Status == http.StatusForbidden {
		writeForbidden(w, e)
		return
	}
	h := w.Header()
	if e.Location != "" {
		writeRedirect(w, e)
		return
	}
	if e.Status == http.StatusUnauthorized {
		challenge := "Bearer"
		if e.TokenPresented {
			challenge = `Bearer error="invalid_token", error_description="` + string(e.Reason) + `"`
		}
		h.Set("WWW-Authenticate", challenge)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(e.RetryAfter/time.Second)))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_, _ = w.Write(errorBody(e.Reason, e.Message))
}

// errorBody is a refusal's body, {"error":…,"message":…} and a newline,
// as encoding/json's Encoder writes it, written by hand: a flood of bad
// tokens is all refusals, and the Encoder's reflection cost a hostile page
// load a tenth of its time.
func errorBody(reason Reason, message string) []byte {
	b := make([]byte, 0, len(`{"error":"","message":""}`)+len(reason)+len(message)+1)
	b = appendJSONString(append(b, `{"error":`...), string(reason))
	b = appendJSONString(append(b, `,"message":`...), message)
	return append(b, "}\n"...)
}

// appendJSONString appends s as encoding/json writes a string. A string
// of printable ASCII but for what it escapes (a quote, a backslash, <, >
// and &) goes between quotes as it is; any other goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// writeRedirect answers a handshake redirect: the headers Authenticate set
// (cookies, Cache-Control, auth status) and Location.
func writeRedirect(w http.ResponseWriter, e *AuthError) {
	w.Header().Set("Location", e.Location)
	w.WriteHeader(e.Status)
}
