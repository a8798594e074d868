// Command v2plugin speaks a future protocol version 2.
package main

import (
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

func main() {
	hs := protocol.Handshake()
	hs.ProtocolVersion = 2
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         goplugin.PluginSet{protocol.PluginName: &protocol.GRPCPlugin{}},
		GRPCServer:      func(o []grpc.ServerOption) *grpc.Server { return grpc.NewServer(o...) },
	})
}
