package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// newAPIError builds the error for a non-2xx answer. It never fails: a body
// that is not a Clerk error document becomes a short excerpt instead.
func newAPIError(op string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{
		op:         op,
		StatusCode: status,
		RetryAfter: parseRetryAfter(h.Get("Retry-After"), now),
	}
	var doc struct {
		Errors  []ErrorDetail `json:"errors"`
		TraceID string        `json:"clerk_trace_id"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.Errors = doc.Errors
		e.TraceID = doc.TraceID
	}
	if len(e.Errors) == 0 {
		e.Errors = nil
		e.Body = excerpt(body)
	}
	if e.TraceID == "" {
		e.TraceID = h.Get("Clerk-Trace-Id")
	}
	return e
}

// maxExcerpt bounds APIError.Body: enough to recognise a proxy's error page
// in a log line, too little to flood one.
const maxExcerpt = 200

// excerpt turns an arbitrary body into at most maxExcerpt bytes of printable
// UTF-8 on one line.
func excerpt(body []byte) string {
	if len(body) > 4*maxExcerpt {
		body = body[:4*maxExcerpt] // only the start can survive; skip work on the rest
	}
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	}), " ")
	if len(s) <= maxExcerpt {
		return s
	}
	const ellipsis = "…"
	cut := maxExcerpt - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// maxRetryAfterSeconds keeps an absurd header from overflowing a Duration.
const maxRetryAfterSeconds = 1 << 31

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// Anything unreadable, or a date in the past, means "no advice" (zero).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		return time.Duration(min(secs, maxRetryAfterSeconds)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
