// Package backendapi is the HTTP transport to Clerk's Backend API that the
// session and machine clients share: it authenticates each request with a
// secret key, pins the API version, retries what is safe to retry, bounds
// what it reads, and decodes Clerk's error bodies. What a request means,
// and the typed errors callers see, stay with those packages.
//
//	c := backendapi.New(backendapi.Config{Package: "session", BaseURL: base, ...})
//	body, err := c.Do(ctx, backendapi.Request{Op: "get", Method: http.MethodGet, Path: "/v1/sessions/sess_1", Key: secret})
package backendapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/clerkgate/clerkgate/internal/redact"
	"github.com/clerkgate/clerkgate/internal/version"
)

const (
	// DefaultURL is Clerk's Backend API, without the /v1 path prefix (the
	// same form as the CLERK_API_URL environment variable).
	DefaultURL = "https://api.clerk.com"
	// DefaultVersion is the Backend API version clerkgate was written
	// against; it decides the shape of every answer.
	DefaultVersion = "2026-05-12"
	// DefaultTimeout bounds each HTTP attempt of the default client, so a
	// hung connection cannot hold a request forever when the caller's
	// context has no deadline.
	DefaultTimeout = 10 * time.Second

	// maxErrorBody caps an error body. Clerk's error documents are tiny,
	// and of anything else (a proxy's HTML page) only an excerpt is kept.
	maxErrorBody = 64 << 10
	// drainLimit is how much of an unread body is discarded so that the
	// connection can be reused; more is not worth reading for that.
	drainLimit = 4 << 10
)

// Config sets up a Client. Every field is required unless it says
// otherwise.
type Config struct {
	// Package prefixes every message, as the package the caller sees
	// ("session", "machine").
	Package string
	// BaseURL is checked by BaseURL: scheme://host[/prefix], no /v1.
	BaseURL string
	// Version is sent as the Clerk-API-Version header.
	Version string
	// HTTPClient sends the requests; nil for NewHTTPClient().
	HTTPClient *http.Client
	// MaxBody caps a success body, so that a broken or hostile server
	// cannot make us buffer without bound.
	MaxBody int64
	// Unexpected is the caller's sentinel for a 2xx answer that is not
	// what the operation promises; Do wraps it for a body over MaxBody.
	Unexpected error
	// APIError turns a non-2xx answer into the caller's typed error.
	APIError func(*Failure) error
}

// Client sends requests to one Backend API. It holds no mutable state, so
// it is safe for concurrent use and two clients never share anything.
type Client struct {
	pkg        string
	base       string
	version    string
	userAgent  string
	http       *http.Client
	maxBody    int64
	unexpected error
	apiError   func(*Failure) error
	retry      retryPolicy
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient()
	}
	return &Client{
		pkg:        cfg.Package,
		base:       cfg.BaseURL,
		version:    cfg.Version,
		userAgent:  "clerkgate/" + version.Version,
		http:       hc,
		maxBody:    cfg.MaxBody,
		unexpected: cfg.Unexpected,
		apiError:   cfg.APIError,
		retry:      defaultRetryPolicy(),
	}
}

// NewHTTPClient is the client used when the caller gives none: a new one,
// because http.DefaultClient has no timeout and is shared, mutable state.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout: DefaultTimeout,
		// The Backend API does not redirect. A redirect means a
		// misconfigured API URL or something in between; surface it as an
		// API error instead of re-sending the request, and its secret key,
		// elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Request is one call to the Backend API.
type Request struct {
	Op     string // operation name, for messages
	Method string
	Path   string // already escaped, starts with /v1/
	Query  url.Values
	Body   any // nil: no body; otherwise sent as JSON
	// Key is the secret key sent as the bearer token.
	Key string
	// Once: never retried, even a GET, because the call consumes what it
	// sends (a handshake nonce is good once).
	Once bool
}

// Do sends req and returns the 2xx body. GETs are retried on network
// errors, 429 and 5xx; other methods never, because a request whose answer
// was lost may well have taken effect.
func (c *Client) Do(ctx context.Context, req Request) ([]byte, error) {
	var payload []byte
	if req.Body != nil {
		var err error
		if payload, err = json.Marshal(req.Body); err != nil {
			return nil, fmt.Errorf("%s: %s: encoding request body: %w", c.pkg, req.Op, err)
		}
	}
	target := c.base + req.Path
	if len(req.Query) > 0 {
		target += "?" + req.Query.Encode()
	}

	attempts := 1
	if req.Method == http.MethodGet && !req.Once {
		attempts = max(c.retry.attempts, 1)
	}
	for n := 1; ; n++ {
		data, retryAfter, retryable, err := c.attempt(ctx, req, target, payload)
		if err == nil {
			return data, nil
		}
		if !retryable || n >= attempts || ctx.Err() != nil {
			return nil, err
		}
		wait := c.retry.backoff(n)
		if retryAfter > 0 {
			if retryAfter > c.retry.maxWait {
				return nil, err
			}
			wait = retryAfter
		}
		// Sleeping past the deadline only to fail with "context deadline
		// exceeded" would hide the real reason; hand back the error now.
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, err
		}
		if cerr := sleep(ctx, wait); cerr != nil {
			return nil, fmt.Errorf("%s: %s: gave up waiting to retry: %w (last error: %w)", c.pkg, req.Op, cerr, err)
		}
	}
}

// attempt makes one HTTP exchange. retryable reports whether a failure is
// of the kind a retry might cure (network trouble, 429, 5xx); retryAfter
// is how long the server asked us to wait, zero when it did not say.
func (c *Client) attempt(ctx context.Context, req Request, target string, payload []byte) (data []byte, retryAfter time.Duration, retryable bool, err error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		return nil, 0, false, fmt.Errorf("%s: %s: building request: %w", c.pkg, req.Op, err)
	}
	h := hreq.Header
	h.Set("Authorization", "Bearer "+req.Key)
	h.Set("Clerk-API-Version", c.version)
	h.Set("User-Agent", c.userAgent)
	h.Set("Accept", "application/json")
	if payload != nil {
		h.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		// net/http's error names the URL, never the headers or body, so
		// the secret key and a credential being verified are not in it.
		// The query may hold one, though (a handshake nonce that, unused,
		// is still good): show the URL redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact.URL(ue.URL)
		}
		return nil, 0, true, fmt.Errorf("%s: %s: %w", c.pkg, req.Op, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		_ = resp.Body.Close()
	}()

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		data, err := readAtMost(resp.Body, c.maxBody)
		if errors.Is(err, errTooLarge) {
			return nil, 0, false, fmt.Errorf("%s: %s: %w: body exceeds %d bytes", c.pkg, req.Op, c.unexpected, c.maxBody)
		}
		if err != nil {
			return nil, 0, true, fmt.Errorf("%s: %s: reading response: %w", c.pkg, req.Op, err)
		}
		return data, 0, false, nil
	}
	// An unreadable or oversized error body still yields a useful error:
	// keep whatever arrived.
	data, _ = readAtMost(resp.Body, maxErrorBody)
	f := ParseFailure(req.Op, resp.StatusCode, resp.Header, data, time.Now())
	retryable = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return nil, f.RetryAfter, retryable, c.apiError(f)
}

var errTooLarge = errors.New("body too large")

// readAtMost reads r to the end, failing with errTooLarge (and returning the
// first limit bytes) if it holds more than limit bytes.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], errTooLarge
	}
	return data, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
