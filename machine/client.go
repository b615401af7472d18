package machine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/clerkgate/clerkgate/internal/version"
)

const (
	// DefaultAPIURL is Clerk's Backend API, without /v1.
	DefaultAPIURL = "https://api.clerk.com"
	// DefaultAPIVersion is the Backend API version the answers are read as.
	DefaultAPIVersion = "2026-05-12"
	// DefaultTimeout bounds each HTTP attempt of the default client.
	DefaultTimeout = 10 * time.Second

	maxBody      = 1 << 20
	maxErrorBody = 64 << 10
	getAttempts  = 3
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
}

// Client calls the Backend API's machine credential operations. It holds no
// mutable state and is safe for concurrent use.
type Client struct {
	base       string
	secret     string
	machineKey string
	userAgent  string
	http       *http.Client
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
	base := DefaultAPIURL
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("%w: api url: want an absolute http or https URL without query or credentials", ErrInvalidConfig)
		}
		base = strings.TrimRight(u.String(), "/")
		if strings.HasSuffix(base, "/v1") {
			return nil, fmt.Errorf("%w: api url: leave out /v1, the client adds it", ErrInvalidConfig)
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout:       DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Client{base: base, secret: cfg.SecretKey, machineKey: cfg.MachineSecretKey,
		userAgent: "clerkgate/" + version.Version, http: hc}, nil
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
	var payload []byte
	if c.body != nil {
		var err error
		if payload, err = json.Marshal(c.body); err != nil {
			return fmt.Errorf("machine: %s: encoding request: %w", c.op, err)
		}
	}
	target := cl.base + c.path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	attempts := 1
	if c.method == http.MethodGet {
		attempts = getAttempts
	}
	for n := 1; ; n++ {
		data, retry, err := cl.attempt(ctx, c, key, target, payload)
		if err == nil {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("machine: %s: %w: %v", c.op, ErrUnexpectedResponse, err)
			}
			return nil
		}
		if !retry || n >= attempts || ctx.Err() != nil {
			return err
		}
		wait := time.Duration(50<<n)*time.Millisecond + rand.N(50*time.Millisecond)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (cl *Client) attempt(ctx context.Context, c call, key, target string, payload []byte) ([]byte, bool, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, body)
	if err != nil {
		return nil, false, fmt.Errorf("machine: %s: building request: %w", c.op, err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Clerk-API-Version", DefaultAPIVersion)
	req.Header.Set("User-Agent", cl.userAgent)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		// The error of net/http names the URL, never the body: the secret
		// being verified is not in it.
		return nil, true, fmt.Errorf("machine: %s: %w", c.op, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		if err != nil {
			return nil, true, fmt.Errorf("machine: %s: reading response: %w", c.op, err)
		}
		if len(data) > maxBody {
			return nil, false, fmt.Errorf("machine: %s: %w: body over %d bytes", c.op, ErrUnexpectedResponse, maxBody)
		}
		return data, false, nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{StatusCode: resp.StatusCode, op: c.op}
	var doc struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if json.Unmarshal(data, &doc) == nil {
		e.Errors = doc.Errors
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return nil, resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, e
}
