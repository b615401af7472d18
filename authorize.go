package clerkgate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/verifier"
)

// Reasons of a 403: the session is valid but failed a check of Require.
// The body's "reason" names which kind of check, never what it asked for.
const (
	ReasonRoleRequired           = authz.ReasonRoleRequired
	ReasonPermissionRequired     = authz.ReasonPermissionRequired
	ReasonFeatureRequired        = authz.ReasonFeatureRequired
	ReasonPlanRequired           = authz.ReasonPlanRequired
	ReasonReverificationRequired = authz.ReasonReverificationRequired
	ReasonScopeRequired          = authz.ReasonScopeRequired
	ReasonCheckFailed            = authz.ReasonCheckFailed
)

// ValidateChecks reports a list of checks that could never allow a
// request: none at all (as with Clerk's has({}), asking nothing grants
// nothing) or an invalid one. Require and the adapters call it when they
// are built and panic on an error.
func ValidateChecks(checks ...authz.Check) error {
	if len(checks) == 0 {
		return errors.New("clerkgate: Require needs at least one check")
	}
	for _, c := range checks {
		if err := c.Valid(); err != nil {
			return fmt.Errorf("clerkgate: Require: %w", err)
		}
	}
	return nil
}

// authorize is Authorize for a session's claims, for callers inside the
// package that want the *AuthError itself.
func authorize(claims *Claims, checks ...authz.Check) *AuthError {
	if claims == nil {
		return newAuthError(ReasonTokenMissing, false, nil)
	}
	if len(checks) == 0 {
		// has({}) is false: asking nothing grants nothing.
		return forbidden(authz.Func(nil))
	}
	var stepUp *authz.Check
	for i := range checks {
		c := &checks[i]
		if c.Allows((*verifier.Claims)(claims)) {
			continue
		}
		if c.Kind() != authz.KindReverification {
			return forbidden(*c)
		}
		if stepUp == nil {
			stepUp = c
		}
	}
	if stepUp != nil {
		return forbidden(*stepUp)
	}
	return nil
}

func forbidden(c authz.Check) *AuthError {
	return &AuthError{
		Status:         http.StatusForbidden,
		Reason:         c.Reason(),
		Message:        forbiddenMessage(c.Reason()),
		TokenPresented: true,
		Check:          &c,
	}
}

// forbiddenMessage is the fixed text of a 403. Like the 401 texts, it
// echoes nothing: neither the request nor what the check asked for.
func forbiddenMessage(r Reason) string {
	switch r {
	case ReasonRoleRequired:
		return "the session's organization role does not allow this"
	case ReasonPermissionRequired:
		return "the session's organization permissions do not allow this"
	case ReasonFeatureRequired:
		return "the session's plan does not include a feature this needs"
	case ReasonPlanRequired:
		return "the session does not have the plan this needs"
	case ReasonReverificationRequired:
		return "verify your identity again to continue"
	case ReasonScopeRequired:
		return "the caller was not granted the scope this needs"
	}
	return "the session is not allowed to do this"
}

// writeForbidden writes a 403. A failed reverification gets Clerk's
// reverification error, byte for byte as Clerk's JavaScript backends send
// it, so that Clerk's frontend (useReverification) asks the user to verify
// again and retries:
//
//	{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}
//
// Every other check gets the failure contract's shape with the kind of
// check as reason:
//
//	{"error":"forbidden","reason":"role_required","message":"…"}
//
// There is no WWW-Authenticate challenge: the credentials are fine, and
// presenting them again changes nothing.
func writeForbidden(w http.ResponseWriter, e *AuthError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	if e.Check != nil && e.Check.Kind() == authz.KindReverification {
		_, _ = w.Write(e.Check.ReverificationError())
		return
	}
	_ = json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Reason  Reason `json:"reason"`
		Message string `json:"message"`
	}{"forbidden", e.Reason, e.Message})
}

// Authorize reports whether a caller passes every check: nil when it
// does, else the refusal Policy.With would write. A session's claims are
// checked as Clerk's has() checks them; a machine credential passes only
// the Scope checks its scopes grant (roles, permissions, features, plans
// and reverification belong to user sessions, as in Clerk's has() for
// machine tokens). A nil caller, or one without a credential, gets the
// 401 token_missing refusal. A failed check gets a 403 naming it; when
// several fail, a failed role, permission, feature, plan, scope or
// function check is reported before a failed reverification, so that a
// user is never asked to verify again only to be refused anyway.
//
// Most apps use Policy.With. Authorize has no Gate and so reports nothing
// to Config.Observer: after Policy.Authenticate, which reported the
// request as let through, a refusal here goes unheard; Policy.With
// applies checks that are heard (see Observer.Decided). The refusal is
// always an *AuthError (errors.As finds it).
func Authorize(c *Caller, checks ...authz.Check) error {
	return asError(authorizeCaller(c, checks...))
}

// authorizeCaller is Authorize, for callers inside the package.
func authorizeCaller(c *Caller, checks ...authz.Check) *AuthError {
	switch {
	case c == nil:
		return newAuthError(ReasonTokenMissing, false, nil)
	case c.Machine == nil:
		return authorize(c.Session, checks...)
	case len(checks) == 0:
		return forbidden(authz.Func(nil))
	}
	for _, check := range checks {
		if !check.AllowsScopes(c.Scopes()) {
			return forbidden(check)
		}
	}
	return nil
}
