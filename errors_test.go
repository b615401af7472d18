package clerkgate_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
)

// TestMessagesSayWhatIsWrong: the fixed message of a refusal fits the
// request, over HTTP, on session routes, machine routes and routes that
// take both. The reasons do not change; the texts used to mislead (a
// header that is there called missing, two headers called a malformed
// JWT, a machine route's credential called a session token).
func TestMessagesSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	g := b.gate
	token := b.fake.Token(b.fake.CreateSession("user_1").ID)
	const (
		notBearer  = "the Authorization header must use the Bearer scheme: Authorization: Bearer <token>"
		twoHeaders = "the request has more than one Authorization header: send exactly one"
	)
	header := func(values ...string) func(*http.Request) {
		return func(r *http.Request) { r.Header["Authorization"] = values }
	}
	routes := map[string]string{
		"session": serve(t, g.Accept(clerkgate.SessionToken).Require(whoami)).URL,
		"machine": serve(t, g.Accept(clerkgate.M2MToken, clerkgate.APIKey).Require(whoami)).URL,
		"any":     serve(t, g.Accept(clerkgate.AnyToken).Require(whoami)).URL,
	}
	for _, c := range []struct {
		route, name string
		mod         func(*http.Request)
		reason      clerkgate.Reason
		message     string
	}{
		{"session", "a JWT without a scheme", header(token), clerkgate.ReasonTokenMissing, notBearer},
		{"session", "scheme Token", header("Token " + token), clerkgate.ReasonTokenMissing, notBearer},
		{"session", "scheme Basic", header("Basic dXNlcjpwYXNz"), clerkgate.ReasonTokenMissing, notBearer},
		{"session", "two Authorization headers", header("Bearer "+token, "Bearer "+token), clerkgate.ReasonTokenMalformed, twoHeaders},
		{"session", "nothing at all", nil, clerkgate.ReasonTokenMissing, "no session token in the Authorization header or the session cookie"},
		{"session", "garbage", header("Bearer garbage"), clerkgate.ReasonTokenMalformed, "the session token is not a well-formed JWT"},
		{"machine", "a JWT without a scheme", header(token), clerkgate.ReasonTokenMissing, notBearer},
		{"machine", "two Authorization headers", header("Bearer ak_1", "Bearer ak_2"), clerkgate.ReasonTokenMalformed, twoHeaders},
		{"machine", "nothing at all", nil, clerkgate.ReasonTokenMissing, "no credential in the Authorization header"},
		{"any", "scheme Token", header("Token " + token), clerkgate.ReasonTokenMissing, notBearer},
		{"any", "two Authorization headers", header("Bearer "+token, "Bearer "+token), clerkgate.ReasonTokenMalformed, twoHeaders},
		{"any", "garbage", header("Bearer garbage"), clerkgate.ReasonTokenMalformed, "the token is neither a well-formed JWT nor a Clerk machine credential"},
		{"any", "nothing at all", nil, clerkgate.ReasonTokenMissing, "no token in the Authorization header or the session cookie"},
	} {
		rep := get(t, routes[c.route], c.mod)
		require.Equal(t, http.StatusUnauthorized, rep.status, "%s: %s", c.route, c.name)
		require.Equal(t, string(c.reason), rep.reason, "%s: %s", c.route, c.name)
		var body struct{ Message string }
		require.NoError(t, json.Unmarshal([]byte(rep.body), &body))
		require.Equal(t, c.message, body.Message, "%s: %s", c.route, c.name)
		require.NotContains(t, rep.body, token, "nothing of the request is echoed")
	}

	// A handler's own Authenticate gets the same text.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token "+token)
	_, err = g.Accept(clerkgate.SessionToken).Authenticate(nopWriter{}, req)
	require.Equal(t, notBearer, refusalOf(t, err).Message)
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

// FuzzErrorBody: a refusal's body, written by hand, is what encoding/json's
// Encoder writes for its reason and message, whatever they hold.
func FuzzErrorBody(f *testing.F) {
	for _, s := range []string{"token-expired", "no token", `a "quoted" <b>&</b> \ message`, "\x00\x1f\x7f", "é\u2028", "\xff"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, reason, message string) {
		e := &clerkgate.AuthError{Status: http.StatusUnauthorized, Reason: clerkgate.Reason(reason), Message: message}
		rec := httptest.NewRecorder()
		clerkgate.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), e)
		var want bytes.Buffer
		require.NoError(t, json.NewEncoder(&want).Encode(map[string]string{"error": reason, "message": message}))
		require.Equal(t, want.String(), rec.Body.String())
	})
}
