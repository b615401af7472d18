package clerktest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Route names one endpoint of the fake by its net/http route pattern. It is
// a plain string so the same constants work with Requests, LastRequest and
// SetFault.
type Route = string

// The routes the fake serves.
const (
	RouteJWKS              Route = "GET /v1/jwks"
	RouteListSessions      Route = "GET /v1/sessions"
	RouteCreateSession     Route = "POST /v1/sessions"
	RouteGetSession        Route = "GET /v1/sessions/{id}"
	RouteRefresh           Route = "POST /v1/sessions/{id}/refresh"
	RouteRevoke            Route = "POST /v1/sessions/{id}/revoke"
	RouteVerify            Route = "POST /v1/sessions/{id}/verify"
	RouteCreateToken       Route = "POST /v1/sessions/{id}/tokens"
	RouteTokenFromTemplate Route = "POST /v1/sessions/{id}/tokens/{template}"
	// RouteUnknown matches every request no other route does (404).
	RouteUnknown Route = "/"
	// AnyRoute, in SetFault, applies a fault to every route that has none of
	// its own; in Requests, counts every request.
	AnyRoute Route = "*"
)

// oversizePadding is how much JSON whitespace an Oversize fault puts in front
// of the body: enough to cross a 1 MiB read cap on its own.
const oversizePadding = 1 << 20

// Fault describes how a route misbehaves. Fields combine, and apply in this
// order:
//
//  1. Latency delays the request (then it proceeds).
//  2. Hang holds the request open without answering until the client gives
//     up or the server closes; Reset instead hijacks the connection and
//     closes it with a TCP reset, so the client sees a transport error.
//  3. The answer: Body, if non-nil, is sent verbatim with Status (200 when
//     zero) — use it for garbage or malformed-success bodies. Otherwise a
//     non-zero Status is sent as a Clerk error envelope with Code (a default
//     per status when empty: authentication_invalid for 401,
//     too_many_requests for 429, internal_clerk_error for 5xx). Injected
//     answers skip authentication. Otherwise the route answers normally.
//  4. Shaping: RetryAfter adds a Retry-After header (whole seconds, rounded
//     up); EmptyKeys turns a successful JWKS answer into {"keys":[]};
//     Oversize puts 1 MiB of JSON whitespace before the body, so it is still
//     valid JSON and only a client that caps its reads notices.
//  5. Drip sends the answer's body one byte at a time, pausing Drip between
//     bytes, for clients that must time out on a slow body.
//
// Hang and Drip stop as soon as the client goes away or Close is called, so
// they never hold Close up or leak goroutines.
type Fault struct {
	// Status is the HTTP status of an injected answer.
	Status int
	// Code is the error code of an injected error answer.
	Code string
	// RetryAfter, when positive, sets the Retry-After header.
	RetryAfter time.Duration
	// Body, when non-nil, is the verbatim body of an injected answer.
	Body []byte
	// EmptyKeys makes the JWKS route serve an empty key set.
	EmptyKeys bool
	// Oversize makes the body larger than 1 MiB.
	Oversize bool
	// Latency delays the request before anything else.
	Latency time.Duration
	// Drip, when positive, is the pause between body bytes.
	Drip time.Duration
	// Hang holds the request open without an answer.
	Hang bool
	// Reset drops the connection without an answer.
	Reset bool
	// Times limits the fault to the next Times requests of the route; 0
	// keeps it until ClearFaults or another SetFault on the route.
	Times int
}

func (f Fault) isZero() bool {
	return f.Status == 0 && f.Code == "" && f.RetryAfter == 0 && f.Body == nil &&
		!f.EmptyKeys && !f.Oversize && f.Latency == 0 && f.Drip == 0 && !f.Hang && !f.Reset
}

type faultState struct {
	fault Fault
	left  int // requests left; 0 = unlimited
}

// SetFault makes route misbehave as f describes, replacing any fault it had.
// route is one of the Route constants, or AnyRoute for every route without
// a fault of its own. A zero Fault clears the route's fault.
func (s *Server) SetFault(route Route, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.isZero() {
		delete(s.faults, route)
		return
	}
	f.Body = bytes.Clone(f.Body)
	s.faults[route] = &faultState{fault: f, left: max(f.Times, 0)}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault returns the fault for one request on route and counts it
// against Times.
func (s *Server) takeFault(route string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := route
	st := s.faults[key]
	if st == nil {
		key = AnyRoute
		st = s.faults[key]
	}
	if st == nil {
		return Fault{}, false
	}
	if st.left > 0 {
		st.left--
		if st.left == 0 {
			delete(s.faults, key)
		}
	}
	return st.fault, true
}

// injected builds the answer a fault replaces the route's with, if any.
func (f Fault) injected(w http.ResponseWriter) bool {
	switch {
	case f.Body != nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(orDefault(f.Status, http.StatusOK))
		_, _ = w.Write(f.Body)
		return true
	case f.Status != 0:
		code := f.Code
		if code == "" {
			code = defaultCode(f.Status)
		}
		writeError(w, &apiError{status: f.Status, code: code, long: "injected by clerktest"})
		return true
	}
	return false
}

func orDefault(v, fallback int) int {
	if v == 0 {
		return fallback
	}
	return v
}

// shape applies the fault's changes to an answer already built.
func (f Fault) shape(route string, out *capture) {
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		out.header.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	if f.EmptyKeys && route == RouteJWKS && out.status == http.StatusOK {
		out.body.Reset()
		out.body.WriteString(`{"keys":[]}`)
	}
	if f.Oversize {
		body := out.body.Bytes()
		padded := make([]byte, 0, oversizePadding+len(body))
		padded = append(padded, bytes.Repeat([]byte{' '}, oversizePadding)...)
		padded = append(padded, body...)
		out.body = *bytes.NewBuffer(padded)
	}
}

// pause waits d unless the client leaves or the server closes first; it
// reports whether the full time passed.
func (s *Server) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// hang blocks until the client leaves or the server closes.
func (s *Server) hang(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.done:
	}
}

// reset drops the connection. Linger 0 makes the kernel send RST instead of
// FIN, so the client sees "connection reset by peer".
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		abort() // still closes the connection without an answer
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// capture holds an answer until faults have shaped it.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newCapture() *capture { return &capture{header: make(http.Header)} }

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// emit sends a captured answer, a byte at a time when drip is positive.
func (s *Server) emit(ctx context.Context, w http.ResponseWriter, out *capture, drip time.Duration) {
	for k, v := range out.header {
		w.Header()[k] = v
	}
	body := out.body.Bytes()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(orDefault(out.status, http.StatusOK))
	if drip <= 0 {
		_, _ = w.Write(body)
		return
	}
	rc := http.NewResponseController(w)
	for i := range body {
		if i > 0 && !s.pause(ctx, drip) {
			abort() // a cut-short body must not look like a complete one
		}
		if _, err := w.Write(body[i : i+1]); err != nil {
			abort()
		}
		if rc.Flush() != nil {
			abort()
		}
	}
}
