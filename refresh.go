package clerkgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"

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
// a GET request, a token whose only fault is expiry, the instance's
// __refresh_<suffix> cookie, and both keys configured. It also leaves
// alone a token that expired more than MaxExpiredTokenAge ago. ok reports
// whether a refresh was attempted; if it was, the result (claims or error)
// is final.
//
// suffixed is Clerk's choice of cookie names for the request (the
// handshake's decision), which the refresh asks Clerk to answer in.
func (g *Gate) tryRefresh(w http.ResponseWriter, r *http.Request, expired string, old *Claims, suffixed bool) (*Claims, bool, *AuthError) {
	if g.sessions == nil || g.suffixedRefresh == "" {
		return nil, false, nil
	}
	if r.Method != http.MethodGet { // Clerk's rule: not even HEAD
		return nil, false, nil
	}
	refreshToken := cookieValue(r, g.suffixedRefresh)
	if refreshToken == "" {
		return nil, false, nil
	}
	if g.isRevoked(old.SessionID) {
		return nil, true, newAuthError(ReasonSessionRevoked, true, nil)
	}
	if g.now().Sub(old.ExpiryTime()) > g.limits.maxAge {
		g.limits.counts.tooOld.Add(1)
		return nil, false, nil
	}

	res, err := g.refresh(r, expired, refreshToken, old, suffixed)
	g.observeRefresh(r.Context(), err)
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
	// Parallel requests with one expired token share the refresh and its
	// result: each gets claims of its own.
	return res.claims.Clone(), true, nil
}

// refreshRequest is what a refresh call sends: the pair, and what the
// Gate tells Clerk about the request (taken from it before the request
// ends, since the call may outlive it).
type refreshRequest struct {
	expired, refreshToken string
	old                   *Claims
	suffixed              bool // ask for suffixed cookie names
	origin, clientIP      string
	headers               map[string][]string
}

// refresh exchanges an expired token for a new one exactly once, however
// many requests carry it at the same moment, on however many replicas.
// Clerk consumes an expired token on its first use, so a second call would
// fail. In this process, parallel requests with the same pair share one
// goroutine; it asks the Store, which either lets it refresh or hands it
// the outcome another replica published. Outcomes are kept until the new
// token expires, so stragglers succeed too.
func (g *Gate) refresh(r *http.Request, expired, refreshToken string, old *Claims, suffixed bool) (*refreshResult, error) {
	sec, err := newRefreshSecret(expired, refreshToken)
	if err != nil {
		return nil, err
	}
	req := refreshRequest{
		expired: expired, refreshToken: refreshToken, old: old, suffixed: suffixed,
		origin: g.origin(r), clientIP: g.clientIP(r), headers: forwardedHeaders(r.Header),
	}
	ch := g.refreshes.DoChan(sec.name, func() (any, error) {
		// The work outlives the request that started it: others may be
		// waiting on it, and Clerk consumes the token whether or not
		// anyone reads the answer.
		return g.refreshShared(context.WithoutCancel(r.Context()), sec, req)
	})
	return awaitShared[*refreshResult](r.Context(), ch, g.refreshAfter, "refresh")
}

// awaitShared waits for a call shared through a singleflight group, which
// goes on for the others when this caller stops waiting: its answer, or
// ctx's end, or d passing (what names the call in that error).
func awaitShared[T any](ctx context.Context, ch <-chan singleflight.Result, d time.Duration, what string) (T, error) {
	var zero T
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case out := <-ch:
		if out.Err != nil {
			return zero, out.Err
		}
		return out.Val.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-timer.C:
		return zero, fmt.Errorf("%s: no answer within %s", what, d)
	}
}

// refreshShared is the one refresh of this process for one pair: it
// reuses the outcome published in the Store, or claims the refresh, calls
// Clerk within the refresh limits and publishes the outcome, success or
// failure (so that the replicas waiting for it stop waiting).
//
// The pair's own outcome comes first: a browser whose refresh succeeded
// keeps getting its cookies even if someone else's junk pair for the same
// session has since failed.
func (g *Gate) refreshShared(ctx context.Context, sec refreshSecret, req refreshRequest) (*refreshResult, error) {
	wait, cancel := context.WithTimeout(ctx, g.refreshAfter)
	// The claim covers a wait for another pair of the session, then the
	// call: hold it for both and some.
	sealed, claimed, err := g.store.ClaimRefresh(wait, sec.name, 3*g.refreshAfter)
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
			"session_id", req.old.SessionID, "err", err)
	case !claimed:
		vctx, cancel := context.WithTimeout(ctx, g.refreshAfter)
		defer cancel()
		return g.openOutcome(vctx, sec, sealed, req.old)
	}

	res, err := g.callLimited(ctx, sessionKey(req.old.SessionID), func(ctx context.Context) (*refreshResult, error) {
		return g.callRefresh(ctx, req)
	})
	g.publishOutcome(ctx, sec, res, err, req.old)
	return res, err
}

func (g *Gate) callRefresh(ctx context.Context, req refreshRequest) (*refreshResult, error) {
	out, err := g.sessions.Refresh(ctx, req.old.SessionID, session.RefreshParams{
		ExpiredToken:         req.expired,
		RefreshToken:         req.refreshToken,
		RequestOrigin:        req.origin,
		RequestHeaders:       req.headers,
		RequestOriginatingIP: req.clientIP,
		Format:               session.FormatCookie,
		SuffixedCookies:      req.suffixed,
	})
	if err != nil {
		return nil, err
	}
	return g.acceptRefresh(ctx, out.Cookies, req.old)
}

// acceptRefresh checks the cookies a refresh produced, whether they come
// from Clerk or from the Store, and returns them with the new claims.
func (g *Gate) acceptRefresh(ctx context.Context, cookies []string, old *Claims) (*refreshResult, error) {
	token := sessionTokenIn(cookies, g.suffixedSession)
	if token == "" {
		return nil, &newTokenError{errors.New("refresh: the answer sets no session cookie")}
	}
	// The new token earns no trust for having come from the Backend API:
	// it goes through the full verifier like any other. The result is
	// shared by every request waiting on this refresh, so it keeps the
	// verifier's (read-only) claims; tryRefresh hands each a copy.
	vc, err := g.verifier.Verify(ctx, token)
	if err != nil {
		return nil, &newTokenError{fmt.Errorf("refresh: new session token: %w", err)}
	}
	claims := (*Claims)(vc)
	if err := g.checkLifetime(claims); err != nil {
		return nil, &newTokenError{fmt.Errorf("refresh: new session token: %w", err)}
	}
	if claims.SessionID != old.SessionID || claims.Subject != old.Subject {
		return nil, &newTokenError{fmt.Errorf("refresh: new token is for session %s of %s, want %s of %s",
			claims.SessionID, claims.Subject, old.SessionID, old.Subject)}
	}
	return &refreshResult{cookies: cookies, claims: claims}, nil
}

// newTokenError is a refresh whose answer gave no session token this Gate
// accepts (Clerk's invalid-session-token).
type newTokenError struct{ err error }

func (e *newTokenError) Error() string { return e.err.Error() }
func (e *newTokenError) Unwrap() error { return e.err }

// publishOutcome seals the outcome of a refresh and hands it to the Store.
// A store that fails to keep it costs stragglers on other replicas their
// refresh, never this request its answer.
func (g *Gate) publishOutcome(ctx context.Context, sec refreshSecret, res *refreshResult, refreshErr error, old *Claims) {
	var out RefreshOutcome
	if refreshErr != nil {
		out = RefreshOutcome{Sealed: sec.seal(sealedOutcome{Code: clerkErrorCode(refreshErr)}), Failed: true, TTL: failedOutcomeTTL}
	} else {
		ttl := res.claims.ExpiryTime().Sub(g.now())
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
