package clerkgate

import (
	"net/http"
	"strings"
)

// cachePrivate is the Cache-Control of every response on which the Gate
// sets Clerk's cookies (after a refresh or a handshake): a shared cache
// that kept such a response would hand the new session to other visitors.
const cachePrivate = "private, no-store"

// privateIfCookiesSet marks w's response private when the Gate added
// Set-Cookie values to its headers (there were before of them), and then
// returns a writer that keeps it so whatever the handler sets: the
// cookies are set before the handler runs, and a handler that answers
// "public, max-age=300" would otherwise make the new session cacheable.
// Without new cookies it returns w itself, so an ordinary request costs
// nothing.
func privateIfCookiesSet(w http.ResponseWriter, before int) http.ResponseWriter {
	h := w.Header()
	if len(h["Set-Cookie"]) <= before {
		return w
	}
	keepPrivate(h)
	return &privateWriter{ResponseWriter: w}
}

// keepPrivate sets Cache-Control to cachePrivate unless its one value
// already says no-store, which keeps every cache from storing the
// response (the handshake's redirects say no-store, as Clerk's do). A
// handler that added values of its own ("public" after the Gate's
// "private, no-store") gets the one value: caches read the lines as one
// list, and a list that says both is not the Gate's to leave.
func keepPrivate(h http.Header) {
	// CDNs obey these before Cache-Control (RFC 9213, Edge-Architecture):
	// a fresh session is no more theirs to keep than a browser cache's.
	h.Del("CDN-Cache-Control")
	h.Del("Surrogate-Control")
	if v := h.Values("Cache-Control"); len(v) == 1 {
		for d := range strings.SplitSeq(v[0], ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return
			}
		}
	}
	h.Set("Cache-Control", cachePrivate)
}

// privateWriter makes the response uncacheable as its header is written,
// over whatever the handler set.
type privateWriter struct {
	http.ResponseWriter
	wrote bool
}

func (p *privateWriter) WriteHeader(code int) {
	if !p.wrote && code >= 200 {
		p.wrote = true
		keepPrivate(p.Header())
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *privateWriter) Write(b []byte) (int, error) {
	if !p.wrote {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

// Flush keeps the handler's http.Flusher: streaming answers (server-sent
// events) flush through the wrapper.
func (p *privateWriter) Flush() {
	if !p.wrote {
		p.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(p.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer (Hijack,
// deadlines).
func (p *privateWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
