package jwks

import (
	"context"
	"crypto"
	"errors"
)

// Key is one verification key, as the verifier needs it.
type Key struct {
	// ID is the key's kid. Static keys have an empty ID.
	ID string
	// Algorithm is the alg the key declares ("RS256", "RS384", ...), or ""
	// when the JWK left it out. The verifier, not the token, decides which
	// algorithm a key may be used with.
	Algorithm string
	// Public is the public key: *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey. Keys of other kinds are never returned.
	Public crypto.PublicKey
}

// Source gives the verifier the key for a kid. Implementations must be safe
// for concurrent use and must answer from memory whenever they can: Key sits
// on every request's path.
type Source interface {
	// Key returns the key with the given kid. It returns an error wrapping
	// ErrKeyNotFound when the source's keys are known and none has that kid,
	// and one wrapping ErrUnavailable when the keys could not be had at all.
	Key(ctx context.Context, kid string) (Key, error)
}

var (
	// ErrKeyNotFound means the key set was fetched and holds no key with the
	// requested kid. A token naming it cannot be verified: answer 401.
	ErrKeyNotFound = errors.New("jwks: no key with that kid")
	// ErrUnavailable means the key set could not be fetched (network error,
	// timeout, bad status or bad document) and no cached key matched. The
	// fault is ours, not the caller's: answer 503.
	ErrUnavailable = errors.New("jwks: key set unavailable")
)
