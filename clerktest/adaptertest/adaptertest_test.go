package adaptertest_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// whoami is the test apps' handler on plain net/http.
func whoami(w http.ResponseWriter, r *http.Request) {
	claims, ok := clerkgate.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", adaptertest.PublicCaching)
	_ = json.NewEncoder(w).Encode(adaptertest.Whoami(r.Context(), claims, ok))
}

// app is the contract's app on clerkgate's own middleware.
func app(gate *clerkgate.Gate) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/me", gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(whoami)))
	mux.Handle("/maybe", gate.Accept(clerkgate.SessionToken).Optional(http.HandlerFunc(whoami)))
	mux.HandleFunc("/open", whoami)
	return mux
}

// serve serves h on real HTTP until t ends.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// The reference must pass the suite it is the reference for.
func TestNetHTTPPassesTheSuite(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, func(t *testing.T, gate *clerkgate.Gate) *httptest.Server {
		return serve(t, app(gate))
	})
}

// failures is a testing.TB that records instead of failing, so that a test
// can check that an assertion would have failed.
type failures struct {
	testing.TB
	failed bool
}

func (f *failures) Helper()               {}
func (f *failures) Errorf(string, ...any) { f.failed = true }
func (f *failures) FailNow()              { f.failed = true; runtime.Goexit() }

// fails reports whether check fails on a recording testing.TB.
func fails(t *testing.T, check func(testing.TB)) bool {
	t.Helper()
	rec := &failures{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(rec)
	}()
	<-done
	return rec.failed
}

// mutated serves h's answers after mutate has had its way with their
// headers and body.
func mutated(t *testing.T, h http.Handler, mutate func(http.Header, []byte) []byte) *httptest.Server {
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := mutate(rec.Header(), rec.Body.Bytes())
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}))
}

// Each refusal must be the net/http middleware's byte for byte: an answer
// that differs in one of the compared headers or in the body fails, even
// when its status, reason and challenge are right.
func TestRequireRefusalCatchesADifferentWire(t *testing.T) {
	t.Parallel()
	f := adaptertest.New(t)
	mutations := map[string]func(http.Header, []byte) []byte{
		"no Cache-Control": func(h http.Header, b []byte) []byte { h.Del("Cache-Control"); return b },
		"a Retry-After":    func(h http.Header, b []byte) []byte { h.Set("Retry-After", "1"); return b },
		"no final newline": func(_ http.Header, b []byte) []byte { return bytes.TrimSuffix(b, []byte("\n")) },
		"a charset": func(h http.Header, b []byte) []byte {
			h.Set("Content-Type", "application/json; charset=utf-8")
			return b
		},
	}
	for name, mutate := range mutations {
		srv := mutated(t, app(f.Gate), mutate)
		for _, c := range f.Refusals(t) {
			got := adaptertest.Do(t, srv, c.Request)
			require.Equal(t, http.StatusUnauthorized, got.Status, "%s: %s", name, c.Name)
			require.True(t, fails(t, func(tb testing.TB) { f.RequireRefusal(tb, c, got) }), "%s: %s", name, c.Name)
		}
	}
	// Unmutated, every refusal passes.
	srv := serve(t, app(f.Gate))
	for _, c := range f.Refusals(t) {
		got := adaptertest.Do(t, srv, c.Request)
		require.False(t, fails(t, func(tb testing.TB) { f.RequireRefusal(tb, c, got) }), c.Name)
	}
}
