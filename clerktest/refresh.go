package clerktest

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// MaxExpiredTokenAge is how long after its exp an expired session token can
// still be exchanged at the refresh endpoint; older ones get
// session_refresh_expired_session_token_too_old, and the app must send the
// browser through Clerk's handshake instead.
const MaxExpiredTokenAge = 5 * time.Minute

// consumedPruneAt is the size at which the consumed-token set drops entries
// too old to be refreshed anyway, so a long dev-mode run stays bounded.
const consumedPruneAt = 4096

type cookiesJSON struct {
	Object  string   `json:"object"`
	Cookies []string `json:"cookies"`
}

type refreshRequest struct {
	expiredToken, refreshToken, origin string
	cookies                            bool
}

// parseRefresh applies the body schema: exactly the documented fields
// (additionalProperties: false), the three required ones non-empty strings.
// Clerk's spec lists only 400 and 401 for this operation, so bad input is a
// 400.
func parseRefresh(body []byte) (refreshRequest, *apiError) {
	const bad = http.StatusBadRequest
	var req refreshRequest
	fields, e := decodeObject(body)
	if e != nil {
		return req, e
	}
	if e := onlyFields(fields, bad, "expired_token", "refresh_token", "request_origin",
		"request_headers", "request_originating_ip", "format"); e != nil {
		return req, e
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"expired_token", &req.expiredToken},
		{"refresh_token", &req.refreshToken},
		{"request_origin", &req.origin},
	} {
		v, e := stringField(fields, f.name, bad)
		if e != nil {
			return req, e
		}
		if v == "" {
			return req, paramError(bad, CodeFormParamMissing, f.name, f.name+" is required")
		}
		*f.dst = v
	}
	if _, e := stringField(fields, "request_originating_ip", bad); e != nil {
		return req, e
	}
	if raw, ok := fields["request_headers"]; ok && string(raw) != "null" {
		var headers map[string]any
		if err := json.Unmarshal(raw, &headers); err != nil {
			return req, paramError(bad, CodeFormParamFormatInvalid, "request_headers", "request_headers must be an object")
		}
	}
	format, e := stringField(fields, "format", bad)
	if e != nil {
		return req, e
	}
	switch format {
	case "", "token":
	case "cookie":
		req.cookies = true
	default:
		return req, paramError(bad, CodeFormParamValueInvalid, "format", "format must be token or cookie")
	}
	return req, nil
}

// handleRefresh exchanges an expired session token for a new one. The
// checks, their order and codes are documented in the package doc; keep the
// two in step.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request, body []byte) {
	req, e := parseRefresh(body)
	var suffixed bool
	if e == nil {
		suffixed, e = boolQuery(r, "suffixed_cookies")
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
	deny := func(code, why string) { writeError(w, errorf(http.StatusUnauthorized, code, why)) }

	tok, err := s.verifyOwn(req.expiredToken)
	if err != nil {
		deny(CodeExpiredSessionTokenInvalid, "expired_token is "+err.Error())
		return
	}
	exp, ok := tok.unix("exp")
	if !ok {
		deny(CodeExpiredSessionTokenInvalid, "expired_token has no numeric exp")
		return
	}
	if tok.str("sid") != id {
		deny(CodeRefreshSIDMismatch, "expired_token belongs to another session")
		return
	}
	now := s.now()
	if now.Unix()-exp > int64(MaxExpiredTokenAge/time.Second) {
		deny(CodeRefreshTokenTooOld, "expired_token expired more than "+MaxExpiredTokenAge.String()+" ago")
		return
	}

	digest := sha256.Sum256([]byte(req.expiredToken))
	s.mu.Lock()
	ss := s.sessions[id]
	var code, why string
	switch {
	case req.refreshToken != ss.RefreshToken:
		code, why = CodeRefreshTokenNotFound, "refresh_token is not this session's"
	case ss.status != statusActive:
		code, why = CodeRefreshInactiveSession, "the session is "+ss.status
	default:
		if _, used := s.consumed[digest]; used {
			code, why = CodeRefreshTokenConsumed, "expired_token was already exchanged"
		}
	}
	if code != "" {
		s.mu.Unlock()
		deny(code, why)
		return
	}
	s.consumeLocked(digest, exp, now)
	ss.updatedAt = now
	in := mintInput{sid: id, sub: ss.UserID, org: ss.org, key: s.currentKey()}
	clientUAT := ss.createdAt.Unix()
	s.mu.Unlock()

	origin := req.origin
	jwt := s.mint(in, tokenConfig{azp: &origin, v2: tok.isV2()})
	if !req.cookies {
		writeJSON(w, http.StatusOK, tokenJSON{Object: "token", JWT: jwt})
		return
	}
	writeJSON(w, http.StatusOK, cookiesJSON{Object: "cookies", Cookies: s.refreshCookies(jwt, clientUAT, suffixed)})
}

// refreshCookies lists the Set-Cookie values a cookie-format refresh answers
// with: __session (and __session_<suffix>), then __client_uat (and
// __client_uat_<suffix>).
func (s *Server) refreshCookies(jwt string, clientUAT int64, suffixed bool) []string {
	const attrs = "; Path=/; SameSite=Lax; Secure"
	uat := strconv.FormatInt(clientUAT, 10)
	out := []string{"__session=" + jwt + attrs}
	if suffixed {
		out = append(out, "__session_"+s.suffix+"="+jwt+attrs)
	}
	out = append(out, "__client_uat="+uat+attrs)
	if suffixed {
		out = append(out, "__client_uat_"+s.suffix+"="+uat+attrs)
	}
	return out
}

func (s *Server) consumeLocked(digest [32]byte, exp int64, now time.Time) {
	if len(s.consumed) >= consumedPruneAt {
		cutoff := now.Add(-MaxExpiredTokenAge).Unix()
		for k, e := range s.consumed {
			if e < cutoff {
				delete(s.consumed, k)
			}
		}
	}
	s.consumed[digest] = exp
}

func boolQuery(r *http.Request, name string) (bool, *apiError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, paramError(http.StatusBadRequest, CodeFormParamFormatInvalid, name, name+" must be true or false")
	}
	return b, nil
}
