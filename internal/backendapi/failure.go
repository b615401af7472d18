package backendapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrorDetail is one entry of the "errors" array Clerk puts in every error
// body.
type ErrorDetail struct {
	Code        string          `json:"code"`
	Message     string          `json:"message"`
	LongMessage string          `json:"long_message"`
	Meta        json.RawMessage `json:"meta,omitempty"`
}

// Failure is a non-2xx answer, decoded. The calling package turns it into
// its own typed error (Config.APIError).
type Failure struct {
	Op         string // the operation that failed
	StatusCode int
	// Errors are the decoded Clerk errors; nil when the body was not a
	// Clerk error document.
	Errors []ErrorDetail
	// TraceID is the body's clerk_trace_id, else the Clerk-Trace-Id
	// header.
	TraceID string
	// RetryAfter is the Retry-After header (seconds or an HTTP date), zero
	// when absent, unreadable or past.
	RetryAfter time.Duration
	// Body is a short excerpt (at most MaxExcerpt bytes of printable UTF-8
	// on one line) of a body that was not a Clerk error document, such as a
	// proxy's HTML error page; empty when Errors is set.
	Body string
}

// ParseFailure decodes a non-2xx answer. It never fails: a body that is
// not a Clerk error document becomes a short excerpt instead.
func ParseFailure(op string, status int, h http.Header, body []byte, now time.Time) *Failure {
	f := &Failure{
		Op:         op,
		StatusCode: status,
		RetryAfter: parseRetryAfter(h.Get("Retry-After"), now),
	}
	var doc struct {
		Errors  []ErrorDetail `json:"errors"`
		TraceID string        `json:"clerk_trace_id"`
	}
	if json.Unmarshal(body, &doc) == nil {
		f.Errors = doc.Errors
		f.TraceID = doc.TraceID
	}
	if len(f.Errors) == 0 {
		f.Errors = nil
		f.Body = excerpt(body)
	}
	if f.TraceID == "" {
		f.TraceID = h.Get("Clerk-Trace-Id")
	}
	return f
}

// MaxExcerpt bounds Failure.Body: enough to recognise a proxy's error page
// in a log line, too little to flood one.
const MaxExcerpt = 200

// excerpt turns an arbitrary body into at most MaxExcerpt bytes of printable
// UTF-8 on one line.
func excerpt(body []byte) string {
	if len(body) > 4*MaxExcerpt {
		body = body[:4*MaxExcerpt] // only the start can survive; skip work on the rest
	}
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	}), " ")
	if len(s) <= MaxExcerpt {
		return s
	}
	const ellipsis = "…"
	cut := MaxExcerpt - len(ellipsis)
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
