package clerktest

import (
	"encoding/json"
	"net/http"
)

// Error codes the fake answers with, in the "code" field of Clerk's error
// envelope. They are exported so tests (and Fault.Code) can name them.
const (
	// CodeAuthenticationInvalid: the Authorization header is missing or is
	// not "Bearer <key>" (401).
	CodeAuthenticationInvalid = "authentication_invalid"
	// CodeClerkKeyInvalid: a bearer key was sent but it is not this server's
	// secret key (401).
	CodeClerkKeyInvalid = "clerk_key_invalid"
	// CodeResourceNotFound: unknown route, session or JWT template (404).
	CodeResourceNotFound = "resource_not_found"
	// CodeOperationDeprecated: verify called without Clerk-API-Version
	// 2021-02-05 (410).
	CodeOperationDeprecated = "operation_deprecated"
	// CodeAPIVersionInvalid: an unsupported Clerk-API-Version, or the version
	// sent both as header and as __clerk_api_version query (400).
	CodeAPIVersionInvalid = "api_version_invalid"
	// CodeRequestBodyInvalid: the body is not a JSON object (400).
	CodeRequestBodyInvalid = "request_body_invalid"
	// CodeRequestBodyTooLarge: the request body is over 1 MiB (413).
	CodeRequestBodyTooLarge = "request_body_too_large"
	// CodeFormParamMissing: a required parameter is absent or empty.
	CodeFormParamMissing = "form_param_missing"
	// CodeFormParamUnknown: a body field the operation does not allow.
	CodeFormParamUnknown = "form_param_unknown"
	// CodeFormParamFormatInvalid: a parameter of the wrong JSON type or syntax.
	CodeFormParamFormatInvalid = "form_param_format_invalid"
	// CodeFormParamValueInvalid: a parameter outside its allowed values.
	CodeFormParamValueInvalid = "form_param_value_invalid"
	// CodeSessionTokenInvalid: the deprecated verify call got a token that
	// is not a valid, unexpired token of an active session (401).
	CodeSessionTokenInvalid = "session_token_invalid"

	// CodeExpiredSessionTokenInvalid: refresh got an expired_token that is
	// not a JWT signed by one of this server's recent keys for its issuer (401).
	CodeExpiredSessionTokenInvalid = "expired_session_token_invalid"
	// CodeRefreshSIDMismatch: the expired token's sid is not the session in
	// the path (401).
	CodeRefreshSIDMismatch = "refresh_sid_mismatch"
	// CodeRefreshTokenNotFound: refresh_token is not the session's (401).
	CodeRefreshTokenNotFound = "refresh_token_not_found"
	// CodeRefreshInactiveSession: the session is not active (401).
	CodeRefreshInactiveSession = "session_refresh_inactive_session"
	// CodeRefreshTokenTooOld: the expired token expired more than
	// MaxExpiredTokenAge ago (401).
	CodeRefreshTokenTooOld = "session_refresh_expired_session_token_too_old"
	// CodeRefreshTokenConsumed: the expired token was already exchanged
	// once (401).
	CodeRefreshTokenConsumed = "session_refresh_expired_session_token_consumed"

	// CodeProxyURLInvalid: the Frontend API got a proxied request (one
	// with Clerk-Proxy-Url or Clerk-Secret-Key) whose Clerk-Proxy-Url is
	// not the instance's proxy (WithProxyURL), or the instance has none
	// (400). A wrong Clerk-Secret-Key is CodeClerkKeyInvalid (401).
	CodeProxyURLInvalid = "proxy_url_invalid"

	// CodeTooManyRequests is the default code of an injected 429.
	CodeTooManyRequests = "too_many_requests"
	// CodeInternalError is the default code of an injected 5xx.
	CodeInternalError = "internal_clerk_error"
)

// Wire structs of Clerk's error envelope, kept here (not shared with the
// client package) so tests of the client check the wire, not a shared type.
type errorJSON struct {
	Code        string         `json:"code"`
	Message     string         `json:"message"`
	LongMessage string         `json:"long_message"`
	Meta        map[string]any `json:"meta"`
}

type envelopeJSON struct {
	Errors       []errorJSON    `json:"errors"`
	Meta         map[string]any `json:"meta"`
	ClerkTraceID string         `json:"clerk_trace_id"`
}

// apiError is one failed request: what the handler decided, before it is
// encoded.
type apiError struct {
	status int
	code   string
	long   string
	param  string // meta.param_name, for form_param_* codes
}

func errorf(status int, code, long string) *apiError {
	return &apiError{status: status, code: code, long: long}
}

func paramError(status int, code, param, long string) *apiError {
	return &apiError{status: status, code: code, long: long, param: param}
}

// shortMessage mirrors the terse "message" Clerk pairs with each code;
// long_message carries the detail.
func shortMessage(code string, status int) string {
	switch code {
	case CodeAuthenticationInvalid:
		return "Unauthorized request"
	case CodeClerkKeyInvalid:
		return "The provided Clerk Secret Key is invalid"
	case CodeResourceNotFound:
		return "not found"
	case CodeOperationDeprecated:
		return "operation deprecated"
	case CodeAPIVersionInvalid:
		return "invalid API version"
	case CodeRequestBodyInvalid:
		return "invalid request body"
	case CodeRequestBodyTooLarge:
		return "request body too large"
	case CodeFormParamMissing:
		return "missing parameter"
	case CodeFormParamUnknown:
		return "unknown parameter"
	case CodeFormParamFormatInvalid:
		return "invalid parameter format"
	case CodeFormParamValueInvalid:
		return "invalid parameter value"
	case CodeSessionTokenInvalid:
		return "invalid session token"
	case CodeExpiredSessionTokenInvalid:
		return "invalid expired session token"
	case CodeRefreshSIDMismatch:
		return "session id mismatch"
	case CodeRefreshTokenNotFound:
		return "refresh token not found"
	case CodeRefreshInactiveSession:
		return "session is not active"
	case CodeRefreshTokenTooOld:
		return "expired session token is too old"
	case CodeRefreshTokenConsumed:
		return "expired session token already used"
	case CodeTooManyRequests:
		return "Too Many Requests"
	case CodeInternalError:
		return "Internal server error"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "error"
}

// writeError encodes e in Clerk's envelope. The trace id appears both in the
// body and in the Clerk-Trace-Id header, as Clerk may send either.
func writeError(w http.ResponseWriter, e *apiError) {
	msg := shortMessage(e.code, e.status)
	long := e.long
	if long == "" {
		long = msg
	}
	meta := map[string]any{}
	if e.param != "" {
		meta["param_name"] = e.param
	}
	trace := randomString(32, hexChars)
	w.Header().Set("Clerk-Trace-Id", trace)
	writeJSON(w, e.status, envelopeJSON{
		Errors:       []errorJSON{{Code: e.code, Message: msg, LongMessage: long, Meta: meta}},
		Meta:         map[string]any{},
		ClerkTraceID: trace,
	})
}

// defaultCode picks the code of an injected error status when the Fault
// names none.
func defaultCode(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return CodeAuthenticationInvalid
	case status == http.StatusNotFound:
		return CodeResourceNotFound
	case status == http.StatusTooManyRequests:
		return CodeTooManyRequests
	case status >= 500:
		return CodeInternalError
	default:
		return "unexpected_error"
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is built from plain maps, slices and
		// strings; failing to encode one is a bug in this package.
		panic("clerktest: encode response: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
