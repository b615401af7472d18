package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/internal/backendapi"
)

var (
	// ErrInvalidInput is wrapped by every error that refuses a call's
	// arguments before a request is sent (an empty or path-unsafe id, a limit
	// out of range, a missing refresh field...). Such a call never reaches
	// Clerk, so retrying it unchanged cannot help: it is a bug in the caller.
	ErrInvalidInput = errors.New("session: invalid input")

	// ErrInvalidConfig is wrapped by the errors NewClient returns for a
	// Config it cannot work with.
	ErrInvalidConfig = errors.New("session: invalid config")

	// ErrUnexpectedResponse is wrapped when Clerk answered 2xx but the body
	// is not what the operation promises (not JSON, too large, a session
	// without an id, a refresh answer with neither jwt nor cookies). The
	// fault is on the server's side or between us and it, not in the caller's
	// request: treat it like an outage, not like a rejected credential.
	ErrUnexpectedResponse = errors.New("session: unexpected response from clerk")
)

// ErrorDetail is one entry of the "errors" array Clerk puts in every error
// body.
type ErrorDetail struct {
	// Code is the machine-readable reason, such as "resource_not_found" or
	// "session_refresh_expired_session_token_consumed". Branch on this, never
	// on the messages.
	Code string `json:"code"`
	// Message is a short human-readable summary.
	Message string `json:"message"`
	// LongMessage explains the failure in more detail.
	LongMessage string `json:"long_message"`
	// Meta holds code-specific extra data (for form errors, the offending
	// parameter's name), verbatim.
	Meta json.RawMessage `json:"meta,omitempty"`
}

// APIError is the error for any non-2xx answer from the Backend API. Use
// errors.As to get it, or the Is… helpers for the common statuses.
type APIError struct {
	// StatusCode is the HTTP status Clerk (or whatever answered) returned.
	StatusCode int
	// Errors are the decoded Clerk errors; empty when the body was not a
	// Clerk error document.
	Errors []ErrorDetail
	// TraceID identifies the request in Clerk's logs: quote it when asking
	// Clerk support. Taken from the body's clerk_trace_id, else from the
	// Clerk-Trace-Id header.
	TraceID string
	// RetryAfter is how long the server asked us to wait before trying
	// again (the Retry-After header, as seconds or an HTTP date); zero when
	// it did not say.
	RetryAfter time.Duration
	// Body is a short excerpt (at most 200 bytes, valid UTF-8, whitespace
	// collapsed) of a body that was not a Clerk error document, such as a
	// proxy's HTML error page. Empty when Errors is set.
	Body string

	// op names the client operation that failed, for the message only.
	op string
}

// Error describes the status and the first Clerk error, so that a log line
// alone says what went wrong.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("session: ")
	if e.op != "" {
		b.WriteString(e.op)
		b.WriteString(": ")
	}
	b.WriteString("clerk answered ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteString(" ")
		b.WriteString(strings.ToLower(text))
	}
	switch {
	case len(e.Errors) > 0:
		first := e.Errors[0]
		if first.Code != "" {
			b.WriteString(": ")
			b.WriteString(first.Code)
		}
		if msg := first.longest(); msg != "" {
			fmt.Fprintf(&b, ": %q", msg)
		}
		if n := len(e.Errors) - 1; n > 0 {
			fmt.Fprintf(&b, " (and %d more)", n)
		}
	case e.Body != "":
		fmt.Fprintf(&b, " with a non-clerk body: %q", e.Body)
	default:
		b.WriteString(" with no clerk error in the body")
	}
	if e.TraceID != "" {
		fmt.Fprintf(&b, " (trace id %s)", e.TraceID)
	}
	return b.String()
}

// longest prefers the long message, which usually names the field or
// resource at fault.
func (d ErrorDetail) longest() string {
	if d.LongMessage != "" {
		return d.LongMessage
	}
	return d.Message
}

// HasCode reports whether any of the error's Clerk errors carries code.
func (e *APIError) HasCode(code string) bool {
	if e == nil {
		return false
	}
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err is (or wraps) a 404 from Clerk: the session
// or JWT template does not exist.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthenticated reports whether err is (or wraps) a 401 from Clerk. For
// most operations it means the secret key was refused; for Refresh it is how
// Clerk reports every validation failure of the expired token or refresh
// token, and the caller should fall back to a full sign-in handshake.
func IsUnauthenticated(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsDeprecated reports whether err is (or wraps) a 410 from Clerk: the
// operation no longer exists in the API version the client speaks.
func IsDeprecated(err error) bool { return hasStatus(err, http.StatusGone) }

// IsRateLimited reports whether err is (or wraps) a 429 from Clerk. The
// APIError's RetryAfter says when to try again.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsUnprocessable reports whether err is (or wraps) a 422 from Clerk: a
// parameter was well-formed but not acceptable (the form_param_* codes).
func IsUnprocessable(err error) bool { return hasStatus(err, http.StatusUnprocessableEntity) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// newAPIError is the error for a non-2xx answer.
func newAPIError(f *backendapi.Failure) *APIError {
	e := &APIError{
		op:         f.Op,
		StatusCode: f.StatusCode,
		TraceID:    f.TraceID,
		RetryAfter: f.RetryAfter,
		Body:       f.Body,
	}
	for _, d := range f.Errors {
		e.Errors = append(e.Errors, ErrorDetail(d))
	}
	return e
}
