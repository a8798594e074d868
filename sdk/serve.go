package sdk

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

// Serve runs a connector as a plugin process and does not return.
//
// newConnector is called once, with a logger whose lines reach the host's
// log under the plugin's name. Serve keeps stdout clean for the go-plugin
// handshake (anything the connector writes to os.Stdout goes to stderr),
// raises gRPC's message limits to the protocol's cap on both directions,
// reports a panic at start-up with its text, and exits when the host dies.
//
// When the binary is run by hand, not by a host, Serve prints a short
// explanation to stderr and exits 1.
func Serve(newConnector func(logger hclog.Logger) Connector) {
	handshake := protectStdout()
	logger := hclog.New(&hclog.LoggerOptions{
		Output:     os.Stderr,
		Level:      hclog.Info,
		JSONFormat: true,
	})
	if os.Getenv(protocol.MagicCookieKey) != protocol.MagicCookieValue {
		fmt.Fprintln(os.Stderr, "This binary is a sqlflow-host connector plugin and is not meant to be run by hand.\n"+
			"Put it in the plugins directory (see `sqlflow-host plugins list`) and the host starts it when a pipeline uses it.")
		os.Exit(1)
	}
	watchParent()
	stopProfile, err := startCPUProfile(filepath.Base(os.Args[0]))
	if err != nil {
		logger.Warn("no CPU profile", "error", err)
	}

	conn := newConnector(logger)
	if conn == nil {
		fmt.Fprintln(os.Stderr, "sdk.Serve: the connector factory returned nil")
		os.Exit(1)
	}
	server := newServer(conn, logger)
	codec := protocol.NewCodec()
	server.lender = codec
	// After the handshake go-plugin moves os.Stdout and os.Stderr onto a
	// pipe it forwards over its stdio gRPC stream, which loses what a
	// dying plugin wrote last. At the host's first call (always after
	// that move) point both back at file descriptor 2, which the host
	// reads to the end even when the process crashes.
	stderr := os.Stderr
	server.stdio = func() {
		os.Stdout = stderr
		os.Stderr = stderr
	}

	restoreStdout(handshake)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: protocol.Handshake(),
		Plugins: plugin.PluginSet{
			protocol.PluginName: &protocol.GRPCPlugin{Impl: server},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts,
				grpc.MaxRecvMsgSize(arrowipc.MaxMessageSize),
				grpc.MaxSendMsgSize(arrowipc.MaxMessageSize),
				grpc.ForceServerCodecV2(codec),
			)
			return grpc.NewServer(opts...)
		},
		Logger: logger,
	})
	stopProfile()
	os.Exit(0)
}

// RegisterServer registers conn's connector service on s, as Serve does
// inside a plugin process. It is for in-process tests and custom
// transports; a plugin's main calls Serve instead.
func RegisterServer(s *grpc.Server, conn Connector, logger hclog.Logger) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	(&protocol.GRPCPlugin{Impl: newServer(conn, logger)}).GRPCServer(nil, s)
}
