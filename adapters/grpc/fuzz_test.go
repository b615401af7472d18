package clerkgrpc_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/clerkgate/clerkgate"
	clerkgrpc "github.com/clerkgate/clerkgate/adapters/grpc"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Whatever the authorization values, the interceptor answers: the handler
// runs only with a caller, and a refusal is Unauthenticated with a reason,
// never a panic. The Gate verifies with the fake's PEM key, so no call
// leaves the process.
func FuzzAuthorization(f *testing.F) {
	fake := clerktest.New()
	defer fake.Close()
	s := fake.CreateSession("user_1")
	valid := fake.Token(s.ID)
	gate, err := clerkgate.New(clerkgate.Config{JWTKey: fake.PublicKeyPEM()})
	require.NoError(f, err)
	defer gate.Close()
	intercept := clerkgrpc.UnaryServerInterceptor(gate.Accept(clerkgate.AnyToken))
	info := &grpc.UnaryServerInfo{FullMethod: "/a.B/C"}
	handler := func(ctx context.Context, _ any) (any, error) {
		if _, ok := clerkgate.CallerFromContext(ctx); !ok {
			return nil, status.Error(codes.Internal, "handler ran without a caller")
		}
		return "ok", nil
	}

	for _, seed := range [][2]string{
		{"Bearer " + valid, ""}, {"bearer " + valid, "Bearer x"}, {"Bearer", ""}, {"Bearer  ", ""},
		{"Basic dXNlcjpwYXNz", ""}, {"Bearer ak_123", ""}, {"Bearer mt_123", ""}, {"Bearer oat_1", ""},
		{"Bearer a.b.c", ""}, {"Bearer " + valid[:len(valid)-2], ""}, {"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		md := metadata.MD{}
		for _, v := range []string{first, second} {
			if v != "" {
				md.Append("authorization", v)
			}
		}
		ctx := metadata.NewIncomingContext(context.Background(), md)
		out, err := intercept(ctx, nil, info, handler)
		if err == nil {
			require.Equal(t, "ok", out)
			return
		}
		st := status.Convert(err)
		// Opaque machine credentials need the Backend API, which this Gate
		// has no key for: Unavailable, not a refusal of the credential.
		require.Contains(t, []codes.Code{codes.Unauthenticated, codes.Unavailable}, st.Code(), st.Message())
		require.NotEmpty(t, st.Details())
		info, ok := st.Details()[0].(*errdetails.ErrorInfo)
		require.True(t, ok)
		require.NotEmpty(t, info.GetReason())
	})
}
