package fapiproxy

import (
	"encoding/json"
	"net/http"
)

// proxyError is one entry of an error body, in the shape of Clerk's
// proxy errors and Clerk's API errors.
type proxyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers a request the proxy refuses or cannot complete:
// {"errors":[{"code":…,"message":…}]}, never cached.
func writeError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors []proxyError `json:"errors"`
	}{[]proxyError{{code, message}}})
}
