package clerkgate

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/session"
)

// refreshResult is what one refresh call produced: the Set-Cookie values
// to copy onto responses and the verified claims of the new token.
type refreshResult struct {
	cookies []string
	claims  *Claims
}

// failedOutcomeTTL is how long a shared store keeps the outcome of a
// failed refresh: long enough for the requests waiting on other replicas
// to see it, short enough that a later retry calls Clerk again.
const failedOutcomeTTL = 2 * time.Second

// tryRefresh refreshes an expired session when Clerk's own rules allow it:
// a GET or HEAD request, a token whose only fault is expiry, the instance's
// __refresh_<suffix> cookie, and both keys configured. ok reports whether
// a refresh was attempted; if it was, the result (claims or error) is final.
func (g *Gate) tryRefresh(w http.ResponseWriter, r *http.Request, expired string, old *Claims) (*Claims, bool, *AuthError) {
	if g.sessions == nil || g.suffixedRefresh == "" {
		return nil, false, nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, false, nil
	}
	refreshToken := cookieValue(r, g.suffixedRefresh)
	if refreshToken == "" {
		return nil, false, nil
	}
	if g.isRevoked(old.SessionID) {
		return nil, true, newAuthError(ReasonSessionRevoked, true, nil)
	}

	res, err := g.refresh(r, expired, refreshToken, old)
	if err != nil {
		g.log.Debug("clerkgate: session refresh failed", "session_id", old.SessionID, "err", err)
		ae := newAuthError(ReasonRefreshFailed, true, err)
		if code := clerkErrorCode(err); code != "" {
			ae.Message += ": " + code
		}
		return nil, true, ae
	}
	for _, c := range res.cookies {
		w.Header().Add("Set-Cookie", c)
	}
	return res.claims, true, nil
}

// refresh exchanges an expired token for a new one exactly once, however
// many requests carry it at the same moment, on however many replicas.
// Clerk consumes an expired token on its first use, so a second call would
// fail. In this process, parallel requests share one goroutine; it asks
// the Store, which either lets it refresh or hands it the outcome another
// replica published. Outcomes are kept until the new token expires, so
// stragglers succeed too.
func (g *Gate) refresh(r *http.Request, expired, refreshToken string, old *Claims) (*refreshResult, error) {
	sec, err := newRefreshSecret(expired, refreshToken)
	if err != nil {
		return nil, err
	}
	ch := g.refreshes.DoChan(sec.name, func() (any, error) {
		// The work outlives the request that started it: others may be
		// waiting on it, and Clerk consumes the token whether or not
		// anyone reads the answer.
		return g.refreshShared(context.WithoutCancel(r.Context()), r, sec, expired, refreshToken, old)
	})
	timer := time.NewTimer(g.refreshAfter)
	defer timer.Stop()
	select {
	case out := <-ch:
		if out.Err != nil {
			return nil, out.Err
		}
		return out.Val.(*refreshResult), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	case <-timer.C:
		return nil, fmt.Errorf("refresh: no answer within %s", g.refreshAfter)
	}
}

// refreshShared is the one refresh of this process for one expired token:
// it reuses the outcome published in the Store, or claims the refresh,
// calls Clerk and publishes the outcome, success or failure (so that the
// replicas waiting for it stop waiting).
func (g *Gate) refreshShared(ctx context.Context, r *http.Request, sec refreshSecret, expired, refreshToken string, old *Claims) (*refreshResult, error) {
	wait, cancel := context.WithTimeout(ctx, g.refreshAfter)
	sealed, claimed, err := g.store.ClaimRefresh(wait, sec.name, 2*g.refreshAfter)
	gaveUp := wait.Err() != nil
	cancel()
	switch {
	case err != nil && gaveUp:
		return nil, fmt.Errorf("refresh: no outcome from the replica refreshing this session within %s", g.refreshAfter)
	case err != nil:
		// Authentication must not fail because the store did: refresh
		// here, as a lone replica would. If another replica refreshes the
		// same token meanwhile, one of the two gets Clerk's "consumed".
		g.log.Warn("clerkgate: refresh coordination store failed; refreshing without it",
			"session_id", old.SessionID, "err", err)
	case !claimed:
		vctx, cancel := context.WithTimeout(ctx, g.refreshAfter)
		defer cancel()
		return g.openOutcome(vctx, sec, sealed, old)
	}

	cctx, cancel := context.WithTimeout(ctx, g.refreshAfter)
	defer cancel()
	res, err := g.callRefresh(cctx, r, expired, refreshToken, old)
	g.publishOutcome(ctx, sec, res, err, old)
	return res, err
}

func (g *Gate) callRefresh(ctx context.Context, r *http.Request, expired, refreshToken string, old *Claims) (*refreshResult, error) {
	out, err := g.sessions.Refresh(ctx, old.SessionID, session.RefreshParams{
		ExpiredToken:         expired,
		RefreshToken:         refreshToken,
		RequestOrigin:        g.origin(r),
		RequestHeaders:       forwardedHeaders(r.Header),
		RequestOriginatingIP: g.clientIP(r),
		Format:               session.FormatCookie,
		SuffixedCookies:      true,
	})
	if err != nil {
		return nil, err
	}
	return g.acceptRefresh(ctx, out.Cookies, old)
}

// acceptRefresh checks the cookies a refresh produced, whether they come
// from Clerk or from the Store, and returns them with the new claims.
func (g *Gate) acceptRefresh(ctx context.Context, cookies []string, old *Claims) (*refreshResult, error) {
	token := sessionTokenIn(cookies, g.suffixedSession)
	if token == "" {
		return nil, errors.New("refresh: the answer sets no session cookie")
	}
	// The new token earns no trust for having come from the Backend API:
	// it goes through the full verifier like any other.
	claims, err := g.verifier.Verify(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("refresh: new session token: %w", err)
	}
	if err := g.checkLifetime(claims); err != nil {
		return nil, fmt.Errorf("refresh: new session token: %w", err)
	}
	if claims.SessionID != old.SessionID || claims.Subject != old.Subject {
		return nil, fmt.Errorf("refresh: new token is for session %s of %s, want %s of %s",
			claims.SessionID, claims.Subject, old.SessionID, old.Subject)
	}
	return &refreshResult{cookies: cookies, claims: claims}, nil
}

// publishOutcome seals the outcome of a refresh and hands it to the Store.
// A store that fails to keep it costs stragglers on other replicas their
// refresh, never this request its answer.
func (g *Gate) publishOutcome(ctx context.Context, sec refreshSecret, res *refreshResult, refreshErr error, old *Claims) {
	var out RefreshOutcome
	if refreshErr != nil {
		out = RefreshOutcome{Sealed: sec.seal(sealedOutcome{Code: clerkErrorCode(refreshErr)}), Failed: true, TTL: failedOutcomeTTL}
	} else {
		ttl := res.claims.ExpiresAt().Sub(g.now())
		if ttl <= 0 {
			return
		}
		out = RefreshOutcome{Sealed: sec.seal(sealedOutcome{Cookies: res.cookies}), TTL: ttl}
	}
	ctx, cancel := context.WithTimeout(ctx, g.refreshAfter)
	defer cancel()
	if err := g.store.PublishRefresh(ctx, sec.name, out); err != nil {
		g.log.Warn("clerkgate: refresh coordination store failed to keep a refresh outcome",
			"session_id", old.SessionID, "err", err)
	}
}

// openOutcome reads an outcome another replica (or an earlier request)
// published. A success is checked like an answer from Clerk.
func (g *Gate) openOutcome(ctx context.Context, sec refreshSecret, sealed []byte, old *Claims) (*refreshResult, error) {
	out, err := sec.open(sealed)
	if err != nil {
		return nil, err
	}
	if len(out.Cookies) == 0 {
		return nil, &sharedRefreshError{code: out.Code}
	}
	return g.acceptRefresh(ctx, out.Cookies, old)
}

// sharedRefreshError is a refresh that failed on the replica that made
// it, as the others learn of it.
type sharedRefreshError struct{ code string }

func (e *sharedRefreshError) Error() string {
	if e.code == "" {
		return "refresh: failed where it was made (another request or replica)"
	}
	return "refresh: failed where it was made (another request or replica): " + e.code
}

// clerkErrorCode is Clerk's error code for a failed refresh, or "".
func clerkErrorCode(err error) string {
	var apiErr *session.APIError
	if errors.As(err, &apiErr) && len(apiErr.Errors) > 0 {
		return apiErr.Errors[0].Code
	}
	var shared *sharedRefreshError
	if errors.As(err, &shared) {
		return shared.code
	}
	return ""
}

// refreshSecret is what a request that holds an expired token and its
// refresh cookie can derive from them, and a Store cannot: the name the
// refresh outcome goes by, and the key that seals it. Both come from
// HKDF-SHA256 over the pair with distinct labels, so neither reveals the
// tokens or the other.
//
// The refresh cookie is part of the secret on purpose. Keyed on the
// expired token alone, a remembered outcome would be handed to anyone who
// replays that token with any refresh cookie at all: someone who once
// stole a session token (the __session cookie is readable by scripts)
// could follow the session through every refresh. A browser's parallel
// requests carry the same pair, so they still share one refresh.
type refreshSecret struct {
	name string // hex; the Store's key and the singleflight key
	aead cipher.AEAD
}

func newRefreshSecret(expired, refreshToken string) (refreshSecret, error) {
	// Length-prefix the expired token so no two pairs share an input.
	ikm := binary.BigEndian.AppendUint32(nil, uint32(len(expired)))
	ikm = append(append(ikm, expired...), refreshToken...)
	prk, err := hkdf.Extract(sha256.New, ikm, nil)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	name, err := hkdf.Expand(sha256.New, prk, "clerkgate refresh outcome name v2", 32)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	key, err := hkdf.Expand(sha256.New, prk, "clerkgate refresh outcome key v2", 32)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return refreshSecret{}, fmt.Errorf("refresh: %w", err)
	}
	return refreshSecret{name: hex.EncodeToString(name), aead: aead}, nil
}

// sealedOutcome is the plaintext of a published outcome: the Set-Cookie
// values of a success, or Clerk's error code of a failure.
type sealedOutcome struct {
	Cookies []string `json:"cookies,omitempty"`
	Code    string   `json:"code,omitempty"`
}

// sealVersion leads every sealed outcome, so the format can change.
const sealVersion = 1

// seal encrypts an outcome as version || nonce || AES-GCM ciphertext, with
// the outcome's name as additional data.
func (s refreshSecret) seal(out sealedOutcome) []byte {
	plain, err := json.Marshal(out)
	if err != nil {
		panic("clerkgate: " + err.Error()) // strings only: cannot fail
	}
	n := s.aead.NonceSize()
	buf := make([]byte, 1+n, 1+n+len(plain)+s.aead.Overhead())
	buf[0] = sealVersion
	nonce := buf[1:]
	rand.Read(nonce) // never fails since Go 1.24
	return s.aead.Seal(buf, nonce, plain, []byte(s.name))
}

func (s refreshSecret) open(sealed []byte) (sealedOutcome, error) {
	var out sealedOutcome
	n := s.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return out, errors.New("refresh: the stored outcome is not one clerkgate sealed")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(s.name))
	if err != nil {
		return out, errors.New("refresh: the stored outcome does not open with this token: it was altered")
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return out, fmt.Errorf("refresh: stored outcome: %w", err)
	}
	return out, nil
}

// sessionTokenIn finds the new session token among Set-Cookie values,
// preferring the instance's suffixed cookie.
func sessionTokenIn(setCookies []string, suffixed string) string {
	var plain string
	for _, sc := range setCookies {
		c, err := http.ParseSetCookie(sc)
		if err != nil {
			continue
		}
		switch c.Name {
		case suffixed:
			return c.Value
		case sessionCookie:
			plain = c.Value
		}
	}
	return plain
}

// origin is the scheme and host the browser used, which Clerk compares
// with the session's. Proxy headers count only when the app trusts them.
func (g *Gate) origin(r *http.Request) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if g.trustProxy {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme + "://" + host
}

func (g *Gate) clientIP(r *http.Request) string {
	if g.trustProxy {
		if ip := firstValue(r.Header.Get("X-Forwarded-For")); net.ParseIP(ip) != nil {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || net.ParseIP(host) == nil {
		return ""
	}
	return host
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// forwardedHeaders copies the request's headers for Clerk's checks,
// leaving out the credentials: the tokens already travel in the body's
// own fields, and nothing else of the user's should leave the app.
func forwardedHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		if k == "Cookie" || k == "Authorization" {
			continue
		}
		out[k] = v
	}
	return out
}
