// Package authz answers "may this session do this?" as Clerk's has() does.
//
// A Check is one question: an organization role or permission, a billing
// feature or plan, a recent reverification (step-up), a machine scope, or
// a function of the claims. Allows evaluates it against a verified
// session's claims with the semantics of has() in Clerk's JavaScript SDKs
// (@clerk/shared createCheckAuthorization): "org:" prefixes, organization
// and user scopes, v1 and v2 tokens, and fail-closed reverification on the
// fva claim.
//
//	admin := authz.Role("org:admin")
//	if !admin.Allows(claims) { … }
//
//	stepUp := authz.Reverification(authz.Strict) // second factor within 10 min
//	if !stepUp.Allows(claims) {
//		w.WriteHeader(http.StatusForbidden)
//		w.Write(stepUp.ReverificationError()) // what Clerk's frontend expects
//	}
//
// The package holds no HTTP code: clerkgate.Policy.With and the adapters
// turn a failed check into a 403.
package authz

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/clerkgate/clerkgate/verifier"
)

// Kind is what a Check asks about.
type Kind int

// The kinds of check.
const (
	KindRole Kind = iota + 1
	KindPermission
	KindFeature
	KindPlan
	KindReverification
	KindScope
	KindFunc
)

var kindNames = [...]string{"", "role", "permission", "feature", "plan", "reverification", "scope", "func"}

func (k Kind) String() string {
	if k <= 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Reasons a check refuses with, one per kind: the stable, machine-readable
// cause of a 403. They share the verifier's Reason type, so errors.Is
// works on clerkgate's AuthError.
const (
	ReasonRoleRequired           verifier.Reason = "role_required"
	ReasonPermissionRequired     verifier.Reason = "permission_required"
	ReasonFeatureRequired        verifier.Reason = "feature_required"
	ReasonPlanRequired           verifier.Reason = "plan_required"
	ReasonReverificationRequired verifier.Reason = "reverification_required"
	ReasonScopeRequired          verifier.Reason = "scope_required"
	ReasonCheckFailed            verifier.Reason = "check_failed"
)

// Level is how much of the sign-in a reverification asks the user to
// repeat.
type Level string

// Clerk's reverification levels.
const (
	// FirstFactor: the first factor (password, email code, …) was verified
	// recently.
	FirstFactor Level = "first_factor"
	// SecondFactor: the second factor was verified recently, or the first
	// when the user has no second factor.
	SecondFactor Level = "second_factor"
	// MultiFactor: both factors were verified recently, or the first when
	// the user has no second factor.
	MultiFactor Level = "multi_factor"
)

// Preset is one of Clerk's named reverification requirements.
type Preset string

// Clerk's presets, with the level and minutes each stands for.
const (
	StrictMFA Preset = "strict_mfa" // MultiFactor within 10 minutes
	Strict    Preset = "strict"     // SecondFactor within 10 minutes
	Moderate  Preset = "moderate"   // SecondFactor within 60 minutes
	Lax       Preset = "lax"        // SecondFactor within 1,440 minutes (a day)
)

type presetRule struct {
	level   Level
	minutes int
}

// presets maps Clerk's preset names to what they require (TYPES_TO_OBJECTS
// in @clerk/shared).
func presetFor(p Preset) (presetRule, bool) {
	switch p {
	case StrictMFA:
		return presetRule{MultiFactor, 10}, true
	case Strict:
		return presetRule{SecondFactor, 10}, true
	case Moderate:
		return presetRule{SecondFactor, 60}, true
	case Lax:
		return presetRule{SecondFactor, 1440}, true
	}
	return presetRule{}, false
}

// Check is one authorization question. Build it with Role, Permission,
// Feature, Plan, Reverification, ReverificationWithin, Scope or Func; the
// zero Check is invalid and allows nothing. A Check is immutable and safe
// to share between goroutines.
type Check struct {
	kind    Kind
	value   string // role, permission, feature, plan, scope; the preset name
	level   Level  // reverification
	minutes int    // reverification
	fn      func(*verifier.Claims) bool
}

// Role asks for the active organization role, with or without the "org:"
// prefix: Role("admin") and Role("org:admin") are the same check.
func Role(role string) Check { return Check{kind: KindRole, value: role} }

// Permission asks for an organization permission such as
// "org:invoices:create" ("invoices:create" is the same). Only permissions
// the session token lists count: Clerk leaves system permissions
// ("org:sys_memberships:manage", …) out of tokens, so check those through
// the role that grants them.
func Permission(permission string) Check { return Check{kind: KindPermission, value: permission} }

// Feature asks for a billing feature from the fea claim: "o:x" (or
// "org:x", "organization:x") for an organization feature, "u:x" (or
// "user:x") for a user feature, a bare "x" for either.
func Feature(feature string) Check { return Check{kind: KindFeature, value: feature} }

// Plan asks for a billing plan from the pla claim, scoped as Feature.
func Plan(plan string) Check { return Check{kind: KindPlan, value: plan} }

// Reverification asks that the user verified again recently, as one of
// Clerk's presets requires. A session without fva (an instance that has
// not turned reverification on) never passes.
func Reverification(p Preset) Check { return Check{kind: KindReverification, value: string(p)} }

// ReverificationWithin asks that the user verified level within the last
// afterMinutes minutes.
func ReverificationWithin(level Level, afterMinutes int) Check {
	return Check{kind: KindReverification, level: level, minutes: afterMinutes}
}

// Scope asks that a machine caller (an M2M token, API key or OAuth access
// token) was granted scope. A user session has no scopes: as in Clerk,
// where has() of a machine caller is always false and a session's has()
// knows no scopes, a Scope check never allows a session.
func Scope(scope string) Check { return Check{kind: KindScope, value: scope} }

// Func asks allow, for anything the other checks cannot express. allow
// gets verified claims, never nil; it must be safe for concurrent use.
// A *clerkgate.Claims is the same value: (*clerkgate.Claims)(c) converts
// it for free.
func Func(allow func(*verifier.Claims) bool) Check { return Check{kind: KindFunc, fn: allow} }

// Kind reports what c asks about.
func (c Check) Kind() Kind { return c.kind }

// Reason is the stable cause a failed c is refused with.
func (c Check) Reason() verifier.Reason {
	switch c.kind {
	case KindRole:
		return ReasonRoleRequired
	case KindPermission:
		return ReasonPermissionRequired
	case KindFeature:
		return ReasonFeatureRequired
	case KindPlan:
		return ReasonPlanRequired
	case KindReverification:
		return ReasonReverificationRequired
	case KindScope:
		return ReasonScopeRequired
	}
	return ReasonCheckFailed
}

// String describes c for logs, e.g. `role "org:admin"` or
// `reverification second_factor within 10 min`.
func (c Check) String() string {
	switch c.kind {
	case KindReverification:
		if c.value != "" {
			return "reverification " + strconv.Quote(c.value)
		}
		return fmt.Sprintf("reverification %s within %d min", c.level, c.minutes)
	case KindFunc:
		return "func"
	case KindRole, KindPermission, KindFeature, KindPlan, KindScope:
		return c.kind.String() + " " + strconv.Quote(c.value)
	}
	return "invalid check"
}

// Valid reports why c can never allow anything, such as an empty role, an
// unknown preset or a reverification of zero minutes: a wiring mistake
// that middlewares refuse at start-up. Allows fails closed on such checks
// all the same.
func (c Check) Valid() error {
	switch c.kind {
	case KindRole, KindPermission:
		if withoutOrgPrefix(c.value) == "" {
			return fmt.Errorf("authz: empty %s %q", c.kind, c.value)
		}
	case KindFeature, KindPlan, KindScope:
		if c.value == "" {
			return fmt.Errorf("authz: empty %s", c.kind)
		}
	case KindReverification:
		if _, err := c.rule(); err != nil {
			return err
		}
	case KindFunc:
		if c.fn == nil {
			return errors.New("authz: nil func")
		}
	default:
		return errors.New("authz: zero Check")
	}
	return nil
}

// withoutOrgPrefix strips every leading "org:", as Clerk's prefixWithOrg
// does before adding one back: "org:" alone names no role.
func withoutOrgPrefix(s string) string {
	for strings.HasPrefix(s, "org:") {
		s = s[len("org:"):]
	}
	return s
}

// rule is what a reverification check requires, as Clerk's
// validateReverificationConfig accepts it.
func (c Check) rule() (presetRule, error) {
	if c.value != "" {
		r, ok := presetFor(Preset(c.value))
		if !ok {
			return r, fmt.Errorf("authz: unknown reverification preset %q", c.value)
		}
		return r, nil
	}
	switch c.level {
	case FirstFactor, SecondFactor, MultiFactor:
	default:
		return presetRule{}, fmt.Errorf("authz: unknown reverification level %q", c.level)
	}
	if c.minutes <= 0 {
		return presetRule{}, fmt.Errorf("authz: reverification within %d minutes", c.minutes)
	}
	return presetRule{c.level, c.minutes}, nil
}

// Allows reports whether the session whose verified claims are given
// passes c, as Clerk's has() answers the same question. Nil claims, a
// claims value without a user and an invalid check allow nothing.
func (c Check) Allows(claims *verifier.Claims) bool {
	if claims == nil || claims.Subject == "" || c.Valid() != nil {
		return false
	}
	switch c.kind {
	case KindRole:
		return claims.HasRole(c.value)
	case KindPermission:
		return claims.HasPermission(c.value)
	case KindFeature:
		return claims.HasFeature(c.value)
	case KindPlan:
		return claims.HasPlan(c.value)
	case KindReverification:
		r, _ := c.rule()
		return reverified(claims.FactorVerificationAge, r)
	case KindFunc:
		return c.fn(claims)
	}
	return false // KindScope: sessions have no scopes
}

// AllowsScopes reports whether a machine caller granted scopes passes c.
// Only a Scope check can: roles, permissions, features, plans and
// reverification belong to user sessions.
func (c Check) AllowsScopes(scopes []string) bool {
	if c.kind != KindScope || c.value == "" {
		return false
	}
	for _, s := range scopes {
		if s == c.value {
			return true
		}
	}
	return false
}

// reverified applies Clerk's fva rules. fva holds the minutes since the
// first and the second factor were last verified, -1 for a factor group
// the user has not enabled. Anything else (missing, another length, an
// age below -1, both -1) fails closed.
func reverified(fva []int, r presetRule) bool {
	if len(fva) != 2 || !validAge(fva[0]) || !validAge(fva[1]) {
		return false
	}
	first, second := fva[0], fva[1]
	if first == -1 && second == -1 {
		return false
	}
	fresh1 := first != -1 && r.minutes > first
	fresh2 := second != -1 && r.minutes > second
	switch r.level {
	case FirstFactor:
		return fresh1
	case SecondFactor:
		if second == -1 {
			return fresh1
		}
		return fresh2
	case MultiFactor:
		if second == -1 {
			return fresh1
		}
		return first != -1 && fresh1 && fresh2
	}
	return false
}

func validAge(age int) bool { return age >= -1 }

// ReverificationError is the body of Clerk's reverification 403, byte for
// byte as Clerk's JavaScript backends send it (reverificationError in
// @clerk/shared), naming what c requires:
//
//	{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}
//
// Clerk's frontend (useReverification) recognises it, asks the user to
// verify again and retries the request. A check that is not a valid
// reverification check gets the payload with empty metadata.
func (c Check) ReverificationError() []byte {
	const head = `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{`
	if c.kind != KindReverification || c.Valid() != nil {
		return []byte(head + `}}}`)
	}
	var config string
	if c.value != "" {
		config = strconv.Quote(c.value)
	} else {
		config = `{"level":` + strconv.Quote(string(c.level)) + `,"afterMinutes":` + strconv.Itoa(c.minutes) + `}`
	}
	return []byte(head + `"reverification":` + config + `}}}`)
}
