package session

import (
	"github.com/clerkgate/clerkgate/internal/backendapi"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// MaxHandshakeDirectives bounds the Set-Cookie directives HandshakePayload
// accepts in one answer. Clerk sends under ten.
const MaxHandshakeDirectives = 32

// HandshakePayload trades the nonce of a Frontend API handshake
// (__clerk_handshake_nonce) for its Set-Cookie directives:
// GET /v1/clients/handshake_payload?nonce=…. The spec lists the path
// without operations; the answer is {"directives":[…]}.
//
// A nonce is good once, so the call is never retried. The directives are
// returned as Clerk sent them: the caller decides which it sets.
func (c *Client) HandshakePayload(ctx context.Context, nonce string) ([]string, error) {
	if nonce == "" {
		return nil, fmt.Errorf("%w: handshake nonce is empty", ErrInvalidInput)
	}
	data, err := c.do(ctx, backendapi.Request{
		Op: "handshake payload", Method: http.MethodGet, Path: "/v1/clients/handshake_payload",
		Query: url.Values{"nonce": {nonce}}, Once: true,
	})
	if err != nil {
		return nil, err
	}
	return decode("handshake payload", data, decodeHandshakePayload)
}

func decodeHandshakePayload(data []byte) ([]string, error) {
	var out struct {
		Directives *[]string `json:"directives"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	switch {
	case out.Directives == nil:
		return nil, errors.New("no directives")
	case len(*out.Directives) > MaxHandshakeDirectives:
		return nil, fmt.Errorf("%d directives, over the limit of %d", len(*out.Directives), MaxHandshakeDirectives)
	}
	return *out.Directives, nil
}
