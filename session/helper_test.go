package session_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate/session"
)

// TestMain fails the run if a test leaves goroutines behind: the client
// must not start any, and every fake server must be shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testSecret = "sk_test_c2VjcmV0LWtleS1mb3ItdGVzdHM"

// recorded is one request as the fake backend saw it.
type recorded struct {
	Method   string
	Path     string // escaped, as sent on the wire
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     []byte
}

// bodyKeys decodes a JSON object body and returns its keys, sorted; nil
// for an empty body.
func (r recorded) bodyKeys(t *testing.T) []string {
	t.Helper()
	if len(r.Body) == 0 {
		return nil
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body %q", r.Body)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// responder writes the answer to the n-th request (0-based).
type responder func(w http.ResponseWriter, r *http.Request, n int)

// fakeClerk is a minimal stand-in for the Backend API over real HTTP. It
// records every request so tests can check what went on the wire.
type fakeClerk struct {
	srv     *httptest.Server
	respond responder

	mu   sync.Mutex
	reqs []recorded
}

func newFakeClerk(t *testing.T, respond responder) *fakeClerk {
	t.Helper()
	f := &fakeClerk{respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeClerk) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, recorded{
		Method:   r.Method,
		Path:     r.URL.EscapedPath(),
		RawQuery: r.URL.RawQuery,
		Query:    r.URL.Query(),
		Header:   r.Header.Clone(),
		Body:     body,
	})
	f.mu.Unlock()
	f.respond(w, r, n)
}

func (f *fakeClerk) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeClerk) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// client returns a Client aimed at the fake; tweak adjusts its Config.
func (f *fakeClerk) client(t *testing.T, tweak ...func(*session.Config)) *session.Client {
	t.Helper()
	cfg := session.Config{SecretKey: testSecret, APIURL: f.srv.URL}
	for _, fn := range tweak {
		fn(&cfg)
	}
	c, err := session.NewClient(cfg)
	require.NoError(t, err)
	return c
}

// reply answers every request with status, body and optional header pairs.
func reply(status int, body string, headerPairs ...string) responder {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		for i := 0; i+1 < len(headerPairs); i += 2 {
			w.Header().Set(headerPairs[i], headerPairs[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// sequence answers request n with steps[n], repeating the last step.
func sequence(steps ...responder) responder {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		steps[min(n, len(steps)-1)](w, r, n)
	}
}

// hangUp drops the connection without answering: a network error.
func hangUp(w http.ResponseWriter, _ *http.Request, _ int) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// fixture is testdata/session.json: a Session with every spec field set.
func fixture(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/session.json")
	require.NoError(t, err)
	return string(data)
}

// minimalSession is a small valid Session body.
const minimalSession = `{"object":"session","id":"sess_1","user_id":"user_1","client_id":"client_1",
"status":"active","actor":null,"last_active_organization_id":null,"latest_activity":null,"tasks":null,
"last_active_at":1778590800000,"expire_at":1779192000000,"abandon_at":1781179200000,
"updated_at":1778590805000,"created_at":1778587200000}`

const tokenBody = `{"object":"token","jwt":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}`

// clerkError renders a Clerk error document.
func clerkError(code, msg, traceID string) string {
	doc := map[string]any{
		"errors": []map[string]any{{"code": code, "message": msg, "long_message": msg + " (long)", "meta": map[string]any{}}},
		"meta":   map[string]any{},
	}
	if traceID != "" {
		doc["clerk_trace_id"] = traceID
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(doc)
	return b.String()
}
