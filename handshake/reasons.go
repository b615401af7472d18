package handshake

// Clerk's reasons, sent in x-clerk-auth-reason. The signed-out ones:
const (
	// ReasonSessionTokenAndUATMissing: no session at all.
	ReasonSessionTokenAndUATMissing = "session-token-and-uat-missing"
	// ReasonSessionTokenMissing: a handshake gave no session cookie.
	ReasonSessionTokenMissing = "session-token-missing"
	// ReasonTokenTypeMismatch: a token of another class (a JWT template,
	// a machine token) in the session cookie.
	ReasonTokenTypeMismatch = "token-type-mismatch"
	// ReasonTokenInvalid: the session cookie is not a JWT.
	ReasonTokenInvalid = "token-invalid"
	// ReasonUnexpectedError: anything else that went wrong.
	ReasonUnexpectedError = "unexpected-error"
)

// The handshake ones:
const (
	ReasonSessionTokenWithoutClientUAT   = "session-token-but-no-client-uat"
	ReasonClientUATWithoutSessionToken   = "client-uat-but-no-session-token"
	ReasonSessionTokenIATBeforeClientUAT = "session-token-iat-before-client-uat"
	// ReasonSessionTokenExpired is sent as
	// "session-token-expired-refresh-<why no refresh helped>".
	ReasonSessionTokenExpired          = "session-token-expired"
	ReasonSessionTokenNBF              = "session-token-nbf"
	ReasonSessionTokenIATInTheFuture   = "session-token-iat-in-the-future"
	ReasonDevBrowserMissing            = "dev-browser-missing"
	ReasonDevBrowserSync               = "dev-browser-sync"
	ReasonPrimaryDomainCrossOriginSync = "primary-domain-cross-origin-sync"
	ReasonSatelliteNeedsSyncing        = "satellite-needs-syncing"
	ReasonPrimaryRespondsToSyncing     = "primary-responds-to-syncing"
	// ReasonSessionTokenOutdated is clerkgate's own: a webhook said the
	// user changed (a membership, a role) after the token was issued, and
	// a fresh token carries the change.
	ReasonSessionTokenOutdated = "session-token-outdated"
)

// Why no refresh saved an expired token (Failure.Refresh), besides
// Clerk's own error codes.
const (
	RefreshNonGet          = "non-eligible-non-get"
	RefreshNoCookie        = "non-eligible-no-refresh-cookie"
	RefreshMissingAPI      = "missing-api-client"
	RefreshInvalidToken    = "invalid-session-token"
	RefreshFetchError      = "fetch-error"           // Clerk answered unexpected_error
	RefreshUnexpectedError = "unexpected-bapi-error" // no answer, or one without Clerk's errors
	RefreshUnexpectedSDK   = "unexpected-sdk-error"  // an answer that is not a refresh's

)

// Auth status headers, as Clerk's backend sets them.
const (
	HeaderAuthStatus  = "X-Clerk-Auth-Status"
	HeaderAuthReason  = "X-Clerk-Auth-Reason"
	HeaderAuthMessage = "X-Clerk-Auth-Message"

	StatusSignedOut = "signed-out"
	StatusHandshake = "handshake"
)
