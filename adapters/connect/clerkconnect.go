// Package clerkconnect puts clerkgate in front of Connect services
// (connectrpc.com/connect), for clients that speak the Connect, gRPC or
// gRPC-Web protocol.
//
// The token is read from the call's Authorization header ("Bearer
// <token>"), a clerkgate Policy's checks run on it, and the caller is put
// in the handler's context, for clerkgate.CallerFromContext (and, for a
// session, clerkgate.ClaimsFromContext). Either an
// interceptor does it, per handler:
//
//	gate, err := clerkgate.New(clerkgate.ConfigFromEnv())
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer gate.Close()
//
//	auth := clerkconnect.NewInterceptor(gate.Accept()) // session tokens, or Config.AcceptTokens
//	mux := http.NewServeMux()
//	mux.Handle(jobsv1connect.NewJobsHandler(jobs, connect.WithInterceptors(auth)))
//	mux.Handle(grpchealth.NewHandler(checker)) // no interceptor: no token needed
//	log.Fatal(http.ListenAndServe(":8080", mux))
//
// or Wrap does it in front of a whole handler tree, before a request's
// body is read:
//
//	skip := clerkconnect.SkipProcedures("/" + grpchealth.HealthV1ServiceName + "/")
//	handler := clerkconnect.Wrap(gate.Accept(), mux, skip)
//
// Use one or the other for a procedure, not both: each call would be
// authenticated, and reported to the Observer, twice.
//
// A session token is verified as clerkgate.Policy.AuthenticateToken
// verifies it: signature, claims, MaxTokenLifetime and revocation, but no
// refresh (that needs a browser's cookies), so an expired token is
// refused and the client fetches a fresh one from Clerk. Cookies are not
// read. Machine credentials pass on routes that accept them (gate.Accept(
// clerkgate.M2MToken)), and the checks of Policy.With apply to every call.
//
// A refusal is a Connect error, the same in all three protocols and the
// same as package github.com/clerkgate/clerkgate/adapters/grpc's:
// Unauthenticated for the 401 reasons, PermissionDenied for a failed
// check (403), Unavailable when the credential cannot be verified right
// now (503: jwks_unavailable, machine_auth_unavailable). Its details carry
// an errdetails.ErrorInfo whose Reason is clerkgate's reason
// ("token_expired", "scope_required" …) in Domain "clerkgate", and an
// errdetails.RetryInfo for Unavailable. See Error.
//
// The Authorization header is read by Policy.AuthenticateAuthorization,
// exactly as an HTTP request's is: another scheme than Bearer is no
// token, and an empty bearer token or two values are token_malformed.
//
// Each call authenticated (a stream once, when it opens) is reported to
// the Gate's Config.Observer exactly as an HTTP request with the same
// token would be, so package github.com/clerkgate/clerkgate/otel counts
// calls with requests. Skipped procedures are not decisions.
package clerkconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
)

// Domain is the ErrorInfo domain of clerkgate's refusals.
const Domain = "clerkgate"

// Option changes what the interceptor or Wrap asks of a call.
type Option func(*policy)

// SkipProcedures lets calls of the given procedures through without a
// token and without a caller in their context, for health checks and
// reflection. A name is a full procedure, "/package.Service/Method", or a
// whole service, "/package.Service/". It panics on a name that is
// neither: a typo would otherwise leave a procedure guarded that was
// meant to be open, or the reverse.
func SkipProcedures(procedures ...string) Option {
	for _, p := range procedures {
		mustBeProcedure(p)
	}
	return func(pol *policy) {
		for _, p := range procedures {
			pol.routes[p] = nil
		}
	}
}

// Procedure checks calls of a procedure (or, for a name ending in "/", of
// a whole service) with route instead of the default one, for procedures
// that take other token types or need other checks:
//
//	admin := gate.Accept(clerkgate.M2MToken).With(authz.Scope("jobs:admin"))
//	clerkconnect.NewInterceptor(gate.Accept(), clerkconnect.Procedure("/jobs.v1.Jobs/Purge", admin))
//
// A procedure's own entry comes before its service's; of two options for
// the same name, the later wins. It panics on a bad name or a nil route.
func Procedure(procedure string, route *clerkgate.Policy) Option {
	mustBeProcedure(procedure)
	if route == nil {
		panic("clerkconnect: Procedure " + procedure + " with a nil route")
	}
	return func(p *policy) { p.routes[procedure] = route }
}

// Interceptor is a connect.Interceptor that authenticates the calls a
// handler serves (see the package doc). On a client it does nothing.
type Interceptor struct{ policy *policy }

var _ connect.Interceptor = (*Interceptor)(nil)

// NewInterceptor authenticates unary and streaming calls with route's
// checks, a stream once when it opens, and puts the caller in the
// handler's context. Pass it to a handler with connect.WithInterceptors.
// It panics on a nil route.
func NewInterceptor(route *clerkgate.Policy, opts ...Option) *Interceptor {
	return &Interceptor{policy: newPolicy(route, opts)}
}

// WrapUnary authenticates a unary call a handler serves.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.policy.authenticate(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient returns next: clients are not authenticated here.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler authenticates a stream once, when it opens.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.policy.authenticate(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// Wrap authenticates every request to next, a tree of Connect handlers,
// with policy's checks (see the package doc), before the request's body is
// read. The procedure is the request's path, as Connect's handlers
// dispatch on it, so Wrap goes where that path is the procedure (inside
// http.StripPrefix, if the handlers are mounted under a prefix). A refusal
// is written in the protocol the client speaks (connect.ErrorWriter). A
// path that is not a plain one (escapes, "." or ".." segments, "//") is
// NotFound before any token is read: a router that cleaned it could serve
// another procedure than the one whose route was applied. Wrap panics on a
// nil route or a nil next.
func Wrap(route *clerkgate.Policy, next http.Handler, opts ...Option) http.Handler {
	if next == nil {
		panic("clerkconnect: Wrap of a nil handler")
	}
	p := newPolicy(route, opts)
	errs := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !plainPath(r) {
			_ = errs.Write(w, r, connect.NewError(connect.CodeNotFound, errors.New("not found")))
			return
		}
		ctx, err := p.authenticate(r.Context(), r.URL.Path, r.Header)
		if err != nil {
			_ = errs.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Error turns a clerkgate refusal into a Connect error, for handlers that
// check more themselves:
//
//	caller, _ := clerkgate.CallerFromContext(ctx)
//	if err := clerkgate.Authorize(caller, authz.Permission("org:jobs:purge")); err != nil {
//		return nil, clerkconnect.Error(err)
//	}
//
// The code follows the HTTP status (401 Unauthenticated, 403
// PermissionDenied, 503 Unavailable), the message is clerkgate's fixed
// text, and the details carry an ErrorInfo{Reason, Domain: "clerkgate"}
// (for a failed reverification, with Clerk's reverification error as
// metadata "clerk_error") and, when the client should wait, a RetryInfo.
// The underlying cause (AuthError.Err) is never sent. A nil err is a nil
// error; an err that is not a refusal (no *clerkgate.AuthError for
// errors.As to find) is Internal, and its text is not sent either. A
// non-nil result is always a *connect.Error.
func Error(err error) error {
	var e *clerkgate.AuthError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e) || e == nil:
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	code := connect.CodeUnauthenticated
	switch e.Status {
	case http.StatusForbidden:
		code = connect.CodePermissionDenied
	case http.StatusServiceUnavailable:
		code = connect.CodeUnavailable
	}
	info := &errdetails.ErrorInfo{Reason: string(e.Reason), Domain: Domain}
	if e.Check != nil && e.Check.Kind() == authz.KindReverification {
		info.Metadata = map[string]string{"clerk_error": string(e.Check.ReverificationError())}
	}
	ce := connect.NewError(code, errors.New(e.Message))
	details := []proto.Message{info}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	for _, d := range details {
		// NewErrorDetail fails only on a message it cannot marshal, and
		// these are plain generated messages.
		if detail, derr := connect.NewErrorDetail(d); derr == nil {
			ce.AddDetail(detail)
		}
	}
	return ce
}

// policy is one interceptor's or Wrap's configuration: a route for every
// call, and per procedure or service another route or none (nil: skipped).
type policy struct {
	route  *clerkgate.Policy
	routes map[string]*clerkgate.Policy
}

func newPolicy(route *clerkgate.Policy, opts []Option) *policy {
	if route == nil {
		panic("clerkconnect: nil route (use gate.Accept())")
	}
	p := &policy{route: route, routes: map[string]*clerkgate.Policy{}}
	for _, o := range opts {
		o(p)
	}
	return p
}

// routeFor is the route of a procedure: its own, else its service's, else
// the default. skip reports a skipped procedure.
func (p *policy) routeFor(procedure string) (route *clerkgate.Policy, skip bool) {
	if r, ok := p.routes[procedure]; ok {
		return r, r == nil
	}
	if i := strings.LastIndexByte(procedure, '/'); i > 0 {
		if r, ok := p.routes[procedure[:i+1]]; ok {
			return r, r == nil
		}
	}
	return p.route, false
}

func (p *policy) authenticate(ctx context.Context, procedure string, header http.Header) (context.Context, error) {
	route, skip := p.routeFor(procedure)
	if skip {
		return ctx, nil
	}
	caller, err := route.AuthenticateAuthorization(ctx, header.Values("Authorization"))
	if err != nil {
		return nil, Error(err)
	}
	return clerkgate.ContextWithCaller(ctx, caller), nil
}

// plainPath reports whether r's path is one a router serves as it is:
// no escapes, no empty, "." or ".." segments (a trailing "/" aside).
func plainPath(r *http.Request) bool {
	p := r.URL.Path
	if r.URL.RawPath != "" || !strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
		return false
	}
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." {
			return false
		}
	}
	return true
}

func mustBeProcedure(name string) {
	service, method, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	if !strings.HasPrefix(name, "/") || !ok || service == "" || strings.Contains(method, "/") {
		panic(fmt.Sprintf("clerkconnect: %q is not a full procedure (/package.Service/Method) or a service (/package.Service/)", name))
	}
}
