package exampleapp

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
)

// AdminCheck is what GET /admin requires: the active organization's admin
// role.
func AdminCheck() authz.Check { return authz.Role("org:admin") }

// SensitiveCheck is what POST /me/sensitive requires: a second factor
// verified within the last 10 minutes (Clerk's "strict" preset). Clerk's
// frontend answers the 403 by asking the user to verify again.
func SensitiveCheck() authz.Check { return authz.Reverification(authz.Strict) }

// Admin answers GET /admin, behind AdminCheck.
func Admin(c *clerkgate.Claims) Result {
	var org string
	if c.Organization != nil {
		org = c.Organization.ID
	}
	return ok(map[string]string{"user_id": c.Subject, "org_id": org})
}

// Sensitive answers POST /me/sensitive, behind SensitiveCheck.
func Sensitive(c *clerkgate.Claims) Result {
	return ok(map[string]string{"user_id": c.Subject})
}

// DevOrgID is the organization of dev tokens minted with an org_role.
const DevOrgID = "org_dev"

// DevAuthzToken answers GET /dev/token/authz in dev mode: a token for
// DevUserID on a session of its own, to try GET /admin and POST
// /me/sensitive. orgRole (e.g. "admin", "member") makes the session's
// active organization DevOrgID with that role; fva ("<first>,<second>",
// minutes since each factor was verified, -1 for none) sets the fva claim,
// which is otherwise absent, as on an instance without reverification.
func (a *App) DevAuthzToken(orgRole, fva string) Result {
	if a.dev == nil {
		return failure(http.StatusNotFound, "not_dev_mode", "dev tokens exist only in dev mode")
	}
	var opts []clerktest.TokenOption
	var sessOpts []clerktest.SessionOption
	if orgRole != "" {
		sessOpts = append(sessOpts, clerktest.WithOrg(DevOrgID, "dev", orgRole))
	}
	if fva != "" {
		first, second, okFirst := strings.Cut(fva, ",")
		f, err1 := strconv.Atoi(first)
		s, err2 := strconv.Atoi(second)
		if !okFirst || err1 != nil || err2 != nil {
			return failure(http.StatusBadRequest, "fva_invalid", `fva is "<first>,<second>", two whole numbers of minutes`)
		}
		opts = append(opts, clerktest.WithFactorVerificationAge(f, s))
	}
	s := a.dev.CreateSession(DevUserID, sessOpts...)
	return ok(map[string]string{"session_id": s.ID, "token": a.dev.Token(s.ID, opts...)})
}
