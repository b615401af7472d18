package clerkotel

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps base (http.DefaultTransport when nil) so that every
// request gets a client span named "METHOD /route/template" and an
// http.client.request.duration point, following OpenTelemetry's HTTP
// semantic conventions. The span's parent is the request's context: a
// refresh or a machine credential check is a child of the request that
// needed it; a key fetch, shared by whoever waits on it, is a trace of its
// own. The duration runs from sending the request to receiving the
// response's headers: Clerk's answers are small. Each attempt of a retried
// call is a span of its own. No trace context is sent to Clerk, which takes no part in the
// trace; no header, body or query value is recorded.
func (t *Telemetry) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base}
}

type transport struct {
	t    *Telemetry
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	route := urlTemplate(req.URL.Path)
	host, port := hostPort(req.URL)
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.ServerAddress(host),
		semconv.ServerPort(port),
		semconv.URLTemplate(route),
	}
	ctx, span := tr.t.tracer.Start(req.Context(), method+" "+route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(start),
		trace.WithAttributes(append(attrs, semconv.URLFull(redactedURL(req.URL)))...))
	defer span.End()

	resp, err := tr.base.RoundTrip(req.WithContext(ctx))

	metricAttrs := append(attrs[:len(attrs):len(attrs)], semconv.URLScheme(req.URL.Scheme))
	var errorType string
	switch {
	case err != nil:
		errorType = semconv.ErrorType(err).Value.AsString()
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	case resp.StatusCode >= 400:
		// For a client, every 4xx is an error: Clerk refused what we sent.
		errorType = strconv.Itoa(resp.StatusCode)
		span.SetStatus(codes.Error, "")
	}
	if err == nil {
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		metricAttrs = append(metricAttrs, semconv.HTTPResponseStatusCode(resp.StatusCode))
	}
	if errorType != "" {
		span.SetAttributes(errorTypeKey.String(errorType))
		metricAttrs = append(metricAttrs, errorTypeKey.String(errorType))
	}
	tr.t.duration.Inst().Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(metricAttrs...))
	return resp, err
}

// CloseIdleConnections reaches the wrapped transport, so that
// http.Client.CloseIdleConnections still works through the wrapper.
func (tr *transport) CloseIdleConnections() {
	if c, ok := tr.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// isRouteWord reports whether seg is a word of Clerk's routes. Any other
// segment is an ID (sess_…, ak_…, a JWT template's name) and becomes
// {id}, so that a span name or a metric attribute never grows with the
// number of sessions or credentials.
func isRouteWord(seg string) bool {
	switch seg {
	case "v1", ".well-known", "jwks", "jwks.json",
		"sessions", "refresh", "revoke", "tokens", "verify",
		"clients", "client", "handshake_payload",
		"api_keys", "m2m_tokens", "oauth_applications", "access_tokens":
		return true
	}
	return false
}

// urlTemplate is path with its IDs replaced by {id}.
func urlTemplate(path string) string {
	if path == "" || path == "/" {
		return "/"
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		if !isRouteWord(s) {
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// redactedURL is u without credentials and with every query value
// replaced: a handshake nonce in the query trades for a session.
func redactedURL(u *url.URL) string {
	r := *u
	r.User = nil
	if r.RawQuery != "" {
		q := r.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		r.RawQuery = q.Encode()
	}
	r.Fragment = ""
	return r.String()
}

func hostPort(u *url.URL) (string, int) {
	host, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		host = u.Host
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		port = 443
		if u.Scheme == "http" {
			port = 80
		}
	}
	return host, port
}
