// Package clerkgrpc puts clerkgate in front of gRPC services.
//
// Its interceptors read the token from the call's "authorization" metadata
// ("Bearer <token>"), run a clerkgate Policy's checks on it and put the
// caller in the handler's context, for clerkgate.CallerFromContext (and,
// for a session, clerkgate.ClaimsFromContext):
//
//	gate, err := clerkgate.New(clerkgate.ConfigFromEnv())
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//
//	route := gate.Accept() // session tokens, or Config.AcceptTokens
//	skip := clerkgrpc.SkipMethods("/grpc.health.v1.Health/")
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(clerkgrpc.UnaryServerInterceptor(route, skip)),
//		grpc.ChainStreamInterceptor(clerkgrpc.StreamServerInterceptor(route, skip)),
//	)
//
// A session token is verified as clerkgate.Policy.AuthenticateToken
// verifies it: signature, claims, MaxTokenLifetime and revocation, but no
// refresh (that needs a browser's cookies), so an expired token is
// refused and the client fetches a fresh one from Clerk. Machine
// credentials pass on routes that accept them (gate.Accept(
// clerkgate.M2MToken)), and the checks of Policy.With apply to every call.
//
// A refusal is a gRPC status: Unauthenticated for the 401 reasons,
// PermissionDenied for a failed check (403), Unavailable when the
// credential cannot be verified right now (503: jwks_unavailable,
// machine_auth_unavailable). Its details carry an errdetails.ErrorInfo
// whose Reason is clerkgate's reason ("token_expired", "scope_required"
// …) in Domain "clerkgate", and an errdetails.RetryInfo for Unavailable.
// See Error.
//
// The authorization metadata is read by Policy.AuthenticateAuthorization,
// exactly as an HTTP request's Authorization header: another scheme than
// Bearer is no token, and an empty bearer token or two values are
// token_malformed.
//
// Each call the interceptors authenticate (a stream once, when it opens)
// is reported to the Gate's Config.Observer exactly as an HTTP request
// with the same token would be, so package
// github.com/clerkgate/clerkgate/otel counts calls with requests. Skipped
// methods are not decisions.
package clerkgrpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
)

// Domain is the ErrorInfo domain of clerkgate's refusals.
const Domain = "clerkgate"

// Option changes what the interceptors ask of a call.
type Option func(*policy)

// SkipMethods lets calls of the given methods through without a token
// and without a caller in their context, for health checks and
// reflection. A name is a full method, "/package.Service/Method", or a
// whole service, "/package.Service/". It panics on a name that is neither:
// a typo would otherwise leave a method guarded that was meant to be open,
// or the reverse.
func SkipMethods(fullMethods ...string) Option {
	for _, m := range fullMethods {
		mustBeMethod(m)
	}
	return func(p *policy) {
		for _, m := range fullMethods {
			p.routes[m] = nil
		}
	}
}

// Method checks calls of a method (or, for a name ending in "/", of a
// whole service) with route instead of the interceptor's own, for methods
// that take other token types or need other checks:
//
//	admin := gate.Accept(clerkgate.M2MToken).With(authz.Scope("jobs:admin"))
//	clerkgrpc.UnaryServerInterceptor(gate.Accept(), clerkgrpc.Method("/jobs.v1.Jobs/Purge", admin))
//
// A method's own entry comes before its service's; of two options for
// the same name, the later wins. It panics on a bad name or a nil route.
func Method(fullMethod string, route *clerkgate.Policy) Option {
	mustBeMethod(fullMethod)
	if route == nil {
		panic("clerkgrpc: Method " + fullMethod + " with a nil route")
	}
	return func(p *policy) { p.routes[fullMethod] = route }
}

// UnaryServerInterceptor authenticates unary calls with policy's checks
// (see the package doc), and puts the caller in the handler's context.
// It panics on a nil route.
func UnaryServerInterceptor(route *clerkgate.Policy, opts ...Option) grpc.UnaryServerInterceptor {
	p := newPolicy(route, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := p.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates streaming calls once, when they
// open, with policy's checks (see the package doc), and puts the caller in
// the stream's context. It panics on a nil route.
func StreamServerInterceptor(route *clerkgate.Policy, opts ...Option) grpc.StreamServerInterceptor {
	p := newPolicy(route, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := p.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &authenticatedStream{ServerStream: ss, ctx: ctx})
	}
}

// Error turns a clerkgate refusal into a gRPC status error, for handlers
// that check more themselves:
//
//	caller, _ := clerkgate.CallerFromContext(ctx)
//	if err := clerkgate.Authorize(caller, authz.Permission("org:jobs:purge")); err != nil {
//		return nil, clerkgrpc.Error(err)
//	}
//
// The code follows the HTTP status (401 Unauthenticated, 403
// PermissionDenied, 503 Unavailable), the message is clerkgate's fixed
// text, and the details carry an ErrorInfo{Reason, Domain: "clerkgate"}
// (for a failed reverification, with Clerk's reverification error as
// metadata "clerk_error") and, when the client should wait, a RetryInfo.
// The underlying cause (AuthError.Err) is never sent. A nil err is a nil
// error; an err that is not a refusal (no *clerkgate.AuthError for
// errors.As to find) is Internal, and its text is not sent either.
func Error(err error) error {
	var e *clerkgate.AuthError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e) || e == nil:
		return status.Error(codes.Internal, "internal error")
	}
	code := codes.Unauthenticated
	switch e.Status {
	case http.StatusForbidden:
		code = codes.PermissionDenied
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	}
	info := &errdetails.ErrorInfo{Reason: string(e.Reason), Domain: Domain}
	if e.Check != nil && e.Check.Kind() == authz.KindReverification {
		info.Metadata = map[string]string{"clerk_error": string(e.Check.ReverificationError())}
	}
	st := status.New(code, e.Message)
	details := []protoadapt.MessageV1{info}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	// WithDetails fails only on a message it cannot marshal, and these
	// are plain generated messages.
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		st = withDetails
	}
	return st.Err()
}

// policy is one interceptor's configuration: a route for every call, and
// per method or service another route or none (nil: skipped).
type policy struct {
	route  *clerkgate.Policy
	routes map[string]*clerkgate.Policy
}

func newPolicy(route *clerkgate.Policy, opts []Option) *policy {
	if route == nil {
		panic("clerkgrpc: nil route (use gate.Accept())")
	}
	p := &policy{route: route, routes: map[string]*clerkgate.Policy{}}
	for _, o := range opts {
		o(p)
	}
	return p
}

// routeFor is the route of a method: its own, else its service's, else
// the default. skip reports a skipped method.
func (p *policy) routeFor(fullMethod string) (route *clerkgate.Policy, skip bool) {
	if r, ok := p.routes[fullMethod]; ok {
		return r, r == nil
	}
	if i := strings.LastIndexByte(fullMethod, '/'); i > 0 {
		if r, ok := p.routes[fullMethod[:i+1]]; ok {
			return r, r == nil
		}
	}
	return p.route, false
}

func (p *policy) authenticate(ctx context.Context, fullMethod string) (context.Context, error) {
	route, skip := p.routeFor(fullMethod)
	if skip {
		return ctx, nil
	}
	actx := ctx
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		// The peer is the client, for the per-client bounds on calls for
		// credentials never seen pass.
		if ap, err := netip.ParseAddrPort(pr.Addr.String()); err == nil {
			actx = clerkgate.ContextWithClientAddr(ctx, ap.Addr())
		}
	}
	caller, err := route.AuthenticateAuthorization(actx, metadata.ValueFromIncomingContext(ctx, "authorization"))
	if err != nil {
		return nil, Error(err)
	}
	return clerkgate.ContextWithCaller(ctx, caller), nil
}

// authenticatedStream is a server stream whose context carries the caller.
type authenticatedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authenticatedStream) Context() context.Context { return s.ctx }

func mustBeMethod(name string) {
	service, method, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	if !strings.HasPrefix(name, "/") || !ok || service == "" || strings.Contains(method, "/") {
		panic(fmt.Sprintf("clerkgrpc: %q is not a full method (/package.Service/Method) or a service (/package.Service/)", name))
	}
}
