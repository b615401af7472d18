package clerkgrpc_test

import (
	"context"
	"log"

	"google.golang.org/grpc"

	"github.com/clerkgate/clerkgate"
	clerkgrpc "github.com/clerkgate/clerkgate/adapters/grpc"
	"github.com/clerkgate/clerkgate/authz"
)

// A server whose methods need a session token, except one that machines
// call with a scope, and health checks, which need nothing.
func Example() {
	gate, err := clerkgate.New(clerkgate.ConfigFromEnv())
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()

	sessions := gate.Accept(clerkgate.SessionToken)
	opts := []clerkgrpc.Option{
		clerkgrpc.SkipMethods("/grpc.health.v1.Health/"),
		clerkgrpc.Method("/jobs.v1.Jobs/Run", gate.Accept(clerkgate.M2MToken, clerkgate.APIKey).With(authz.Scope("jobs:run"))),
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(clerkgrpc.UnaryServerInterceptor(sessions, opts...)),
		grpc.ChainStreamInterceptor(clerkgrpc.StreamServerInterceptor(sessions, opts...)),
	)
	_ = srv // register services, then srv.Serve(listener)
}

// A handler that checks more than its route does answers with Error, so
// that the client sees the same status as for the interceptor's refusals.
func ExampleError() {
	purge := func(ctx context.Context) error {
		caller, _ := clerkgate.CallerFromContext(ctx)
		if err := clerkgate.Authorize(caller, authz.Permission("org:jobs:purge")); err != nil {
			return clerkgrpc.Error(err) // PermissionDenied, reason permission_required
		}
		// … purge …
		return nil
	}
	_ = purge
}
