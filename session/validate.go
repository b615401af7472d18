package session

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clerkgate/clerkgate/internal/backendapi"
)

// maxSegment bounds ids and template names. Clerk ids are about 30 bytes;
// anything far longer is a caller passing the wrong value (a whole token,
// say), and it should not travel in a URL.
const maxSegment = 256

// checkSegment refuses a value that will become one URL path segment unless
// it is plainly an identifier. The ids often come from token claims or user
// input; a "/", "..", "?" or "#" in them could steer the request to a
// different endpoint (sess_x/../../users/… would reach the users API with
// our secret key), and "%" could smuggle such characters past a layer
// that decodes once more. Escaping alone is not enough, because proxies and
// servers disagree on how they unescape, so such values are refused outright;
// what remains is still path-escaped when the URL is built.
func checkSegment(what, v string) error {
	if v == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidInput, what)
	}
	if len(v) > maxSegment {
		return fmt.Errorf("%w: %s is %d bytes long, want at most %d", ErrInvalidInput, what, len(v), maxSegment)
	}
	if v == "." || strings.Contains(v, "..") {
		return fmt.Errorf("%w: %s %q contains a dot segment", ErrInvalidInput, what, truncate(v))
	}
	for i, r := range v {
		switch {
		case r == utf8.RuneError:
			return fmt.Errorf("%w: %s %q is not valid UTF-8 at byte %d", ErrInvalidInput, what, truncate(v), i)
		case r == '/' || r == '\\' || r == '?' || r == '#' || r == '%':
			return fmt.Errorf("%w: %s %q must not contain %q", ErrInvalidInput, what, truncate(v), r)
		case unicode.IsSpace(r) || !unicode.IsPrint(r):
			return fmt.Errorf("%w: %s %q must not contain whitespace or control characters", ErrInvalidInput, what, truncate(v))
		}
	}
	return nil
}

// truncate shortens a value echoed in an error message.
func truncate(s string) string { return backendapi.Truncate(s) }
