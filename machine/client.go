package machine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/clerkgate/clerkgate/internal/backendapi"
)

const (
	// DefaultAPIURL is Clerk's Backend API, without /v1.
	DefaultAPIURL = backendapi.DefaultURL
	// DefaultAPIVersion is the Backend API version the answers are read as.
	DefaultAPIVersion = backendapi.DefaultVersion
	// DefaultTimeout bounds each HTTP attempt of the default client.
	DefaultTimeout = backendapi.DefaultTimeout

	maxBody = 1 << 20
)

var (
	// ErrInvalidInput is wrapped by errors that refuse a call's arguments
	// before any request is sent.
	ErrInvalidInput = errors.New("machine: invalid input")
	// ErrInvalidConfig is wrapped by NewClient's and NewVerifier's errors.
	ErrInvalidConfig = errors.New("machine: invalid config")
	// ErrUnexpectedResponse is wrapped when Clerk answered 2xx with a body
	// that is not what the operation promises: treat it as an outage.
	ErrUnexpectedResponse = errors.New("machine: unexpected response from clerk")
)

// Config sets up a Client.
type Config struct {
	// SecretKey is the instance's secret key (sk_…). It verifies API keys
	// and OAuth tokens, and manages API keys; with it M2M calls see every
	// machine's tokens. Required unless MachineSecretKey is set.
	SecretKey string
	// MachineSecretKey is one machine's secret key. When set, M2M token
	// calls (create, list, revoke, verify) authenticate with it instead of
	// SecretKey, and so see only the tokens that machine may use.
	MachineSecretKey string
	// APIURL is the Backend API base URL without /v1; default
	// DefaultAPIURL.
	APIURL string
	// HTTPClient sends the requests; default a client of its own with a
	// 10 s timeout that follows no redirects.
	HTTPClient *http.Client
	// OnRevoked, when set, is called with the id of an API key or M2M
	// token after RevokeAPIKey or RevokeM2MToken succeeds (or Clerk
	// answered 200 with a body that does not decode). A clerkgate Gate
	// uses this hook to forget its cached verdict for the credential, so
	// that it is refused in this process from the next request on.
	OnRevoked func(id string)
}

// Client calls the Backend API's machine credential operations. It holds no
// mutable state and is safe for concurrent use.
type Client struct {
	api        *backendapi.Client
	secret     string
	machineKey string
	onRevoked  func(string)
}

// NewClient checks cfg and returns a Client. Errors never echo a key.
func NewClient(cfg Config) (*Client, error) {
	if cfg.SecretKey == "" && cfg.MachineSecretKey == "" {
		return nil, fmt.Errorf("%w: set SecretKey or MachineSecretKey", ErrInvalidConfig)
	}
	if cfg.SecretKey != "" && !strings.HasPrefix(cfg.SecretKey, "sk_") {
		return nil, fmt.Errorf("%w: secret key must start with \"sk_\"", ErrInvalidConfig)
	}
	for _, k := range []string{cfg.SecretKey, cfg.MachineSecretKey} {
		if strings.ContainsFunc(k, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
			return nil, fmt.Errorf("%w: key contains whitespace or control characters", ErrInvalidConfig)
		}
	}
	base, err := backendapi.BaseURL(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	api := backendapi.New(backendapi.Config{
		Package:    "machine",
		BaseURL:    base,
		Version:    DefaultAPIVersion,
		HTTPClient: cfg.HTTPClient,
		MaxBody:    maxBody,
		Unexpected: ErrUnexpectedResponse,
		APIError:   newAPIError,
	})
	return &Client{api: api, secret: cfg.SecretKey, machineKey: cfg.MachineSecretKey, onRevoked: cfg.OnRevoked}, nil
}

// ErrorDetail is one entry of a Clerk error body's "errors".
type ErrorDetail struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	LongMessage string `json:"long_message"`
}

// APIError is any non-2xx answer.
type APIError struct {
	StatusCode int
	Errors     []ErrorDetail
	// RetryAfter is the server's Retry-After, zero when it did not say.
	RetryAfter time.Duration
	op         string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("machine: %s: status %d", e.op, e.StatusCode)
	if len(e.Errors) > 0 {
		msg += ": " + e.Errors[0].Code
	}
	return msg
}

// Code is the first Clerk error code, or "".
func (e *APIError) Code() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// newAPIError is the error for a non-2xx answer.
func newAPIError(f *backendapi.Failure) error {
	e := &APIError{StatusCode: f.StatusCode, RetryAfter: f.RetryAfter, op: f.Op}
	for _, d := range f.Errors {
		e.Errors = append(e.Errors, ErrorDetail{Code: d.Code, Message: d.Message, LongMessage: d.LongMessage})
	}
	return e
}

// call is one Backend API operation.
type call struct {
	op, method, path string
	query            url.Values
	body             any
	machineKey       bool // authenticate with the machine secret key, when there is one
}

// do sends c and decodes the 2xx body into out. GETs are retried on network
// errors, 429 and 5xx; POSTs never, since a create or revoke that reached
// Clerk must not be repeated blindly and a verify is cheaper to refuse
// than to hold.
func (cl *Client) do(ctx context.Context, c call, out any) error {
	key := cl.secret
	if c.machineKey && cl.machineKey != "" {
		key = cl.machineKey
	}
	if key == "" {
		return fmt.Errorf("%w: %s needs the instance secret key", ErrInvalidInput, c.op)
	}
	data, err := cl.api.Do(ctx, backendapi.Request{Op: c.op, Method: c.method, Path: c.path, Query: c.query, Body: c.body, Key: key})
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("machine: %s: %w: %w", c.op, ErrUnexpectedResponse, undecodable{err})
	}
	return nil
}

// undecodable marks a 2xx answer whose body does not decode, for callers
// that must know Clerk accepted the call (errors.Is(err, errUndecodable)).
type undecodable struct{ err error }

func (u undecodable) Error() string        { return u.err.Error() }
func (u undecodable) Is(target error) bool { return target == errUndecodable }

var errUndecodable = errors.New("machine: 2xx answer does not decode")
