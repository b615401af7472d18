package verifier

import (
	"context"
	"strings"
	"time"
)

// Machine JWTs: the two classes of machine credential Clerk issues as JWTs,
// signed by the same instance key as session tokens and verified here, with
// the same strict reader, without any network call.
//
//   - An M2M token JWT: its sub names a machine ("mch_…"), its header cat
//     is the M2M category or absent, its typ is JWT or absent.
//   - An OAuth access token JWT (RFC 9068): its header typ is at+jwt or
//     application/at+jwt; cat is not read.
//
// Neither carries an iss or azp that is checked, as in Clerk's SDK; what
// ties them to the instance is the key.

// MachineKind names the class of a machine JWT.
type MachineKind string

const (
	// KindM2M is an M2M token JWT (sub "mch_…").
	KindM2M MachineKind = "m2m_token"
	// KindOAuth is an OAuth access token JWT (typ at+jwt).
	KindOAuth MachineKind = "oauth_token"
)

// catM2M is the header category Clerk stamps on M2M token JWTs.
const catM2M = "cl_B7d4PD333AAA"

// MachineClaims are the verified claims of an M2M or OAuth JWT. The
// Verifier's cache hands the same value to every request with the same
// token, so it is read-only, as Claims are.
type MachineClaims struct {
	Kind MachineKind
	// ID is jti, or "" when absent.
	ID string
	// Subject is sub: a machine ("mch_…") for M2M tokens, a user for
	// OAuth tokens.
	Subject string
	// Scopes are, for M2M tokens, the space-separated "scopes" claim, else
	// aud; for OAuth tokens scp, else the space-separated "scope" claim.
	Scopes []string
	// ClientID is the OAuth application's client_id ("" for M2M tokens).
	ClientID string
	// Audience is aud, as a list.
	Audience []string
	// Expiry, NotBefore and IssuedAt are Unix seconds; 0 when absent
	// (Expiry never is).
	Expiry, NotBefore, IssuedAt int64

	raw string // the payload, as signed
}

// RawJSON returns the payload exactly as signed.
func (c *MachineClaims) RawJSON() []byte { return []byte(c.raw) }

// RawString is RawJSON without the copy.
func (c *MachineClaims) RawString() string { return c.raw }

// ExpiryTime returns exp as a time.
func (c *MachineClaims) ExpiryTime() time.Time { return time.Unix(c.Expiry, 0) }

// SniffMachineJWT tells, without checking the signature, whether token has
// the shape of a machine JWT and of which kind, as Clerk's SDK classifies
// tokens: a payload sub starting "mch_" makes an M2M token, else a header
// typ of at+jwt an OAuth token. It returns "" for anything else (session
// tokens, malformed tokens, opaque strings). The answer only routes the
// token to its verifier; it proves nothing.
func SniffMachineJWT(token string) MachineKind {
	p, h, err := splitMachine(token)
	if err != nil {
		return ""
	}
	var buf [1024]byte
	payload, derr := decodeSegment(buf[:0], p.payload64)
	if derr != nil {
		return ""
	}
	if sub, ok := peekSubject(string(payload)); ok && strings.HasPrefix(sub, "mch_") {
		return KindM2M
	}
	if isAccessTokenType(h.Typ) {
		return KindOAuth
	}
	return ""
}

// SniffMachineJWT is the package's SniffMachineJWT, answered from the
// cache of verified tokens when it holds token, without decoding it. The
// answers agree, because the cache holds only tokens that passed
// verification as one class: a session token only with a sub that is no
// machine's and a typ that is not at+jwt (""), an M2M JWT only with a
// machine's sub (KindM2M), an OAuth JWT only with typ at+jwt and a sub
// that is no machine's (KindOAuth). Like the package's, it proves
// nothing, and it neither counts as a cache hit nor keeps the entry
// cached: the verification it routes the token to rechecks everything
// that can change.
func (v *Verifier) SniffMachineJWT(token string) MachineKind {
	if v.cache != nil {
		if e, ok := v.cache.lru.Peek(token); ok {
			if e.machine != nil {
				return e.machine.Kind
			}
			return ""
		}
	}
	return SniffMachineJWT(token)
}

// VerifyMachine verifies an M2M or OAuth JWT locally: shape and header, its
// kind, algorithm, key, signature, claims, then time. A token of another
// kind (a session token, or an OAuth token where an M2M token is wanted) is
// token_type_invalid. Every failure is an *Error.
func (v *Verifier) VerifyMachine(ctx context.Context, token string, want MachineKind) (*MachineClaims, error) {
	c, err := v.verifyMachine(ctx, token, want)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (v *Verifier) verifyMachine(ctx context.Context, token string, want MachineKind) (*MachineClaims, *Error) {
	if v.cache != nil {
		if c, err, ok := v.lookupMachine(ctx, token, want); ok {
			return c, err
		}
	}
	p, h, err := splitMachine(token)
	if err != nil {
		return nil, err
	}
	switch want {
	case KindM2M:
		if h.catSet && h.Cat != catM2M {
			return nil, fail(ReasonTokenTypeInvalid, "cat is not the M2M token category")
		}
		if h.typSet && h.Typ != "JWT" {
			return nil, fail(ReasonTokenTypeInvalid, "typ %s is not JWT", quoteDetail(h.Typ))
		}
	case KindOAuth:
		if !isAccessTokenType(h.Typ) {
			return nil, fail(ReasonTokenTypeInvalid, "typ %s is not at+jwt", quoteDetail(h.Typ))
		}
	default:
		return nil, fail(ReasonTokenTypeInvalid, "unknown machine token kind %q", want)
	}
	hash, err := hashFor(h.Alg)
	if err != nil {
		return nil, err
	}
	key, err := v.checkSignature(ctx, h.Kid, h.Alg, hash, p.signed, p.sig64)
	if err != nil {
		return nil, err
	}
	payload, derr := decodeSegment(nil, p.payload64)
	if derr != nil {
		return nil, fail(ReasonTokenMalformed, "payload is not base64url: %v", derr)
	}
	c, err := decodeMachineClaims(string(payload), want)
	if err != nil {
		return nil, err
	}
	if err := v.checkMachineTime(c, v.now().Unix()); err != nil {
		return nil, err
	}
	v.rememberMachine(token, h.Kid, key.Public, c)
	return c, nil
}

// checkMachineTime applies the session tokens' time boundaries to a
// machine JWT.
func (v *Verifier) checkMachineTime(c *MachineClaims, now int64) *Error {
	switch {
	case c.Expiry <= now-v.skew:
		return fail(ReasonTokenExpired, "expired at %d, now %d", c.Expiry, now)
	case c.NotBefore > now+v.skew:
		return fail(ReasonTokenNotYetValid, "nbf %d is after now %d", c.NotBefore, now)
	case c.IssuedAt > now+v.skew:
		return fail(ReasonTokenNotYetValid, "iat %d is after now %d", c.IssuedAt, now)
	}
	return nil
}

// splitMachine parses token's shape and header strictly, as parse does,
// but leaves the verdicts on typ and cat to the caller. A cat that is not
// a string is malformed for a machine token.
func splitMachine(token string) (parsed, header, *Error) {
	p, err := split(token)
	if err == nil && p.header.catBad {
		err = fail(ReasonTokenMalformed, "header member cat is not a string")
	}
	return p, p.header, err
}

// peekSubject reads sub from an unverified payload, strictly.
func peekSubject(payload string) (string, bool) {
	r := jsonReader{s: payload}
	if r.peek() != '{' {
		return "", false
	}
	var (
		o   object
		sub string
		ok  bool
	)
	for name, more := r.member(&o); more; name, more = r.member(&o) {
		if name == "sub" {
			sub, ok = r.optStr()
			continue
		}
		r.skip(1)
	}
	r.end()
	return sub, ok && r.err == ""
}

// decodeMachineClaims reads a verified machine payload in one strict pass.
func decodeMachineClaims(payload string, kind MachineKind) (*MachineClaims, *Error) {
	d := claimDecoder{r: jsonReader{s: payload}}
	if d.r.peek() != '{' {
		return nil, fail(ReasonTokenMalformed, "payload is not a JSON object")
	}
	c := &MachineClaims{Kind: kind, raw: payload}
	var (
		o                 object
		hasExp            bool
		scopes, scope     string
		hasScopes, hasScp bool
		scp               []string
	)
	for name, ok := d.r.member(&o); ok; name, ok = d.r.member(&o) {
		switch name {
		case "sub":
			c.Subject = d.str(name)
		case "exp":
			c.Expiry, hasExp = d.int(name), true
		case "nbf":
			c.NotBefore = d.int(name)
		case "iat":
			c.IssuedAt = d.int(name)
		case "jti":
			c.ID = d.str(name)
		case "aud":
			c.Audience = d.audience()
		case "scopes":
			scopes, hasScopes = d.str(name), true
		case "scope":
			scope = d.str(name)
		case "scp":
			scp, hasScp = d.strs(name), true
		case "client_id":
			c.ClientID = d.str(name)
		default:
			d.r.skip(1)
		}
	}
	if err := d.done(hasExp, c.Subject); err != nil {
		return nil, err
	}
	switch kind {
	case KindM2M:
		if !strings.HasPrefix(c.Subject, "mch_") {
			return nil, fail(ReasonTokenTypeInvalid, "sub %s is not a machine", quoteDetail(c.Subject))
		}
		c.ClientID = ""
		switch {
		case hasScopes:
			c.Scopes = strings.Fields(scopes)
		default:
			c.Scopes = c.Audience
		}
	case KindOAuth:
		if strings.HasPrefix(c.Subject, "mch_") {
			return nil, fail(ReasonTokenTypeInvalid, "sub %s is a machine", quoteDetail(c.Subject))
		}
		switch {
		case hasScp:
			c.Scopes = scp
		default:
			c.Scopes = strings.Fields(scope)
		}
	}
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	return c, nil
}

// audience reads aud: a string or an array of strings.
func (d *claimDecoder) audience() []string {
	if d.r.peek() == '"' {
		return []string{d.r.str()}
	}
	return d.strs("aud")
}
