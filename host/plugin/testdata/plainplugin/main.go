// Command plainplugin does the go-plugin handshake by hand, as a plugin
// written in another language might, but serves plain gRPC (no TLS),
// ignoring the host's PLUGIN_CLIENT_CERT: what go-plugin's own Python
// example does. The host must refuse it with a hint, not a bare TLS error.
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

type server struct {
	pb.UnimplementedConnectorServer
}

func main() {
	dir := os.Getenv("PLUGIN_UNIX_SOCKET_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	sock := filepath.Join(dir, fmt.Sprintf("plain-%d.sock", os.Getpid()))
	lis, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("plugin", grpc_health_v1.HealthCheckResponse_SERVING)
	grpc_health_v1.RegisterHealthServer(srv, hs)
	pb.RegisterConnectorServer(srv, &server{})
	fmt.Printf("1|%d|unix|%s|grpc|\n", protocol.Version, sock)
	_ = srv.Serve(lis)
}
