// Command sdkserver is the baseline cmd/load measures clerkgate against:
// examples/nethttp's GET /healthz and GET /me, with /me protected by
// clerk-sdk-go v2's net/http middleware instead of clerkgate.
//
// Its GET /page is /me for a browser's page load: the same middleware and
// answer, with the token taken from the __session cookie through the
// middleware's AuthorizationJWTExtractor option, as an app using
// clerk-sdk-go for pages would write it (the SDK reads no cookie itself,
// and has no handshake, so it decides on the token alone).
//
// It reads the same variables as the example: CLERK_SECRET_KEY,
// CLERK_API_URL (the Backend API base without /v1; default
// https://api.clerk.com) and ADDR (default 127.0.0.1:8081; port 0 picks a
// free one). Like the example it prints "… listening on http://host:port"
// once it accepts connections.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/bench/internal/serve"

	"github.com/clerk/clerk-sdk-go/v2"
	clerkhttp "github.com/clerk/clerk-sdk-go/v2/http"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
)

func main() {
	apiURL := os.Getenv("CLERK_API_URL")
	if apiURL == "" {
		apiURL = "https://api.clerk.com"
	}
	h, err := newHandler(os.Getenv("CLERK_SECRET_KEY"), apiURL)
	if err != nil {
		log.Fatal(err)
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8081"
	}
	ln, err := serve.Listen("clerk-sdk-go server", addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := serve.UntilSignal(ln, h); err != nil {
		log.Fatal(err)
	}
}

// newHandler builds the routes. The middleware is configured the way
// clerk-sdk-go's documentation shows, with its own JWKS client rather
// than the package-level one, and Clerk's 5 s clock leeway as clerkgate
// uses.
func newHandler(secretKey, apiURL string) (http.Handler, error) {
	if secretKey == "" {
		return nil, errors.New("sdkserver: CLERK_SECRET_KEY is required")
	}
	base := strings.TrimSuffix(apiURL, "/") + "/v1"
	keys := jwks.NewClient(&clerk.ClientConfig{BackendConfig: clerk.BackendConfig{
		Key: clerk.String(secretKey),
		URL: clerk.String(base),
		HTTPClient: &http.Client{
			Timeout:   5 * time.Second,
			Transport: withoutAPIVersion{http.DefaultTransport},
		},
	}})
	protect := clerkhttp.RequireHeaderAuthorization(
		clerkhttp.JWKSClient(keys),
		clerkhttp.Leeway(5*time.Second),
	)
	protectPage := clerkhttp.RequireHeaderAuthorization(
		clerkhttp.JWKSClient(keys),
		clerkhttp.Leeway(5*time.Second),
		clerkhttp.AuthorizationJWTExtractor(sessionCookie),
	)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /me", protect(answer(bearerToken)))
	mux.Handle("GET /page", protectPage(answer(sessionCookie)))
	return mux, nil
}

func bearerToken(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func sessionCookie(r *http.Request) string {
	c, err := r.Cookie("__session")
	if err != nil {
		return ""
	}
	return c.Value
}

// answer is me, with the token the middleware verified taken by token.
func answer(token func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { me(w, r, token(r)) })
}

// me answers like examples/nethttp's /me: the ids and every claim of the
// token. clerk-sdk-go keeps no raw payload, so the claims are decoded from
// the token the middleware just verified, which is the same work
// clerkgate's Claims.Raw does.
func me(w http.ResponseWriter, r *http.Request, token string) {
	claims, ok := clerk.SessionClaimsFromContext(r.Context())
	if !ok {
		write(w, http.StatusUnauthorized, map[string]string{"error": "unauthenticated"})
		return
	}
	raw, err := payloadClaims(token)
	if err != nil {
		write(w, http.StatusInternalServerError, map[string]string{"error": "claims_unreadable", "message": err.Error()})
		return
	}
	write(w, http.StatusOK, map[string]any{"user_id": claims.Subject, "session_id": claims.SessionID, "claims": raw})
}

func payloadClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("sdkserver: token is not a JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	err = json.Unmarshal(b, &m)
	return m, err
}

func write(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// withoutAPIVersion drops the Clerk-API-Version header from Backend API
// calls. clerk-sdk-go v2.4.2 sends 2025-04-10, a version the clerktest fake
// does not serve; without the header the fake answers with its current
// version, whose JWKS is the same document. The SDK only calls the
// Backend API to fetch keys here, about once an hour, so this does not
// touch the per-request cost being measured.
type withoutAPIVersion struct{ next http.RoundTripper }

func (t withoutAPIVersion) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("Clerk-API-Version")
	return t.next.RoundTrip(r)
}
