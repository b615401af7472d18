package clerktest

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultTokenLifetime is the lifetime (exp − iat) of session tokens,
	// as on Clerk.
	DefaultTokenLifetime = 60 * time.Second
	// notBeforeLead is how far nbf precedes iat in Clerk's tokens.
	notBeforeLead = 10 * time.Second
	// expiredBy is how long ago an Expired() token's exp lies.
	expiredBy = time.Minute
)

type tokenConfig struct {
	expired  bool
	lifetime time.Duration
	issuedAt time.Time
	v2       bool
	pending  bool
	org      *orgMembership
	azp      *string
	iss      *string
	features []string // fea items after the organization's
	plans    []string // pla items
	fva      []int
	claims   map[string]any
	header   map[string]any
	key      *rsa.PrivateKey
	kid      string
}

// mintInput is what a token says about its session, gathered under the lock
// so signing can happen outside it.
type mintInput struct {
	sid, sub string
	org      *orgMembership
	key      *signingKey
	template map[string]any
}

// Token mints a session token for sessionID, signed by the current key. By
// default it is a version 1 token with exactly the claims Clerk puts in
// one — azp, exp, iat, iss, nbf (iat − 10 s), sid, sub — plus the session's
// organization claims, valid for 60 s from the server clock's now.
//
// Token does not require the session to exist or be active: for an unknown
// id the token names it in sid and has no sub (add one with WithClaims), and
// tokens for revoked sessions carry valid signatures while the refresh
// endpoint refuses them. It panics if a WithClaims or WithHeader value cannot be encoded as
// JSON.
//
// Version 1 tokens carry no jti and RS256 signatures are deterministic, so
// under a frozen clock two calls with the same options return the same
// token — and the refresh endpoint, which lets each expired token through
// once, treats them as one. Vary IssuedAt to get distinct tokens.
func (s *Server) Token(sessionID string, opts ...TokenOption) string {
	var tc tokenConfig
	for _, o := range opts {
		if o != nil {
			o.applyToken(&tc)
		}
	}
	in := mintInput{sid: sessionID}
	s.mu.Lock()
	if sess := s.sessions[sessionID]; sess != nil {
		in.sub, in.org = sess.UserID, sess.org
	}
	in.key = s.currentKey()
	s.mu.Unlock()
	return s.mint(in, tc)
}

func (s *Server) mint(in mintInput, tc tokenConfig) string {
	lifetime := cmp.Or(tc.lifetime, s.lifetime, DefaultTokenLifetime)
	iat := tc.issuedAt
	switch {
	case tc.expired:
		iat = s.now().Add(-expiredBy - lifetime)
	case iat.IsZero():
		iat = s.now()
	}
	exp := iat.Add(lifetime)

	claims := map[string]any{
		"exp": exp.Unix(),
		"iat": iat.Unix(),
		"nbf": iat.Add(-notBeforeLead).Unix(),
		"iss": s.issuer,
		"sid": in.sid,
	}
	if in.sub != "" {
		claims["sub"] = in.sub
	}
	if tc.iss != nil {
		claims["iss"] = *tc.iss
	}
	azp := s.defaultAZP
	if tc.azp != nil {
		azp = *tc.azp
	}
	if azp != "" {
		claims["azp"] = azp
	}
	org := in.org
	if tc.org != nil {
		org = tc.org
	}
	if tc.v2 {
		claims["v"] = 2
		claims["jti"] = randomString(20, hexChars)
		claims["sts"] = "active"
		if org != nil {
			o, fea := org.v2Claims()
			claims["o"] = o
			if fea != "" {
				claims["fea"] = fea
			}
		}
	} else if org != nil {
		maps.Copy(claims, org.v1Claims())
	}
	if len(tc.features) > 0 {
		fea, _ := claims["fea"].(string)
		claims["fea"] = strings.Trim(fea+","+strings.Join(tc.features, ","), ",")
	}
	if len(tc.plans) > 0 {
		claims["pla"] = strings.Join(tc.plans, ",")
	}
	if tc.fva != nil {
		claims["fva"] = tc.fva
	}
	if tc.pending {
		claims["sts"] = "pending"
	}
	for k, v := range in.template {
		if _, reserved := claims[k]; !reserved && !reservedClaim(k) {
			claims[k] = v
		}
	}
	for k, v := range tc.claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}

	key, kid := in.key.priv, in.key.kid
	if tc.key != nil {
		key, kid = tc.key, tc.kid
	}
	// As Clerk mints them: cat marks the token class (session token).
	header := map[string]any{"alg": "RS256", "cat": "cl_B7d4PD111AAA", "kid": kid, "typ": "JWT"}
	for k, v := range tc.header {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	return sign(key, header, claims)
}

func reservedClaim(name string) bool {
	switch name {
	case "azp", "exp", "iat", "iss", "nbf", "sid", "sub", "jti", "v":
		return true
	}
	return false
}

// sign encodes a JWS compact serialization: RSASSA-PKCS1-v1_5 with SHA-256
// over base64url(header) "." base64url(payload).
func sign(key *rsa.PrivateKey, header, claims map[string]any) string {
	h, err := json.Marshal(header)
	if err != nil {
		panic(fmt.Sprintf("clerktest: encode token header: %v", err))
	}
	p, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("clerktest: encode token claims: %v", err))
	}
	signingInput := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(fmt.Sprintf("clerktest: sign token: %v", err)) // only for keys too small for SHA-256
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (o *orgMembership) v1Claims() map[string]any {
	c := map[string]any{"org_id": o.id, "org_permissions": append([]string{}, o.perms...)}
	if o.slug != "" {
		c["org_slug"] = o.slug
	}
	if role := strings.TrimPrefix(o.role, "org:"); role != "" {
		c["org_role"] = "org:" + role
	}
	return c
}

// v2Claims encodes the membership in Clerk's compact v2 form. Features and
// permission names are numbered in order of first appearance; bit j of a
// feature's fpm entry grants permission name j. A fea/per/fpm of
// "o:dashboard,o:teams" / "manage,read" / "3,2" thus means
// org:dashboard:manage, org:dashboard:read and org:teams:read.
func (o *orgMembership) v2Claims() (claim map[string]any, fea string) {
	var features, names []string
	var masks []uint64
	featureIdx := map[string]int{}
	nameIdx := map[string]int{}
	for _, p := range o.perms {
		parts := strings.Split(p, ":")
		if len(parts) != 3 || parts[0] != "org" || parts[1] == "" || parts[2] == "" {
			continue
		}
		fi, ok := featureIdx[parts[1]]
		if !ok {
			fi = len(features)
			featureIdx[parts[1]] = fi
			features = append(features, parts[1])
			masks = append(masks, 0)
		}
		ni, ok := nameIdx[parts[2]]
		if !ok {
			if len(names) == 64 {
				continue // beyond what one mask can carry; no real instance has this many
			}
			ni = len(names)
			nameIdx[parts[2]] = ni
			names = append(names, parts[2])
		}
		masks[fi] |= 1 << ni
	}
	claim = map[string]any{"id": o.id}
	if o.slug != "" {
		claim["slg"] = o.slug
	}
	if role := strings.TrimPrefix(o.role, "org:"); role != "" {
		claim["rol"] = role
	}
	if len(names) > 0 {
		fpm := make([]string, len(masks))
		for i, m := range masks {
			fpm[i] = strconv.FormatUint(m, 10)
		}
		claim["per"] = strings.Join(names, ",")
		claim["fpm"] = strings.Join(fpm, ",")
		tagged := make([]string, len(features))
		for i, f := range features {
			tagged[i] = "o:" + f
		}
		fea = strings.Join(tagged, ",")
	}
	return claim, fea
}

// ownToken is a token this server verified: signed by one of its recent
// keys and issued for its Frontend API.
type ownToken struct {
	claims map[string]any
}

func (t ownToken) str(name string) string {
	v, _ := t.claims[name].(string)
	return v
}

// unix reads a NumericDate claim; ok is false when it is absent or not a
// JSON number.
func (t ownToken) unix(name string) (int64, bool) {
	n, ok := t.claims[name].(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	return int64(f), err == nil
}

func (t ownToken) isV2() bool {
	n, ok := t.claims["v"].(json.Number)
	return ok && n.String() == "2"
}

var (
	errMalformed = errors.New("not a compact JWS with a JSON header and payload")
	errKey       = errors.New("not signed by a key of this instance")
	errIssuer    = errors.New("issued for another instance")
)

// verifyOwn checks that raw is an RS256 token signed by one of the server's
// recent keys and issued by its Frontend API. It checks no times.
func (s *Server) verifyOwn(raw string) (ownToken, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ownToken{}, errMalformed
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return ownToken{}, errMalformed
	}
	if header.Alg != "RS256" {
		return ownToken{}, errKey
	}
	pub := s.verificationKey(header.Kid)
	if pub == nil {
		return ownToken{}, errKey
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return ownToken{}, errMalformed
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return ownToken{}, errKey
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil || claims == nil {
		return ownToken{}, errMalformed
	}
	t := ownToken{claims: claims}
	if t.str("iss") != s.issuer {
		return ownToken{}, errIssuer
	}
	return t, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
