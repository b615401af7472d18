package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
	"github.com/clerkgate/clerkgate/session"
)

// The example's services are described by hand rather than generated from
// a .proto file, so that the example builds without protoc: requests are
// google.protobuf.Empty and answers google.protobuf.Struct, the same JSON
// bodies the HTTP examples answer.
const (
	exampleService = "clerkgate.example.v1.Example"
	devService     = "clerkgate.example.v1.Dev"

	methodWhoami   = "/" + exampleService + "/Whoami"
	methodMe       = "/" + exampleService + "/Me"
	methodAdmin    = "/" + exampleService + "/Admin"
	methodLogout   = "/" + exampleService + "/Logout"
	methodSessions = "/" + exampleService + "/Sessions"
	methodDevToken = "/" + devService + "/Token"
	methodDevAdmin = "/" + devService + "/AdminToken"
)

// exampleDesc is the service the interceptors guard: each method reads the
// caller the interceptor put in its context.
func exampleDesc(app *exampleapp.App) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: exampleService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary(methodWhoami, func(ctx context.Context) exampleapp.Result {
				caller, _ := clerkgate.CallerFromContext(ctx)
				return exampleapp.Whoami(caller)
			}),
			unary(methodMe, func(ctx context.Context) exampleapp.Result {
				claims, _ := clerkgate.ClaimsFromContext(ctx)
				return exampleapp.Me(claims)
			}),
			unary(methodAdmin, func(ctx context.Context) exampleapp.Result {
				claims, _ := clerkgate.ClaimsFromContext(ctx)
				return exampleapp.Admin(claims)
			}),
			unary(methodLogout, func(ctx context.Context) exampleapp.Result {
				claims, _ := clerkgate.ClaimsFromContext(ctx)
				return app.Logout(ctx, claims)
			}),
		},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Sessions",
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				// Sessions streams the caller's sessions, one message each.
				if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
					return err
				}
				claims, _ := clerkgate.ClaimsFromContext(stream.Context())
				res := app.MySessions(stream.Context(), claims)
				list, ok := res.Body.(*session.SessionList)
				if !ok {
					return answer(res)
				}
				for _, s := range list.Data {
					msg, err := toStruct(s)
					if err != nil {
						return err
					}
					if err := stream.SendMsg(msg); err != nil {
						return err
					}
				}
				return nil
			},
		}},
	}
}

// devDesc is dev mode's token service, the gRPC twin of GET /dev/token:
// it signs in whoever asks, so it exists only in dev mode, on loopback.
func devDesc(app *exampleapp.App) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: devService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary(methodDevToken, func(context.Context) exampleapp.Result { return app.DevToken(false) }),
			unary(methodDevAdmin, func(context.Context) exampleapp.Result { return app.DevAuthzToken("admin", "") }),
		},
	}
}

// unary is a method that takes Empty and answers h's result as a Struct,
// through the server's interceptors.
func unary(fullMethod string, h func(context.Context) exampleapp.Result) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: fullMethod[strings.LastIndexByte(fullMethod, '/')+1:],
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, _ any) (any, error) {
				res := h(ctx)
				msg, err := toStruct(res.Body)
				if err != nil {
					return nil, err
				}
				return msg, answer(res)
			}
			if interceptor == nil {
				return call(ctx, nil)
			}
			return interceptor(ctx, &emptypb.Empty{}, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, call)
		},
	}
}

// answer is the status of a result that is not a 200: the example's
// failures (a Backend API call that failed, no dev mode) as gRPC codes.
func answer(res exampleapp.Result) error {
	switch res.Status {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return status.Error(codes.NotFound, describe(res))
	case http.StatusNotImplemented:
		return status.Error(codes.Unimplemented, describe(res))
	}
	return status.Error(codes.Unavailable, describe(res))
}

func describe(res exampleapp.Result) string {
	b, _ := json.Marshal(res.Body)
	return string(b)
}

// toStruct is v's JSON as a google.protobuf.Struct.
func toStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, status.Error(codes.Internal, "encoding the answer failed")
	}
	s := &structpb.Struct{}
	if err := s.UnmarshalJSON(b); err != nil {
		return nil, status.Error(codes.Internal, "encoding the answer failed")
	}
	return s, nil
}
