package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status is a session's lifecycle state.
type Status string

// The statuses the spec defines for a session. All but StatusPending may also
// filter List.
const (
	// StatusActive: signed in; tokens for it are valid.
	StatusActive Status = "active"
	// StatusRevoked: ended from the back end (Revoke), an unauthenticated state.
	StatusRevoked Status = "revoked"
	// StatusEnded: the user signed out.
	StatusEnded Status = "ended"
	// StatusExpired: the session outlived its maximum lifetime.
	StatusExpired Status = "expired"
	// StatusRemoved: the user removed the session (multi-session mode).
	StatusRemoved Status = "removed"
	// StatusAbandoned: the session sat inactive past its abandon time.
	StatusAbandoned Status = "abandoned"
	// StatusReplaced: another sign-in on the same client took its place.
	StatusReplaced Status = "replaced"
	// StatusPending: signed in but with tasks left (such as choosing an
	// organization). The spec's List filter does not accept it, so List
	// refuses it.
	StatusPending Status = "pending"
)

// listStatuses is the spec's enum for List's status filter. It lacks
// "pending", which only appears on Session objects.
var listStatuses = map[Status]bool{
	StatusAbandoned: true, StatusActive: true, StatusEnded: true, StatusExpired: true,
	StatusRemoved: true, StatusReplaced: true, StatusRevoked: true,
}

// Session is Clerk's Session object, field for field as the spec defines it
// (the schema forbids additional properties). Timestamps are Unix
// milliseconds as Clerk sends them, unlike JWT claims, which are seconds; use
// the …Time methods to get a time.Time without doing the unit conversion by
// hand.
type Session struct {
	// Object is always "session".
	Object string `json:"object"`
	// ID is the session id ("sess_…"), the sid claim of its tokens.
	ID string `json:"id"`
	// UserID is the signed-in user ("user_…").
	UserID string `json:"user_id"`
	// ClientID is the browser/device client holding the session ("client_…").
	ClientID string `json:"client_id"`
	// Actor is the impersonating actor, verbatim, when someone signed in as
	// the user; nil when nobody impersonates. It is kept raw because its
	// shape is free-form in the spec.
	Actor json.RawMessage `json:"actor"`
	// Status is the lifecycle state.
	Status Status `json:"status"`
	// LastActiveOrganizationID is the organization last active in the
	// session, or nil for a personal workspace.
	LastActiveOrganizationID *string `json:"last_active_organization_id"`
	// LastActiveAt is when the session was last used (Unix ms).
	LastActiveAt int64 `json:"last_active_at"`
	// LatestActivity describes the device of the latest activity; nil when
	// Clerk has none recorded.
	LatestActivity *SessionActivity `json:"latest_activity"`
	// Tasks lists what the user still has to do before the session is
	// active (status pending); nil when there are none.
	Tasks []SessionTask `json:"tasks"`
	// ExpireAt is when the session expires regardless of activity (Unix ms).
	ExpireAt int64 `json:"expire_at"`
	// AbandonAt is when the session is abandoned if left idle (Unix ms).
	AbandonAt int64 `json:"abandon_at"`
	// UpdatedAt is the last change to the session (Unix ms).
	UpdatedAt int64 `json:"updated_at"`
	// CreatedAt is the session's creation (Unix ms).
	CreatedAt int64 `json:"created_at"`
}

// SessionActivity is the spec's SessionActivityResponse: where the session
// was last used from.
type SessionActivity struct {
	// Object names the type of this object.
	Object string `json:"object"`
	// ID identifies the activity record.
	ID string `json:"id"`
	// DeviceType is a description of the device, such as "Macintosh".
	DeviceType string `json:"device_type,omitempty"`
	// IsMobile reports a mobile device.
	IsMobile bool `json:"is_mobile"`
	// BrowserName is the browser family, such as "Chrome".
	BrowserName string `json:"browser_name,omitempty"`
	// BrowserVersion is the browser's version string.
	BrowserVersion string `json:"browser_version,omitempty"`
	// IPAddress is the client's IP address.
	IPAddress string `json:"ip_address,omitempty"`
	// City is the city Clerk located the IP address in.
	City string `json:"city,omitempty"`
	// Country is the country Clerk located the IP address in.
	Country string `json:"country,omitempty"`
}

// SessionTask is one step the user must finish before a pending session
// becomes active.
type SessionTask struct {
	// Key names the task, such as "choose-organization".
	Key string `json:"key"`
}

// LastActiveTime is LastActiveAt as a time.Time (zero when unset).
func (s *Session) LastActiveTime() time.Time { return fromMillis(s.LastActiveAt) }

// ExpireTime is ExpireAt as a time.Time (zero when unset).
func (s *Session) ExpireTime() time.Time { return fromMillis(s.ExpireAt) }

// AbandonTime is AbandonAt as a time.Time (zero when unset).
func (s *Session) AbandonTime() time.Time { return fromMillis(s.AbandonAt) }

// UpdatedTime is UpdatedAt as a time.Time (zero when unset).
func (s *Session) UpdatedTime() time.Time { return fromMillis(s.UpdatedAt) }

// CreatedTime is CreatedAt as a time.Time (zero when unset).
func (s *Session) CreatedTime() time.Time { return fromMillis(s.CreatedAt) }

// HasActor reports whether someone is impersonating the user.
func (s *Session) HasActor() bool { return !isNullJSON(s.Actor) }

// fromMillis keeps "field absent" distinguishable: 0 becomes the zero Time,
// not 1970-01-01.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func isNullJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// SessionList is one page of List's results.
type SessionList struct {
	// Data holds the sessions, newest first.
	Data []Session `json:"data"`
	// TotalCount is the number of sessions matching the filter across all
	// pages. When a server answers with the unpaginated bare-array shape it
	// does not say, and TotalCount is len(Data).
	TotalCount int64 `json:"total_count"`
}

// RefreshFormat selects how Refresh returns the new session token.
type RefreshFormat string

const (
	// FormatToken returns the bare JWT (RefreshResult.JWT). Clerk's default.
	FormatToken RefreshFormat = "token"
	// FormatCookie returns ready-made Set-Cookie values
	// (RefreshResult.Cookies), which a middleware copies onto its response.
	FormatCookie RefreshFormat = "cookie"
)

// RefreshResult is Refresh's answer: the spec's SessionRefresh, which is
// either a Token (Object "token", JWT set) or a Cookies object (Object
// "cookies", Cookies set).
type RefreshResult struct {
	// Object is "token" or "cookies" and says which other field is set.
	Object string `json:"object"`
	// JWT is the new session token when Object is "token".
	JWT string `json:"jwt,omitempty"`
	// Cookies are complete Set-Cookie header values when Object is
	// "cookies"; copy every one onto the response.
	Cookies []string `json:"cookies,omitempty"`
}

// Token is a freshly minted session token.
type Token struct {
	// Object is "token".
	Object string `json:"object"`
	// JWT is the signed token.
	JWT string `json:"jwt"`
}

// The decoders below turn a 2xx body into the operation's result. They are
// kept apart from the transport so that fuzzing can reach them directly.

func decodeSession(data []byte) (*Session, error) {
	var s Session
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// check rejects a body that decoded but cannot be a session, and normalises
// a JSON null actor to nil so HasActor and callers see one "no actor" value.
func (s *Session) check() error {
	if s.ID == "" {
		return errors.New("session object has no id")
	}
	if isNullJSON(s.Actor) {
		s.Actor = nil
	}
	return nil
}

// decodeSessionList accepts both shapes Clerk uses for lists: the paginated
// {"data":[…],"total_count":N} we ask for, and the bare array that the spec
// documents and that servers not honouring paginated=true send.
func decodeSessionList(data []byte) (*SessionList, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty body")
	}
	var list SessionList
	switch trimmed[0] {
	case '[':
		if err := json.Unmarshal(trimmed, &list.Data); err != nil {
			return nil, err
		}
		list.TotalCount = int64(len(list.Data))
	case '{':
		var page struct {
			Data       json.RawMessage `json:"data"`
			TotalCount *int64          `json:"total_count"`
		}
		if err := json.Unmarshal(trimmed, &page); err != nil {
			return nil, err
		}
		if page.Data == nil {
			// Without "data" this is some other object (an error document
			// with a 2xx status, say), not an empty page.
			return nil, errors.New(`list object has no "data"`)
		}
		if err := json.Unmarshal(page.Data, &list.Data); err != nil {
			return nil, err
		}
		if page.TotalCount != nil {
			list.TotalCount = *page.TotalCount
		} else {
			list.TotalCount = int64(len(list.Data))
		}
	default:
		return nil, errors.New("list is neither an array nor an object")
	}
	if list.Data == nil {
		list.Data = []Session{} // "no sessions" reads the same for both shapes
	}
	for i := range list.Data {
		if err := list.Data[i].check(); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	return &list, nil
}

func decodeRefresh(data []byte) (*RefreshResult, error) {
	var r RefreshResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	switch r.Object {
	case "token":
		if r.JWT == "" {
			return nil, errors.New(`token object has no "jwt"`)
		}
	case "cookies":
		if len(r.Cookies) == 0 {
			return nil, errors.New(`cookies object has no "cookies"`)
		}
	default:
		return nil, fmt.Errorf("refresh answered object %q, want \"token\" or \"cookies\"", truncate(r.Object))
	}
	return &r, nil
}

func decodeToken(data []byte) (*Token, error) {
	var t Token
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	if t.JWT == "" {
		return nil, errors.New(`token object has no "jwt"`)
	}
	return &t, nil
}
