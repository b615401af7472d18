package clerktest

import (
	"time"
)

const (
	sessionLifetime = 7 * 24 * time.Hour  // expire_at, Clerk's default maximum lifetime
	sessionAbandon  = 30 * 24 * time.Hour // abandon_at, Clerk's default inactivity timeout ceiling

	statusActive  = "active"
	statusRevoked = "revoked"
)

// Session is a session the fake created, with what a signed-in browser
// holds for it.
type Session struct {
	// ID is the session id ("sess_…"), the sid of its tokens.
	ID string
	// UserID is the signed-in user ("user_…"), the sub of its tokens.
	UserID string
	// ClientID is the client (browser) holding the session ("client_…").
	ClientID string
	// RefreshToken is the value the browser keeps in the
	// __refresh_<CookieSuffix> cookie and sends as refresh_token. It does
	// not change when the session is refreshed.
	RefreshToken string
}

type sessionConfig struct {
	clientID string
	org      *orgMembership
}

type session struct {
	Session
	seq       int64
	status    string
	org       *orgMembership
	createdAt time.Time
	updatedAt time.Time
}

// sessionJSON is Clerk's Session object (additionalProperties: false), with
// times in Unix milliseconds.
type sessionJSON struct {
	Object                   string         `json:"object"`
	ID                       string         `json:"id"`
	UserID                   string         `json:"user_id"`
	ClientID                 string         `json:"client_id"`
	Actor                    map[string]any `json:"actor"`
	Status                   string         `json:"status"`
	LastActiveOrganizationID *string        `json:"last_active_organization_id"`
	LastActiveAt             int64          `json:"last_active_at"`
	LatestActivity           *activityJSON  `json:"latest_activity"`
	ExpireAt                 int64          `json:"expire_at"`
	AbandonAt                int64          `json:"abandon_at"`
	UpdatedAt                int64          `json:"updated_at"`
	CreatedAt                int64          `json:"created_at"`
	Tasks                    []taskJSON     `json:"tasks"`
}

type activityJSON struct {
	Object   string `json:"object"`
	ID       string `json:"id"`
	IsMobile bool   `json:"is_mobile"`
}

type taskJSON struct {
	Key string `json:"key"`
}

func (ss *session) wire() sessionJSON {
	out := sessionJSON{
		Object:       "session",
		ID:           ss.ID,
		UserID:       ss.UserID,
		ClientID:     ss.ClientID,
		Status:       ss.status,
		LastActiveAt: ss.updatedAt.UnixMilli(),
		ExpireAt:     ss.createdAt.Add(sessionLifetime).UnixMilli(),
		AbandonAt:    ss.createdAt.Add(sessionAbandon).UnixMilli(),
		UpdatedAt:    ss.updatedAt.UnixMilli(),
		CreatedAt:    ss.createdAt.UnixMilli(),
	}
	if ss.org != nil {
		id := ss.org.id
		out.LastActiveOrganizationID = &id
	}
	return out
}

// CreateSession starts an active session for userID (a random "user_…" id
// when empty) on a new client, unless WithClient names one, and returns
// what the browser would hold. WithOrg sets the active organization that
// every token for the session carries.
func (s *Server) CreateSession(userID string, opts ...SessionOption) Session {
	var sc sessionConfig
	for _, o := range opts {
		if o != nil {
			o.applySession(&sc)
		}
	}
	return s.createSession(userID, sc)
}

func (s *Server) createSession(userID string, sc sessionConfig) Session {
	if userID == "" {
		userID = newID("user_")
	}
	if sc.clientID == "" {
		sc.clientID = newID("client_")
	}
	now := s.now()
	ss := &session{
		Session: Session{
			ID:           newID("sess_"),
			UserID:       userID,
			ClientID:     sc.clientID,
			RefreshToken: randomString(40, alphaNum),
		},
		status:    statusActive,
		org:       sc.org,
		createdAt: now,
		updatedAt: now,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	ss.seq = s.seq
	s.sessions[ss.ID] = ss
	return ss.Session
}

// RevokeSession marks a session revoked, as POST /v1/sessions/{id}/revoke
// does, and reports whether it exists.
//
// With SendWebhooksTo, revoking an active session sends session.revoked.
func (s *Server) RevokeSession(id string) bool {
	s.mu.Lock()
	ss := s.sessions[id]
	if ss == nil {
		s.mu.Unlock()
		return false
	}
	active := ss.status == statusActive
	s.revokeLocked(ss)
	w := ss.wire()
	s.mu.Unlock()
	if active {
		s.SendWebhook("session.revoked", w)
	}
	return true
}

func (s *Server) revokeLocked(ss *session) {
	if ss.status != statusRevoked {
		ss.status = statusRevoked
		ss.updatedAt = s.now()
	}
}

// SessionStatus reports a session's status ("active", "revoked") and
// whether it exists.
func (s *Server) SessionStatus(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[id]; ss != nil {
		return ss.status, true
	}
	return "", false
}
