// Package webhooks verifies the webhooks Clerk sends, as the Standard
// Webhooks scheme defines them (Clerk delivers through Svix), and reads
// their events.
//
// A webhook carries three headers, svix-id, svix-timestamp and
// svix-signature (or the same with the webhook- prefix). The signature is
// an HMAC-SHA256 of "<id>.<timestamp>.<raw body>", keyed by the base64
// part of the endpoint's signing secret ("whsec_…"), in base64, after
// "v1,"; the header may list several, separated by spaces, while the
// secret is rotated. A webhook is accepted when one of them matches and
// its timestamp is within five minutes of now.
//
//	v, err := webhooks.NewVerifier(os.Getenv("CLERK_WEBHOOK_SIGNING_SECRET"), webhooks.Options{})
//	...
//	func(w http.ResponseWriter, r *http.Request) {
//		event, err := v.VerifyRequest(r)
//		if err != nil {
//			http.Error(w, "invalid webhook", webhooks.Status(err))
//			return
//		}
//		switch event.Type { case webhooks.UserDeleted: … }
//	}
//
// The package uses the standard library only, and is stricter than the
// scheme's reference verifier where input is ambiguous: see Verify.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors that Verify and VerifyRequest wrap: find them with errors.Is.
var (
	// ErrMissingHeader: one of the id, timestamp and signature headers is
	// absent or empty.
	ErrMissingHeader = errors.New("webhooks: missing header")
	// ErrAmbiguousHeaders: a header is repeated, or the svix- and webhook-
	// forms of one disagree, so there is no single message to verify.
	ErrAmbiguousHeaders = errors.New("webhooks: ambiguous headers")
	// ErrInvalidID: the message id is not printable ASCII without dots of
	// at most 256 bytes.
	ErrInvalidID = errors.New("webhooks: invalid message id")
	// ErrInvalidTimestamp: the timestamp is not Unix seconds in decimal
	// digits.
	ErrInvalidTimestamp = errors.New("webhooks: invalid timestamp")
	// ErrTimestampOutOfTolerance: the timestamp is further than the
	// tolerance from now, in the past (a replay, or a long-delayed
	// delivery) or in the future.
	ErrTimestampOutOfTolerance = errors.New("webhooks: timestamp outside tolerance")
	// ErrInvalidSignatureHeader: the signature header is not a list of
	// "<version>,<signature>" entries separated by single spaces, or a v1
	// signature is not the base64 of 32 bytes.
	ErrInvalidSignatureHeader = errors.New("webhooks: invalid signature header")
	// ErrNoMatchingSignature: no v1 signature matches the message: a
	// wrong secret, or a tampered id, timestamp or body.
	ErrNoMatchingSignature = errors.New("webhooks: no matching signature")
	// ErrBodyTooLarge: the body is larger than MaxBodySize.
	ErrBodyTooLarge = errors.New("webhooks: body too large")
	// ErrInvalidSecret: the signing secret is not "whsec_" and the base64
	// of at least 16 bytes.
	ErrInvalidSecret = errors.New("webhooks: invalid signing secret")
	// ErrInvalidEvent: the verified body is not a Clerk event.
	ErrInvalidEvent = errors.New("webhooks: invalid event")
)

const (
	// MaxBodySize is the largest body accepted: 1 MiB. Clerk's events are
	// a few kilobytes.
	MaxBodySize = 1 << 20
	// DefaultTolerance is how far a timestamp may be from now: five
	// minutes, as the Standard Webhooks scheme sets.
	DefaultTolerance = 5 * time.Minute

	maxIDLen         = 256
	maxSignatureLen  = 4096
	maxSignatures    = 16
	secretPrefix     = "whsec_"
	minSecretBytes   = 16
	signatureVersion = "v1"
)

// Options tunes a Verifier. Zero values mean the defaults.
type Options struct {
	// Clock is the time timestamps are checked against. Default time.Now.
	Clock func() time.Time
	// Tolerance is how far a timestamp may be from the clock, either way.
	// Default DefaultTolerance.
	Tolerance time.Duration
}

// Verifier checks webhooks signed with one secret. It is safe for
// concurrent use.
type Verifier struct {
	key       []byte
	now       func() time.Time
	tolerance time.Duration
}

// NewVerifier returns a Verifier for the signing secret, "whsec_" and the
// base64 of the key (as Clerk's dashboard shows it; the prefix may be left
// out).
func NewVerifier(secret string, opts Options) (*Verifier, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	if opts.Tolerance < 0 {
		return nil, errors.New("webhooks: Tolerance must not be negative")
	}
	v := &Verifier{key: key, now: opts.Clock, tolerance: opts.Tolerance}
	if v.now == nil {
		v.now = time.Now
	}
	if v.tolerance == 0 {
		v.tolerance = DefaultTolerance
	}
	return v, nil
}

// ParseSecret returns the key of a signing secret.
func ParseSecret(secret string) ([]byte, error) {
	b64 := strings.TrimPrefix(secret, secretPrefix)
	key, err := base64.StdEncoding.Strict().DecodeString(b64)
	switch {
	case secret == "":
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	case err != nil:
		// The secret itself is never quoted.
		return nil, fmt.Errorf("%w: not %s and standard base64 (%d characters)", ErrInvalidSecret, secretPrefix, len(secret))
	case len(key) < minSecretBytes:
		return nil, fmt.Errorf("%w: a %d-byte key; at least %d expected", ErrInvalidSecret, len(key), minSecretBytes)
	}
	return key, nil
}

// Message is what the headers of a verified webhook say.
type Message struct {
	// ID is the message id (svix-id), the same on every delivery attempt
	// of one message: deduplicate by it.
	ID string
	// Timestamp is when this attempt was signed (svix-timestamp).
	Timestamp time.Time
}

// Verify checks a webhook's headers and raw body.
//
// Where the scheme's reference verifier (the standardwebhooks npm package)
// reads ambiguous input leniently, Verify refuses it: a header given twice
// or in both svix- and webhook- forms with different values, a timestamp
// that is anything but decimal digits without leading zeros, an id with a
// dot (which would blur where the id ends in the signed content) or
// outside printable ASCII, and a signature header that does not split
// cleanly into "<version>,<signature>" entries. Entries of other versions
// than v1 are skipped, as the scheme asks.
func (v *Verifier) Verify(h http.Header, body []byte) (Message, error) {
	if len(body) > MaxBodySize {
		return Message{}, ErrBodyTooLarge
	}
	hd, err := ParseHeaders(h)
	if err != nil {
		return Message{}, err
	}
	ts, err := ParseTimestamp(hd.Timestamp)
	if err != nil {
		return Message{}, err
	}
	now := v.now().Unix()
	if d := time.Duration(now-ts) * time.Second; d > v.tolerance || -d > v.tolerance {
		return Message{}, fmt.Errorf("%w: %d s from now, more than %s", ErrTimestampOutOfTolerance, now-ts, v.tolerance)
	}
	sigs, err := ParseSignatures(hd.Signature)
	if err != nil {
		return Message{}, err
	}
	want := Sign(v.key, hd.ID, hd.Timestamp, body)
	matched := 0
	for _, s := range sigs {
		// Every entry is compared, so the time taken says nothing about
		// which one matched.
		matched |= boolInt(hmac.Equal(s[:], want[:]))
	}
	if matched == 0 {
		return Message{}, ErrNoMatchingSignature
	}
	return Message{ID: hd.ID, Timestamp: time.Unix(ts, 0)}, nil
}

// VerifyRequest reads the request's body, at most MaxBodySize bytes of
// it, verifies it and reads the event. It does not close the body.
func (v *Verifier) VerifyRequest(r *http.Request) (*Event, error) {
	body, err := ReadBody(r.Body)
	if err != nil {
		return nil, err
	}
	msg, err := v.Verify(r.Header, body)
	if err != nil {
		return nil, err
	}
	return ParseEvent(msg, body)
}

// ReadBody reads a body of at most MaxBodySize bytes; past that it stops
// reading and returns ErrBodyTooLarge.
func ReadBody(body io.Reader) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, MaxBodySize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("webhooks: reading the body: %w", err)
	case len(b) > MaxBodySize:
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// Status is the HTTP status a webhook endpoint answers an error of this
// package with: 413 for ErrBodyTooLarge, 400 for the others.
func Status(err error) int {
	if errors.Is(err, ErrBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Headers are a webhook's three headers, as ParseHeaders found them.
type Headers struct {
	ID, Timestamp, Signature string
}

// headerNames are the svix- and webhook- forms of each header, in the
// canonical form net/http keeps them in.
var headerNames = [3][2]string{
	{"Svix-Id", "Webhook-Id"},
	{"Svix-Timestamp", "Webhook-Timestamp"},
	{"Svix-Signature", "Webhook-Signature"},
}

// ParseHeaders finds the three headers in either form. Each must be given
// once; given in both forms, both must be equal. The id must be printable
// ASCII without dots, at most 256 bytes.
func ParseHeaders(h http.Header) (Headers, error) {
	var got [3]string
	for i, names := range headerNames {
		for _, name := range names {
			vals := h[name]
			switch {
			case len(vals) == 0:
				continue
			case len(vals) > 1:
				return Headers{}, fmt.Errorf("%w: %s is given %d times", ErrAmbiguousHeaders, name, len(vals))
			case got[i] != "" && got[i] != vals[0]:
				return Headers{}, fmt.Errorf("%w: %s and %s differ", ErrAmbiguousHeaders, names[0], names[1])
			}
			got[i] = vals[0]
		}
		if got[i] == "" {
			return Headers{}, fmt.Errorf("%w: %s (or %s)", ErrMissingHeader, names[0], names[1])
		}
	}
	hd := Headers{ID: got[0], Timestamp: got[1], Signature: got[2]}
	if len(hd.ID) > maxIDLen {
		return Headers{}, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidID, len(hd.ID), maxIDLen)
	}
	for i := 0; i < len(hd.ID); i++ {
		if c := hd.ID[i]; c < 0x21 || c > 0x7e || c == '.' {
			return Headers{}, fmt.Errorf("%w: byte %d is %q", ErrInvalidID, i, c)
		}
	}
	return hd, nil
}

// ParseTimestamp reads Unix seconds: decimal digits, no sign, spaces or
// leading zeros, at most 12 of them (until the year 33658).
func ParseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > 12 || (s[0] == '0' && len(s) > 1) {
		return 0, fmt.Errorf("%w: %q", ErrInvalidTimestamp, clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %q", ErrInvalidTimestamp, clip(s))
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// ParseSignatures reads a signature header: entries "<version>,<signature>"
// separated by single spaces, at most 16 of them. It returns the v1
// signatures; entries of other versions are skipped (the scheme allows
// more than one kind), but must still have the shape.
func ParseSignatures(header string) ([][sha256.Size]byte, error) {
	if len(header) > maxSignatureLen {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidSignatureHeader, len(header), maxSignatureLen)
	}
	var out [][sha256.Size]byte
	n := 0
	for entry := range strings.SplitSeq(header, " ") {
		if n++; n > maxSignatures {
			return nil, fmt.Errorf("%w: more than %d entries", ErrInvalidSignatureHeader, maxSignatures)
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version == "" || sig == "" || strings.Contains(sig, ",") {
			return nil, fmt.Errorf("%w: entry %d is not \"<version>,<signature>\"", ErrInvalidSignatureHeader, n)
		}
		if version != signatureVersion {
			continue
		}
		// 44 characters without padding would decode to 33 bytes: the
		// buffer has room for them, and the length check refuses them.
		var buf [sha256.Size + 1]byte
		if base64.StdEncoding.EncodedLen(sha256.Size) != len(sig) {
			return nil, fmt.Errorf("%w: entry %d: a v1 signature is 44 characters of base64", ErrInvalidSignatureHeader, n)
		}
		if k, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(sig)); err != nil || k != sha256.Size {
			return nil, fmt.Errorf("%w: entry %d: a v1 signature is 44 characters of base64", ErrInvalidSignatureHeader, n)
		}
		out = append(out, [sha256.Size]byte(buf[:sha256.Size]))
	}
	return out, nil
}

// Sign returns the v1 signature of a message: HMAC-SHA256 keyed by key
// over "<id>.<timestamp>.<body>".
func Sign(key []byte, id, timestamp string, body []byte) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// SignatureHeader returns the signature header value for a message signed
// with each of the secrets, for senders and tests: "v1,<base64>", space
// separated.
func SignatureHeader(id string, timestamp time.Time, body []byte, secrets ...string) (string, error) {
	ts := strconv.FormatInt(timestamp.Unix(), 10)
	parts := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		key, err := ParseSecret(secret)
		if err != nil {
			return "", err
		}
		sig := Sign(key, id, ts, body)
		parts = append(parts, signatureVersion+","+base64.StdEncoding.EncodeToString(sig[:]))
	}
	return strings.Join(parts, " "), nil
}

// NewRequest returns a signed POST of body to url, with the svix- headers
// Clerk sends: what a test of a webhook endpoint delivers.
func NewRequest(ctx context.Context, url, secret, id string, timestamp time.Time, body []byte) (*http.Request, error) {
	sig, err := SignatureHeader(id, timestamp, body, secret)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Svix-Id", id)
	r.Header.Set("Svix-Timestamp", strconv.FormatInt(timestamp.Unix(), 10))
	r.Header.Set("Svix-Signature", sig)
	return r, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
