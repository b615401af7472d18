package clerkconnect_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/clerkgate/clerkgate"
	clerkconnect "github.com/clerkgate/clerkgate/adapters/connect"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The test service's procedures, each behind a different route.
const (
	whoProc     = "/test.v1.Test/Who"     // sessions
	machineProc = "/test.v1.Test/Machine" // any token, scope "write"
	stepUpProc  = "/test.v1.Test/StepUp"  // sessions, reverification
	streamProc  = "/test.v1.Test/Stream"  // sessions, server streaming
	healthProc  = "/test.v1.Health/Check" // skipped: no token needed
)

// mode is where clerkconnect sits: in each handler's interceptor chain,
// or in front of the whole mux.
type mode string

const (
	intercepted mode = "interceptor"
	wrapped     mode = "wrap"
)

var modes = []mode{intercepted, wrapped}

// wire is a protocol over an HTTP version. gRPC needs HTTP/2; Connect and
// gRPC-Web run over both.
type wire struct {
	name  string
	http2 bool
	opts  []connect.ClientOption
}

var wires = []wire{
	{"connect over HTTP/1.1", false, nil},
	{"gRPC-Web over HTTP/1.1", false, []connect.ClientOption{connect.WithGRPCWeb()}},
	{"connect over HTTP/2", true, nil},
	{"gRPC over HTTP/2", true, []connect.ClientOption{connect.WithGRPC()}},
	{"gRPC-Web over HTTP/2", true, []connect.ClientOption{connect.WithGRPCWeb()}},
}

// servedOver is the response header the outermost middleware sets to the
// request's protocol, so that each call shows the HTTP version it used.
const servedOver = "Served-Over"

// inRequest marks the request's context, so that the Observer shows it
// hears the call's context.
type inRequest struct{}

// whoami answers who called: the caller clerkconnect put in the context,
// as "<type> <subject>". A handler reached without a caller fails the call
// with Internal, which no test expects.
func whoami(ctx context.Context) (*wrapperspb.StringValue, error) {
	c, ok := clerkgate.CallerFromContext(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeInternal, errors.New("no caller in the context"))
	}
	if c.Type == clerkgate.SessionToken {
		if claims, ok := clerkgate.ClaimsFromContext(ctx); !ok || claims.Subject != c.Subject() {
			return nil, connect.NewError(connect.CodeInternal, errors.New("session claims missing from the context"))
		}
	}
	return wrapperspb.String(string(c.Type) + " " + c.Subject()), nil
}

func unaryWho(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
	who, err := whoami(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(who), nil
}

type rig struct {
	fake *clerktest.Server
	gate *clerkgate.Gate
	srv  *httptest.Server
	mode mode
}

// newRig serves the test service over TLS with HTTP/1.1 and HTTP/2,
// behind clerkconnect in the given mode, with a Gate on a fresh fake
// Clerk; before runs on the fake before the Gate starts.
func newRig(t *testing.T, m mode, before func(*clerktest.Server)) *rig {
	return newObservedRig(t, m, before, nil)
}

// newObservedRig is newRig with o as the Gate's Observer.
func newObservedRig(t *testing.T, m mode, before func(*clerktest.Server), o *clerkgate.Observer) *rig {
	t.Helper()
	r := &rig{fake: clerktest.New(), mode: m}
	t.Cleanup(r.fake.Close)
	if before != nil {
		before(r.fake)
	}
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:      r.fake.SecretKey(),
		PublishableKey: r.fake.PublishableKey(),
		APIURL:         r.fake.URL(),
		HTTPClient:     r.fake.Client(),
		Refresh:        clerkgate.RefreshConfig{Timeout: 2 * time.Second},
		Observer:       o,
	})
	require.NoError(t, err)
	t.Cleanup(func() { gate.Close() })
	r.gate = gate

	sessions := gate.Accept(clerkgate.SessionToken)
	opts := []clerkconnect.Option{
		clerkconnect.SkipProcedures("/test.v1.Health/"),
		clerkconnect.Procedure(machineProc, gate.Accept(clerkgate.AnyToken).With(authz.Scope("write"))),
		clerkconnect.Procedure(stepUpProc, gate.Accept().With(authz.Reverification(authz.Strict))),
	}
	var hopts []connect.HandlerOption
	if m == intercepted {
		hopts = append(hopts, connect.WithInterceptors(clerkconnect.NewInterceptor(sessions, opts...)))
	}
	mux := http.NewServeMux()
	for _, proc := range []string{whoProc, machineProc, stepUpProc} {
		mux.Handle(proc, connect.NewUnaryHandler(proc, unaryWho, hopts...))
	}
	// The stream names its caller twice.
	mux.Handle(streamProc, connect.NewServerStreamHandler(streamProc,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty], stream *connect.ServerStream[wrapperspb.StringValue]) error {
			who, err := whoami(ctx)
			if err != nil {
				return err
			}
			for range 2 {
				if err := stream.Send(who); err != nil {
					return err
				}
			}
			return nil
		}, hopts...))
	mux.Handle(healthProc, connect.NewUnaryHandler(healthProc,
		func(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
			return connect.NewResponse(wrapperspb.String("SERVING")), nil
		}, hopts...))

	var h http.Handler = mux
	if m == wrapped {
		h = clerkconnect.Wrap(sessions, mux, opts...)
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set(servedOver, req.Proto)
		h.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), inRequest{}, true)))
	}))
	r.srv.EnableHTTP2 = true
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	return r
}

// client calls the test service over one wire.
type client struct {
	proto          string // the request protocol the server must see
	unaryClients   map[string]*connect.Client[emptypb.Empty, wrapperspb.StringValue]
	streamClient   *connect.Client[emptypb.Empty, wrapperspb.StringValue]
	closeTransport func()
}

func (r *rig) client(t *testing.T, w wire, opts ...connect.ClientOption) *client {
	t.Helper()
	tr := r.srv.Client().Transport.(*http.Transport).Clone()
	tr.Protocols = new(http.Protocols)
	c := &client{proto: "HTTP/1.1", unaryClients: map[string]*connect.Client[emptypb.Empty, wrapperspb.StringValue]{}}
	if w.http2 {
		tr.Protocols.SetHTTP2(true)
		c.proto = "HTTP/2.0"
	} else {
		tr.Protocols.SetHTTP1(true)
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"} // httptest's offers h2 first
	}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	opts = append(append([]connect.ClientOption{}, w.opts...), opts...)
	for _, proc := range []string{whoProc, machineProc, stepUpProc, healthProc} {
		c.unaryClients[proc] = connect.NewClient[emptypb.Empty, wrapperspb.StringValue](hc, r.srv.URL+proc, opts...)
	}
	c.streamClient = connect.NewClient[emptypb.Empty, wrapperspb.StringValue](hc, r.srv.URL+streamProc, opts...)
	return c
}

func request(authorization []string) *connect.Request[emptypb.Empty] {
	req := connect.NewRequest(&emptypb.Empty{})
	for _, a := range authorization {
		req.Header().Add("Authorization", a)
	}
	return req
}

func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// unary calls proc with the authorization values, and checks that the
// answer, accepted or refused, came over the wire's HTTP version.
func (c *client) unary(t *testing.T, proc string, authorization ...string) (string, error) {
	t.Helper()
	res, err := c.unaryClients[proc].CallUnary(callContext(t), request(authorization))
	if err != nil {
		var ce *connect.Error
		require.ErrorAs(t, err, &ce)
		require.Equal(t, c.proto, ce.Meta().Get(servedOver))
		return "", err
	}
	require.Equal(t, c.proto, res.Header().Get(servedOver))
	return res.Msg.GetValue(), nil
}

// stream opens the streaming call and reads it to the end: the callers
// it named, or the error it ended with.
func (c *client) stream(t *testing.T, authorization ...string) ([]string, error) {
	t.Helper()
	s, err := c.streamClient.CallServerStream(callContext(t), request(authorization))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var got []string
	for s.Receive() {
		got = append(got, s.Msg().GetValue())
	}
	if err := s.Err(); err != nil {
		return got, err
	}
	require.Equal(t, c.proto, s.ResponseHeader().Get(servedOver))
	return got, nil
}

// each runs f for every mode and wire, each on a rig of its own mode.
func each(t *testing.T, before func(*clerktest.Server), f func(t *testing.T, r *rig, c *client)) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			r := newRig(t, m, before)
			for _, w := range wires {
				t.Run(w.name, func(t *testing.T) { f(t, r, r.client(t, w)) })
			}
		})
	}
}

// requireRefused checks a refusal's code and its ErrorInfo, and that
// the cause did not leak.
func requireRefused(t *testing.T, err error, code connect.Code, reason clerkgate.Reason) *connect.Error {
	t.Helper()
	var ce *connect.Error
	require.ErrorAs(t, err, &ce, "not a Connect error: %v", err)
	require.Equal(t, code, ce.Code(), ce.Message())
	require.NotContains(t, ce.Message(), "clerkgate:", "the cause leaked")
	info := errorInfo(t, ce)
	require.NotNil(t, info, "no ErrorInfo in %v", ce.Details())
	require.Equal(t, string(reason), info.GetReason())
	require.Equal(t, "clerkgate", info.GetDomain())
	return ce
}

func errorInfo(t *testing.T, ce *connect.Error) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range ce.Details() {
		v, err := d.Value()
		require.NoError(t, err)
		if info, ok := v.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

func requireRetry(t *testing.T, ce *connect.Error) {
	t.Helper()
	for _, d := range ce.Details() {
		v, err := d.Value()
		require.NoError(t, err)
		if ri, ok := v.(*errdetails.RetryInfo); ok {
			require.Positive(t, ri.GetRetryDelay().AsDuration())
			return
		}
	}
	t.Fatalf("no RetryInfo in %v", ce.Details())
}

func bearer(token string) string { return "Bearer " + token }

// Every refusal, over a real connection, on a unary and a streaming call,
// in every protocol over every HTTP version, interceptor and Wrap alike.
func TestSessionCalls(t *testing.T) {
	each(t, nil, func(t *testing.T, r *rig, c *client) {
		s := r.fake.CreateSession("user_1")
		valid := r.fake.Token(s.ID)
		gone := r.fake.CreateSession("user_2")
		goneToken := r.fake.Token(gone.ID)
		_, err := r.gate.Sessions().Revoke(context.Background(), gone.ID)
		require.NoError(t, err)
		_, apiKey := r.fake.CreateAPIKey("user_1", "key", clerktest.CredentialScopes("write"))
		longLived, err := r.gate.Sessions().CreateToken(context.Background(), s.ID, session.TokenParams{ExpiresInSeconds: 3600})
		require.NoError(t, err)
		otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)

		who, err := c.unary(t, whoProc, bearer(valid))
		require.NoError(t, err)
		require.Equal(t, "session_token user_1", who)
		got, err := c.stream(t, "bearer "+valid) // the scheme is case-insensitive
		require.NoError(t, err)
		require.Equal(t, []string{"session_token user_1", "session_token user_1"}, got)

		for _, tc := range []struct {
			name          string
			authorization []string
			reason        clerkgate.Reason
		}{
			{"missing", nil, clerkgate.ReasonTokenMissing},
			{"another scheme", []string{"Basic " + valid}, clerkgate.ReasonTokenMissing},
			{"empty bearer", []string{"Bearer "}, clerkgate.ReasonTokenMalformed}, // presented, as over HTTP
			{"two values", []string{bearer(valid), bearer(goneToken)}, clerkgate.ReasonTokenMalformed},
			{"two valid values", []string{bearer(valid), bearer(valid)}, clerkgate.ReasonTokenMalformed},
			{"garbage", []string{bearer("not-a-token")}, clerkgate.ReasonTokenMalformed},
			{"forged signature", []string{bearer(valid[:len(valid)-4] + "AAAA")}, clerkgate.ReasonSignatureInvalid},
			{"signed by another key under the right kid", []string{bearer(r.fake.Token(s.ID, clerktest.SignedWith(otherKey, r.fake.KeyID())))}, clerkgate.ReasonSignatureInvalid},
			{"expired", []string{bearer(r.fake.Token(s.ID, clerktest.Expired()))}, clerkgate.ReasonTokenExpired},
			{"revoked session", []string{bearer(goneToken)}, clerkgate.ReasonSessionRevoked},
			{"lives too long", []string{bearer(longLived.JWT)}, clerkgate.ReasonTokenLifetimeInvalid},
			{"API key on a session procedure", []string{bearer(apiKey)}, clerkgate.ReasonTokenTypeInvalid},
			{"M2M JWT on a session procedure", []string{bearer(r.fake.M2MJWT("mch_1"))}, clerkgate.ReasonTokenTypeInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				who, err := c.unary(t, whoProc, tc.authorization...)
				requireRefused(t, err, connect.CodeUnauthenticated, tc.reason)
				require.Empty(t, who)
				got, err := c.stream(t, tc.authorization...)
				requireRefused(t, err, connect.CodeUnauthenticated, tc.reason)
				require.Empty(t, got, "the handler ran")
			})
		}
	})
}

// A procedure with a route of its own: machines pass with the scope, and
// a failed check is PermissionDenied (403), not Unauthenticated.
func TestProcedureRoute(t *testing.T) {
	each(t, nil, func(t *testing.T, r *rig, c *client) {
		_, writer := r.fake.CreateAPIKey("user_1", "writer", clerktest.CredentialScopes("read", "write"))
		_, reader := r.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
		revokedID, revoked := r.fake.CreateAPIKey("user_1", "gone", clerktest.CredentialScopes("write"))
		require.True(t, r.fake.RevokeCredential(revokedID))
		m2m := r.fake.M2MJWT("mch_1", clerktest.CredentialScopes("write"))
		s := r.fake.CreateSession("user_s")

		who, err := c.unary(t, machineProc, bearer(writer))
		require.NoError(t, err)
		require.Equal(t, "api_key user_1", who)
		who, err = c.unary(t, machineProc, bearer(m2m))
		require.NoError(t, err)
		require.Equal(t, "m2m_token mch_1", who)

		_, err = c.unary(t, machineProc, bearer(reader))
		requireRefused(t, err, connect.CodePermissionDenied, clerkgate.ReasonScopeRequired)
		// A session has no scopes: the check refuses it, the token is fine.
		_, err = c.unary(t, machineProc, bearer(r.fake.Token(s.ID)))
		requireRefused(t, err, connect.CodePermissionDenied, clerkgate.ReasonScopeRequired)
		_, err = c.unary(t, machineProc, bearer(revoked))
		requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenRevoked)
		_, err = c.unary(t, machineProc)
		requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenMissing)
		// The machine's credential is no session: the default route
		// refuses it on the other procedures.
		_, err = c.unary(t, whoProc, bearer(writer))
		requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenTypeInvalid)
	})
}

// A failed reverification carries Clerk's reverification error, for a
// client that asks the user to verify again.
func TestReverification(t *testing.T) {
	each(t, nil, func(t *testing.T, r *rig, c *client) {
		s := r.fake.CreateSession("user_1")
		_, err := c.unary(t, stepUpProc, bearer(r.fake.Token(s.ID, clerktest.WithFactorVerificationAge(0, 5))))
		require.NoError(t, err)

		_, err = c.unary(t, stepUpProc, bearer(r.fake.Token(s.ID, clerktest.WithFactorVerificationAge(0, 30))))
		ce := requireRefused(t, err, connect.CodePermissionDenied, clerkgate.ReasonReverificationRequired)
		require.JSONEq(t, `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}`,
			errorInfo(t, ce).GetMetadata()["clerk_error"])
	})
}

// Skipped procedures need no token, and a bad one is not looked at.
func TestSkipProcedures(t *testing.T) {
	each(t, nil, func(t *testing.T, r *rig, c *client) {
		got, err := c.unary(t, healthProc)
		require.NoError(t, err)
		require.Equal(t, "SERVING", got)
		got, err = c.unary(t, healthProc, bearer("not-a-token"), bearer("two"))
		require.NoError(t, err)
		require.Equal(t, "SERVING", got)
		_, err = c.unary(t, whoProc)
		requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenMissing)
	})
}

// When keys or the Backend API cannot be had, the answer is Unavailable
// with a delay to wait, never Unauthenticated: the credential may be
// fine, and a client must not throw it away.
func TestUnavailable(t *testing.T) {
	each(t, func(fake *clerktest.Server) {
		fake.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: 500})
		fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: 500})
	}, func(t *testing.T, r *rig, c *client) {
		s := r.fake.CreateSession("user_1")
		_, apiKey := r.fake.CreateAPIKey("user_1", "key", clerktest.CredentialScopes("write"))

		_, err := c.unary(t, whoProc, bearer(r.fake.Token(s.ID)))
		requireRetry(t, requireRefused(t, err, connect.CodeUnavailable, clerkgate.ReasonJWKSUnavailable))
		_, err = c.stream(t, bearer(r.fake.Token(s.ID)))
		requireRetry(t, requireRefused(t, err, connect.CodeUnavailable, clerkgate.ReasonJWKSUnavailable))
		_, err = c.unary(t, machineProc, bearer(apiKey))
		requireRetry(t, requireRefused(t, err, connect.CodeUnavailable, clerkgate.ReasonMachineUnavailable))
	})
}

// The Gate's Observer hears each authenticated call once, as it hears an
// HTTP request, with the request's context: a stream once, when it opens;
// two authorization values as two Authorization headers; a failed check
// once, as its 403 (the PermissionDenied the client gets), never as
// accepted; a skipped procedure never.
func TestObserverHearsCalls(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			var mu sync.Mutex
			var heard []clerkgate.Decision
			r := newObservedRig(t, m, nil, &clerkgate.Observer{Decided: func(ctx context.Context, d clerkgate.Decision) {
				if ctx.Value(inRequest{}) == nil {
					d.Reason = "not the request's context"
				}
				mu.Lock()
				defer mu.Unlock()
				heard = append(heard, d)
			}})
			take := func() []clerkgate.Decision {
				mu.Lock()
				defer mu.Unlock()
				d := heard
				heard = nil
				return d
			}
			s := r.fake.CreateSession("user_1")
			valid := r.fake.Token(s.ID)
			_, writer := r.fake.CreateAPIKey("user_1", "writer", clerktest.CredentialScopes("write"))
			_, reader := r.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
			accepted := clerkgate.Decision{TokenType: clerkgate.SessionToken}
			refused := func(typ clerkgate.TokenType, reason clerkgate.Reason) clerkgate.Decision {
				return clerkgate.Decision{TokenType: typ, Status: 401, Reason: reason}
			}
			for _, w := range wires {
				t.Run(w.name, func(t *testing.T) {
					c := r.client(t, w)
					_, err := c.unary(t, whoProc, bearer(valid))
					require.NoError(t, err)
					require.Equal(t, []clerkgate.Decision{accepted}, take())
					got, err := c.stream(t, bearer(valid))
					require.NoError(t, err)
					require.Len(t, got, 2)
					require.Equal(t, []clerkgate.Decision{accepted}, take(), "one decision for the stream, not one per message")

					_, err = c.unary(t, whoProc, bearer(r.fake.Token(s.ID, clerktest.Expired())))
					requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenExpired)
					require.Equal(t, []clerkgate.Decision{refused(clerkgate.SessionToken, clerkgate.ReasonTokenExpired)}, take())
					_, err = c.stream(t)
					requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenMissing)
					require.Equal(t, []clerkgate.Decision{refused("", clerkgate.ReasonTokenMissing)}, take())
					_, err = c.unary(t, whoProc, bearer(writer))
					requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenTypeInvalid)
					require.Equal(t, []clerkgate.Decision{refused(clerkgate.SessionToken, clerkgate.ReasonTokenTypeInvalid)}, take())
					_, err = c.unary(t, whoProc, bearer(valid), bearer(valid))
					requireRefused(t, err, connect.CodeUnauthenticated, clerkgate.ReasonTokenMalformed)
					require.Equal(t, []clerkgate.Decision{refused(clerkgate.SessionToken, clerkgate.ReasonTokenMalformed)}, take())

					_, err = c.unary(t, machineProc, bearer(writer))
					require.NoError(t, err)
					require.Equal(t, []clerkgate.Decision{{TokenType: clerkgate.APIKey}}, take())
					_, err = c.unary(t, machineProc, bearer(reader))
					requireRefused(t, err, connect.CodePermissionDenied, clerkgate.ReasonScopeRequired)
					require.Equal(t, []clerkgate.Decision{{TokenType: clerkgate.APIKey, Status: 403, Reason: clerkgate.ReasonScopeRequired}},
						take(), "refused by the check, and only that")

					_, err = c.unary(t, healthProc, bearer("not-a-token"))
					require.NoError(t, err)
					require.Empty(t, take(), "a skipped procedure is not a decision")
				})
			}
		})
	}
}

// On a client the interceptor does nothing: a client that shares its
// interceptors with a server does not authenticate its own calls (this
// one would refuse every session token).
func TestInterceptorLeavesClientsAlone(t *testing.T) {
	r := newRig(t, intercepted, nil)
	machinesOnly := clerkconnect.NewInterceptor(r.gate.Accept(clerkgate.M2MToken))
	s := r.fake.CreateSession("user_1")
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			c := r.client(t, w, connect.WithInterceptors(machinesOnly))
			who, err := c.unary(t, whoProc, bearer(r.fake.Token(s.ID)))
			require.NoError(t, err)
			require.Equal(t, "session_token user_1", who)
			got, err := c.stream(t, bearer(r.fake.Token(s.ID)))
			require.NoError(t, err)
			require.Len(t, got, 2)
		})
	}
}

// Wrap routes by the request's path: a path that a router could clean
// into another procedure than the one whose route applied is NotFound,
// before any token is read, and never reaches the handlers. Each of
// these, unchecked, would look like the skipped health service, or like
// no procedure at all, to Wrap.
func TestWrapRefusesPathsThatAreNotPlain(t *testing.T) {
	r := newRig(t, wrapped, nil)
	hc := r.srv.Client()
	t.Cleanup(hc.CloseIdleConnections)
	for _, p := range []string{
		"/test.v1.Health/../test.v1.Test/Who",
		"/test.v1.Health/./../test.v1.Test/Who",
		"/test.v1.Health/%2E%2E/test.v1.Test/Who",
		"/test.v1.Health%2F..%2Ftest.v1.Test/Who",
		"/test.v1.Test/%57ho",
		"//test.v1.Test/Who",
		"/test.v1.Test//Who",
	} {
		t.Run(p, func(t *testing.T) {
			req, err := http.NewRequestWithContext(callContext(t), http.MethodPost, r.srv.URL+p, strings.NewReader("{}"))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			res, err := hc.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusNotFound, res.StatusCode, string(body))
			require.JSONEq(t, `{"code":"not_found","message":"not found"}`, string(body))
		})
	}
	// The same request on its plain path is refused for its missing token.
	req, err := http.NewRequestWithContext(callContext(t), http.MethodPost, r.srv.URL+whoProc, strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

// Error takes what clerkgate.Authorize returns, as a handler that
// checks more itself has it: nil when the caller passes (the handler goes
// on), a refusal's Connect error otherwise, also wrapped. An error that is
// not a refusal is Internal without its text, never a nil error or a
// leak.
func TestError(t *testing.T) {
	r := newRig(t, intercepted, nil)
	s := r.fake.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "org:admin", "org:jobs:purge"))
	admin, err := r.gate.Accept().AuthenticateToken(t.Context(), r.fake.Token(s.ID))
	require.NoError(t, err)
	purge := func(c *clerkgate.Caller) error {
		return clerkconnect.Error(clerkgate.Authorize(c, authz.Permission("org:jobs:purge")))
	}
	require.True(t, purge(admin) == nil, "%#v", purge(admin))
	requireRefused(t, purge(nil), connect.CodeUnauthenticated, clerkgate.ReasonTokenMissing)

	refusal := clerkgate.Authorize(admin, authz.Permission("org:jobs:delete"))
	requireRefused(t, clerkconnect.Error(fmt.Errorf("purge: %w", refusal)), connect.CodePermissionDenied, clerkgate.ReasonPermissionRequired)

	for name, err := range map[string]error{
		"plain error":       errors.New("db at postgres://admin:hunter2@db"),
		"nil *AuthError":    (*clerkgate.AuthError)(nil),
		"wrapped plain one": fmt.Errorf("purge: %w", io.ErrUnexpectedEOF),
	} {
		var ce *connect.Error
		require.ErrorAs(t, clerkconnect.Error(err), &ce, name)
		require.Equal(t, connect.CodeInternal, ce.Code(), name)
		require.NotContains(t, ce.Message(), "hunter2", name)
		require.NotContains(t, ce.Message(), "EOF", name)
		require.Empty(t, ce.Details(), name)
	}
	require.NoError(t, clerkconnect.Error(nil))
}

// Wiring mistakes fail when the server is built, not on a call.
func TestOptionsRefuseMistakes(t *testing.T) {
	r := newRig(t, intercepted, nil)
	route := r.gate.Accept()
	for _, name := range []string{"", "/", "Health/Check", "grpc.health.v1.Health/Check", "//Check", "/a.B/C/D"} {
		require.Panics(t, func() { clerkconnect.SkipProcedures(name) }, name)
		require.Panics(t, func() { clerkconnect.Procedure(name, route) }, name)
	}
	require.Panics(t, func() { clerkconnect.Procedure(whoProc, nil) })
	require.Panics(t, func() { clerkconnect.NewInterceptor(nil) })
	require.Panics(t, func() { clerkconnect.Wrap(nil, http.NotFoundHandler()) })
	require.Panics(t, func() { clerkconnect.Wrap(route, nil) })
	require.NotPanics(t, func() { clerkconnect.SkipProcedures("/grpc.health.v1.Health/", "/a.B/C") })
}
