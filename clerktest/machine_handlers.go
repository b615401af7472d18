package clerktest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

func (s *Server) machineRoutes() map[Route]handlerFunc {
	return map[Route]handlerFunc{
		RouteCreateAPIKey:     s.handleCreateAPIKey,
		RouteListAPIKeys:      s.handleListAPIKeys,
		RouteRevokeAPIKey:     s.handleRevokeCredential,
		RouteVerifyAPIKey:     s.handleVerifyCredential("secret", credAPIKey),
		RouteCreateM2MToken:   s.handleCreateM2MToken,
		RouteListM2MTokens:    s.handleListM2MTokens,
		RouteRevokeM2MToken:   s.handleRevokeCredential,
		RouteVerifyM2MToken:   s.handleVerifyCredential("token", credM2M),
		RouteVerifyOAuthToken: s.handleVerifyCredential("access_token", credOAuth),
	}
}

var apiKeySubject = regexp.MustCompile(`^(user|org|mch|scim)_\w{27}$`)

// wire encodes a credential as the Backend API does; withSecret adds the
// credential itself (create answers only).
func (c *credential) wire(now time.Time, withSecret bool) map[string]any {
	expired := !c.expires.IsZero() && !c.expires.After(now)
	stamp := func(t time.Time) any { return t.UnixMilli() }
	if c.kind == credAPIKey {
		stamp = func(t time.Time) any { return t.Unix() }
	}
	var expiration any
	if !c.expires.IsZero() {
		expiration = stamp(c.expires)
	}
	out := map[string]any{
		"id": c.id, "subject": c.subject, "scopes": nonNilStrings(c.scopes), "revoked": c.revoked,
		"revocation_reason": c.reason, "expired": expired, "expiration": expiration,
		"created_at": stamp(c.created), "updated_at": stamp(c.created),
	}
	switch c.kind {
	case credAPIKey:
		out["object"], out["type"], out["name"], out["description"] = "api_key", "api_key", c.name, nil
		out["claims"], out["created_by"], out["last_used_at"] = c.claims, nil, nil
		if withSecret {
			out["secret"] = c.secret
		}
	case credM2M:
		out["object"], out["claims"], out["last_used_at"] = "machine_to_machine_token", c.claims, nil
		if withSecret {
			out["token"] = c.secret
		}
	case credOAuth:
		out["object"], out["client_id"] = "clerk_idp_oauth_access_token", c.clientID
	}
	return out
}

// handleVerifyCredential serves the three verify routes: the credential in
// field; 404 for one the instance never issued (or, for an M2M token
// verified with a machine key, one not granted to that machine); 200 with
// the revoked and expired flags otherwise.
func (s *Server) handleVerifyCredential(field string, kind credKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		fields, e := decodeObject(body)
		allowed := []string{field}
		if kind == credOAuth {
			allowed = append(allowed, "secret") // the deprecated spelling
		}
		if e == nil {
			e = onlyFields(fields, http.StatusBadRequest, allowed...)
		}
		var raw string
		if e == nil {
			raw, e = stringField(fields, field, http.StatusBadRequest)
		}
		if e == nil && raw == "" && kind == credOAuth {
			raw, e = stringField(fields, "secret", http.StatusBadRequest)
		}
		if e == nil && raw == "" {
			e = paramError(http.StatusBadRequest, CodeFormParamMissing, field, field+" is required")
		}
		if e != nil {
			writeError(w, e)
			return
		}
		if kind == credOAuth && strings.Count(raw, ".") == 2 {
			writeJSON(w, http.StatusOK, map[string]any{"active": false})
			return
		}
		machine := s.machineKey(r)
		st := s.store()
		c := st.bySecret[raw]
		var out map[string]any
		if c != nil && c.kind == kind && (machine == nil || slices.Contains(c.scopes, machine.ID) || c.subject == machine.ID) {
			out = c.wire(s.now(), false)
		}
		st.mu.Unlock()
		if out == nil {
			writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound, "no such credential on this instance"))
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, _ *http.Request, body []byte) {
	var in struct {
		Name    string          `json:"name"`
		Subject string          `json:"subject"`
		Scopes  []string        `json:"scopes"`
		Claims  json.RawMessage `json:"claims"`
		Seconds *float64        `json:"seconds_until_expiration"`
		Desc    *string         `json:"description"`
		Type    string          `json:"type"`
		By      *string         `json:"created_by"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, errorf(http.StatusBadRequest, CodeRequestBodyInvalid, "the request body does not fit createApiKey"))
		return
	}
	switch {
	case len(in.Name) < 3:
		writeError(w, paramError(http.StatusBadRequest, CodeFormParamValueInvalid, "name", "name must have at least 3 characters"))
		return
	case !apiKeySubject.MatchString(in.Subject):
		writeError(w, paramError(http.StatusBadRequest, CodeFormParamValueInvalid, "subject", "subject must be a user, org, mch or scim id"))
		return
	case in.Seconds != nil && *in.Seconds <= 0:
		writeError(w, paramError(http.StatusBadRequest, CodeFormParamValueInvalid, "seconds_until_expiration", "seconds_until_expiration must be positive"))
		return
	}
	var opts []CredentialOption
	if in.Seconds != nil {
		opts = append(opts, CredentialLifetime(time.Duration(*in.Seconds*float64(time.Second))))
	}
	if in.Scopes != nil {
		opts = append(opts, CredentialScopes(in.Scopes...))
	}
	var claims map[string]any
	if len(in.Claims) > 0 && json.Unmarshal(in.Claims, &claims) == nil && claims != nil {
		opts = append(opts, CredentialClaims(claims))
	}
	id, _ := s.CreateAPIKey(in.Subject, in.Name, opts...)
	s.writeCredential(w, id, true)
}

func (s *Server) writeCredential(w http.ResponseWriter, id string, withSecret bool) {
	st := s.store()
	c := st.byID[id]
	var out map[string]any
	if c != nil {
		out = c.wire(s.now(), withSecret)
	}
	st.mu.Unlock()
	if out == nil {
		writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound, "no credential with this id"))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if !apiKeySubject.MatchString(q.Get("subject")) {
		writeError(w, paramError(http.StatusBadRequest, CodeFormParamValueInvalid, "subject", "subject must be a user, org, mch or scim id"))
		return
	}
	s.writeList(w, r, credAPIKey, "data", q.Get("include_invalid") == "true")
}

func (s *Server) handleListM2MTokens(w http.ResponseWriter, r *http.Request, _ []byte) {
	subject := r.URL.Query().Get("subject")
	if m := s.machineKey(r); m != nil && m.ID != subject {
		writeError(w, errorf(http.StatusForbidden, "authorization_invalid", "a machine secret key lists only its own machine's tokens"))
		return
	}
	s.writeList(w, r, credM2M, "m2m_tokens", r.URL.Query().Get("revoked") == "true")
}

func (s *Server) writeList(w http.ResponseWriter, r *http.Request, kind credKind, field string, invalid bool) {
	q := r.URL.Query()
	limit, e := intParam(q.Get("limit"), "limit", 10, 1, 100)
	if e != nil {
		writeError(w, e)
		return
	}
	offset, e := intParam(q.Get("offset"), "offset", 0, 0, int(^uint(0)>>1))
	if e != nil {
		writeError(w, e)
		return
	}
	now := s.now()
	st := s.store()
	var match []map[string]any
	for _, c := range st.order {
		live := !c.revoked && (c.expires.IsZero() || c.expires.After(now))
		if c.kind == kind && c.subject == q.Get("subject") && (live || invalid) {
			match = append(match, c.wire(now, false))
		}
	}
	st.mu.Unlock()
	page := []map[string]any{}
	for i := offset; i < len(match) && len(page) < limit; i++ {
		page = append(page, match[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{field: page, "total_count": len(match)})
}

func (s *Server) handleRevokeCredential(w http.ResponseWriter, r *http.Request, body []byte) {
	fields, e := decodeObject(body)
	if e == nil {
		e = onlyFields(fields, http.StatusBadRequest, "revocation_reason")
	}
	var reason string
	if e == nil {
		reason, e = stringField(fields, "revocation_reason", http.StatusBadRequest)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	machine := s.machineKey(r)
	st := s.store()
	c := st.byID[id]
	if c != nil && (machine == nil || c.subject == machine.ID) && strings.HasPrefix(r.URL.Path, "/v1/api_keys/") == (c.kind == credAPIKey) {
		c.revoked = true
		if reason != "" {
			c.reason = &reason
		}
	} else {
		c = nil
	}
	st.mu.Unlock()
	if c == nil {
		writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound, "no credential with this id"))
		return
	}
	s.writeCredential(w, id, false)
}

func (s *Server) handleCreateM2MToken(w http.ResponseWriter, r *http.Request, body []byte) {
	m := s.machineKey(r)
	if m == nil {
		writeError(w, errorf(http.StatusUnauthorized, CodeAuthenticationInvalid, "creating an M2M token needs a machine secret key"))
		return
	}
	var in struct {
		Format  string          `json:"token_format"`
		Seconds *float64        `json:"seconds_until_expiration"`
		Claims  json.RawMessage `json:"claims"`
		MinTTL  *int64          `json:"min_remaining_ttl_seconds"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, errorf(http.StatusBadRequest, CodeRequestBodyInvalid, "the request body does not fit createM2MToken"))
		return
	}
	var opts []CredentialOption
	if in.Seconds != nil {
		if *in.Seconds <= 0 {
			writeError(w, paramError(http.StatusBadRequest, CodeFormParamValueInvalid, "seconds_until_expiration", "seconds_until_expiration must be positive"))
			return
		}
		opts = append(opts, CredentialLifetime(time.Duration(*in.Seconds*float64(time.Second))))
	}
	var claims map[string]any
	if len(in.Claims) > 0 && json.Unmarshal(in.Claims, &claims) == nil && claims != nil {
		opts = append(opts, CredentialClaims(claims))
	}
	switch in.Format {
	case "", "opaque":
		id, _ := s.CreateM2MToken(m.ID, opts...)
		st := s.store()
		out := st.byID[id].wire(s.now(), true)
		st.mu.Unlock()
		writeJSON(w, http.StatusCreated, out)
	case "jwt":
		token := s.M2MJWT(m.ID, opts...)
		now := s.now()
		writeJSON(w, http.StatusCreated, map[string]any{"object": "machine_to_machine_token", "id": "mt_" + randomString(32, hexChars),
			"subject": m.ID, "claims": mapOrNil(claims), "scopes": nonNilStrings(m.Scopes), "token": token, "revoked": false,
			"revocation_reason": nil, "expired": false, "expiration": now.Add(DefaultMachineTokenLifetime).UnixMilli(),
			"last_used_at": nil, "created_at": now.UnixMilli(), "updated_at": now.UnixMilli()})
	default:
		writeError(w, paramError(http.StatusBadRequest, CodeFormParamValueInvalid, "token_format", "token_format must be opaque or jwt"))
	}
}
