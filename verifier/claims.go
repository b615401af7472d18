package verifier

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Claims are the verified claims of a Clerk session token, in both of
// Clerk's formats: v1 (no "v" claim) and v2 ("v":2).
//
// Verify hands every caller of one token the same Claims, the one its
// cache keeps (so that a cached verification allocates nothing): treat
// them as read-only, as they are shared between goroutines. Clone gives a
// copy that is yours to change. (The clerkgate package clones for you:
// the claims a handler gets are its own.)
//
// Every method answers on nil Claims as for no session: no role,
// permission, feature or plan, zero times, no payload (Decode leaves its
// argument alone, Clone returns nil).
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

	raw string // the payload, as signed
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
// fea/per/fpm). From a v2 token Role carries the "org:" prefix, e.g.
// "org:admin"; v1 carries it as Clerk sent it. HasRole compares roles with
// exactly one prefix on both sides, so an Organization built by hand with
// Role "admin" or "org:admin" has the same role. Permissions look like
// "org:<feature>:<permission>" and are compared as they are, as Clerk does.
type Organization struct {
	ID          string
	Slug        string
	Role        string
	Permissions []string
}

// decodeClaims decodes and type-checks a verified payload in one strict
// pass (see jsonReader). A payload that is not a JSON object is
// token_malformed; a claim the verifier reads with the wrong type, null
// included, is claims_invalid; a machine's subject is token_type_invalid.
// The returned claims' strings share the payload's memory.
func decodeClaims(payload string) (*Claims, *Error) {
	d := claimDecoder{r: jsonReader{s: payload}}
	if d.r.peek() != '{' {
		return nil, fail(ReasonTokenMalformed, "payload is not a JSON object")
	}
	c := &Claims{Version: 1, raw: payload}
	var (
		o      object
		hasExp bool
		v1     Organization // org_id, org_slug, org_role, org_permissions
		v2     wireOrg      // o
	)
	for name, ok := d.r.member(&o); ok; name, ok = d.r.member(&o) {
		switch name {
		case "sub":
			c.Subject = d.str(name)
		case "sid":
			c.SessionID = d.str(name)
		case "iss":
			c.Issuer = d.str(name)
		case "azp":
			c.AuthorizedParty = d.str(name)
		case "exp":
			c.Expiry, hasExp = d.int(name), true
		case "nbf":
			c.NotBefore = d.int(name)
		case "iat":
			c.IssuedAt = d.int(name)
		case "jti":
			c.ID = d.str(name)
		case "v":
			c.Version = int(d.int(name))
		case "sts":
			c.SessionStatus = d.str(name)
		case "pla":
			c.Plans = d.str(name)
		case "fea":
			c.Features = d.str(name)
		case "fva":
			c.FactorVerificationAge = d.ints(name)
		case "act":
			c.Actor = d.actor()
		case "org_id":
			v1.ID = d.str(name)
		case "org_slug":
			v1.Slug = d.str(name)
		case "org_role":
			v1.Role = d.str(name)
		case "org_permissions":
			v1.Permissions = d.strs(name)
		case "o":
			v2 = d.org()
		default:
			d.r.skip(1)
		}
	}
	if err := d.done(hasExp, c.Subject); err != nil {
		return nil, err
	}
	switch {
	case c.SessionID == "":
		return nil, fail(ReasonClaimsInvalid, "sid is missing")
	case strings.HasPrefix(c.Subject, "mch_"):
		// Clerk's M2M tokens name a machine as their subject; whatever
		// else they carry (sid, org_role), they are never a user session.
		return nil, fail(ReasonTokenTypeInvalid, "sub %s is a machine", quoteDetail(c.Subject))
	}
	// Like Clerk, read the "o" claim only in format 2, and the org_* claims
	// only in any other format.
	switch {
	case c.Version == 2 && v2.ID != "":
		role := v2.Role
		if role != "" && !strings.HasPrefix(role, "org:") {
			role = "org:" + role
		}
		c.Organization = &Organization{
			ID:          v2.ID,
			Slug:        v2.Slug,
			Role:        role,
			Permissions: orgPermissions(c.Features, v2.Permissions, v2.FeatureMap),
		}
	case c.Version != 2 && v1.ID != "":
		c.Organization = &v1
	}
	return c, nil
}

// wireOrg is the v2 organization claim "o".
type wireOrg struct {
	ID, Slug, Role, Permissions, FeatureMap string
}

// claimDecoder reads claims of known types, remembering the first claim of
// the wrong type while the walk goes on: a payload that is not JSON at all
// is malformed, whichever of its claims comes first.
type claimDecoder struct {
	r     jsonReader
	wrong string
}

// done ends a payload's decoding with the verdicts session and machine
// tokens share, in this order: the reader's syntax error, a claim of the
// wrong type, no exp, no sub.
func (d *claimDecoder) done(hasExp bool, sub string) *Error {
	d.r.end()
	switch {
	case d.r.err != "":
		return fail(ReasonTokenMalformed, "payload: %s", d.r.err)
	case d.wrong != "":
		return fail(ReasonClaimsInvalid, "%s has the wrong JSON type", d.wrong)
	case !hasExp:
		return fail(ReasonClaimsInvalid, "exp is missing")
	case sub == "":
		return fail(ReasonClaimsInvalid, "sub is missing")
	}
	return nil
}

func (d *claimDecoder) mistyped(name string) {
	if d.wrong == "" {
		d.wrong = name
	}
	d.r.skip(1)
}

func (d *claimDecoder) str(name string) string {
	if d.r.peek() == '"' {
		return d.r.str()
	}
	d.mistyped(name)
	return ""
}

// int reads an integer. Fractions, exponents and values beyond int64 are
// of the wrong type rather than rounded: 1e12+0.5 is no expiry.
func (d *claimDecoder) int(name string) int64 {
	if c := d.r.peek(); c != '-' && (c < '0' || c > '9') {
		d.mistyped(name)
		return 0
	}
	n, err := strconv.ParseInt(d.r.number(), 10, 64)
	if err != nil || n != int64(int(n)) {
		if d.wrong == "" {
			d.wrong = name
		}
		return 0
	}
	return n
}

func (d *claimDecoder) ints(name string) []int {
	if d.r.peek() != '[' {
		d.mistyped(name)
		return nil
	}
	var started bool
	out := make([]int, 0, 2) // fva holds two ages
	for d.r.element(&started) {
		out = append(out, int(d.int(name)))
	}
	return out
}

func (d *claimDecoder) strs(name string) []string {
	if d.r.peek() != '[' {
		d.mistyped(name)
		return nil
	}
	var (
		out     []string
		started bool
	)
	for d.r.element(&started) {
		out = append(out, d.str(name))
	}
	return out
}

func (d *claimDecoder) actor() *Actor {
	if d.r.peek() != '{' {
		d.mistyped("act")
		return nil
	}
	a := &Actor{}
	var o object
	for name, ok := d.r.member(&o); ok; name, ok = d.r.member(&o) {
		switch name {
		case "sub":
			a.Subject = d.str("act.sub")
		case "iss":
			a.Issuer = d.str("act.iss")
		case "sid":
			a.SessionID = d.str("act.sid")
		default:
			d.r.skip(2)
		}
	}
	return a
}

func (d *claimDecoder) org() (w wireOrg) {
	if d.r.peek() != '{' {
		d.mistyped("o")
		return w
	}
	var o object
	for name, ok := d.r.member(&o); ok; name, ok = d.r.member(&o) {
		switch name {
		case "id":
			w.ID = d.str("o.id")
		case "slg":
			w.Slug = d.str("o.slg")
		case "rol":
			w.Role = d.str("o.rol")
		case "per":
			w.Permissions = d.str("o.per")
		case "fpm":
			w.FeatureMap = d.str("o.fpm")
		default:
			d.r.skip(2)
		}
	}
	return w
}

// orgPermissions expands the v2 compact permission encoding. fea lists
// features with their scopes ("o:dashboard", "u:x", "uo:y"); per lists the
// permission names; fpm holds one integer per organization-scoped feature,
// in order, where bit j (lowest first) grants permission j of per.
//
//	fea "o:dashboard,o:teams", per "manage,read", fpm "3,2"
//	→ org:dashboard:manage, org:dashboard:read, org:teams:read
//
// As in Clerk, a feature is organization-scoped when its scope is exactly
// "o", "ou" or "uo". Malformed parts grant nothing: a permission is never
// invented from a value that does not parse, and a fea with an item
// without a scope (which Clerk's parser throws on) grants nothing at all.
func orgPermissions(fea, per, fpm string) []string {
	if fea == "" || per == "" || fpm == "" || !scopedList(fea) {
		return nil
	}
	var out []string
	masks := fpm
	for fea != "" {
		var f, m string
		f, fea, _ = strings.Cut(fea, ",")
		scope, name, _ := strings.Cut(jsTrim(f), ":")
		if !orgScope(scope) {
			continue
		}
		if masks == "" {
			break
		}
		m, masks, _ = strings.Cut(masks, ",")
		mask, err := strconv.ParseUint(jsTrim(m), 10, 64)
		if err != nil {
			continue
		}
		perms := per
		for j := 0; perms != "" && j < 64; j++ {
			var p string
			p, perms, _ = strings.Cut(perms, ",")
			if mask&(1<<j) != 0 {
				out = append(out, "org:"+name+":"+jsTrim(p))
			}
		}
	}
	return out
}

// scopedList reports whether every item of a fea or pla list has a scope.
func scopedList(list string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		if !strings.Contains(jsTrim(item), ":") {
			return false
		}
	}
	return true
}

// jsTrim trims what JavaScript's String.prototype.trim does, which Clerk
// applies to every item of fea, pla, per and fpm: Unicode white space and
// U+FEFF, but not U+0085.
func jsTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == '\uFEFF' || r != '\u0085' && unicode.IsSpace(r)
	})
}

func orgScope(scope string) bool  { return scope == "o" || scope == "ou" || scope == "uo" }
func userScope(scope string) bool { return scope == "u" || scope == "ou" || scope == "uo" }

// HasRole reports whether the active organization role is role, as
// Clerk's has({role}) decides: both sides are compared with exactly one
// "org:" prefix, so "admin", "org:admin" and a v1 org_role of "admin" all
// name the same role.
func (c *Claims) HasRole(role string) bool {
	if c == nil || c.Organization == nil || c.Organization.Role == "" {
		return false
	}
	return withOrgPrefix(c.Organization.Role) == withOrgPrefix(role)
}

// HasPermission reports whether the active organization grants permission,
// e.g. "org:dashboard:manage", as Clerk's has({permission}) decides: the
// asked permission gets exactly one "org:" prefix ("dashboard:manage"
// asks for the same), the token's list is taken as it is.
func (c *Claims) HasPermission(permission string) bool {
	return c != nil && c.Organization != nil && slices.Contains(c.Organization.Permissions, withOrgPrefix(permission))
}

// withOrgPrefix replaces any run of leading "org:" with exactly one, as
// Clerk's prefixWithOrg does.
func withOrgPrefix(s string) string {
	for strings.HasPrefix(s, "org:") {
		s = s[len("org:"):]
	}
	return "org:" + s
}

// HasFeature reports whether the fea claim grants feature, as Clerk's
// has({feature}) decides: "o:x" (or "org:x", "organization:x") asks for an
// organization feature, "u:x" (or "user:x") for a user feature, and a bare
// "x" for either. A fea item scoped "ou" or "uo" is both; items with any
// other scope grant nothing, and a fea with an unscoped item grants
// nothing at all.
func (c *Claims) HasFeature(feature string) bool {
	return c != nil && scopedListHas(c.Features, feature)
}

// HasPlan reports whether the pla claim lists plan, with the same scopes
// as HasFeature (e.g. "u:free", "o:pro", or a bare "free").
func (c *Claims) HasPlan(plan string) bool {
	return c != nil && scopedListHas(c.Plans, plan)
}

func scopedListHas(list, want string) bool {
	if want == "" || !scopedList(list) {
		return false
	}
	var org, user bool
	scope, id, scoped := strings.Cut(want, ":")
	switch {
	case !scoped:
		id, org, user = scope, true, true
	case scope == "o" || scope == "org" || scope == "organization":
		org = true
	case scope == "u" || scope == "user":
		user = true
	default:
		return false
	}
	if id == "" || strings.Contains(id, ":") {
		return false
	}
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		s, v, _ := strings.Cut(jsTrim(item), ":")
		if v == id && (org && orgScope(s) || user && userScope(s)) {
			return true
		}
	}
	return false
}

// Pending reports whether the session still has tasks to complete (sts "pending").
func (c *Claims) Pending() bool { return c != nil && c.SessionStatus == "pending" }

// ExpiryTime returns exp as a time (the zero time for nil Claims).
func (c *Claims) ExpiryTime() time.Time {
	if c == nil {
		return time.Time{}
	}
	return time.Unix(c.Expiry, 0)
}

// IssuedAtTime returns iat as a time, or the zero time when absent.
func (c *Claims) IssuedAtTime() time.Time {
	if c == nil {
		return time.Time{}
	}
	return unixOrZero(c.IssuedAt)
}

// NotBeforeTime returns nbf as a time, or the zero time when absent.
func (c *Claims) NotBeforeTime() time.Time {
	if c == nil {
		return time.Time{}
	}
	return unixOrZero(c.NotBefore)
}

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// RawJSON returns a copy of the token's payload exactly as signed. For
// Claims built by hand (see Decode) it returns their known fields encoded.
func (c *Claims) RawJSON() json.RawMessage {
	if c == nil {
		return nil
	}
	return json.RawMessage(c.payload())
}

// Raw decodes every claim into a map. It decodes afresh on each call, so the
// hot path never pays for a map nobody reads. The payload passed Verify's
// strict reading, so no member name is repeated and the map holds exactly
// what was signed.
func (c *Claims) Raw() (map[string]any, error) {
	var m map[string]any
	if c == nil {
		return nil, nil
	}
	err := json.Unmarshal([]byte(c.payload()), &m)
	return m, err
}

// Decode unmarshals the payload into v, for custom claims added through a
// session token template:
//
//	var custom struct{ Email string `json:"email"` }
//	err := claims.Decode(&custom)
//
// Member names match v's field names exactly: encoding/json would fill
// Email from an "EMAIL" or "Email" member, so a payload with a member
// that matches one of v's field names only ignoring case is an error. (No
// member name is repeated either: Verify refused such tokens.)
//
// Claims built by hand, as a handler's test does, have no signed payload;
// Decode, Raw and RawJSON then read their known fields encoded as a token
// of format 1 would carry them (sub, sid, …, org_id, org_slug, org_role,
// org_permissions), so custom claims decode as absent rather than fail.
func (c *Claims) Decode(v any) error {
	if c == nil {
		return nil
	}
	p := c.payload()
	if err := checkExactNames(p, reflect.TypeOf(v)); err != nil {
		return err
	}
	return json.Unmarshal([]byte(p), v)
}

// payload is the signed payload, or for Claims built by hand the known
// fields encoded afresh.
func (c *Claims) payload() string {
	if c.raw != "" {
		return c.raw
	}
	h := handBuilt{
		Subject: c.Subject, SessionID: c.SessionID, Issuer: c.Issuer, AuthorizedParty: c.AuthorizedParty,
		Expiry: c.Expiry, NotBefore: c.NotBefore, IssuedAt: c.IssuedAt, ID: c.ID,
		SessionStatus: c.SessionStatus, Plans: c.Plans, Features: c.Features,
		FactorVerificationAge: c.FactorVerificationAge, Actor: c.Actor,
	}
	if c.Version > 1 {
		h.Version = c.Version
	}
	if o := c.Organization; o != nil {
		h.OrgID, h.OrgSlug, h.OrgRole, h.OrgPermissions = o.ID, o.Slug, o.Role, o.Permissions
	}
	b, err := json.Marshal(h)
	if err != nil {
		return "{}" // unreachable: strings, numbers and slices of them
	}
	return string(b)
}

// handBuilt is how payload encodes Claims that came from no token.
type handBuilt struct {
	Subject               string   `json:"sub,omitempty"`
	SessionID             string   `json:"sid,omitempty"`
	Issuer                string   `json:"iss,omitempty"`
	AuthorizedParty       string   `json:"azp,omitempty"`
	Expiry                int64    `json:"exp,omitempty"`
	NotBefore             int64    `json:"nbf,omitempty"`
	IssuedAt              int64    `json:"iat,omitempty"`
	ID                    string   `json:"jti,omitempty"`
	Version               int      `json:"v,omitempty"`
	SessionStatus         string   `json:"sts,omitempty"`
	Plans                 string   `json:"pla,omitempty"`
	Features              string   `json:"fea,omitempty"`
	FactorVerificationAge []int    `json:"fva,omitempty"`
	Actor                 *Actor   `json:"act,omitempty"`
	OrgID                 string   `json:"org_id,omitempty"`
	OrgSlug               string   `json:"org_slug,omitempty"`
	OrgRole               string   `json:"org_role,omitempty"`
	OrgPermissions        []string `json:"org_permissions,omitempty"`
}

// Clone returns a copy of c that shares nothing a caller can change: the
// Organization, Actor and slices are copied too (strings are immutable).
// Claims, Organization, Actor and a two-factor fva take one allocation;
// permissions, when there are any, one more.
func (c *Claims) Clone() *Claims {
	if c == nil {
		return nil
	}
	b := &struct {
		claims Claims
		org    Organization
		actor  Actor
		fva    [2]int
	}{claims: *c}
	if c.Organization != nil {
		b.org = *c.Organization
		b.org.Permissions = slices.Clone(c.Organization.Permissions)
		b.claims.Organization = &b.org
	}
	if c.Actor != nil {
		b.actor = *c.Actor
		b.claims.Actor = &b.actor
	}
	if f := c.FactorVerificationAge; f != nil {
		if len(f) <= len(b.fva) {
			n := copy(b.fva[:], f)
			b.claims.FactorVerificationAge = b.fva[:n:n]
		} else {
			b.claims.FactorVerificationAge = slices.Clone(f)
		}
	}
	return &b.claims
}
