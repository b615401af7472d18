// Command grpc is clerkgate's gRPC example: a gRPC server whose calls are
// authenticated by clerkgrpc's interceptors. Run it with no CLERK_*
// variables for dev mode, then, in another shell,
//
//	go run ./examples/grpc client
//
// which signs in through the dev token service and calls each method.
// With a real Clerk instance, set TOKEN to a session token for the
// client.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/clerkgate/clerkgate"
	clerkgrpc "github.com/clerkgate/clerkgate/adapters/grpc"
	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
)

// defaultAddr is where the server listens, and the client calls, when
// ADDR is not set.
const defaultAddr = "127.0.0.1:50051"

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "client" {
		if err := runClient(ctx, addr, os.Getenv("TOKEN"), os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := runServer(ctx, addr); err != nil {
		log.Fatal(err)
	}
}

func runServer(ctx context.Context, addr string) error {
	app, err := exampleapp.New("gRPC")
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tcp, _ := ln.Addr().(*net.TCPAddr); app.DevMode() && (tcp == nil || !tcp.IP.IsLoopback()) {
		ln.Close()
		return fmt.Errorf("ADDR=%q: dev mode listens on loopback only (the dev token service signs in whoever asks)", addr)
	}
	srv := newServer(app)
	fmt.Printf("clerkgate gRPC example listening on %s\n", ln.Addr())
	if app.DevMode() {
		fmt.Printf("dev mode: no CLERK_* variables set, so an embedded fake Clerk backend issues tokens.\n"+
			"From another shell, try:\n  ADDR=%s go run ./examples/grpc client\n", ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.GracefulStop()
	return <-errc
}

// newServer is the example's gRPC server: every method of the example
// service needs a session token, except Whoami, which takes any kind of
// credential, and Admin, which also needs the organization admin role.
// Health checks (and dev mode's token service) need nothing.
func newServer(app *exampleapp.App) *grpc.Server {
	gate := app.Gate
	sessions := gate.Accept(clerkgate.SessionToken)
	opts := []clerkgrpc.Option{
		clerkgrpc.SkipMethods("/grpc.health.v1.Health/", "/"+devService+"/"),
		clerkgrpc.Method(methodWhoami, gate.Accept(clerkgate.AnyToken)),
		clerkgrpc.Method(methodAdmin, sessions.With(exampleapp.AdminCheck())),
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(clerkgrpc.UnaryServerInterceptor(sessions, opts...)),
		grpc.ChainStreamInterceptor(clerkgrpc.StreamServerInterceptor(sessions, opts...)),
	)
	srv.RegisterService(exampleDesc(app), struct{}{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if app.DevMode() {
		srv.RegisterService(devDesc(app), struct{}{})
	}
	return srv
}
