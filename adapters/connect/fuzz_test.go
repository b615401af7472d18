package clerkconnect_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	clerkconnect "github.com/clerkgate/clerkgate/adapters/connect"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Whatever the path and the authorization values, Wrap answers: the
// handler runs only with a caller, or on the plain path of a skipped
// service, and a refusal is a Connect error with a 4xx or 503, never a
// panic. The Gate verifies with the fake's PEM key, so no call leaves the
// process.
func FuzzWrap(f *testing.F) {
	fake := clerktest.New()
	defer fake.Close()
	s := fake.CreateSession("user_1")
	valid := fake.Token(s.ID)
	gate, err := clerkgate.New(clerkgate.Config{JWTKey: fake.PublicKeyPEM()})
	require.NoError(f, err)
	defer gate.Close()
	const skipped = "/a.Health/"
	handler := clerkconnect.Wrap(gate.Accept(clerkgate.AnyToken), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := clerkgate.CallerFromContext(r.Context()); !ok && !plainUnder(r.URL, skipped) {
			http.Error(w, "handler ran without a caller", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	}), clerkconnect.SkipProcedures(skipped))

	for _, seed := range [][3]string{
		{"/a.B/C", "Bearer " + valid, ""}, {"/a.B/C", "bearer " + valid, "Bearer x"}, {"/a.B/C", "Bearer", ""},
		{"/a.B/C", "Bearer  ", ""}, {"/a.B/C", "Basic dXNlcjpwYXNz", ""}, {"/a.B/C", "Bearer ak_123", ""},
		{"/a.B/C", "Bearer mt_123", ""}, {"/a.B/C", "Bearer oat_1", ""}, {"/a.B/C", "Bearer a.b.c", ""},
		{"/a.B/C", "Bearer " + valid[:len(valid)-2], ""}, {"/a.B/C", "", ""},
		{"/a.Health/Check", "", ""}, {"/a.Health/../a.B/C", "", ""}, {"/a.Health%2F..%2Fa.B/C", "", ""},
		{"/a.Health/./Check", "", ""}, {"//a.Health/Check", "", ""}, {"/a.Health", "", ""}, {"/", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, target, first, second string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // no server would build a request of it
		}
		r := &http.Request{Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: http.NoBody, RequestURI: target}
		for _, v := range []string{first, second} {
			if v != "" {
				r.Header.Add("Authorization", v)
			}
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r.WithContext(t.Context()))
		if w.Code == http.StatusTeapot {
			return
		}
		// Opaque machine credentials need the Backend API, which this Gate
		// has no key for: 503, not a refusal of the credential.
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}, w.Code, w.Body.String())
		require.Equal(t, "application/json", w.Header().Get("Content-Type"))
		require.Contains(t, w.Body.String(), `"code":`)
	})
}

// plainUnder reports whether u's path is prefix followed by plain
// segments: no escapes, no "." or ".." ones, no "//".
func plainUnder(u *url.URL, prefix string) bool {
	rest, ok := strings.CutPrefix(u.Path, prefix)
	if !ok || u.RawPath != "" || strings.Contains(u.Path, "//") {
		return false
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
