package clerkgrpc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/clerkgate/clerkgate"
	clerkgrpc "github.com/clerkgate/clerkgate/adapters/grpc"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Methods of grpc's own test service, each behind a different route.
const (
	unaryCall     = "/grpc.testing.TestService/UnaryCall"          // sessions
	machineCall   = "/grpc.testing.TestService/CacheableUnaryCall" // any token, scope "write"
	stepUpCall    = "/grpc.testing.TestService/EmptyCall"          // sessions, reverification
	streamingCall = "/grpc.testing.TestService/StreamingOutputCall"
)

// service answers who called: the caller the interceptor put in the
// context, as "<type> <subject>". A handler reached without a caller
// fails the call with Internal, which no test expects.
type service struct {
	testpb.UnimplementedTestServiceServer
}

func whoami(ctx context.Context) (string, error) {
	c, ok := clerkgate.CallerFromContext(ctx)
	if !ok {
		return "", status.Error(codes.Internal, "no caller in the context")
	}
	if c.Type == clerkgate.SessionToken && !hasClaims(ctx, c.Subject()) {
		return "", status.Error(codes.Internal, "session claims missing from the context")
	}
	return string(c.Type) + " " + c.Subject(), nil
}

func (service) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	who, err := whoami(ctx)
	return &testpb.SimpleResponse{Username: who}, err
}

func (service) CacheableUnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	who, err := whoami(ctx)
	return &testpb.SimpleResponse{Username: who}, err
}

func (service) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	_, err := whoami(ctx)
	return &testpb.Empty{}, err
}

// StreamingOutputCall sends two messages, each naming the caller.
func (service) StreamingOutputCall(_ *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	who, err := whoami(stream.Context())
	if err != nil {
		return err
	}
	for range 2 {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: []byte(who)}}); err != nil {
			return err
		}
	}
	return nil
}

type rig struct {
	fake   *clerktest.Server
	gate   *clerkgate.Gate
	client testpb.TestServiceClient
	health healthpb.HealthClient
}

// newRig serves the test service and grpc's health service on loopback,
// behind the interceptors, with a Gate on a fresh fake Clerk; before
// runs on the fake before the Gate starts.
func newRig(t *testing.T, before func(*clerktest.Server)) *rig {
	return newObservedRig(t, before, nil)
}

// newObservedRig is newRig with o as the Gate's Observer.
func newObservedRig(t *testing.T, before func(*clerktest.Server), o *clerkgate.Observer) *rig {
	t.Helper()
	r := &rig{fake: clerktest.New()}
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

	opts := []clerkgrpc.Option{
		clerkgrpc.SkipMethods("/grpc.health.v1.Health/"),
		clerkgrpc.Method(machineCall, gate.Accept(clerkgate.AnyToken).With(authz.Scope("write"))),
		clerkgrpc.Method(stepUpCall, gate.Accept().With(authz.Reverification(authz.Strict))),
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(clerkgrpc.UnaryServerInterceptor(gate.Accept(clerkgate.SessionToken), opts...)),
		grpc.ChainStreamInterceptor(clerkgrpc.StreamServerInterceptor(gate.Accept(clerkgate.SessionToken), opts...)),
	)
	testpb.RegisterTestServiceServer(srv, service{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	r.client = testpb.NewTestServiceClient(conn)
	r.health = healthpb.NewHealthClient(conn)
	return r
}

// call is a context for one call, carrying authorization values.
func call(t *testing.T, authorization ...string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	for _, a := range authorization {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	return ctx
}

func (r *rig) unary(t *testing.T, method string, authorization ...string) (string, error) {
	ctx := call(t, authorization...)
	switch method {
	case unaryCall:
		rep, err := r.client.UnaryCall(ctx, &testpb.SimpleRequest{})
		return rep.GetUsername(), err
	case machineCall:
		rep, err := r.client.CacheableUnaryCall(ctx, &testpb.SimpleRequest{})
		return rep.GetUsername(), err
	case stepUpCall:
		_, err := r.client.EmptyCall(ctx, &testpb.Empty{})
		return "", err
	}
	panic(method)
}

// stream opens the streaming call and reads it to the end: the callers
// it named, or the error it ended with.
func (r *rig) stream(t *testing.T, authorization ...string) ([]string, error) {
	s, err := r.client.StreamingOutputCall(call(t, authorization...), &testpb.StreamingOutputCallRequest{})
	if err != nil {
		return nil, err
	}
	var got []string
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, string(m.GetPayload().GetBody()))
	}
}

// requireRefused checks the status a refusal carries: code, clerkgate's
// fixed message (never the cause), and the reason in an ErrorInfo.
func requireRefused(t *testing.T, err error, code codes.Code, reason clerkgate.Reason) *status.Status {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status: %v", err)
	require.Equal(t, code, st.Code(), st.Message())
	require.NotContains(t, st.Message(), "clerkgate:", "the cause leaked")
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	require.NotNil(t, info, "no ErrorInfo in %v", st.Details())
	require.Equal(t, string(reason), info.GetReason())
	require.Equal(t, "clerkgate", info.GetDomain())
	return st
}

func bearer(token string) string { return "Bearer " + token }

// Every refusal, over a real connection, on a unary and a streaming call.
func TestSessionCalls(t *testing.T) {
	r := newRig(t, nil)
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

	who, err := r.unary(t, unaryCall, bearer(valid))
	require.NoError(t, err)
	require.Equal(t, "session_token user_1", who)
	got, err := r.stream(t, "bearer "+valid) // the scheme is case-insensitive
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
		{"garbage", []string{bearer("not-a-token")}, clerkgate.ReasonTokenMalformed},
		{"forged signature", []string{bearer(valid[:len(valid)-4] + "AAAA")}, clerkgate.ReasonSignatureInvalid},
		{"signed by another key under the right kid", []string{bearer(r.fake.Token(s.ID, clerktest.SignedWith(otherKey, r.fake.KeyID())))}, clerkgate.ReasonSignatureInvalid},
		{"expired", []string{bearer(r.fake.Token(s.ID, clerktest.Expired()))}, clerkgate.ReasonTokenExpired},
		{"revoked session", []string{bearer(goneToken)}, clerkgate.ReasonSessionRevoked},
		{"lives too long", []string{bearer(longLived.JWT)}, clerkgate.ReasonTokenLifetimeInvalid},
		{"API key on a session method", []string{bearer(apiKey)}, clerkgate.ReasonTokenTypeInvalid},
		{"M2M JWT on a session method", []string{bearer(r.fake.M2MJWT("mch_1"))}, clerkgate.ReasonTokenTypeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who, err := r.unary(t, unaryCall, tc.authorization...)
			requireRefused(t, err, codes.Unauthenticated, tc.reason)
			require.Empty(t, who)
			got, err := r.stream(t, tc.authorization...)
			requireRefused(t, err, codes.Unauthenticated, tc.reason)
			require.Empty(t, got, "the handler ran")
		})
	}
}

// The Gate's Observer hears each authenticated call once, as it hears an
// HTTP request, with the call's context (where a gRPC tracing
// interceptor's span would be): a stream once, when it opens; a failed
// check once, as its 403 (the PermissionDenied the client gets), never as
// accepted; a skipped method never.
func TestObserverHearsCalls(t *testing.T) {
	var mu sync.Mutex
	var heard []clerkgate.Decision
	r := newObservedRig(t, nil, &clerkgate.Observer{Decided: func(ctx context.Context, d clerkgate.Decision) {
		if _, ok := metadata.FromIncomingContext(ctx); !ok {
			d.Reason = "not the call's context"
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
	session := clerkgate.Decision{TokenType: clerkgate.SessionToken}
	refused := func(typ clerkgate.TokenType, reason clerkgate.Reason) clerkgate.Decision {
		return clerkgate.Decision{TokenType: typ, Status: 401, Reason: reason}
	}

	_, err := r.unary(t, unaryCall, bearer(valid))
	require.NoError(t, err)
	require.Equal(t, []clerkgate.Decision{session}, take())
	got, err := r.stream(t, bearer(valid))
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []clerkgate.Decision{session}, take(), "one decision for the stream, not one per message")

	_, err = r.unary(t, unaryCall, bearer(r.fake.Token(s.ID, clerktest.Expired())))
	requireRefused(t, err, codes.Unauthenticated, clerkgate.ReasonTokenExpired)
	require.Equal(t, []clerkgate.Decision{refused(clerkgate.SessionToken, clerkgate.ReasonTokenExpired)}, take())
	_, err = r.stream(t)
	requireRefused(t, err, codes.Unauthenticated, clerkgate.ReasonTokenMissing)
	require.Equal(t, []clerkgate.Decision{refused("", clerkgate.ReasonTokenMissing)}, take())
	_, err = r.unary(t, unaryCall, bearer(writer))
	requireRefused(t, err, codes.Unauthenticated, clerkgate.ReasonTokenTypeInvalid)
	require.Equal(t, []clerkgate.Decision{refused(clerkgate.SessionToken, clerkgate.ReasonTokenTypeInvalid)}, take())
	// Two authorization values: refused, and heard, as two Authorization
	// headers are over HTTP.
	_, err = r.unary(t, unaryCall, bearer(valid), bearer(valid))
	requireRefused(t, err, codes.Unauthenticated, clerkgate.ReasonTokenMalformed)
	require.Equal(t, []clerkgate.Decision{refused(clerkgate.SessionToken, clerkgate.ReasonTokenMalformed)}, take())

	_, err = r.unary(t, machineCall, bearer(writer))
	require.NoError(t, err)
	require.Equal(t, []clerkgate.Decision{{TokenType: clerkgate.APIKey}}, take())
	_, err = r.unary(t, machineCall, bearer(reader))
	requireRefused(t, err, codes.PermissionDenied, clerkgate.ReasonScopeRequired)
	require.Equal(t, []clerkgate.Decision{{TokenType: clerkgate.APIKey, Status: 403, Reason: clerkgate.ReasonScopeRequired}},
		take(), "refused by the check, and only that")

	_, err = r.health.Check(call(t, bearer("not-a-token")), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Empty(t, take(), "a skipped method is not a decision")
}

// A method with a route of its own: machines pass with the scope, and a
// failed check is PermissionDenied, not Unauthenticated.
func TestMethodRoute(t *testing.T) {
	r := newRig(t, nil)
	_, writer := r.fake.CreateAPIKey("user_1", "writer", clerktest.CredentialScopes("read", "write"))
	_, reader := r.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
	revokedID, revoked := r.fake.CreateAPIKey("user_1", "gone", clerktest.CredentialScopes("write"))
	require.True(t, r.fake.RevokeCredential(revokedID))
	m2m := r.fake.M2MJWT("mch_1", clerktest.CredentialScopes("write"))
	s := r.fake.CreateSession("user_s")

	who, err := r.unary(t, machineCall, bearer(writer))
	require.NoError(t, err)
	require.Equal(t, "api_key user_1", who)
	who, err = r.unary(t, machineCall, bearer(m2m))
	require.NoError(t, err)
	require.Equal(t, "m2m_token mch_1", who)

	_, err = r.unary(t, machineCall, bearer(reader))
	requireRefused(t, err, codes.PermissionDenied, clerkgate.ReasonScopeRequired)
	// A session has no scopes: the check refuses it, the token is fine.
	_, err = r.unary(t, machineCall, bearer(r.fake.Token(s.ID)))
	requireRefused(t, err, codes.PermissionDenied, clerkgate.ReasonScopeRequired)
	_, err = r.unary(t, machineCall, bearer(revoked))
	requireRefused(t, err, codes.Unauthenticated, clerkgate.ReasonTokenRevoked)
	_, err = r.unary(t, machineCall)
	requireRefused(t, err, codes.Unauthenticated, clerkgate.ReasonTokenMissing)
}

// Error takes what clerkgate.Authorize returns, as a handler that
// checks more itself has it: nil when the caller passes (the handler goes
// on), a refusal's status otherwise, also wrapped. An error that is not a
// refusal is Internal without its text, never a nil error or a leak.
func TestError(t *testing.T) {
	r := newRig(t, nil)
	s := r.fake.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "org:admin", "org:jobs:purge"))
	admin, err := r.gate.Accept().AuthenticateToken(t.Context(), r.fake.Token(s.ID))
	require.NoError(t, err)
	purge := func(c *clerkgate.Caller) error {
		return clerkgrpc.Error(clerkgate.Authorize(c, authz.Permission("org:jobs:purge")))
	}
	require.True(t, purge(admin) == nil, "%#v", purge(admin))
	requireRefused(t, purge(nil), codes.Unauthenticated, clerkgate.ReasonTokenMissing)

	refusal := clerkgate.Authorize(admin, authz.Permission("org:jobs:delete"))
	requireRefused(t, clerkgrpc.Error(fmt.Errorf("purge: %w", refusal)), codes.PermissionDenied, clerkgate.ReasonPermissionRequired)

	for name, err := range map[string]error{
		"plain error":       errors.New("db at postgres://admin:hunter2@db"),
		"nil *AuthError":    (*clerkgate.AuthError)(nil),
		"wrapped plain one": fmt.Errorf("purge: %w", io.ErrUnexpectedEOF),
	} {
		st, ok := status.FromError(clerkgrpc.Error(err))
		require.True(t, ok, name)
		require.Equal(t, codes.Internal, st.Code(), name)
		require.NotContains(t, st.Message(), "hunter2", name)
		require.NotContains(t, st.Message(), "EOF", name)
	}
}

// A failed reverification carries Clerk's reverification error, for a
// client that asks the user to verify again.
func TestReverification(t *testing.T) {
	r := newRig(t, nil)
	s := r.fake.CreateSession("user_1")

	_, err := r.unary(t, stepUpCall, bearer(r.fake.Token(s.ID, clerktest.WithFactorVerificationAge(0, 5))))
	require.NoError(t, err)

	_, err = r.unary(t, stepUpCall, bearer(r.fake.Token(s.ID, clerktest.WithFactorVerificationAge(0, 30))))
	st := requireRefused(t, err, codes.PermissionDenied, clerkgate.ReasonReverificationRequired)
	info := st.Details()[0].(*errdetails.ErrorInfo)
	require.JSONEq(t, `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}`,
		info.GetMetadata()["clerk_error"])
}

// Skipped methods need no token, even where any other call is refused.
func TestSkipMethods(t *testing.T) {
	r := newRig(t, nil)
	rep, err := r.health.Check(call(t), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, rep.GetStatus())
	// A bad token on a skipped method is not looked at either.
	_, err = r.health.Check(call(t, bearer("not-a-token")), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = r.unary(t, unaryCall)
	requireRefused(t, err, codes.Unauthenticated, clerkgate.ReasonTokenMissing)
}

// When keys or the Backend API cannot be had, the answer is Unavailable
// with a delay to wait, never Unauthenticated: the credential may be
// fine, and a client must not throw it away.
func TestUnavailable(t *testing.T) {
	r := newRig(t, func(fake *clerktest.Server) {
		fake.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: 500})
		fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: 500})
	})
	s := r.fake.CreateSession("user_1")
	_, apiKey := r.fake.CreateAPIKey("user_1", "key", clerktest.CredentialScopes("write"))

	_, err := r.unary(t, unaryCall, bearer(r.fake.Token(s.ID)))
	requireRetry(t, requireRefused(t, err, codes.Unavailable, clerkgate.ReasonJWKSUnavailable))
	_, err = r.stream(t, bearer(r.fake.Token(s.ID)))
	requireRetry(t, requireRefused(t, err, codes.Unavailable, clerkgate.ReasonJWKSUnavailable))
	_, err = r.unary(t, machineCall, bearer(apiKey))
	requireRetry(t, requireRefused(t, err, codes.Unavailable, clerkgate.ReasonMachineUnavailable))
}

func requireRetry(t *testing.T, st *status.Status) {
	t.Helper()
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			require.Positive(t, ri.GetRetryDelay().AsDuration())
			return
		}
	}
	t.Fatalf("no RetryInfo in %v", st.Details())
}

// Wiring mistakes fail when the server is built, not on a call.
func TestOptionsRefuseMistakes(t *testing.T) {
	r := newRig(t, nil)
	route := r.gate.Accept()
	for _, name := range []string{"", "/", "Health/Check", "grpc.health.v1.Health/Check", "//Check", "/a.B/C/D"} {
		require.Panics(t, func() { clerkgrpc.SkipMethods(name) }, name)
		require.Panics(t, func() { clerkgrpc.Method(name, route) }, name)
	}
	require.Panics(t, func() { clerkgrpc.Method(unaryCall, nil) })
	require.Panics(t, func() { clerkgrpc.UnaryServerInterceptor(nil) })
	require.Panics(t, func() { clerkgrpc.StreamServerInterceptor(nil) })
	require.NotPanics(t, func() { clerkgrpc.SkipMethods("/grpc.health.v1.Health/", "/a.B/C") })
}

func TestErrorOfNil(t *testing.T) {
	require.NoError(t, clerkgrpc.Error(nil))
}

// hasClaims reports whether ctx carries session claims of user.
func hasClaims(ctx context.Context, user string) bool {
	claims, ok := clerkgate.ClaimsFromContext(ctx)
	return ok && claims.Subject == user
}
