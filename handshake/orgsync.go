package handshake

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ReasonActiveOrganizationMismatch: the page's URL names another
// organization (or the personal account) than the session's active one.
const ReasonActiveOrganizationMismatch = "active-organization-mismatch"

// QueryOrganizationID is the handshake parameter that asks the Frontend
// API to activate an organization (by id or slug; empty for the personal
// account).
const QueryOrganizationID = "organization_id"

// OrganizationSync activates the organization a page's URL names, as
// Clerk's organizationSyncOptions do: a page whose path matches one of the
// organization patterns (with an :id or :slug parameter) or one of the
// personal-account patterns, opened by a session whose active
// organization is another, goes through the handshake with
// organization_id set, which makes it active.
//
// Patterns are path-to-regexp 6's, as Clerk matches them, limited to the
// subset Clerk documents: literal text, :name parameters that are whole
// path segments ("/orgs/:slug"), and (.*) wildcards ("/orgs/:slug/(.*)").
// Matching is case-insensitive, a trailing slash is optional, parameters
// keep their percent-encoding, and the first pattern that matches wins.
type OrganizationSync struct {
	organization, personal *regexp.Regexp
	// orgParams are the organization patterns' parameter names, by
	// submatch index ("" for a wildcard).
	orgParams []string
}

// NewOrganizationSync compiles the patterns, refusing any outside the
// subset (an optional or repeated parameter, a custom regular expression,
// a group other than (.*), a pattern that does not start with "/"). With
// no patterns at all it returns nil: no organization sync.
func NewOrganizationSync(organizationPatterns, personalAccountPatterns []string) (*OrganizationSync, error) {
	if len(organizationPatterns) == 0 && len(personalAccountPatterns) == 0 {
		return nil, nil
	}
	s := &OrganizationSync{}
	var err error
	if s.organization, s.orgParams, err = compilePatterns(organizationPatterns); err != nil {
		return nil, fmt.Errorf("organization pattern %w", err)
	}
	if s.personal, _, err = compilePatterns(personalAccountPatterns); err != nil {
		return nil, fmt.Errorf("personal account pattern %w", err)
	}
	return s, nil
}

// OrganizationTarget is what a URL asks to be active: an organization by
// ID or Slug, or the personal account.
type OrganizationTarget struct {
	Personal bool
	ID, Slug string
}

// Target is what the page at escapedPath (a URL's path as the browser
// sent it) asks to be active; ok is false when no pattern names one. An
// organization pattern that matches without an :id or :slug names none,
// and the personal-account patterns are tried next, as Clerk does.
func (s *OrganizationSync) Target(escapedPath string) (t OrganizationTarget, ok bool) {
	if s == nil {
		return t, false
	}
	if s.organization != nil {
		if m := s.organization.FindStringSubmatchIndex(escapedPath); m != nil {
			var id, slug string
			for i, name := range s.orgParams {
				if m[2*i+2] < 0 {
					continue
				}
				// The first of a name wins, as in the parameters object
				// Clerk reads; only one alternative matched anyway.
				v := escapedPath[m[2*i+2]:m[2*i+3]]
				switch {
				case name == "id" && id == "":
					id = v
				case name == "slug" && slug == "":
					slug = v
				}
			}
			switch {
			case id != "":
				return OrganizationTarget{ID: id}, true
			case slug != "":
				return OrganizationTarget{Slug: slug}, true
			}
		}
	}
	if s.personal != nil && s.personal.MatchString(escapedPath) {
		return OrganizationTarget{Personal: true}, true
	}
	return t, false
}

// queryValue is the target as the handshake's organization_id.
func (t OrganizationTarget) queryValue() string {
	switch {
	case t.Personal:
		return ""
	case t.Slug != "":
		return t.Slug
	}
	return t.ID
}

// ActiveOrganization is a signed-in session's active organization, as its
// token says ("" when none).
type ActiveOrganization struct {
	ID, Slug string
}

// mismatch reports whether the session must switch to the target.
func (t OrganizationTarget) mismatch(active ActiveOrganization) bool {
	if t.Personal {
		return active.ID != ""
	}
	return (t.Slug != "" && t.Slug != active.Slug) || (t.ID != "" && t.ID != active.ID)
}

var errPatternStart = errors.New(`must start with "/"`)

// compilePatterns turns a list of patterns into one regular expression of
// alternatives, as path-to-regexp compiles an array, and the parameter
// names of its submatches.
func compilePatterns(patterns []string) (*regexp.Regexp, []string, error) {
	if len(patterns) == 0 {
		return nil, nil, nil
	}
	var alts []string
	var params []string
	for _, p := range patterns {
		re, names, err := compilePattern(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %w", p, err)
		}
		alts = append(alts, re)
		params = append(params, names...)
	}
	re, err := regexp.Compile("(?i)(?:" + strings.Join(alts, "|") + ")")
	if err != nil {
		return nil, nil, err
	}
	return re, params, nil
}

// compilePattern is one pattern's expression: path-to-regexp 6's with its
// default options (start and end anchored, an optional trailing
// delimiter), for the subset it accepts.
func compilePattern(p string) (string, []string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", nil, errPatternStart
	}
	var b strings.Builder
	var names []string
	b.WriteByte('^')
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == ':':
			j := i + 1
			for j < len(p) && isParamChar(p[j]) {
				j++
			}
			name := p[i+1 : j]
			switch {
			case name == "":
				return "", nil, fmt.Errorf("a parameter without a name at %d", i)
			case p[i-1] != '/':
				return "", nil, fmt.Errorf("parameter :%s is not a whole path segment (only /:name is supported)", name)
			case j < len(p) && p[j] != '/':
				return "", nil, fmt.Errorf("parameter :%s is followed by %q (only a whole segment, /:name, is supported)", name, p[j])
			}
			b.WriteString(`([^/#?]+?)`)
			names = append(names, name)
			i = j
		case strings.HasPrefix(p[i:], "(.*)"):
			b.WriteString(`(.*)`)
			names = append(names, "")
			i += len("(.*)")
		case strings.IndexByte(`()*+?{}\`, c) >= 0:
			return "", nil, fmt.Errorf("%q at %d is not supported (only :name segments and (.*) wildcards are)", c, i)
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			i++
		}
	}
	b.WriteString(`[/#?]?$`)
	return b.String(), names, nil
}

func isParamChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
