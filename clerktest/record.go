package clerktest

import (
	"net/http"
	"net/url"
	"time"
)

const (
	// recordLimit bounds the request log; counts are kept for every request.
	recordLimit = 512
	// recordBodyLimit bounds the body kept per recorded request.
	recordBodyLimit = 64 << 10
)

// Request is one request the server received, as recorded before faults,
// authentication or routing decisions touched it.
type Request struct {
	// Route is the route pattern that matched, such as RouteRefresh, or
	// RouteUnknown.
	Route string
	// Method and Path are the request line's method and URL path; Host is
	// the Host header (which Header leaves out, as net/http does).
	Method string
	Path   string
	Host   string
	// Query is the parsed query string.
	Query url.Values
	// Header is a copy of the request headers.
	Header http.Header
	// Body is the request body (the first 64 KiB of it).
	Body []byte
	// Time is when it arrived, on the server clock.
	Time time.Time
}

func (s *Server) record(route string, r *http.Request, body []byte) {
	if len(body) > recordBodyLimit {
		body = body[:recordBodyLimit]
	}
	req := Request{
		Route:  route,
		Method: r.Method,
		Path:   r.URL.Path,
		Host:   r.Host,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   append([]byte(nil), body...),
		Time:   s.now(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	s.total++
	if len(s.log) == recordLimit {
		copy(s.log, s.log[1:])
		s.log = s.log[:recordLimit-1]
	}
	s.log = append(s.log, req)
}

// Requests reports how many requests matched the route pattern, such as
// RouteRefresh ("POST /v1/sessions/{id}/refresh") or RouteJWKS
// ("GET /v1/jwks"), whatever their outcome (faults, 401s and all). The
// pattern AnyRoute ("*") counts every request.
func (s *Server) Requests(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pattern == AnyRoute {
		return s.total
	}
	return s.counts[pattern]
}

// LastRequests returns up to the n most recent requests, oldest first; n <= 0
// returns all the server still keeps (the last 512). The values are copies
// the caller may modify.
func (s *Server) LastRequests(n int) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || n > len(s.log) {
		n = len(s.log)
	}
	out := make([]Request, n)
	for i, r := range s.log[len(s.log)-n:] {
		out[i] = r.clone()
	}
	return out
}

// LastRequest returns the most recent request that matched the route
// pattern, and whether there was one among the kept requests.
func (s *Server) LastRequest(pattern string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.log) - 1; i >= 0; i-- {
		if pattern == AnyRoute || s.log[i].Route == pattern {
			return s.log[i].clone(), true
		}
	}
	return Request{}, false
}

func (r Request) clone() Request {
	r.Query = url.Values(http.Header(r.Query).Clone())
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	return r
}
