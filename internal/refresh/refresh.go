// Package refresh exchanges an expired Clerk session token and its refresh
// cookie for new session cookies through the Backend API, once per pair
// however many requests and replicas carry it, within limits on what one
// session, and all of them, may cost (see limit.go), with the outcome
// sealed to the pair in a shared Store (seal.go).
//
//	f, err := refresh.New(refresh.Config{Sessions: client, Store: store, Accept: verify, …})
//	res, err := f.Refresh(ctx, refresh.Request{Expired: token, RefreshToken: cookie, Old: claims, …})
//	// res.Cookies go on the response; res.Claims are the new token's.
package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/clerkgate/clerkgate/handshake"
	"github.com/clerkgate/clerkgate/internal/flight"
	"github.com/clerkgate/clerkgate/session"
	"github.com/clerkgate/clerkgate/verifier"
)

// Sessions is the Backend API call a refresh makes (session.Client).
type Sessions interface {
	Refresh(ctx context.Context, id string, p session.RefreshParams) (*session.RefreshResult, error)
}

// Store is the part of clerkgate.Store that coordinates refreshes across
// replicas; see there for each method's contract.
type Store interface {
	ClaimRefresh(ctx context.Context, key string, hold time.Duration) (sealed []byte, claimed bool, err error)
	PublishRefresh(ctx context.Context, key string, out Outcome) error
	FailRefresh(ctx context.Context, key string, window time.Duration) error
	RefreshFailed(ctx context.Context, key string, window time.Duration) (bool, error)
}

// Outcome is a refresh's outcome as a Store keeps it
// (clerkgate.RefreshOutcome).
type Outcome struct {
	Sealed []byte
	Failed bool
	TTL    time.Duration
}

// Config is what a Refresher needs. Sessions, Store and Accept are
// required; zero limits mean the defaults.
type Config struct {
	Sessions Sessions
	Store    Store
	// Accept verifies a new session token as any other (signature,
	// claims, the Gate's lifetime cap): it earns no trust for having come
	// from the Backend API.
	Accept func(ctx context.Context, token string) (*verifier.Claims, error)
	// SessionCookie is the instance's suffixed session cookie name,
	// preferred over the plain one in an answer.
	SessionCookie string
	// Timeout bounds each wait and each call.
	Timeout time.Duration
	// FailureWindow, MaxInFlight and MaxExpiredAge are the limits (see
	// clerkgate.Config's Refresh.FailureWindow, Refresh.MaxInFlight and
	// Refresh.MaxExpiredTokenAge).
	FailureWindow time.Duration
	MaxInFlight   int
	MaxExpiredAge time.Duration
	Now           func() time.Time
	Log           *slog.Logger
}

// Refresher makes refreshes. It is safe for concurrent use.
type Refresher struct {
	sessions      Sessions
	store         Store
	accept        func(ctx context.Context, token string) (*verifier.Claims, error)
	sessionCookie string
	timeout       time.Duration
	now           func() time.Time
	log           *slog.Logger

	flights singleflight.Group // one refresh per (expired token, refresh cookie) pair in this process
	limits  *limits            // what refreshes may cost, per session and in all
}

// New checks cfg's limits and returns a Refresher.
func New(cfg Config) (*Refresher, error) {
	if cfg.FailureWindow < 0 || cfg.MaxInFlight < 0 || cfg.MaxExpiredAge < 0 {
		return nil, errors.New("Refresh.FailureWindow, Refresh.MaxInFlight and Refresh.MaxExpiredTokenAge must not be negative")
	}
	return &Refresher{
		sessions:      cfg.Sessions,
		store:         cfg.Store,
		accept:        cfg.Accept,
		sessionCookie: cfg.SessionCookie,
		timeout:       cfg.Timeout,
		now:           cfg.Now,
		log:           cfg.Log,
		limits: &limits{
			window:      or(cfg.FailureWindow, DefaultFailureWindow),
			maxInFlight: int64(or(cfg.MaxInFlight, DefaultMaxInFlight)),
			maxAge:      or(cfg.MaxExpiredAge, DefaultMaxExpiredAge),
			sessions:    make(map[string]*sessionCall),
		},
	}, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// TooOld reports, and counts, a token that expired longer ago than
// MaxExpiredAge: Clerk would refuse it
// (session_refresh_expired_session_token_too_old), so it is not sent.
func (f *Refresher) TooOld(expiredAt time.Time) bool {
	if f.now().Sub(expiredAt) <= f.limits.maxAge {
		return false
	}
	f.limits.counts.tooOld.Add(1)
	return true
}

// Request is what a refresh call sends: the pair, and what the Gate tells
// Clerk about the request (taken from it before the request ends, since
// the call may outlive it).
type Request struct {
	Expired, RefreshToken string
	Old                   *verifier.Claims // the expired token's claims
	Suffixed              bool             // ask for suffixed cookie names
	Origin, ClientIP      string
	Headers               map[string][]string // ForwardedHeaders
}

// Result is what one refresh produced: the Set-Cookie values to copy onto
// responses and the verified claims of the new token, shared by every
// request that waited on it (read-only: copy before handing them out).
type Result struct {
	Cookies []string
	Claims  *verifier.Claims
	// Pending reports a new token that is valid but for its session's
	// pending tasks (Accept refused it with verifier.ReasonSessionPending
	// alone): the refresh succeeded, as Clerk's does, and its cookies go on
	// the response, but Claims must not sign the request in.
	Pending bool
}

// failedOutcomeTTL is how long a shared store keeps the outcome of a
// failed refresh: long enough for the requests waiting on other replicas
// to see it, short enough that a later retry calls Clerk again.
const failedOutcomeTTL = 2 * time.Second

// Refresh exchanges an expired token for a new one exactly once, however
// many requests carry it at the same moment, on however many replicas.
// Clerk consumes an expired token on its first use, so a second call would
// fail. In this process, parallel requests with the same pair share one
// goroutine; it asks the Store, which either lets it refresh or hands it
// the outcome another replica published. Outcomes are kept until the new
// token expires, so stragglers succeed too.
func (f *Refresher) Refresh(ctx context.Context, req Request) (*Result, error) {
	sec, err := newRefreshSecret(req.Expired, req.RefreshToken)
	if err != nil {
		return nil, err
	}
	ch := f.flights.DoChan(sec.name, func() (any, error) {
		// The work outlives the request that started it: others may be
		// waiting on it, and Clerk consumes the token whether or not
		// anyone reads the answer.
		return f.shared(context.WithoutCancel(ctx), sec, req)
	})
	return flight.Await[*Result](ctx, ch, f.timeout, "refresh")
}

// shared is the one refresh of this process for one pair: it reuses the
// outcome published in the Store, or claims the refresh, calls Clerk
// within the limits and publishes the outcome, success or failure (so
// that the replicas waiting for it stop waiting).
//
// The pair's own outcome comes first: a browser whose refresh succeeded
// keeps getting its cookies even if someone else's junk pair for the same
// session has since failed.
func (f *Refresher) shared(ctx context.Context, sec refreshSecret, req Request) (*Result, error) {
	wait, cancel := context.WithTimeout(ctx, f.timeout)
	// The claim covers a wait for another pair of the session, then the
	// call: hold it for both and some.
	sealed, claimed, err := f.store.ClaimRefresh(wait, sec.name, 3*f.timeout)
	gaveUp := wait.Err() != nil
	cancel()
	switch {
	case err != nil && gaveUp:
		return nil, fmt.Errorf("refresh: no outcome from the replica refreshing this session within %s", f.timeout)
	case err != nil:
		// Authentication must not fail because the store did: refresh
		// here, as a lone replica would. If another replica refreshes the
		// same token meanwhile, one of the two gets Clerk's "consumed".
		f.log.Warn("clerkgate: refresh coordination store failed; refreshing without it",
			"session_id", req.Old.SessionID, "err", err)
	case !claimed:
		vctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		return f.openOutcome(vctx, sec, sealed, req.Old)
	}

	res, err := f.callLimited(ctx, sessionKey(req.Old.SessionID), func(ctx context.Context) (*Result, error) {
		return f.call(ctx, req)
	})
	f.publishOutcome(ctx, sec, res, err, req.Old)
	return res, err
}

func (f *Refresher) call(ctx context.Context, req Request) (*Result, error) {
	out, err := f.sessions.Refresh(ctx, req.Old.SessionID, session.RefreshParams{
		ExpiredToken:         req.Expired,
		RefreshToken:         req.RefreshToken,
		RequestOrigin:        req.Origin,
		RequestHeaders:       req.Headers,
		RequestOriginatingIP: req.ClientIP,
		Format:               session.FormatCookie,
		SuffixedCookies:      req.Suffixed,
	})
	if err != nil {
		return nil, err
	}
	return f.acceptAnswer(ctx, out.Cookies, req.Old)
}

// acceptAnswer checks the cookies a refresh produced, whether they come
// from Clerk or from the Store, and returns them with the new claims.
func (f *Refresher) acceptAnswer(ctx context.Context, cookies []string, old *verifier.Claims) (*Result, error) {
	token := sessionTokenIn(cookies, f.sessionCookie)
	if token == "" {
		return nil, &newTokenError{errors.New("refresh: the answer sets no session cookie")}
	}
	claims, err := f.accept(ctx, token)
	pending := false
	if err != nil {
		// A pending session's token is otherwise valid: Clerk's
		// verifyToken does not read sts, so its refresh succeeds (and its
		// auth object then signs the request out).
		var ve *verifier.Error
		if !errors.As(err, &ve) || ve.Reason != verifier.ReasonSessionPending || ve.Claims == nil {
			return nil, &newTokenError{fmt.Errorf("refresh: new session token: %w", err)}
		}
		claims, pending = ve.Claims, true
	}
	if claims.SessionID != old.SessionID || claims.Subject != old.Subject {
		return nil, &newTokenError{fmt.Errorf("refresh: new token is for session %s of %s, want %s of %s",
			claims.SessionID, claims.Subject, old.SessionID, old.Subject)}
	}
	return &Result{Cookies: cookies, Claims: claims, Pending: pending}, nil
}

// newTokenError is a refresh whose answer gave no session token this Gate
// accepts (Clerk's invalid-session-token).
type newTokenError struct{ err error }

func (e *newTokenError) Error() string { return e.err.Error() }
func (e *newTokenError) Unwrap() error { return e.err }

// publishOutcome seals the outcome of a refresh and hands it to the Store.
// A store that fails to keep it costs stragglers on other replicas their
// refresh, never this request its answer.
func (f *Refresher) publishOutcome(ctx context.Context, sec refreshSecret, res *Result, refreshErr error, old *verifier.Claims) {
	var out Outcome
	if refreshErr != nil {
		out = Outcome{Sealed: sec.seal(sealedOutcome{Code: Code(refreshErr)}), Failed: true, TTL: failedOutcomeTTL}
	} else {
		ttl := res.Claims.ExpiryTime().Sub(f.now())
		if ttl <= 0 {
			return
		}
		out = Outcome{Sealed: sec.seal(sealedOutcome{Cookies: res.Cookies}), TTL: ttl}
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := f.store.PublishRefresh(ctx, sec.name, out); err != nil {
		f.log.Warn("clerkgate: refresh coordination store failed to keep a refresh outcome",
			"session_id", old.SessionID, "err", err)
	}
}

// openOutcome reads an outcome another replica (or an earlier request)
// published. A success is checked like an answer from Clerk.
func (f *Refresher) openOutcome(ctx context.Context, sec refreshSecret, sealed []byte, old *verifier.Claims) (*Result, error) {
	out, err := sec.open(sealed)
	if err != nil {
		return nil, err
	}
	if len(out.Cookies) == 0 {
		return nil, &sharedRefreshError{code: out.Code}
	}
	return f.acceptAnswer(ctx, out.Cookies, old)
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

// Code is Clerk's error code for a failed refresh, or "".
func Code(err error) string {
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

// ClerkReason names, as Clerk's authenticateRequest does, why a refresh
// that was made failed: the Backend API's error code (unexpected_error is
// Clerk's fetch-error), a new token that does not verify, an answer that
// is not a refresh's, or no usable answer at all.
func ClerkReason(err error) string {
	var bad *newTokenError
	switch code := Code(err); {
	case errors.As(err, &bad):
		return handshake.RefreshInvalidToken
	case code == "unexpected_error":
		return handshake.RefreshFetchError
	case code != "":
		return code
	case errors.Is(err, session.ErrUnexpectedResponse):
		return handshake.RefreshUnexpectedSDK
	}
	return handshake.RefreshUnexpectedError
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
		case handshake.CookieSession:
			plain = c.Value
		}
	}
	return plain
}
