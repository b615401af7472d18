package jwks

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/clerkgate/clerkgate/internal/rsapkcs1"
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

	// rsa is Public prepared for verification, built once when the key
	// set is loaded; nil for other kinds of keys and for Keys built
	// outside this package.
	rsa *rsapkcs1.PublicKey
}

// NewKey makes a Key for a Source of your own, with the checks Remote
// applies to every key it fetches: RSA keys of 2048 bits or more with a
// sane exponent, ECDSA keys on P-256, P-384 or P-521, Ed25519 keys. RSA
// keys are prepared for verification once, here; a Key built as a struct
// literal still works but pays for that on every token.
func NewKey(kid, alg string, pub crypto.PublicKey) (Key, error) {
	k, _, why := checkedKey(kid, alg, pub)
	if why != "" {
		return Key{}, fmt.Errorf("jwks: key %q: %s", kid, why)
	}
	return k, nil
}

// ErrSignature is returned by VerifyPKCS1v15 for a signature that does
// not verify.
var ErrSignature = errors.New("jwks: signature does not verify")

// VerifyPKCS1v15 checks an RSASSA-PKCS1-v1_5 signature over digest, a
// SHA-256, SHA-384 or SHA-512 hash as h says, against the key. Keys from
// Remote and Static were prepared when their set was loaded, which makes
// this about a quarter cheaper than rsa.VerifyPKCS1v15; a Key built by hand
// is prepared on each call. RSA keys under 2048 bits are refused, however
// the Key was made. It does not check that the key allows h; that is the
// caller's policy.
func (k Key) VerifyPKCS1v15(h crypto.Hash, digest, sig []byte) error {
	prepared := k.rsa
	// Public is an exported field: a copy of a Key whose Public was
	// replaced must not keep verifying against the old prepared key.
	if prepared == nil || prepared.Public() != k.Public {
		pub, ok := k.Public.(*rsa.PublicKey)
		if !ok {
			return errors.New("jwks: key is not an RSA public key")
		}
		var err error
		if prepared, err = rsapkcs1.NewPublicKey(pub); err != nil {
			return fmt.Errorf("jwks: key %q: %w", k.ID, err)
		}
	}
	if prepared.Verify(h, digest, sig) != nil {
		return ErrSignature
	}
	return nil
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
	// ErrUnauthorized means the key endpoint answered 401 or 403: it
	// refused the credentials the fetch carried (for NewBackendAPI, the
	// secret key). Waiting will not mend it; the configuration must
	// change. Fetch errors wrap it, and so do the KeyErrors and Check
	// errors that carry them.
	ErrUnauthorized = errors.New("jwks: the key endpoint refused the credentials")
)
