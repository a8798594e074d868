package nodesource

import (
	"context"
	"crypto/tls"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

// TestWire checks on the wire, with plain grpc-go stubs over go-plugin
// (AutoMTLS), what the kit sees only through the host's client: the health
// service answers SERVING for "plugin", a client without the host's
// certificate is refused, and an error carries its ErrorDetail in the
// status details.
func TestWire(t *testing.T) {
	bin := RequireNode(t)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  protocol.Handshake(),
		Plugins:          protocol.PluginSet(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	raw, err := rpc.Dispense(protocol.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	conn := raw.(*grpc.ClientConn)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	for _, service := range []string{"plugin", ""} {
		resp, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
			t.Errorf("health check of %q: %v, %v; want SERVING", service, resp.GetStatus(), err)
		}
	}
	if err := rpc.Ping(); err != nil {
		t.Errorf("go-plugin's ping (the health check the host repeats): %v", err)
	}

	// Mutual TLS: a client without the host's certificate is refused.
	addr := client.ReattachConfig().Addr
	stranger, err := grpc.NewClient("unix://"+addr.String(),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := pb.NewConnectorClient(stranger).Spec(ctx, &pb.SpecRequest{}); err == nil {
		t.Errorf("Spec from a client without a certificate succeeded; the plugin must require the host's")
	}

	c := pb.NewConnectorClient(conn)
	detail := func(err error) (*status.Status, *pb.ErrorDetail) {
		t.Helper()
		st, _ := status.FromError(err)
		for _, d := range st.Details() {
			if ed, ok := d.(*pb.ErrorDetail); ok {
				return st, ed
			}
		}
		t.Fatalf("the error %v carries no ErrorDetail in its status details %v", err, st.Proto().GetDetails())
		return nil, nil
	}

	_, err = c.ReadPage(ctx, &pb.ReadPageRequest{Stream: "numbers"})
	st, ed := detail(err)
	if st.Code() != codes.FailedPrecondition || ed.GetClass() != pb.ErrorClass_ERROR_CLASS_PERMANENT {
		t.Errorf("ReadPage before Configure: %v, class %v; want FailedPrecondition, PERMANENT", st, ed.GetClass())
	}

	cr, err := c.Configure(ctx, &pb.ConfigureRequest{ConfigJson: []byte(`{"rows": 3}`)})
	if err != nil || len(cr.GetFieldErrors()) > 0 {
		t.Fatalf("Configure: %v %v", cr.GetFieldErrors(), err)
	}
	_, err = c.ReadPage(ctx, &pb.ReadPageRequest{Stream: "nope"})
	st, ed = detail(err)
	if st.Code() != codes.NotFound || ed.GetClass() != pb.ErrorClass_ERROR_CLASS_PERMANENT || st.Message() != `no stream "nope"; this source has "numbers"` {
		t.Errorf("ReadPage of an unknown stream: %v, class %v; want NotFound, PERMANENT", st, ed.GetClass())
	}
	_, err = c.ReadPage(ctx, &pb.ReadPageRequest{Stream: "numbers", Checkpoint: []byte("4")})
	st, ed = detail(err)
	if st.Code() != codes.InvalidArgument || ed.GetClass() != pb.ErrorClass_ERROR_CLASS_PERMANENT {
		t.Errorf("ReadPage past the end: %v, class %v; want InvalidArgument, PERMANENT", st, ed.GetClass())
	}
}
