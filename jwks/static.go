package jwks

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/clerkgate/clerkgate/internal/rsapkcs1"
)

// Static is a Source holding one RSA public key, the "JWT public key" shown
// in Clerk's dashboard (CLERK_JWT_KEY). It never touches the network, which
// makes verification work in locked-down environments and removes the JWKS
// endpoint from the request path. The price is manual rotation.
type Static struct {
	key Key
}

var _ Source = (*Static)(nil)

// NewStatic parses a PEM-encoded RSA public key, either "PUBLIC KEY"
// (PKIX, what the dashboard shows) or "RSA PUBLIC KEY" (PKCS#1), of at
// least 2048 bits. Environment variables often mangle multi-line values,
// so a PEM squashed onto one line, with its line breaks removed, turned
// into spaces or written as literal \n sequences, is accepted too.
func NewStatic(pemText string) (*Static, error) {
	block, err := decodePEM(pemText)
	if err != nil {
		return nil, err
	}
	var pub any
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("jwks: static key: PEM block is %q, want \"PUBLIC KEY\" or \"RSA PUBLIC KEY\"", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("jwks: static key: %s block does not hold a valid key: %w", block.Type, err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		// Clerk signs session tokens with RS256 only.
		return nil, fmt.Errorf("jwks: static key: got a %T, want an RSA public key", pub)
	}
	if bits := rsaPub.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("jwks: static key: RSA key has %d bits, want at least %d", bits, minRSABits)
	}
	prepared, err := rsapkcs1.NewPublicKey(rsaPub)
	if err != nil {
		return nil, fmt.Errorf("jwks: static key: %w", err)
	}
	return &Static{key: Key{Algorithm: "RS256", Public: rsaPub, rsa: prepared}}, nil
}

// Key returns the static key whatever the kid: the dashboard PEM carries
// no kid to match against, and there is only one key to try. It never
// fails.
func (s *Static) Key(context.Context, string) (Key, error) { return s.key, nil }

// decodePEM finds the first PEM block in text, repairing the ways an
// environment variable tends to mangle one.
func decodePEM(text string) (*pem.Block, error) {
	text = strings.ReplaceAll(text, `\r\n`, "\n")
	text = strings.ReplaceAll(text, `\n`, "\n")
	if block, _ := pem.Decode([]byte(text)); block != nil {
		return block, nil
	}

	// The line breaks are gone (or became spaces): find the armour by hand
	// and let base64 ignore the whitespace that is left.
	const begin, dashes = "-----BEGIN ", "-----"
	i := strings.Index(text, begin)
	if i < 0 {
		return nil, errors.New("jwks: static key: no PEM block (want -----BEGIN PUBLIC KEY-----)")
	}
	rest := text[i+len(begin):]
	j := strings.Index(rest, dashes)
	if j < 0 {
		return nil, errors.New("jwks: static key: unterminated PEM BEGIN line")
	}
	typ, rest := rest[:j], rest[j+len(dashes):]
	end := "-----END " + typ + dashes
	k := strings.Index(rest, end)
	if k < 0 {
		return nil, fmt.Errorf("jwks: static key: PEM block %q has no %s line", typ, end)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(rest[:k]), ""))
	if err != nil {
		return nil, fmt.Errorf("jwks: static key: PEM block %q is not valid base64: %w", typ, err)
	}
	return &pem.Block{Type: typ, Bytes: der}, nil
}
