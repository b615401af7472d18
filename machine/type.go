package machine

import (
	"strings"

	"github.com/clerkgate/clerkgate/verifier"
)

// TokenType is a class of credential, named as Clerk names it.
type TokenType string

// The token types. Any is not a type of token: in a list of accepted
// types it stands for all four, as Clerk's acceptsToken: 'any'.
const (
	SessionToken TokenType = "session_token"
	M2MToken     TokenType = "m2m_token"
	APIKey       TokenType = "api_key"
	OAuthToken   TokenType = "oauth_token"
	Any          TokenType = "any"
)

// Prefixes of opaque machine credentials.
const (
	M2MTokenPrefix   = "mt_"
	OAuthTokenPrefix = "oat_"
	APIKeyPrefix     = "ak_"
)

// Classify says which type token claims to be, as Clerk's SDK decides it:
// "mt_…" or a JWT whose sub is a machine is an M2M token; else "oat_…" or a
// JWT with typ at+jwt is an OAuth token; else "ak_…" is an API key; else
// it is a session token. It reads the JWT's header and payload without
// checking the signature: the answer picks the verifier, it proves
// nothing. It costs no network call.
func Classify(token string) TokenType {
	return classify(token, verifier.SniffMachineJWT)
}

// ClassifyVerified is Classify for a token v may have verified before:
// v's cache of verified tokens answers for the tokens it holds, without
// decoding them (see verifier.Verifier.SniffMachineJWT). The answer is
// Classify's.
func ClassifyVerified(v *verifier.Verifier, token string) TokenType {
	return classify(token, v.SniffMachineJWT)
}

func classify(token string, sniff func(string) verifier.MachineKind) TokenType {
	switch {
	case strings.HasPrefix(token, M2MTokenPrefix):
		return M2MToken
	case strings.HasPrefix(token, OAuthTokenPrefix):
		return OAuthToken
	case strings.HasPrefix(token, APIKeyPrefix):
		return APIKey
	}
	switch sniff(token) {
	case verifier.KindM2M:
		return M2MToken
	case verifier.KindOAuth:
		return OAuthToken
	}
	return SessionToken
}

// IsOpaque reports whether token has an opaque machine prefix, that is,
// whether only the Backend API can verify it.
func IsOpaque(token string) bool {
	return strings.HasPrefix(token, M2MTokenPrefix) || strings.HasPrefix(token, OAuthTokenPrefix) ||
		strings.HasPrefix(token, APIKeyPrefix)
}
