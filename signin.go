package clerkgate

import "net/http"

// Redirected writes what RequireSession writes for a refusal that is a
// redirect rather than the failure contract, and reports whether err was
// one: a handshake redirect (err.Location), or, when required, a page
// load refused for want of a session with Config.SignInURL set, which
// goes to the sign-in page. Framework adapters that answer refusals
// themselves call it first, so that pages behave as under RequireSession
// and OptionalSession; most apps never need it.
func (g *Gate) Redirected(w http.ResponseWriter, r *http.Request, err *AuthError, required bool) bool {
	switch {
	case err == nil:
		return false
	case err.Location != "":
		writeRedirect(w, err)
		return true
	case required && err.Status == http.StatusUnauthorized:
		return g.signInRedirect(w, r)
	}
	return false
}

// Redirected is Gate.Redirected for a route, as Route.Require and
// Route.Optional answer: only a route that takes sessions sends a page
// load to the sign-in page.
func (rt *Route) Redirected(w http.ResponseWriter, r *http.Request, err *AuthError, required bool) bool {
	if err != nil && err.Location == "" && !rt.accept.has(SessionToken) {
		return false
	}
	return rt.g.Redirected(w, r, err, required)
}
