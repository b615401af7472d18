package session

import (
	"context"
	"fmt"

	"github.com/clerkgate/clerkgate/internal/backendapi"
)

// maxBody caps a success body. The largest answer here, a page of 500
// sessions, is far below it; the cap is there so that a broken or hostile
// server cannot make us buffer without bound.
const maxBody = 10 << 20

// do sends req with the secret key and returns the 2xx body. GETs are
// retried on network errors, 429 and 5xx; POSTs never (see the package doc
// for why).
func (c *Client) do(ctx context.Context, req backendapi.Request) ([]byte, error) {
	req.Key = c.secretKey
	return c.api.Do(ctx, req)
}

// decode runs a success-body decoder and marks its failures as
// ErrUnexpectedResponse.
func decode[T any](op string, data []byte, fn func([]byte) (T, error)) (T, error) {
	v, err := fn(data)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("session: %s: %w: %v", op, ErrUnexpectedResponse, err)
	}
	return v, nil
}
