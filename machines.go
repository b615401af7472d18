package clerkgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/machine"
	"github.com/clerkgate/clerkgate/verifier"
)

// MachineConfig configures machine credentials (Config.Machine). Its zero
// value is right for most apps.
type MachineConfig struct {
	// SecretKey is a machine secret key (env CLERK_MACHINE_SECRET_KEY).
	// When set, opaque M2M tokens are verified with it instead of the
	// instance's secret key, so only tokens granted to that machine pass;
	// M2M JWTs pass only when granted to a machine Audience names, so set
	// Audience to this machine's id ("mch_…") too.
	SecretKey string
	// Audience is Clerk's audience option for machine JWTs: an OAuth JWT
	// must carry an aud naming one of these, and an M2M JWT's aud, when it
	// has one, must name one. With SecretKey set, an M2M JWT must also be
	// granted to one of them (its scopes, else its aud, name the machines
	// it may call), as opaque ones are; without Audience, M2M JWTs are then
	// refused. Refusals are claims_invalid, 401.
	Audience []string
	// MaxAge is the longest an opaque credential (API key, opaque M2M or
	// OAuth token) is trusted without asking Clerk again: the worst-case
	// delay before a revocation made elsewhere takes effect here. Default
	// 60 s; never past the credential's own expiry.
	MaxAge time.Duration
	// RefusalAge is how long Clerk's "unknown", "revoked" or "expired"
	// answers for an opaque credential are remembered. Default 10 s.
	RefusalAge time.Duration
	// CacheSize bounds how many opaque credentials are remembered.
	// Default 10,000.
	CacheSize int
	// NewPerSecond and NewBurst bound each client's Backend API calls for
	// opaque credentials this process has never seen pass (default 1 per
	// second, bursts of 10, per client IP address as TrustedProxies
	// reads it; all clients together at most 50 per second, bursts of
	// 100): past them such credentials are answered 503 with Retry-After,
	// without a call, while known ones are served as usual. A credential
	// Clerk confirms gives its client the call back.
	NewPerSecond float64
	NewBurst     int
}

// Reasons of machine credential refusals.
const (
	// ReasonTokenInvalid: Clerk does not know the opaque credential.
	ReasonTokenInvalid Reason = "token_invalid"
	// ReasonTokenRevoked: Clerk says the credential was revoked.
	ReasonTokenRevoked Reason = "token_revoked"
	// ReasonMachineUnavailable: the credential could not be verified now
	// (the Backend API did not answer, or too many new credentials arrived
	// at once). 503 with Retry-After; the credential may be fine.
	ReasonMachineUnavailable Reason = "machine_auth_unavailable"
)

// machineAuth is a Gate's machine credential state.
type machineAuth struct {
	client *machine.Client   // nil without a secret key of any kind
	cache  *machine.Verifier // nil with client
	accept acceptSet         // Config.AcceptTokens
	aud    machine.Audience  // Machine.Audience, for machine JWTs
}

func newMachineAuth(cfg Config, g *Gate) (*machineAuth, error) {
	m := &machineAuth{}
	var err error
	if m.accept, err = newAcceptSet(cfg.AcceptTokens); err != nil {
		return nil, err
	}
	mc := cfg.Machine
	for _, a := range mc.Audience {
		if strings.TrimSpace(a) != a || a == "" {
			return nil, fmt.Errorf("clerkgate: Machine.Audience: %q is empty or has surrounding spaces", a)
		}
	}
	m.aud = machine.Audience{Values: mc.Audience, ThisMachine: mc.SecretKey != ""}
	if cfg.SecretKey == "" && mc.SecretKey == "" {
		return m, nil
	}
	// Revocations through Gate.Machines reach this Gate: its cached
	// verdict is forgotten, so the credential is refused here at once.
	m.client, err = machine.NewClient(machine.Config{SecretKey: cfg.SecretKey, MachineSecretKey: mc.SecretKey,
		APIURL: cfg.APIURL, HTTPClient: cfg.HTTPClient, OnRevoked: m.forget})
	if err != nil {
		return nil, fmt.Errorf("clerkgate: %w", err)
	}
	m.cache, err = machine.NewVerifier(machine.VerifierConfig{Client: m.client, MaxAge: mc.MaxAge,
		RefusalAge: mc.RefusalAge, CacheSize: mc.CacheSize, Timeout: g.refreshAfter, Clock: g.now,
		Limiter: fairshare.New(fairshare.Config{PerSecond: orDefault(mc.NewPerSecond, machine.DefaultNewPerSecond),
			Burst: orDefault(mc.NewBurst, machine.DefaultNewBurst), Global: g.unseen, Clock: g.now})})
	if err != nil {
		return nil, fmt.Errorf("clerkgate: %w", err)
	}
	return m, nil
}

// acceptSet is the token types a route accepts.
type acceptSet struct{ session, m2m, apiKey, oauth bool }

func newAcceptSet(types []TokenType) (acceptSet, error) {
	var a acceptSet
	if len(types) == 0 {
		a.session = true
	}
	for _, t := range types {
		switch t {
		case SessionToken:
			a.session = true
		case M2MToken:
			a.m2m = true
		case APIKey:
			a.apiKey = true
		case OAuthToken:
			a.oauth = true
		case AnyToken:
			a = acceptSet{true, true, true, true}
		default:
			return a, fmt.Errorf("clerkgate: unknown token type %q", t)
		}
	}
	return a, nil
}

func (a acceptSet) has(t TokenType) bool {
	switch t {
	case SessionToken:
		return a.session
	case M2MToken:
		return a.m2m
	case APIKey:
		return a.apiKey
	case OAuthToken:
		return a.oauth
	}
	return false
}

var errEmptyBearer = errors.New("clerkgate: empty bearer token")

func typeNotAccepted(typ TokenType) *AuthError {
	e := newAuthError(ReasonTokenTypeInvalid, true, fmt.Errorf("clerkgate: a %s is not accepted here", typ))
	e.Message = "this route does not accept this type of token"
	return e
}

// refuseOpaqueMachine is Authenticate's guard: an opaque machine
// credential on a session route is refused by type, not as a malformed
// JWT, and costs nothing.
func refuseOpaqueMachine(token string) *AuthError {
	if machine.IsOpaque(token) {
		return typeNotAccepted(machine.Classify(token))
	}
	return nil
}

// verifyMachine verifies a machine credential: JWTs locally, opaque ones
// through the cache and the Backend API, on the share of the client that
// client names. The Caller is the request's own.
func (g *Gate) verifyMachine(ctx context.Context, client func() string, typ TokenType, token string) (*Caller, *AuthError) {
	if !machine.IsOpaque(token) {
		kind := verifier.KindM2M
		if typ == OAuthToken {
			kind = verifier.KindOAuth
		}
		c, err := g.verifier.VerifyMachine(ctx, token, kind)
		if err != nil {
			return nil, machineError(verifier.ReasonOf(err), err)
		}
		if err := g.machines.aud.Check(c); err != nil {
			return nil, machineError(ReasonClaimsInvalid, err)
		}
		m := newMachineCaller(typ)
		machine.FromJWTInto(&m.id, m.scopes[:], c)
		return &m.caller, nil
	}
	if g.machines.cache == nil {
		g.log.Error("clerkgate: an opaque machine credential needs Config.SecretKey (or Machine.SecretKey for M2M tokens) to be verified")
		return nil, machineError(ReasonMachineUnavailable, errors.New("clerkgate: no secret key to verify opaque credentials"))
	}
	id, err := g.machines.cache.VerifyFor(ctx, client(), token)
	switch {
	case err == nil:
		// The cache's Identity is every request's with this credential:
		// the handler gets its own (TestHandlersCannotChangeAnotherCallersIdentity).
		m := newMachineCaller(typ)
		id.CloneInto(&m.id, m.scopes[:])
		return &m.caller, nil
	case errors.Is(err, machine.ErrInvalidInput):
		return nil, machineError(ReasonTokenMalformed, err)
	case errors.Is(err, machine.ErrNotFound):
		return nil, machineError(ReasonTokenInvalid, err)
	case errors.Is(err, machine.ErrRevoked):
		return nil, machineError(ReasonTokenRevoked, err)
	case errors.Is(err, machine.ErrExpired):
		return nil, machineError(ReasonTokenExpired, err)
	case errors.Is(err, machine.ErrBusy):
		e := machineError(ReasonMachineUnavailable, err)
		e.RetryAfter = time.Second
		return nil, e
	}
	var outage *machine.UnavailableError
	if errors.As(err, &outage) {
		e := machineError(ReasonMachineUnavailable, err)
		e.RetryAfter = max(time.Second, outage.RetryAfter.Round(time.Second))
		if outage.Err == nil {
			// Held after a failed call, which was logged: once per
			// outage window, not once per request.
			return nil, e
		}
		g.log.Warn("clerkgate: machine credential verification failed; holding calls", "type", string(typ), "err", outage.Err, "retry_after", outage.RetryAfter)
		return nil, e
	}
	// The error names the operation and status, never the credential.
	g.log.Warn("clerkgate: machine credential verification failed", "type", string(typ), "err", err)
	return nil, machineError(ReasonMachineUnavailable, err)
}

// machineRetryAfter is what a 503 for a machine credential asks clients
// to wait.
const machineRetryAfter = 5 * time.Second

func machineError(reason Reason, cause error) *AuthError {
	e := newAuthError(reason, true, cause)
	switch reason {
	case ReasonTokenInvalid:
		e.Message = "the credential is not known to Clerk"
	case ReasonTokenRevoked:
		e.Message = "the credential has been revoked"
	case ReasonTokenExpired:
		e.Message = "the credential has expired"
	case ReasonTokenMalformed:
		e.Message = "the credential is malformed"
	case ReasonMachineUnavailable:
		e.Status, e.RetryAfter = http.StatusServiceUnavailable, machineRetryAfter
		e.Message = "the credential cannot be verified right now; try again shortly"
	default:
		e.Message = strings.ReplaceAll(e.Message, "session token", "token")
	}
	return e
}

// Machines returns the Backend API client for machine credentials
// (create, list and revoke M2M tokens and API keys), or nil when the Gate
// has no secret key. Its revocations reach the Gate through a hook, as
// Sessions' do: a revoked API key or opaque M2M token is refused by this
// process from the next request on. Other processes keep accepting it
// until their cached verdict lapses (MachineConfig.MaxAge).
func (g *Gate) Machines() *machine.Client { return g.machines.client }

// forget drops the cached verdict for a revoked credential id.
func (m *machineAuth) forget(id string) {
	if m.cache != nil {
		m.cache.ForgetID(id)
	}
}

// machineStats reports the opaque credential cache's counters.
func (g *Gate) machineStats() machine.Stats {
	if g.machines.cache == nil {
		return machine.Stats{}
	}
	return g.machines.cache.Stats()
}
