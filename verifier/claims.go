package verifier

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Claims are the verified claims of a Clerk session token, in both of
// Clerk's formats: v1 (no "v" claim) and v2 ("v":2). A Claims value is
// immutable once Verify returns it and is safe to share between goroutines.
type Claims struct {
	// Subject is the user id (sub), e.g. "user_2GIp…".
	Subject string `json:"sub"`
	// SessionID is the session id (sid), e.g. "sess_2GbD…".
	SessionID string `json:"sid"`
	// Issuer is the instance's Frontend API URL (iss).
	Issuer string `json:"iss"`
	// AuthorizedParty is the origin the browser used (azp); may be empty.
	AuthorizedParty string `json:"azp"`
	// Expiry, NotBefore and IssuedAt are Unix seconds (exp, nbf, iat);
	// NotBefore and IssuedAt are 0 when the token leaves them out.
	Expiry    int64 `json:"exp"`
	NotBefore int64 `json:"nbf"`
	IssuedAt  int64 `json:"iat"`
	// ID is the token id (jti), set by the v2 format.
	ID string `json:"jti"`
	// Version is the token format: 1 when the "v" claim is absent, else its value.
	Version int `json:"v"`
	// SessionStatus is "active" or "pending" (sts, v2 only; empty in v1).
	SessionStatus string `json:"sts"`
	// Plans is the comma-separated billing plans (pla, v2), e.g. "u:free".
	Plans string `json:"pla"`
	// Features is the comma-separated features (fea, v2), e.g. "o:dashboard,o:teams".
	Features string `json:"fea"`
	// FactorVerificationAge holds the minutes since the first and second
	// factor were verified (fva); -1 means never.
	FactorVerificationAge []int `json:"fva"`
	// Actor is set when someone is impersonating the user (act).
	Actor *Actor `json:"act"`

	// Organization is the active organization in one shape for both
	// formats, or nil when the session has none.
	Organization *Organization `json:"-"`

	raw []byte
}

// Actor describes who is acting on the user's behalf (impersonation).
type Actor struct {
	Subject string `json:"sub"`
	Issuer  string `json:"iss,omitempty"`
	// SessionID is the actor's own session, when Clerk sets it.
	SessionID string `json:"sid,omitempty"`
}

// Organization is the session's active organization, normalised across v1
// (org_id, org_slug, org_role, org_permissions) and v2 (the "o" claim with
// fea/per/fpm). Role always carries the "org:" prefix, e.g. "org:admin";
// permissions look like "org:<feature>:<permission>".
type Organization struct {
	ID          string
	Slug        string
	Role        string
	Permissions []string
}

// wireClaims is the token payload as JSON has it: the claims themselves
// plus the two organization encodings that Claims normalises.
type wireClaims struct {
	Claims

	// v1 organization claims.
	OrgID          string   `json:"org_id"`
	OrgSlug        string   `json:"org_slug"`
	OrgRole        string   `json:"org_role"`
	OrgPermissions []string `json:"org_permissions"`
	// v2 organization claim.
	O *struct {
		ID          string `json:"id"`
		Slug        string `json:"slg"`
		Role        string `json:"rol"`
		Permissions string `json:"per"`
		FeatureMap  string `json:"fpm"`
	} `json:"o"`
}

// decodeClaims decodes and type-checks a verified payload in one JSON pass.
func decodeClaims(payload []byte) (*Claims, *Error) {
	// Presence is detected by starting from values JSON cannot leave
	// behind: an exp that stays at the sentinel was absent (or null), and a
	// token without "v" is format 1. This avoids a pointer per claim.
	var w wireClaims
	w.Expiry = expAbsent
	w.Version = 1
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, fail(ReasonClaimsInvalid, "%v", err)
	}
	switch {
	case w.Expiry == expAbsent:
		return nil, fail(ReasonClaimsInvalid, "exp is missing")
	case w.Subject == "":
		return nil, fail(ReasonClaimsInvalid, "sub is missing")
	case w.SessionID == "":
		return nil, fail(ReasonClaimsInvalid, "sid is missing")
	}
	c := &w.Claims
	c.raw = payload
	switch {
	case w.O != nil && w.O.ID != "":
		role := w.O.Role
		if role != "" && !strings.HasPrefix(role, "org:") {
			role = "org:" + role
		}
		c.Organization = &Organization{
			ID:          w.O.ID,
			Slug:        w.O.Slug,
			Role:        role,
			Permissions: orgPermissions(c.Features, w.O.Permissions, w.O.FeatureMap),
		}
	case w.OrgID != "":
		c.Organization = &Organization{ID: w.OrgID, Slug: w.OrgSlug, Role: w.OrgRole, Permissions: w.OrgPermissions}
	}
	return c, nil
}

// expAbsent marks an exp claim that the payload did not set.
const expAbsent = math.MinInt64

// orgPermissions expands the v2 compact permission encoding. fea lists
// features with their scopes ("o:dashboard", "u:x", "uo:y"); per lists the
// permission names; fpm holds one integer per organization-scoped feature,
// in order, where bit j (lowest first) grants permission j of per.
//
//	fea "o:dashboard,o:teams", per "manage,read", fpm "3,2"
//	→ org:dashboard:manage, org:dashboard:read, org:teams:read
//
// Malformed parts grant nothing: a permission is never invented from a
// value that does not parse.
func orgPermissions(fea, per, fpm string) []string {
	if fea == "" || per == "" || fpm == "" {
		return nil
	}
	perms := strings.Split(per, ",")
	masks := strings.Split(fpm, ",")
	var out []string
	i := 0
	for _, f := range strings.Split(fea, ",") {
		scope, name, ok := strings.Cut(f, ":")
		if !ok || !strings.Contains(scope, "o") {
			continue
		}
		if i >= len(masks) {
			break
		}
		mask, err := strconv.ParseUint(masks[i], 10, 64)
		i++
		if err != nil {
			continue
		}
		for j, p := range perms {
			if j < 64 && mask&(1<<j) != 0 {
				out = append(out, "org:"+name+":"+p)
			}
		}
	}
	return out
}

// HasRole reports whether the active organization role is role. Both
// "admin" and "org:admin" name the same role.
func (c *Claims) HasRole(role string) bool {
	if c.Organization == nil || role == "" {
		return false
	}
	if !strings.HasPrefix(role, "org:") {
		role = "org:" + role
	}
	return c.Organization.Role == role
}

// HasPermission reports whether the active organization grants permission,
// e.g. "org:dashboard:manage".
func (c *Claims) HasPermission(permission string) bool {
	return c.Organization != nil && slices.Contains(c.Organization.Permissions, permission)
}

// HasFeature reports whether fea lists feature, given with its scope as it
// appears in the token (e.g. "o:dashboard").
func (c *Claims) HasFeature(feature string) bool {
	return listContains(c.Features, feature)
}

// HasPlan reports whether pla lists plan (e.g. "u:free").
func (c *Claims) HasPlan(plan string) bool {
	return listContains(c.Plans, plan)
}

func listContains(list, item string) bool {
	for list != "" {
		var v string
		v, list, _ = strings.Cut(list, ",")
		if v == item {
			return true
		}
	}
	return false
}

// Pending reports whether the session still has tasks to complete (sts "pending").
func (c *Claims) Pending() bool { return c.SessionStatus == "pending" }

// ExpiresAt returns exp as a time.
func (c *Claims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0) }

// IssuedAtTime returns iat as a time, or the zero time when absent.
func (c *Claims) IssuedAtTime() time.Time { return unixOrZero(c.IssuedAt) }

// NotBeforeTime returns nbf as a time, or the zero time when absent.
func (c *Claims) NotBeforeTime() time.Time { return unixOrZero(c.NotBefore) }

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// RawJSON returns the token's payload exactly as signed. It is shared: do
// not modify it.
func (c *Claims) RawJSON() json.RawMessage { return c.raw }

// Raw decodes every claim into a map. It decodes afresh on each call, so the
// hot path never pays for a map nobody reads.
func (c *Claims) Raw() (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(c.raw, &m)
	return m, err
}

// Decode unmarshals the payload into v, for custom claims added through a
// session token template:
//
//	var custom struct{ Email string `json:"email"` }
//	err := claims.Decode(&custom)
func (c *Claims) Decode(v any) error { return json.Unmarshal(c.raw, v) }
