package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Event types the Gate acts on (Clerk sends many more; Event.Type holds
// any of them).
const (
	SessionCreated = "session.created"
	SessionEnded   = "session.ended"
	SessionRemoved = "session.removed"
	SessionRevoked = "session.revoked"

	UserCreated = "user.created"
	UserUpdated = "user.updated" // also when a user is banned, unbanned, locked or unlocked
	UserDeleted = "user.deleted"

	MembershipCreated = "organizationMembership.created"
	MembershipUpdated = "organizationMembership.updated"
	MembershipDeleted = "organizationMembership.deleted"

	RoleUpdated       = "role.updated"
	RoleDeleted       = "role.deleted"
	PermissionUpdated = "permission.updated"
	PermissionDeleted = "permission.deleted"
)

// Event is a verified Clerk webhook: the envelope, with the object it is
// about left raw in Data. Session, User and Membership decode Data for
// the events the Gate acts on.
type Event struct {
	// MessageID is the webhook's message id (svix-id): the same on every
	// delivery of the event, so the key to deduplicate by.
	MessageID string
	// SignedAt is when this delivery was signed (svix-timestamp).
	SignedAt time.Time

	// Type is the event's type, such as "user.deleted".
	Type string
	// Timestamp is when the event happened at Clerk (the envelope's
	// timestamp, Unix ms).
	Timestamp time.Time
	// InstanceID is the Clerk instance ("ins_…").
	InstanceID string
	// Data is the object the event is about, as Clerk sent it.
	Data json.RawMessage
	// Attributes is the envelope's event_attributes (such as the HTTP
	// request that caused the event), raw; nil when absent.
	Attributes json.RawMessage
}

type envelopeJSON struct {
	Object     string          `json:"object"`
	Type       string          `json:"type"`
	Timestamp  int64           `json:"timestamp"`
	InstanceID string          `json:"instance_id"`
	Data       json.RawMessage `json:"data"`
	Attributes json.RawMessage `json:"event_attributes"`
}

// ParseEvent reads a verified body as a Clerk event: an object with a
// type, a positive timestamp and a data object.
func ParseEvent(msg Message, body []byte) (*Event, error) {
	var env envelopeJSON
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	data := bytes.TrimSpace(env.Data)
	switch {
	case env.Object != "" && env.Object != "event":
		return nil, fmt.Errorf("%w: object is %q, not \"event\"", ErrInvalidEvent, clip(env.Object))
	case env.Type == "":
		return nil, fmt.Errorf("%w: no type", ErrInvalidEvent)
	case env.Timestamp <= 0:
		return nil, fmt.Errorf("%w: no timestamp", ErrInvalidEvent)
	case len(data) == 0 || data[0] != '{':
		return nil, fmt.Errorf("%w: data is not an object", ErrInvalidEvent)
	}
	e := &Event{
		MessageID:  msg.ID,
		SignedAt:   msg.Timestamp,
		Type:       env.Type,
		Timestamp:  time.UnixMilli(env.Timestamp),
		InstanceID: env.InstanceID,
		Data:       env.Data,
	}
	if a := bytes.TrimSpace(env.Attributes); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		e.Attributes = env.Attributes
	}
	return e, nil
}

// Session is the data of a session.* event: Clerk's Session object.
type Session struct {
	ID       string `json:"id"`
	UserID   string `json:"user_id"`
	ClientID string `json:"client_id"`
	// Status is "active", "revoked", "ended", "removed", "expired", …
	Status string `json:"status"`
	// LastActiveOrganizationID is the session's active organization, if any.
	LastActiveOrganizationID string `json:"last_active_organization_id"`
	// The times are Unix ms.
	CreatedAt int64 `json:"created_at"`
	UpdatedAt int64 `json:"updated_at"`
	ExpireAt  int64 `json:"expire_at"`
}

// User is the data of a user.* event: Clerk's User object, or for
// user.deleted, the deleted object (Deleted set, ID and nothing else).
type User struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
	// Banned users cannot sign in, and their sessions are revoked; locked
	// users cannot sign in until the lock expires.
	Banned                bool           `json:"banned"`
	Locked                bool           `json:"locked"`
	ExternalID            string         `json:"external_id"`
	Username              string         `json:"username"`
	FirstName             string         `json:"first_name"`
	LastName              string         `json:"last_name"`
	ImageURL              string         `json:"image_url"`
	PrimaryEmailAddressID string         `json:"primary_email_address_id"`
	EmailAddresses        []EmailAddress `json:"email_addresses"`
	// PublicMetadata is the user's public metadata, raw.
	PublicMetadata json.RawMessage `json:"public_metadata"`
	// The times are Unix ms.
	CreatedAt int64 `json:"created_at"`
	UpdatedAt int64 `json:"updated_at"`
}

// EmailAddress is one of a user's email addresses.
type EmailAddress struct {
	ID           string `json:"id"`
	EmailAddress string `json:"email_address"`
}

// PrimaryEmail returns the primary email address, or "".
func (u *User) PrimaryEmail() string {
	for _, e := range u.EmailAddresses {
		if e.ID == u.PrimaryEmailAddressID {
			return e.EmailAddress
		}
	}
	return ""
}

// Membership is the data of an organizationMembership.* event: Clerk's
// OrganizationMembership object.
type Membership struct {
	ID string `json:"id"`
	// Role is the member's role, such as "org:admin".
	Role         string   `json:"role"`
	Permissions  []string `json:"permissions"`
	Organization struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
		Name string `json:"name"`
	} `json:"organization"`
	PublicUserData struct {
		UserID     string `json:"user_id"`
		Identifier string `json:"identifier"`
	} `json:"public_user_data"`
	// The times are Unix ms.
	CreatedAt int64 `json:"created_at"`
	UpdatedAt int64 `json:"updated_at"`
}

// UserID is the member's user id.
func (m *Membership) UserID() string { return m.PublicUserData.UserID }

// Session decodes Data for a session.* event.
func (e *Event) Session() (*Session, error) {
	var s Session
	return &s, e.decode("session.", &s, func() string { return s.ID })
}

// User decodes Data for a user.* event.
func (e *Event) User() (*User, error) {
	var u User
	return &u, e.decode("user.", &u, func() string { return u.ID })
}

// Membership decodes Data for an organizationMembership.* event.
func (e *Event) Membership() (*Membership, error) {
	var m Membership
	return &m, e.decode("organizationMembership.", &m, func() string { return m.PublicUserData.UserID })
}

// decode reads Data into v for events of the type prefix; key names the
// member that must not be empty.
func (e *Event) decode(prefix string, v any, key func() string) error {
	if !strings.HasPrefix(e.Type, prefix) {
		return fmt.Errorf("%w: a %q event has no %s data", ErrInvalidEvent, clip(e.Type), strings.TrimSuffix(prefix, "."))
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("%w: %s data: %v", ErrInvalidEvent, e.Type, err)
	}
	if key() == "" {
		return fmt.Errorf("%w: %s data names no id", ErrInvalidEvent, e.Type)
	}
	return nil
}
