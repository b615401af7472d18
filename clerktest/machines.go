package clerktest

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Machine credentials: machines and their secret keys, M2M tokens (opaque
// and JWT), API keys, and OAuth access tokens (opaque and JWT), with the
// Backend API routes that create, list, revoke and verify them.
//
// Times in answers follow the spec's words for M2M and OAuth tokens
// (milliseconds) and its examples for API keys (seconds), so a client
// that guesses one unit for all of them is caught.

// The machine credential routes.
const (
	RouteCreateAPIKey     Route = "POST /v1/api_keys"
	RouteListAPIKeys      Route = "GET /v1/api_keys"
	RouteRevokeAPIKey     Route = "POST /v1/api_keys/{id}/revoke"
	RouteVerifyAPIKey     Route = "POST /v1/api_keys/verify"
	RouteCreateM2MToken   Route = "POST /v1/m2m_tokens"
	RouteListM2MTokens    Route = "GET /v1/m2m_tokens"
	RouteRevokeM2MToken   Route = "POST /v1/m2m_tokens/{id}/revoke"
	RouteVerifyM2MToken   Route = "POST /v1/m2m_tokens/verify"
	RouteVerifyOAuthToken Route = "POST /v1/oauth_applications/access_tokens/verify"
)

// categoryM2M is the cat Clerk stamps on M2M token JWTs.
const categoryM2M = "cl_B7d4PD333AAA"

// DefaultMachineTokenLifetime is the lifetime of M2M and OAuth tokens
// without CredentialLifetime: a machine's default_token_ttl default.
const DefaultMachineTokenLifetime = time.Hour

// Machine is a machine of the fake instance.
type Machine struct {
	ID string
	// SecretKey authenticates the machine to the M2M token routes.
	SecretKey string
	// Scopes are the machines this machine's tokens may call.
	Scopes []string
}

type credKind int

const (
	credAPIKey credKind = iota
	credM2M
	credOAuth
)

// credential is one stored opaque credential.
type credential struct {
	kind     credKind
	id       string
	secret   string
	subject  string
	name     string
	clientID string
	scopes   []string
	claims   any
	revoked  bool
	reason   *string
	expires  time.Time // zero: never
	created  time.Time
}

// machineStore holds the machine credentials, under its own lock.
type machineStore struct {
	mu       sync.Mutex
	machines map[string]*Machine    // by id
	bySecret map[string]*credential // by the credential itself
	byID     map[string]*credential // by its id
	order    []*credential          // creation order
}

// store locks the machine store and returns it ready for use; callers
// unlock st.mu.
func (s *Server) store() *machineStore {
	st := &s.machines
	st.mu.Lock()
	if st.machines == nil {
		st.machines, st.bySecret, st.byID = map[string]*Machine{}, map[string]*credential{}, map[string]*credential{}
	}
	return st
}

// CredentialOption shapes one machine credential.
type CredentialOption func(*credentialConfig)

type credentialConfig struct {
	lifetime time.Duration
	scopes   []string
	claims   map[string]any
	header   map[string]any
}

// CredentialLifetime sets how long the credential lives from now; a
// negative lifetime makes one that has already expired. API keys live
// forever without it; M2M and OAuth tokens DefaultMachineTokenLifetime.
func CredentialLifetime(d time.Duration) CredentialOption {
	return func(c *credentialConfig) { c.lifetime = d }
}

// CredentialScopes sets the scopes of an API key or OAuth token, or
// replaces a machine's scopes on one M2M token.
func CredentialScopes(scopes ...string) CredentialOption {
	return func(c *credentialConfig) { c.scopes = slices.Clone(scopes) }
}

// CredentialClaims sets custom claims; in a JWT, a nil value removes a
// claim, so tests can forge every shape.
func CredentialClaims(claims map[string]any) CredentialOption {
	return func(c *credentialConfig) { c.claims = claims }
}

// CredentialHeader sets JWT header members (nil removes one).
func CredentialHeader(header map[string]any) CredentialOption {
	return func(c *credentialConfig) { c.header = header }
}

func credentialOpts(opts []CredentialOption) credentialConfig {
	var c credentialConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// CreateMachine adds a machine whose tokens may call the scoped machines.
func (s *Server) CreateMachine(scoped ...string) Machine {
	m := &Machine{ID: newID("mch_"), SecretKey: "ak_" + randomString(32, hexChars), Scopes: slices.Clone(scoped)}
	st := s.store()
	defer st.mu.Unlock()
	st.machines[m.ID] = m
	return *m
}

func (s *Server) addCredential(c *credential, lifetime time.Duration) *credential {
	c.created = s.now()
	if lifetime != 0 {
		c.expires = c.created.Add(lifetime)
	}
	st := s.store()
	defer st.mu.Unlock()
	st.bySecret[c.secret] = c
	st.byID[c.id] = c
	st.order = append(st.order, c)
	return c
}

// CreateAPIKey issues an API key for subject ("user_…", "org_…", "mch_…")
// and returns its id and secret.
func (s *Server) CreateAPIKey(subject, name string, opts ...CredentialOption) (id, secret string) {
	cfg := credentialOpts(opts)
	c := s.addCredential(&credential{kind: credAPIKey, id: "ak_" + randomString(32, hexChars),
		secret: "ak_" + randomString(32, alphaNum), subject: subject, name: name, scopes: nonNilStrings(cfg.scopes),
		claims: mapOrNil(cfg.claims)}, cfg.lifetime)
	return c.id, c.secret
}

// CreateM2MToken issues an opaque M2M token for machineID and returns its
// id and the token.
func (s *Server) CreateM2MToken(machineID string, opts ...CredentialOption) (id, token string) {
	cfg := credentialOpts(opts)
	scopes := cfg.scopes
	if scopes == nil {
		scopes = s.machineScopes(machineID)
	}
	c := s.addCredential(&credential{kind: credM2M, id: "mt_" + randomString(32, hexChars),
		secret: "mt_" + randomString(32, alphaNum), subject: machineID, scopes: nonNilStrings(scopes),
		claims: mapOrNil(cfg.claims)}, or(cfg.lifetime, DefaultMachineTokenLifetime))
	return c.id, c.secret
}

// CreateOAuthToken issues an opaque OAuth access token for userID through
// the OAuth application clientID, and returns its id and the token.
func (s *Server) CreateOAuthToken(userID, clientID string, opts ...CredentialOption) (id, token string) {
	cfg := credentialOpts(opts)
	c := s.addCredential(&credential{kind: credOAuth, id: "oat_" + randomString(32, hexChars),
		secret: "oat_" + randomString(32, alphaNum), subject: userID, clientID: clientID,
		scopes: nonNilStrings(cfg.scopes)}, or(cfg.lifetime, DefaultMachineTokenLifetime))
	return c.id, c.secret
}

// RevokeCredential revokes an API key, opaque M2M token or opaque OAuth
// token by id; it reports whether the id was known.
func (s *Server) RevokeCredential(id string) bool {
	st := s.store()
	defer st.mu.Unlock()
	c := st.byID[id]
	if c != nil {
		c.revoked = true
	}
	return c != nil
}

func (s *Server) machineScopes(id string) []string {
	st := s.store()
	defer st.mu.Unlock()
	if m := st.machines[id]; m != nil {
		return slices.Clone(m.Scopes)
	}
	return nil
}

// M2MJWT mints an M2M token in JWT format for machineID, as Clerk does:
// header cat M2M, typ JWT; claims sub, scopes (space-separated), jti, iat,
// nbf, exp, plus CredentialClaims.
func (s *Server) M2MJWT(machineID string, opts ...CredentialOption) string {
	cfg := credentialOpts(opts)
	scopes := cfg.scopes
	if scopes == nil {
		scopes = s.machineScopes(machineID)
	}
	claims := map[string]any{"sub": machineID, "jti": "mt_" + randomString(32, hexChars), "scopes": strings.Join(scopes, " ")}
	return s.machineJWT(claims, map[string]any{"typ": "JWT", "cat": categoryM2M}, or(cfg.lifetime, DefaultMachineTokenLifetime), cfg)
}

// OAuthJWT mints an OAuth access token in JWT format (RFC 9068): header
// typ at+jwt; claims sub, client_id, scp, jti, iss, iat, nbf, exp.
func (s *Server) OAuthJWT(userID, clientID string, opts ...CredentialOption) string {
	cfg := credentialOpts(opts)
	claims := map[string]any{"sub": userID, "client_id": clientID, "jti": "oat_" + randomString(32, hexChars),
		"scp": nonNilStrings(cfg.scopes), "iss": s.issuer}
	return s.machineJWT(claims, map[string]any{"typ": "at+jwt"}, or(cfg.lifetime, DefaultMachineTokenLifetime), cfg)
}

func (s *Server) machineJWT(claims, header map[string]any, lifetime time.Duration, cfg credentialConfig) string {
	now := s.now()
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(lifetime).Unix()
	if lifetime < 0 {
		claims["iat"] = now.Add(2 * lifetime).Unix()
		claims["nbf"] = now.Add(2 * lifetime).Unix()
	}
	for k, v := range cfg.claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	s.mu.Lock()
	key := s.currentKey()
	s.mu.Unlock()
	header["alg"], header["kid"] = "RS256", key.kid
	for k, v := range cfg.header {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	return sign(key.priv, header, claims)
}

// machineKey returns the machine whose secret key r carries, or nil.
func (s *Server) machineKey(r *http.Request) *Machine {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil
	}
	st := s.store()
	defer st.mu.Unlock()
	for _, m := range st.machines {
		if subtle.ConstantTimeCompare([]byte(key), []byte(m.SecretKey)) == 1 {
			return m
		}
	}
	return nil
}

// authenticateFor lets the M2M token routes take a machine secret key as
// well as the instance's secret key.
func (s *Server) authenticateFor(route string, r *http.Request) *apiError {
	switch route {
	case RouteCreateM2MToken, RouteListM2MTokens, RouteRevokeM2MToken, RouteVerifyM2MToken:
		if s.machineKey(r) != nil {
			return nil
		}
	}
	return s.authenticate(r)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func mapOrNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
