package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

const (
	// maxBody caps a success body. The largest answer here, a page of 500
	// sessions, is far below it; the cap is there so that a broken or
	// hostile server cannot make us buffer without bound.
	maxBody = 10 << 20
	// maxErrorBody caps an error body. Clerk's error documents are tiny, and
	// of anything else (a proxy's HTML page) only an excerpt is kept.
	maxErrorBody = 64 << 10
)

// retryPolicy says how GETs are retried. It is a value on the Client, not
// package state, so clients never affect each other.
type retryPolicy struct {
	attempts int           // total attempts, including the first
	base     time.Duration // backoff before the 2nd attempt, doubled after
	cap      time.Duration // largest backoff
	// maxWait is the longest Retry-After we sleep through. A server asking
	// for longer gets its APIError back at once, RetryAfter set, so the
	// caller decides; we never park a request for minutes.
	maxWait time.Duration
}

var defaultRetryPolicy = retryPolicy{
	attempts: 3,
	base:     100 * time.Millisecond,
	cap:      2 * time.Second,
	maxWait:  10 * time.Second,
}

// backoff is the wait before attempt n+1 after n failed attempts: capped
// exponential with "equal jitter" (half fixed, half random) so that many
// clients failing together do not retry in lockstep, yet never retry at
// once. math/rand/v2's top-level functions are goroutine-safe and seeded
// per process, so no package state is needed.
func (p retryPolicy) backoff(n int) time.Duration {
	d := p.base
	for i := 1; i < n && d < p.cap; i++ {
		d *= 2
	}
	d = min(d, p.cap)
	half := d / 2
	return half + rand.N(half+1)
}

// request describes one call to the Backend API.
type request struct {
	op     string // operation name, for messages
	method string
	path   string // already escaped, starts with /v1/
	query  url.Values
	body   any // nil: no body
	// once: never retried, because the call consumes what it sends
	// (a handshake nonce is good once).
	once bool
}

// do sends req and returns the 2xx body. GETs are retried on network
// errors, 429 and 5xx; POSTs never (see the package doc for why).
func (c *Client) do(ctx context.Context, req request) ([]byte, error) {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return nil, fmt.Errorf("session: %s: encoding request body: %w", req.op, err)
		}
	}
	target := c.baseURL + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}

	attempts := 1
	if req.method == http.MethodGet && !req.once {
		attempts = max(c.retry.attempts, 1)
	}
	for n := 1; ; n++ {
		data, retryable, err := c.attempt(ctx, req, target, payload)
		if err == nil {
			return data, nil
		}
		if !retryable || n >= attempts || ctx.Err() != nil {
			return nil, err
		}
		wait := c.retry.backoff(n)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > c.retry.maxWait {
				return nil, err
			}
			wait = apiErr.RetryAfter
		}
		// Sleeping past the deadline only to fail with "context deadline
		// exceeded" would hide the real reason; hand back the error now.
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, err
		}
		if cerr := sleep(ctx, wait); cerr != nil {
			return nil, fmt.Errorf("session: %s: gave up waiting to retry: %w (last error: %w)", req.op, cerr, err)
		}
	}
}

// attempt makes one HTTP exchange. retryable reports whether a failure is
// of the kind a retry might cure (network trouble, 429, 5xx).
func (c *Client) attempt(ctx context.Context, req request, target string, payload []byte) (data []byte, retryable bool, err error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, false, fmt.Errorf("session: %s: building request: %w", req.op, err)
	}
	h := hreq.Header
	h.Set("Authorization", "Bearer "+c.secretKey)
	h.Set("Clerk-API-Version", c.version)
	h.Set("User-Agent", c.userAgent)
	h.Set("Accept", "application/json")
	if payload != nil {
		h.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, true, fmt.Errorf("session: %s: %w", req.op, err)
	}
	defer func() {
		// Drain a little so the connection can be reused, but never read
		// an unbounded remainder just for that.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
	}()

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		data, err := readAtMost(resp.Body, maxBody)
		if errors.Is(err, errTooLarge) {
			return nil, false, fmt.Errorf("session: %s: %w: body exceeds %d bytes", req.op, ErrUnexpectedResponse, maxBody)
		}
		if err != nil {
			return nil, true, fmt.Errorf("session: %s: reading response: %w", req.op, err)
		}
		return data, false, nil
	}
	// An unreadable or oversized error body still yields a useful error:
	// keep whatever arrived.
	data, _ = readAtMost(resp.Body, maxErrorBody)
	apiErr := newAPIError(req.op, resp.StatusCode, resp.Header, data, time.Now())
	return nil, resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, apiErr
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

// decode runs a success-body decoder and marks its failures as
// ErrUnexpectedResponse.
func decode[T any](op string, data []byte, fn func([]byte) (T, error)) (T, error) {
	v, err := fn(data)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("session: %s: %w: %v", op, ErrUnexpectedResponse, err)
	}
	return v, nil
}
