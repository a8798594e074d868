// Command okplugin is a minimal well-behaved plugin for host/plugin tests.
package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

type conn struct{}

func (conn) Spec() sdk.Spec {
	return sdk.Spec{Name: "ok", Version: "0.0.1", ConfigSchema: json.RawMessage(`{"type":"object"}`), ResilienceClass: sdk.ResilienceNone,
		Aliases: []string{"okay"}}
}

func (conn) Configure(ctx context.Context, cfg json.RawMessage) ([]sdk.FieldError, error) {
	// A stray print must not break the handshake or the protocol.
	fmt.Println("stdout noise from Configure")
	return nil, nil
}

func (conn) Check(ctx context.Context) error { return nil }

func main() {
	sdk.Serve(func(hclog.Logger) sdk.Connector {
		fmt.Println("stdout noise while building the connector")
		return conn{}
	})
}
