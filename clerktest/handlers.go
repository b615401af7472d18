package clerktest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Token lifetimes POST /v1/sessions/{id}/tokens accepts in
// expires_in_seconds, as Clerk's spec bounds them.
const (
	minTokenSeconds = 30
	maxTokenSeconds = 315360000
)

type tokenJSON struct {
	Object string `json:"object"`
	JWT    string `json:"jwt"`
}

type sessionPageJSON struct {
	Data       []sessionJSON `json:"data"`
	TotalCount int           `json:"total_count"`
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request, _ []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.JWKS())
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound,
		"no route "+r.Method+" "+r.URL.Path+" on this fake Backend API"))
}

func sessionNotFound(id string) *apiError {
	return errorf(http.StatusNotFound, CodeResourceNotFound, "no session with id "+strconv.Quote(id))
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	clientID, userID, status := q.Get("client_id"), q.Get("user_id"), q.Get("status")
	if clientID == "" && userID == "" {
		writeError(w, paramError(http.StatusUnprocessableEntity, CodeFormParamMissing, "user_id",
			"one of client_id or user_id is required"))
		return
	}
	if status != "" && !slices.Contains([]string{"abandoned", "active", "ended", "expired", "removed", "replaced", "revoked"}, status) {
		writeError(w, paramError(http.StatusUnprocessableEntity, CodeFormParamValueInvalid, "status",
			"status must be one of abandoned, active, ended, expired, removed, replaced, revoked"))
		return
	}
	limit, e := intParam(q.Get("limit"), "limit", 10, 1, 500)
	if e != nil {
		writeError(w, e)
		return
	}
	offset, e := intParam(q.Get("offset"), "offset", 0, 0, int(^uint(0)>>1))
	if e != nil {
		writeError(w, e)
		return
	}
	paginated := false
	if p := q.Get("paginated"); p != "" {
		b, err := strconv.ParseBool(p)
		if err != nil {
			writeError(w, paramError(http.StatusUnprocessableEntity, CodeFormParamFormatInvalid, "paginated",
				"paginated must be true or false"))
			return
		}
		paginated = b
	}

	s.mu.Lock()
	var match []*session
	for _, ss := range s.sessions {
		if (clientID == "" || ss.ClientID == clientID) && (userID == "" || ss.UserID == userID) &&
			(status == "" || ss.status == status) {
			match = append(match, ss)
		}
	}
	slices.SortFunc(match, func(a, b *session) int { return cmp.Compare(b.seq, a.seq) }) // newest first
	total := len(match)
	page := []sessionJSON{}
	for i := offset; i < total && len(page) < limit; i++ {
		page = append(page, match[i].wire())
	}
	s.mu.Unlock()

	if paginated {
		writeJSON(w, http.StatusOK, sessionPageJSON{Data: page, TotalCount: total})
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func intParam(raw, name string, def, lo, hi int) (int, *apiError) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, paramError(http.StatusUnprocessableEntity, CodeFormParamFormatInvalid, name, name+" must be an integer")
	}
	if n < lo || n > hi {
		return 0, paramError(http.StatusUnprocessableEntity, CodeFormParamValueInvalid, name,
			name+" must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
	}
	return n, nil
}

// decodeObject reads a JSON object body into its fields, so each operation
// can check names and types itself. An empty body is an empty object.
func decodeObject(body []byte) (map[string]json.RawMessage, *apiError) {
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) == 0 {
		return fields, nil
	}
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, errorf(http.StatusBadRequest, CodeRequestBodyInvalid, "the request body must be a JSON object")
	}
	return fields, nil
}

// stringField reads an optional string field; null counts as absent.
func stringField(fields map[string]json.RawMessage, name string, status int) (string, *apiError) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", paramError(status, CodeFormParamFormatInvalid, name, name+" must be a string")
	}
	return v, nil
}

func (s *Server) handleCreate(w http.ResponseWriter, _ *http.Request, body []byte) {
	fields, e := decodeObject(body)
	if e != nil {
		writeError(w, e)
		return
	}
	userID, e := stringField(fields, "user_id", http.StatusUnprocessableEntity)
	if e == nil && userID == "" {
		e = paramError(http.StatusUnprocessableEntity, CodeFormParamMissing, "user_id", "user_id is required")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	orgID, e := stringField(fields, "active_organization_id", http.StatusUnprocessableEntity)
	if e != nil {
		writeError(w, e)
		return
	}
	var sc sessionConfig
	if orgID != "" {
		// The fake has no organizations to look the membership up in; an
		// HTTP-created session is a plain member.
		sc.org = &orgMembership{id: orgID, role: "org:member"}
	}
	created := s.createSession(userID, sc)
	s.writeSession(w, created.ID)
}

func (s *Server) writeSession(w http.ResponseWriter, id string) {
	s.mu.Lock()
	ss := s.sessions[id]
	var out sessionJSON
	if ss != nil {
		out = ss.wire()
	}
	s.mu.Unlock()
	if ss == nil {
		writeError(w, sessionNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.writeSession(w, r.PathValue("id"))
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("id")
	s.RevokeSession(id)
	s.writeSession(w, id)
}

// handleVerify serves the deprecated verify call. Only clients pinned to API
// version 2021-02-05 get an answer; newer versions get 410, as from Clerk.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request, body []byte) {
	if apiVersion(r) != apiVersion20210205 {
		writeError(w, errorf(http.StatusGone, CodeOperationDeprecated,
			"verify was removed in this API version; verify session tokens locally"))
		return
	}
	fields, e := decodeObject(body)
	if e == nil {
		e = onlyFields(fields, http.StatusBadRequest, "token")
	}
	var raw string
	if e == nil {
		raw, e = stringField(fields, "token", http.StatusBadRequest)
	}
	if e == nil && raw == "" {
		e = paramError(http.StatusBadRequest, CodeFormParamMissing, "token", "token is required")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	if _, ok := s.SessionStatus(id); !ok {
		writeError(w, sessionNotFound(id))
		return
	}
	invalid := func(why string) { writeError(w, errorf(http.StatusUnauthorized, CodeSessionTokenInvalid, why)) }
	tok, err := s.verifyOwn(raw)
	if err != nil {
		invalid("the token is " + err.Error())
		return
	}
	if tok.str("sid") != id {
		invalid("the token belongs to another session")
		return
	}
	now := s.now().Unix()
	exp, okExp := tok.unix("exp")
	nbf, okNbf := tok.unix("nbf")
	if !okExp || exp <= now || (okNbf && nbf > now) {
		invalid("the token is expired or not yet valid")
		return
	}
	if status, _ := s.SessionStatus(id); status != statusActive {
		invalid("the session is " + status)
		return
	}
	s.writeSession(w, id)
}

// onlyFields refuses body fields outside allowed, for operations whose
// schema says additionalProperties: false.
func onlyFields(fields map[string]json.RawMessage, status int, allowed ...string) *apiError {
	for name := range fields {
		if !slices.Contains(allowed, name) {
			return paramError(status, CodeFormParamUnknown, name, name+" is not a valid parameter for this request")
		}
	}
	return nil
}

// handleCreateToken serves both token routes; {template} is empty for the
// plain one.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, body []byte) {
	fields, e := decodeObject(body)
	if e != nil {
		writeError(w, e)
		return
	}
	var tc tokenConfig
	if raw, ok := fields["expires_in_seconds"]; ok && string(raw) != "null" {
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			writeError(w, paramError(http.StatusUnprocessableEntity, CodeFormParamFormatInvalid, "expires_in_seconds",
				"expires_in_seconds must be an integer"))
			return
		}
		if n < minTokenSeconds || n > maxTokenSeconds {
			writeError(w, paramError(http.StatusUnprocessableEntity, CodeFormParamValueInvalid, "expires_in_seconds",
				"expires_in_seconds must be between 30 and 315360000"))
			return
		}
		tc.lifetime = time.Duration(n) * time.Second
	}

	id, name := r.PathValue("id"), r.PathValue("template")
	s.mu.Lock()
	ss := s.sessions[id]
	template, haveTemplate := s.templates[name]
	in := mintInput{sid: id, key: s.currentKey(), template: template}
	if ss != nil {
		in.sub, in.org = ss.UserID, ss.org
	}
	s.mu.Unlock()
	switch {
	case ss == nil:
		writeError(w, sessionNotFound(id))
		return
	case name != "" && !haveTemplate:
		writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound, "no JWT template named "+strconv.Quote(name)))
		return
	}
	writeJSON(w, http.StatusOK, tokenJSON{Object: "token", JWT: s.mint(in, tc)})
}
