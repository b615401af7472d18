package clerkotel_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	clerkotel "github.com/clerkgate/clerkgate/otel"
)

// app is a Gate instrumented with in-memory exporters, in front of a
// handler, served over real HTTP against a fake Clerk. Each request gets a
// server span, as otelhttp would give it, so the Gate's spans have a
// parent.
type app struct {
	fake   *clerktest.Server
	gate   *clerkgate.Gate
	url    string
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tracer trace.Tracer
}

func newApp(t *testing.T, mod func(*clerkgate.Config), opts ...clerktest.Option) *app {
	t.Helper()
	a := &app{fake: clerktest.New(opts...), spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	t.Cleanup(a.fake.Close)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(a.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(a.reader))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	a.tracer = tp.Tracer("test")
	tel, err := clerkotel.New(clerkotel.WithTracerProvider(tp), clerkotel.WithMeterProvider(mp))
	require.NoError(t, err)

	cfg := clerkgate.Config{SecretKey: a.fake.SecretKey(), PublishableKey: a.fake.PublishableKey(), APIURL: a.fake.URL()}
	if mod != nil {
		mod(&cfg)
	}
	tel.Instrument(&cfg)
	a.gate, err = clerkgate.New(cfg)
	require.NoError(t, err)
	reg, err := tel.ObserveGate(a.gate)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, reg.Unregister())
		a.gate.Close()
		cfg.HTTPClient.CloseIdleConnections()
	})

	mux := http.NewServeMux()
	mux.Handle("GET /me", a.gate.Accept(clerkgate.SessionToken).Require(whoami))
	mux.Handle("GET /api", a.gate.Accept(clerkgate.APIKey).Require(whoami))
	mux.Handle("GET /admin", a.gate.Accept(clerkgate.SessionToken).With(authz.Role("org:admin")).Require(whoami))
	mux.Handle("GET /writers", a.gate.Accept(clerkgate.APIKey).With(authz.Scope("write")).Require(whoami))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := a.tracer.Start(r.Context(), "GET "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		mux.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(srv.Close)
	// localhost, not 127.0.0.1: the app's cookies and the fake Frontend
	// API's must not mix in a browser's jar, and cookies ignore ports.
	a.url = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	return a
}

var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	caller, _ := clerkgate.CallerFromContext(r.Context())
	io.WriteString(w, caller.Subject())
})

func (a *app) get(t *testing.T, path string, mod func(*http.Request)) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	require.NoError(t, err)
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	return resp.StatusCode
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func cookies(cs ...*http.Cookie) func(*http.Request) {
	return func(r *http.Request) {
		for _, c := range cs {
			r.AddCookie(c)
		}
	}
}

// clientSpans are the spans of calls to Clerk, by name.
func (a *app) clientSpans() map[string][]sdktrace.ReadOnlySpan {
	out := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range a.spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			out[s.Name()] = append(out[s.Name()], s)
		}
	}
	return out
}

func (a *app) serverSpan(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	var last sdktrace.ReadOnlySpan
	for _, s := range a.spans.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			last = s
		}
	}
	require.NotNil(t, last, "no server span")
	return last
}

func (a *app) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, a.reader.Collect(context.Background(), &rm))
	return rm
}

func find(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Aggregation {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				require.Equal(t, clerkotel.ScopeName, sm.Scope.Name)
				return m.Data
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// count is the value of the point of a counter with exactly attrs, 0 when
// there is none.
func count(t *testing.T, rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	want := attribute.NewSet(attrs...)
	for _, p := range find(t, rm, name).(metricdata.Sum[int64]).DataPoints {
		if p.Attributes.Equals(&want) {
			return p.Value
		}
	}
	return 0
}

// durations are the http.client.request.duration points, by url.template.
func durations(t *testing.T, rm metricdata.ResourceMetrics) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	h := find(t, rm, "http.client.request.duration").(metricdata.Histogram[float64])
	out := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, p := range h.DataPoints {
		tmpl, ok := p.Attributes.Value("url.template")
		require.True(t, ok)
		out[tmpl.AsString()] = p
	}
	return out
}

func attr(t *testing.T, kvs []attribute.KeyValue, key string) attribute.Value {
	t.Helper()
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	t.Fatalf("no attribute %s in %v", key, kvs)
	return attribute.Value{}
}

var (
	accepted = clerkotel.OutcomeKey.String("accepted")
	refused  = clerkotel.OutcomeKey.String("refused")
	session  = clerkotel.TokenTypeKey.String("session_token")
)

func reason(r clerkgate.Reason) attribute.KeyValue { return clerkotel.ReasonKey.String(string(r)) }

// A valid token: one key fetch (its own trace), one accepted request, a
// token cache miss then a hit.
func TestValidTokenAndKeyFetch(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	s := a.fake.CreateSession("user_1")
	token := a.fake.Token(s.ID)
	require.Equal(t, http.StatusOK, a.get(t, "/me", bearer(token)))
	require.Equal(t, http.StatusOK, a.get(t, "/me", bearer(token)))

	spans := a.clientSpans()
	require.Len(t, spans, 1, "the key fetch is the only call: %v", spans)
	require.Len(t, spans["GET /v1/jwks"], 1)
	fetch := spans["GET /v1/jwks"][0]
	require.False(t, fetch.Parent().IsValid(), "a key fetch is shared: it has no request for parent")
	require.Equal(t, codes.Unset, fetch.Status().Code)
	attrs := fetch.Attributes()
	require.Equal(t, "GET", attr(t, attrs, "http.request.method").AsString())
	require.Equal(t, int64(200), attr(t, attrs, "http.response.status_code").AsInt64())
	api, err := url.Parse(a.fake.URL())
	require.NoError(t, err)
	require.Equal(t, api.Hostname(), attr(t, attrs, "server.address").AsString())
	require.Equal(t, api.Port(), strconv.FormatInt(attr(t, attrs, "server.port").AsInt64(), 10))
	require.Equal(t, a.fake.URL()+"/v1/jwks", attr(t, attrs, "url.full").AsString())
	require.Equal(t, "/v1/jwks", attr(t, attrs, "url.template").AsString())

	rm := a.collect(t)
	d := durations(t, rm)
	require.Len(t, d, 1)
	require.EqualValues(t, 1, d["/v1/jwks"].Count)
	jwksPoint := d["/v1/jwks"]
	code, _ := jwksPoint.Attributes.Value("http.response.status_code")
	require.Equal(t, int64(200), code.AsInt64())
	require.EqualValues(t, 2, count(t, rm, "clerkgate.requests", accepted, session))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.jwks.fetches", clerkotel.OutcomeKey.String("success")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.token_cache.lookups", clerkotel.ResultKey.String("hit")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.token_cache.lookups", clerkotel.ResultKey.String("miss")))
	keys := find(t, rm, "clerkgate.jwks.keys").(metricdata.Gauge[int64])
	require.Len(t, keys.DataPoints, 1)
	require.Positive(t, keys.DataPoints[0].Value)

	require.Equal(t, accepted.Value, attr(t, a.serverSpan(t).Attributes(), "clerkgate.outcome"))
}

// Refused tokens are counted by reason, cost no call, and say why on the
// request's span.
func TestRefusalsByReason(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	s := a.fake.CreateSession("user_1")
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	require.Equal(t, http.StatusUnauthorized, a.get(t, "/me", bearer(a.fake.Token(s.ID, clerktest.SignedWith(foreign, a.fake.KeyID())))))
	require.Equal(t, reason(clerkgate.ReasonSignatureInvalid).Value, attr(t, a.serverSpan(t).Attributes(), "clerkgate.reason"))
	require.Equal(t, http.StatusUnauthorized, a.get(t, "/me", bearer(a.fake.Token(s.ID, clerktest.Expired()))))
	require.Equal(t, http.StatusUnauthorized, a.get(t, "/me", bearer(a.fake.Token(s.ID, clerktest.Expired()))))
	require.Equal(t, http.StatusUnauthorized, a.get(t, "/me", nil))

	rm := a.collect(t)
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", refused, reason(clerkgate.ReasonSignatureInvalid), session))
	require.EqualValues(t, 2, count(t, rm, "clerkgate.requests", refused, reason(clerkgate.ReasonTokenExpired), session))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", refused, reason(clerkgate.ReasonTokenMissing)))
	require.Zero(t, count(t, rm, "clerkgate.requests", accepted, session))
	require.Len(t, a.clientSpans(), 1, "only the key fetch called Clerk")
}

// A request refused by an authorization check (Require, Policy.With) is
// one clerkgate.requests point, refused with the check's reason, and not
// also an accepted one; the request's span says so too.
func TestForbiddenRequests(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	member := a.fake.Token(a.fake.CreateSession("user_m", clerktest.WithOrg("org_1", "acme", "member")).ID)
	admin := a.fake.Token(a.fake.CreateSession("user_a", clerktest.WithOrg("org_1", "acme", "admin")).ID)
	_, reader := a.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
	_, writer := a.fake.CreateAPIKey("user_1", "writer", clerktest.CredentialScopes("write"))
	apiKey := clerkotel.TokenTypeKey.String("api_key")

	require.Equal(t, http.StatusForbidden, a.get(t, "/admin", bearer(member)))
	span := a.serverSpan(t).Attributes()
	require.Equal(t, refused.Value, attr(t, span, "clerkgate.outcome"))
	require.Equal(t, reason(clerkgate.ReasonRoleRequired).Value, attr(t, span, "clerkgate.reason"))
	rm := a.collect(t)
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", refused, reason(clerkgate.ReasonRoleRequired), session))
	require.Zero(t, count(t, rm, "clerkgate.requests", accepted, session), "a 403 is not also accepted")
	require.Len(t, find(t, rm, "clerkgate.requests").(metricdata.Sum[int64]).DataPoints, 1)

	require.Equal(t, http.StatusForbidden, a.get(t, "/writers", bearer(reader)))
	require.Equal(t, http.StatusOK, a.get(t, "/writers", bearer(writer)))
	require.Equal(t, http.StatusOK, a.get(t, "/admin", bearer(admin)))
	rm = a.collect(t)
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", refused, reason(clerkgate.ReasonScopeRequired), apiKey))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", accepted, apiKey))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", accepted, session))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", refused, reason(clerkgate.ReasonRoleRequired), session))
	require.Len(t, find(t, rm, "clerkgate.requests").(metricdata.Sum[int64]).DataPoints, 4)
}

// A refresh is a client span under the request's, counted by outcome;
// a refused one carries Clerk's code.
func TestRefresh(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	s := a.fake.CreateSession("user_1")
	sessionCookie := func(token string) *http.Cookie {
		return &http.Cookie{Name: "__session_" + a.fake.CookieSuffix(), Value: token}
	}
	// Clerk reads a suffixed session cookie only beside its __client_uat.
	clientUAT := &http.Cookie{Name: "__client_uat_" + a.fake.CookieSuffix(), Value: "1"}
	refreshCookie := func(v string) *http.Cookie {
		return &http.Cookie{Name: "__refresh_" + a.fake.CookieSuffix(), Value: v}
	}

	require.Equal(t, http.StatusOK, a.get(t, "/me", cookies(sessionCookie(a.fake.Token(s.ID, clerktest.Expired())), clientUAT, refreshCookie(s.RefreshToken))))
	server := a.serverSpan(t)
	refreshes := a.clientSpans()["POST /v1/sessions/{id}/refresh"]
	require.Len(t, refreshes, 1, "%v", a.clientSpans())
	ok := refreshes[0]
	require.Equal(t, server.SpanContext().TraceID(), ok.SpanContext().TraceID())
	require.Equal(t, server.SpanContext().SpanID(), ok.Parent().SpanID())
	require.Equal(t, int64(200), attr(t, ok.Attributes(), "http.response.status_code").AsInt64())
	require.Equal(t, a.fake.URL()+"/v1/sessions/"+s.ID+"/refresh?suffixed_cookies=REDACTED", attr(t, ok.Attributes(), "url.full").AsString())

	require.Equal(t, http.StatusUnauthorized, a.get(t, "/me", cookies(sessionCookie(a.fake.Token(s.ID, clerktest.Expired())), clientUAT, refreshCookie("forged"))))
	refreshes = a.clientSpans()["POST /v1/sessions/{id}/refresh"]
	require.Len(t, refreshes, 2)
	failed := refreshes[1]
	require.Equal(t, codes.Error, failed.Status().Code)
	status := attr(t, failed.Attributes(), "http.response.status_code").AsInt64()
	require.GreaterOrEqual(t, status, int64(400))
	require.Equal(t, strconv.FormatInt(status, 10), attr(t, failed.Attributes(), "error.type").AsString(),
		"a refused call's error.type is its status")

	rm := a.collect(t)
	require.EqualValues(t, 1, count(t, rm, "clerkgate.refreshes", clerkotel.OutcomeKey.String("refreshed")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.refreshes", clerkotel.OutcomeKey.String("failed"),
		attribute.String("error.type", "refresh_token_not_found")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.refresh.calls", clerkotel.OutcomeKey.String("success")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.refresh.calls", clerkotel.OutcomeKey.String("failure")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", refused, reason(clerkgate.ReasonRefreshFailed), session))
	d := durations(t, rm)
	require.Len(t, d, 2, "the refresh calls and the key fetch: %v", d)
	var refreshCalls uint64
	for _, p := range find(t, rm, "http.client.request.duration").(metricdata.Histogram[float64]).DataPoints {
		if tmpl, _ := p.Attributes.Value("url.template"); tmpl.AsString() == "/v1/sessions/{id}/refresh" {
			refreshCalls += p.Count
		}
	}
	require.EqualValues(t, 2, refreshCalls)
}

// A secret key Clerk refuses: the key fetch's span says 401, the fetch is
// counted as failed, and requests are refused jwks_unavailable.
func TestKeyFetchRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(c *clerkgate.Config) { c.SecretKey = "sk_test_" + "not_this_instances_key" })
	s := a.fake.CreateSession("user_1")
	require.Equal(t, http.StatusServiceUnavailable, a.get(t, "/me", bearer(a.fake.Token(s.ID))))

	fetches := a.clientSpans()["GET /v1/jwks"]
	require.NotEmpty(t, fetches)
	require.Equal(t, codes.Error, fetches[0].Status().Code)
	require.Equal(t, int64(401), attr(t, fetches[0].Attributes(), "http.response.status_code").AsInt64())
	require.Equal(t, "401", attr(t, fetches[0].Attributes(), "error.type").AsString())
	for _, kv := range fetches[0].Attributes() {
		require.NotContains(t, kv.Value.Emit(), "not_this_instances_key", "the secret key is never recorded")
	}

	rm := a.collect(t)
	require.EqualValues(t, len(fetches), count(t, rm, "clerkgate.jwks.fetches", clerkotel.OutcomeKey.String("failure")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.requests", clerkotel.OutcomeKey.String("refused"),
		reason(clerkgate.ReasonJWKSUnavailable), session))
}

// An API key: the Backend API check is a span under the request's, and
// the second request is answered from the cache.
func TestMachineVerification(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	_, key := a.fake.CreateAPIKey("user_1", "ci")
	require.Equal(t, http.StatusOK, a.get(t, "/api", bearer(key)))
	server := a.serverSpan(t)
	require.Equal(t, http.StatusOK, a.get(t, "/api", bearer(key)))

	verifies := a.clientSpans()["POST /v1/api_keys/verify"]
	require.Len(t, verifies, 1, "%v", a.clientSpans())
	require.Equal(t, server.SpanContext().SpanID(), verifies[0].Parent().SpanID())

	rm := a.collect(t)
	require.EqualValues(t, 2, count(t, rm, "clerkgate.requests", accepted, clerkotel.TokenTypeKey.String("api_key")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.machine.lookups", clerkotel.ResultKey.String("call")))
	require.EqualValues(t, 1, count(t, rm, "clerkgate.machine.lookups", clerkotel.ResultKey.String("hit")))
}

// A first page load goes through the handshake and comes back with a
// nonce: the trade is a span whose URL keeps the nonce out, and the
// handshake is counted.
func TestHandshake(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil, clerktest.WithLocalFrontendAPI())
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := *a.fake.Client()
	browser.Jar = jar
	browser.Transport = pageLoads{browser.Transport}
	resp, err := browser.Get(a.url + "/me")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "signed out, at the end of the handshake")

	trades := a.clientSpans()["GET /v1/clients/handshake_payload"]
	require.Len(t, trades, 1, "%v", a.clientSpans())
	full := attr(t, trades[0].Attributes(), "url.full").AsString()
	require.Contains(t, full, "nonce=REDACTED")

	rm := a.collect(t)
	require.EqualValues(t, 1, count(t, rm, "clerkgate.handshakes",
		clerkotel.FormatKey.String("nonce"), clerkotel.OutcomeKey.String("resolved")))
	// Two redirects: to the handshake, and (in development) back to the
	// page without the handshake's parameters.
	require.EqualValues(t, 2, count(t, rm, "clerkgate.requests", clerkotel.OutcomeKey.String("redirected"),
		reason(clerkgate.ReasonHandshake), session))
}

// pageLoads makes every request a browser's navigation to a document.
type pageLoads struct{ base http.RoundTripper }

func (p pageLoads) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "text/html")
	r.Header.Set("Sec-Fetch-Dest", "document")
	base := p.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
