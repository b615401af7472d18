package session

// The fuzz targets live in the package itself, not in session_test, so that
// they can call the decoders directly: going through an HTTP server per input
// would make fuzzing a thousand times slower without reaching more code.

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clerkgate/clerkgate/internal/backendapi"
)

func decodeSeeds(f *testing.F) {
	fixture, err := os.ReadFile("testdata/session.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(fixture),
		"[" + string(fixture) + "]",
		`{"data":[` + string(fixture) + `],"total_count":1}`,
		`{"object":"token","jwt":"a.b.c"}`,
		`{"object":"cookies","cookies":["__session=x"]}`,
		`{"id":"sess_1","actor":null,"latest_activity":null,"tasks":null}`,
		`{"id":"sess_1","actor":"weird","tasks":[null],"latest_activity":{"is_mobile":"yes"}}`,
		`{"data":null}`, `{"data":{}}`, `[null]`, `null`, `""`, `[`, `{`, ``, " \n",
		"<html>502</html>", "\xff\xfe", `{"expire_at":1e400}`, `{"id":"` + strings.Repeat("a", 1000) + `"}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeSession feeds arbitrary success bodies to every decoder. They
// must never panic, and what they accept must be usable.
func FuzzDecodeSession(f *testing.F) {
	decodeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := decodeSession(data); err == nil {
			if s.ID == "" {
				t.Fatal("accepted a session without id")
			}
			_ = s.ExpireTime()
			_ = s.HasActor()
		}
		if l, err := decodeSessionList(data); err == nil {
			if l.Data == nil {
				t.Fatal("accepted list has nil Data")
			}
		}
		if r, err := decodeRefresh(data); err == nil {
			if r.JWT == "" && len(r.Cookies) == 0 {
				t.Fatal("accepted refresh result with nothing in it")
			}
		}
		if tok, err := decodeToken(data); err == nil && tok.JWT == "" {
			t.Fatal("accepted token without jwt")
		}
	})
}

// FuzzDecodeError feeds arbitrary error bodies and header values to the
// error decoder. It must never panic, and its excerpt must stay short,
// printable UTF-8.
func FuzzDecodeError(f *testing.F) {
	seeds := []struct{ body, retryAfter, trace string }{
		{`{"errors":[{"code":"resource_not_found","message":"not found","long_message":"Not found","meta":{}}],"clerk_trace_id":"t"}`, "", ""},
		{`{"errors":[{"code":"too_many_requests","message":"slow","long_message":"slow"}]}`, "7", "hdr"},
		{`{"errors":[]}`, "Wed, 21 Oct 2015 07:28:00 GMT", ""},
		{`{"errors":[null,{"meta":[1,2]}]}`, "-1", "x"},
		{`{"errors":"x"}`, "99999999999999999999", ""},
		{"<html><head><title>502 Bad Gateway</title></head></html>", "", ""},
		{strings.Repeat("é", 300), "", ""},
		{"\x00\x01\x02\xff", "soon", "\x00"},
		{"", "", ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.retryAfter, s.trace, 500)
	}
	now := time.Date(2026, 5, 12, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, retryAfter, trace string, status int) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("Clerk-Trace-Id", trace)
		e := newAPIError(backendapi.ParseFailure("get", status, h, body, now))
		if e == nil {
			t.Fatal("nil error")
		}
		if msg := e.Error(); !strings.HasPrefix(msg, "session: ") {
			t.Fatalf("message %q lacks the prefix", msg)
		}
		if len(e.Body) > backendapi.MaxExcerpt || !utf8.ValidString(e.Body) || strings.ContainsAny(e.Body, "\r\n\t\x00") {
			t.Fatalf("bad excerpt %q", e.Body)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative retry-after %v", e.RetryAfter)
		}
		if len(e.Errors) > 0 && e.Body != "" {
			t.Fatal("both errors and an excerpt")
		}
		_ = e.HasCode("x")
		_ = IsNotFound(e)
	})
}
