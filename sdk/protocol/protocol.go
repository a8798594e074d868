// Package protocol owns the go-plugin handshake of the connector protocol:
// the magic cookie, the protocol version and the plugin set both the host
// and a plugin must agree on.
package protocol

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
)

// Version is the connector protocol version carried in the handshake. It
// changes only when the wire protocol breaks compatibility.
const Version = 1

// PluginName is the name under which a plugin process serves its connector.
const PluginName = "connector"

// MagicCookieKey and MagicCookieValue are the go-plugin magic cookie: not a
// security measure, only a way to tell a user who runs a plugin binary by
// hand that it is not a program of its own.
const (
	MagicCookieKey   = "SQLFLOW_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "5c1f0e2a-sqlflow-connector-v1"
)

// Handshake returns the handshake configuration for this protocol version.
// It returns a new value each call so nobody can change a shared one.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  Version,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// GRPCPlugin is the go-plugin plugin of the connector protocol. A plugin
// process sets Server; a host leaves it nil and gets the *grpc.ClientConn
// from Dispense.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the plugin-side implementation; nil on the host side.
	Impl pb.ConnectorServer
}

// GRPCServer registers the connector service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterConnectorServer(s, p.Impl)
	return nil
}

// GRPCClient returns the connection itself; package rpcclient wraps it.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

// PluginSet returns the host-side plugin set for the handshake.
func PluginSet() plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{}}
}
