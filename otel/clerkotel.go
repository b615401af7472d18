package clerkotel

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/semconv/v1.40.0/httpconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/session"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/clerkgate/clerkgate/otel"

// Option configures New.
type Option func(*options)

type options struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets where spans go. Default: otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

// WithMeterProvider sets where metrics go. Default: otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// Telemetry holds the tracer and the instruments. One Telemetry can
// instrument any number of Gates; it is safe for concurrent use.
type Telemetry struct {
	tracer trace.Tracer
	meter  metric.Meter

	duration   httpconv.ClientRequestDuration // http.client.request.duration
	requests   metric.Int64Counter            // clerkgate.requests
	refreshes  metric.Int64Counter            // clerkgate.refreshes
	handshakes metric.Int64Counter            // clerkgate.handshakes
	keyFetches metric.Int64Counter            // clerkgate.jwks.fetches
	keys       metric.Int64Gauge              // clerkgate.jwks.keys

	// accepted holds the attributes of accepted requests by token type,
	// made once: they are most requests, and building them costs
	// allocations.
	accepted map[clerkgate.TokenType]acceptedAttrs
}

type acceptedAttrs struct {
	attrs []attribute.KeyValue
	add   metric.AddOption
}

// New makes the tracer and the instruments.
func New(opts ...Option) (*Telemetry, error) {
	o := options{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	t := &Telemetry{tracer: o.tp.Tracer(ScopeName), meter: o.mp.Meter(ScopeName)}
	var err, e error
	t.duration, e = httpconv.NewClientRequestDuration(t.meter)
	err = errors.Join(err, e)
	t.requests, e = t.meter.Int64Counter("clerkgate.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests authenticated by the Gate, by outcome, reason and token type."))
	err = errors.Join(err, e)
	t.refreshes, e = t.meter.Int64Counter("clerkgate.refreshes", metric.WithUnit("{refresh}"),
		metric.WithDescription("Attempts to refresh an expired session, by outcome and Clerk's error code."))
	err = errors.Join(err, e)
	t.handshakes, e = t.meter.Int64Counter("clerkgate.handshakes", metric.WithUnit("{handshake}"),
		metric.WithDescription("Page loads back from the Frontend API's handshake, by format and outcome."))
	err = errors.Join(err, e)
	t.keyFetches, e = t.meter.Int64Counter("clerkgate.jwks.fetches", metric.WithUnit("{fetch}"),
		metric.WithDescription("Fetches of the signing keys, by outcome."))
	err = errors.Join(err, e)
	t.keys, e = t.meter.Int64Gauge("clerkgate.jwks.keys", metric.WithUnit("{key}"),
		metric.WithDescription("Signing keys held after the latest fetch."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	t.accepted = map[clerkgate.TokenType]acceptedAttrs{}
	for _, typ := range []clerkgate.TokenType{clerkgate.SessionToken, clerkgate.M2MToken, clerkgate.APIKey, clerkgate.OAuthToken} {
		attrs := []attribute.KeyValue{OutcomeKey.String("accepted"), TokenTypeKey.String(string(typ))}
		t.accepted[typ] = acceptedAttrs{attrs: attrs, add: metric.WithAttributeSet(attribute.NewSet(attrs...))}
	}
	return t, nil
}

// Instrument sets cfg.Observer and wraps cfg.HTTPClient's transport, so
// that the Gate made from cfg reports to t. Call it before clerkgate.New.
// The client is copied, never changed in place. With no HTTPClient it
// gives the Gate one like the Backend API client's default: a 10-second
// timeout, no redirects followed (the secret key goes to the API URL and
// nowhere else), and a transport of its own (call
// cfg.HTTPClient.CloseIdleConnections after Gate.Close to drop its idle
// connections).
func (t *Telemetry) Instrument(cfg *clerkgate.Config) {
	cfg.Observer = t.Observer()
	var c http.Client
	if cfg.HTTPClient != nil {
		c = *cfg.HTTPClient
	} else {
		c = http.Client{
			Timeout:       session.DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		}
	}
	c.Transport = t.Transport(c.Transport)
	cfg.HTTPClient = &c
}

// Observer is the clerkgate.Observer that turns the Gate's events into
// metrics, and annotates the request's span (if one is recording) with
// the Gate's decision.
func (t *Telemetry) Observer() *clerkgate.Observer {
	return &clerkgate.Observer{
		Decided:           t.decided,
		Refreshed:         t.refreshed,
		HandshakeResolved: t.handshakeResolved,
		KeysFetched:       t.keysFetched,
	}
}

// Attribute keys of the clerkgate.* metrics and span attributes.
const (
	OutcomeKey   = attribute.Key("clerkgate.outcome")
	ReasonKey    = attribute.Key("clerkgate.reason")
	TokenTypeKey = attribute.Key("clerkgate.token.type")
	FormatKey    = attribute.Key("clerkgate.handshake.format")
	ResultKey    = attribute.Key("clerkgate.cache.result")
	CauseKey     = attribute.Key("clerkgate.cause")
)

// errorTypeKey is semconv's error.type.
const errorTypeKey = attribute.Key("error.type")

// decided counts a request or bare token by its final outcome: accepted,
// redirected (through the handshake) or refused, with the reason of a
// redirect or refusal. A 403 of a failed authorization check is refused,
// like a 401 and like the cross-origin 403, and its reason names the kind
// of check (role_required, scope_required, …): clerkgate.outcome says what
// the Gate did with the request, and clerkgate.reason why, so that
// "refused" alone counts every request kept from its handler.
func (t *Telemetry) decided(ctx context.Context, d clerkgate.Decision) {
	if a, ok := t.accepted[d.TokenType]; ok && d.Status == 0 {
		t.requests.Add(ctx, 1, a.add)
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetAttributes(a.attrs...)
		}
		return
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	switch {
	case d.Status == 0:
		attrs = append(attrs, OutcomeKey.String("accepted"))
	case d.Status == http.StatusTemporaryRedirect:
		attrs = append(attrs, OutcomeKey.String("redirected"), ReasonKey.String(string(d.Reason)))
	default:
		attrs = append(attrs, OutcomeKey.String("refused"), ReasonKey.String(string(d.Reason)))
	}
	if d.TokenType != "" {
		attrs = append(attrs, TokenTypeKey.String(string(d.TokenType)))
	}
	t.requests.Add(ctx, 1, metric.WithAttributes(attrs...))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attrs...)
	}
}

func (t *Telemetry) refreshed(ctx context.Context, a clerkgate.RefreshAttempt) {
	if a.Err == nil {
		t.refreshes.Add(ctx, 1, metric.WithAttributes(OutcomeKey.String("refreshed")))
		return
	}
	t.refreshes.Add(ctx, 1, metric.WithAttributes(OutcomeKey.String("failed"), errorTypeKey.String(clerkCode(a.ClerkCode))))
}

func (t *Telemetry) handshakeResolved(ctx context.Context, h clerkgate.HandshakeResolution) {
	format, outcome := "token", "unresolved"
	if h.Nonce {
		format = "nonce"
	}
	if h.Resolved {
		outcome = "resolved"
	}
	t.handshakes.Add(ctx, 1, metric.WithAttributes(FormatKey.String(format), OutcomeKey.String(outcome)))
}

func (t *Telemetry) keysFetched(ctx context.Context, f jwks.FetchResult) {
	outcome := "success"
	if f.Err != nil {
		outcome = "failure"
	}
	t.keyFetches.Add(ctx, 1, metric.WithAttributes(OutcomeKey.String(outcome)))
	t.keys.Record(ctx, int64(f.Keys))
}

// clerkCode is a Clerk error code fit for a metric attribute: Clerk's
// codes are a fixed vocabulary of lower-case words, but the answer comes
// over the network, so anything else is counted as _OTHER rather than
// grow the metric's cardinality.
func clerkCode(code string) string {
	if code == "" || len(code) > 64 {
		return "_OTHER"
	}
	for _, c := range code {
		if (c < 'a' || c > 'z') && c != '_' && (c < '0' || c > '9') {
			return "_OTHER"
		}
	}
	return code
}
