package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// runClient calls each method of the example server at addr and writes
// one line per call: the answer, or the refusal's code and clerkgate
// reason. Without a token it signs in through dev mode's token service,
// and then also tries an admin token and signs out.
func runClient(ctx context.Context, addr, token string, w io.Writer) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	dev := token == ""
	if dev {
		if token, err = devToken(ctx, conn, methodDevToken); err != nil {
			return err
		}
	}
	show := func(label, method, token string) {
		out := &structpb.Struct{}
		err := conn.Invoke(withToken(ctx, token), method, &emptypb.Empty{}, out)
		fmt.Fprintf(w, "%-22s %s\n", label, outcome(out, err))
	}
	show("Whoami, no token", methodWhoami, "")
	show("Whoami", methodWhoami, token)
	show("Me", methodMe, token)
	show("Admin", methodAdmin, token)
	if dev {
		admin, err := devToken(ctx, conn, methodDevAdmin)
		if err != nil {
			return err
		}
		show("Admin, as an admin", methodAdmin, admin)
	}
	fmt.Fprintf(w, "%-22s %s\n", "Sessions (a stream)", sessions(ctx, conn, token))
	if dev {
		show("Logout", methodLogout, token)
		show("Me, after logout", methodMe, token)
	}
	return nil
}

func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// devToken asks dev mode's token service for a token.
func devToken(ctx context.Context, conn *grpc.ClientConn, method string) (string, error) {
	out := &structpb.Struct{}
	err := conn.Invoke(ctx, method, &emptypb.Empty{}, out)
	if status.Code(err) == codes.Unimplemented {
		return "", errors.New("the server is not in dev mode: set TOKEN to a session token of its Clerk instance")
	}
	if err != nil {
		return "", err
	}
	return out.GetFields()["token"].GetStringValue(), nil
}

// sessions reads the Sessions stream to its end: how many sessions it
// sent, or how it was refused.
func sessions(ctx context.Context, conn *grpc.ClientConn, token string) string {
	desc := &grpc.StreamDesc{StreamName: "Sessions", ServerStreams: true}
	stream, err := conn.NewStream(withToken(ctx, token), desc, methodSessions)
	if err == nil {
		err = stream.SendMsg(&emptypb.Empty{})
	}
	if err == nil {
		err = stream.CloseSend()
	}
	n := 0
	for err == nil {
		if err = stream.RecvMsg(&structpb.Struct{}); err == nil {
			n++
		}
	}
	if !errors.Is(err, io.EOF) {
		return outcome(nil, err)
	}
	return fmt.Sprintf("OK %d session(s)", n)
}

// outcome is "OK <answer as JSON>", or "<code> <reason>: <message>" with
// the reason from the refusal's ErrorInfo.
func outcome(out *structpb.Struct, err error) string {
	if err == nil {
		// encoding/json, unlike protojson, writes the same bytes every time.
		b, _ := json.Marshal(out.AsMap())
		return "OK " + string(b)
	}
	st := status.Convert(err)
	reason := "-"
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	return fmt.Sprintf("%s %s: %s", st.Code(), reason, st.Message())
}
