package clerktest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/clerkgate/clerkgate/webhooks"
)

// Backend API routes that change users and memberships, and so send
// webhooks.
const (
	RouteDeleteUser       Route = "DELETE /v1/users/{id}"
	RouteBanUser          Route = "POST /v1/users/{id}/ban"
	RouteLockUser         Route = "POST /v1/users/{id}/lock"
	RouteUpdateMembership Route = "PATCH /v1/organizations/{org}/memberships/{user}"
	RouteDeleteMembership Route = "DELETE /v1/organizations/{org}/memberships/{user}"
)

// webhookTimeout bounds one delivery attempt; webhookAttempts is how many
// are made (Clerk retries for days; a test needs a few).
const (
	webhookTimeout  = 5 * time.Second
	webhookAttempts = 3
)

// WebhookDelivery is one attempt to deliver a webhook, as the fake made it.
type WebhookDelivery struct {
	// MessageID is the svix-id, the same on every attempt of one message.
	MessageID string
	// Type is the event's type, such as "session.revoked".
	Type string
	// Body is the event as sent.
	Body []byte
	// Header holds the svix- headers sent.
	Header http.Header
	// Status is the endpoint's answer, 0 when the attempt failed (Err).
	Status int
	Err    string
	// Sent and Answered are when the attempt started and ended, on the
	// real clock.
	Sent, Answered time.Time
}

// webhookState is the fake's webhook endpoint, its secret and record.
type webhookState struct {
	secret string
	client *http.Client // no keep-alives: Close leaves no connection behind
	wg     sync.WaitGroup

	mu         sync.Mutex
	url        string
	deliveries []WebhookDelivery
}

func newWebhookState() *webhookState {
	b := make([]byte, 24)
	rand.Read(b)
	return &webhookState{
		secret: "whsec_" + base64.StdEncoding.EncodeToString(b),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// WebhookSecret is the signing secret ("whsec_…", random per server) of
// the webhooks the fake sends: the value for CLERK_WEBHOOK_SIGNING_SECRET.
func (s *Server) WebhookSecret() string { return s.hooks.secret }

// SendWebhooksTo makes the fake deliver a signed webhook to url, as Clerk
// does through Svix, whenever a session is revoked (session.revoked), a
// user deleted (user.deleted), banned or locked (user.updated, and
// session.revoked for each of a banned user's sessions), or a membership
// updated or deleted (organizationMembership.updated, .deleted), through
// the Backend API or the Server's methods. Deliveries run in the
// background, after the change, with up to three attempts while the
// endpoint answers anything but 2xx; Close waits for them. An empty url
// stops deliveries.
func (s *Server) SendWebhooksTo(url string) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.url = url
}

// WebhookDeliveries returns every delivery attempt so far, oldest first.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	out := make([]WebhookDelivery, len(s.hooks.deliveries))
	for i, d := range s.hooks.deliveries {
		d.Header = d.Header.Clone()
		out[i] = d
	}
	return out
}

// SendWebhook delivers an event of any type with data as its object, as
// SendWebhooksTo describes, and returns its message id. It does nothing
// but return "" without an endpoint.
func (s *Server) SendWebhook(eventType string, data any) string {
	s.hooks.mu.Lock()
	url := s.hooks.url
	s.hooks.mu.Unlock()
	select {
	case <-s.done:
		return ""
	default:
	}
	if url == "" {
		return ""
	}
	body, err := json.Marshal(map[string]any{
		"object":      "event",
		"type":        eventType,
		"timestamp":   s.now().UnixMilli(),
		"instance_id": "ins_" + strings.ToLower(randomString(27, alphaNum)),
		"data":        data,
	})
	if err != nil {
		panic("clerktest: webhook data: " + err.Error())
	}
	id := newID("msg_")
	s.hooks.wg.Add(1)
	go func() {
		defer s.hooks.wg.Done()
		for attempt := range webhookAttempts {
			if attempt > 0 && !s.pause(context.Background(), time.Duration(attempt)*200*time.Millisecond) {
				return
			}
			if ok := s.deliver(url, id, eventType, body); ok {
				return
			}
		}
	}()
	return id
}

// RedeliverWebhook sends a message again, newly signed, as Clerk does
// when it did not see the endpoint's answer: the same id and body.
func (s *Server) RedeliverWebhook(messageID string) bool {
	s.hooks.mu.Lock()
	url := s.hooks.url
	var found *WebhookDelivery
	for i := range s.hooks.deliveries {
		if s.hooks.deliveries[i].MessageID == messageID {
			found = &s.hooks.deliveries[i]
			break
		}
	}
	var typ string
	var body []byte
	if found != nil {
		typ, body = found.Type, found.Body
	}
	s.hooks.mu.Unlock()
	if found == nil || url == "" {
		return false
	}
	return s.deliver(url, messageID, typ, body)
}

// deliver makes one attempt and reports whether the endpoint took it.
func (s *Server) deliver(url, id, eventType string, body []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), webhookTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.done: // Close
			cancel()
		case <-ctx.Done():
		}
	}()
	d := WebhookDelivery{MessageID: id, Type: eventType, Body: body, Sent: time.Now()}
	// Signed on the server's clock, as the timestamp check reads it.
	req, err := webhooks.NewRequest(ctx, url, s.hooks.secret, id, s.now(), body)
	if err == nil {
		d.Header = req.Header.Clone()
		var resp *http.Response
		if resp, err = s.hooks.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			d.Status = resp.StatusCode
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	d.Answered = time.Now()
	s.hooks.mu.Lock()
	s.hooks.deliveries = append(s.hooks.deliveries, d)
	s.hooks.mu.Unlock()
	return d.Status >= 200 && d.Status < 300
}

// DeleteUser deletes a user, as DELETE /v1/users/{id} does: the user's
// sessions are revoked and user.deleted is sent.
func (s *Server) DeleteUser(userID string) {
	s.revokeUserSessions(userID, false)
	s.SendWebhook("user.deleted", map[string]any{"object": "user", "id": userID, "deleted": true})
}

// BanUser bans a user, as POST /v1/users/{id}/ban does: the user's
// sessions are revoked (session.revoked for each), and user.updated says
// banned.
func (s *Server) BanUser(userID string) {
	s.SendWebhook("user.updated", s.userJSON(userID, true, false))
	s.revokeUserSessions(userID, true)
}

// LockUser locks a user, as POST /v1/users/{id}/lock does: user.updated
// says locked. Sessions are left alone, as Clerk leaves them.
func (s *Server) LockUser(userID string) {
	s.SendWebhook("user.updated", s.userJSON(userID, false, true))
}

func (s *Server) userJSON(userID string, banned, locked bool) map[string]any {
	now := s.now().UnixMilli()
	return map[string]any{"object": "user", "id": userID, "banned": banned, "locked": locked,
		"email_addresses": []any{}, "created_at": now, "updated_at": now}
}

func (s *Server) revokeUserSessions(userID string, tell bool) {
	var revoked []sessionJSON
	s.mu.Lock()
	for _, ss := range s.sessions {
		if ss.UserID == userID && ss.status == statusActive {
			s.revokeLocked(ss)
			revoked = append(revoked, ss.wire())
		}
	}
	s.mu.Unlock()
	if tell {
		for _, w := range revoked {
			s.SendWebhook("session.revoked", w)
		}
	}
}

// UpdateMembership changes a user's role (and permissions) in an
// organization, as PATCH /v1/organizations/{org}/memberships/{user} does:
// the tokens minted from now on for the user's sessions in that
// organization carry them, and organizationMembership.updated is sent.
// It reports whether the user had a session in the organization.
func (s *Server) UpdateMembership(orgID, userID, role string, permissions ...string) bool {
	return s.changeMembership(orgID, userID, func(m *orgMembership) *orgMembership {
		return &orgMembership{id: m.id, slug: m.slug, role: role, perms: append([]string(nil), permissions...)}
	}, "organizationMembership.updated")
}

// RemoveMembership removes a user from an organization, as DELETE
// /v1/organizations/{org}/memberships/{user} does: the user's sessions in
// it lose their active organization, and organizationMembership.deleted
// is sent. It reports whether the user had a session in the organization.
func (s *Server) RemoveMembership(orgID, userID string) bool {
	return s.changeMembership(orgID, userID, func(*orgMembership) *orgMembership { return nil },
		"organizationMembership.deleted")
}

func (s *Server) changeMembership(orgID, userID string, change func(*orgMembership) *orgMembership, event string) bool {
	var last *orgMembership
	s.mu.Lock()
	for _, ss := range s.sessions {
		if ss.UserID == userID && ss.org != nil && ss.org.id == orgID {
			last = ss.org
			ss.org = change(ss.org)
			ss.updatedAt = s.now()
		}
	}
	s.mu.Unlock()
	if last == nil {
		return false
	}
	m := last
	if n := change(last); n != nil {
		m = n
	}
	now := s.now().UnixMilli()
	s.SendWebhook(event, map[string]any{
		"object":           "organization_membership",
		"id":               "orgmem_" + randomString(27, alphaNum),
		"role":             m.role,
		"permissions":      nonNilStrings(m.perms),
		"organization":     map[string]any{"object": "organization", "id": m.id, "slug": m.slug, "name": m.slug},
		"public_user_data": map[string]any{"user_id": userID, "identifier": userID},
		"created_at":       now,
		"updated_at":       now,
	})
	return true
}

func (s *Server) webhookRoutes() map[Route]handlerFunc {
	return map[Route]handlerFunc{
		RouteDeleteUser: func(w http.ResponseWriter, r *http.Request, _ []byte) {
			s.DeleteUser(r.PathValue("id"))
			writeJSON(w, http.StatusOK, map[string]any{"object": "user", "id": r.PathValue("id"), "deleted": true})
		},
		RouteBanUser: func(w http.ResponseWriter, r *http.Request, _ []byte) {
			s.BanUser(r.PathValue("id"))
			writeJSON(w, http.StatusOK, s.userJSON(r.PathValue("id"), true, false))
		},
		RouteLockUser: func(w http.ResponseWriter, r *http.Request, _ []byte) {
			s.LockUser(r.PathValue("id"))
			writeJSON(w, http.StatusOK, s.userJSON(r.PathValue("id"), false, true))
		},
		RouteUpdateMembership: func(w http.ResponseWriter, r *http.Request, body []byte) {
			var in struct {
				Role string `json:"role"`
			}
			if err := json.Unmarshal(body, &in); err != nil || in.Role == "" {
				writeError(w, paramError(http.StatusUnprocessableEntity, CodeFormParamMissing, "role", "role is required"))
				return
			}
			if !s.UpdateMembership(r.PathValue("org"), r.PathValue("user"), in.Role) {
				writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound, "no such membership"))
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"object": "organization_membership", "role": in.Role})
		},
		RouteDeleteMembership: func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if !s.RemoveMembership(r.PathValue("org"), r.PathValue("user")) {
				writeError(w, errorf(http.StatusNotFound, CodeResourceNotFound, "no such membership"))
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"object": "organization_membership", "deleted": true})
		},
	}
}
