package jwks

import (
	"errors"
	"fmt"
	"strings"
)

// KeyError is the error a Remote returns when it cannot produce the key for
// a kid. Reason is ErrKeyNotFound or ErrUnavailable, so errors.Is answers
// "401 or 503?"; Cause keeps the detail an operator needs (the failed fetch,
// the rate limit, the caller's cancelled context) and is wrapped too, so
// errors.Is(err, context.DeadlineExceeded) works as well.
type KeyError struct {
	// KID is the kid that was asked for.
	KID string
	// Reason is ErrKeyNotFound or ErrUnavailable.
	Reason error
	// Cause says why no key could be returned. It is never nil.
	Cause error
}

// Error names the kid, the reason and the cause in one line.
func (e *KeyError) Error() string {
	reason := strings.TrimPrefix(e.Reason.Error(), "jwks: ")
	return fmt.Sprintf("jwks: kid %q: %s: %v", e.KID, reason, e.Cause)
}

// Unwrap exposes both the reason and the cause to errors.Is and errors.As.
func (e *KeyError) Unwrap() []error { return []error{e.Reason, e.Cause} }

var (
	errEmptyKID = errors.New("the token names no kid")
	errNotInSet = errors.New("not in the current key set")
	errClosed   = errors.New("source is closed, no more fetches")
)
