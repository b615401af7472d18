package clerkgate

import (
	"context"
	"crypto/sha256"
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
		var apiErr *session.APIError
		if errors.As(err, &apiErr) && len(apiErr.Errors) > 0 {
			ae.Message += ": " + apiErr.Errors[0].Code
		}
		return nil, true, ae
	}
	for _, c := range res.cookies {
		w.Header().Add("Set-Cookie", c)
	}
	return res.claims, true, nil
}

// refresh exchanges an expired token for a new one exactly once, however
// many requests carry it at the same moment. Clerk consumes an expired
// token on its first use, so a second call would fail: parallel requests
// share one call, and the result is remembered until the new token expires
// so that stragglers succeed too. The cache key is a digest of the expired
// token, never the token itself.
func (g *Gate) refresh(r *http.Request, expired, refreshToken string, old *Claims) (*refreshResult, error) {
	key := sha256.Sum256([]byte(expired))
	if res, ok := g.refreshed.Get(key); ok {
		return res, nil
	}
	ch := g.refreshes.DoChan(string(key[:]), func() (any, error) {
		if res, ok := g.refreshed.Get(key); ok {
			return res, nil
		}
		// The call outlives the request that started it: others may be
		// waiting on it, and Clerk consumes the token whether or not
		// anyone reads the answer.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), g.refreshAfter)
		defer cancel()
		res, err := g.callRefresh(ctx, r, expired, refreshToken, old)
		if err != nil {
			return nil, err
		}
		g.refreshed.Add(key, res, res.claims.ExpiresAt())
		return res, nil
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
	token := sessionTokenIn(out.Cookies, g.suffixedSession)
	if token == "" {
		return nil, errors.New("refresh: the answer sets no session cookie")
	}
	// The new token earns no trust for having come from the Backend API:
	// it goes through the full verifier like any other.
	claims, err := g.verifier.Verify(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("refresh: new session token: %w", err)
	}
	if claims.SessionID != old.SessionID || claims.Subject != old.Subject {
		return nil, fmt.Errorf("refresh: new token is for session %s of %s, want %s of %s",
			claims.SessionID, claims.Subject, old.SessionID, old.Subject)
	}
	return &refreshResult{cookies: out.Cookies, claims: claims}, nil
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
