package machine

import (
	"encoding/json"
	"math"
	"time"
)

// APIKeyInfo is an API key as the Backend API describes it.
type APIKeyInfo struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Claims      json.RawMessage `json:"claims"`
	Scopes      []string        `json:"scopes"`
	// Secret is the key itself, set only in Create's answer.
	Secret           string   `json:"secret,omitempty"`
	Revoked          bool     `json:"revoked"`
	RevocationReason *string  `json:"revocation_reason"`
	Expired          bool     `json:"expired"`
	Expiration       *float64 `json:"expiration"`
	CreatedBy        *string  `json:"created_by"`
	CreatedAt        float64  `json:"created_at"`
	UpdatedAt        float64  `json:"updated_at"`
}

// M2MTokenInfo is an opaque M2M token as the Backend API describes it.
type M2MTokenInfo struct {
	ID      string          `json:"id"`
	Subject string          `json:"subject"`
	Claims  json.RawMessage `json:"claims"`
	Scopes  []string        `json:"scopes"`
	// Token is the credential itself, set only in Create's answer (a JWT
	// when created with FormatJWT).
	Token            string   `json:"token,omitempty"`
	Revoked          bool     `json:"revoked"`
	RevocationReason *string  `json:"revocation_reason"`
	Expired          bool     `json:"expired"`
	Expiration       *float64 `json:"expiration"`
	CreatedAt        float64  `json:"created_at"`
	UpdatedAt        float64  `json:"updated_at"`
}

// oauthTokenJSON is the verify answer for an OAuth access token; Active is
// false for {"active":false}.
type oauthTokenJSON struct {
	Object     string   `json:"object"`
	ID         string   `json:"id"`
	ClientID   string   `json:"client_id"`
	Subject    string   `json:"subject"`
	Scopes     []string `json:"scopes"`
	Revoked    bool     `json:"revoked"`
	Expired    bool     `json:"expired"`
	Expiration *float64 `json:"expiration"`
	Active     *bool    `json:"active"`
}

// unitBoundary separates the two units Clerk's times may come in. The
// spec calls them milliseconds, its examples look like seconds. Every
// date between 1973 and 5138 reads the same either way: below 1e11 it is
// seconds (1e11 s is the year 5138), at or above it milliseconds (1e11 ms
// is 1973).
const unitBoundary = 1e11

// clerkTime reads one of Clerk's timestamps; nil or a non-finite or
// non-positive value is the zero time.
func clerkTime(v *float64) time.Time {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) || *v <= 0 {
		return time.Time{}
	}
	if *v >= unitBoundary {
		return time.UnixMilli(int64(*v))
	}
	return time.Unix(int64(*v), 0)
}
