// Command acmeplugin is a third-party plugin for the equal-footing tests:
// it declares its own resilience defaults, the key naming its remote host,
// an older type name and the old retry keys, as built-in plugins do.
package main

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

type conn struct{}

func (conn) Spec() sdk.Spec {
	return sdk.Spec{
		Name: "acme", Version: "0.0.1", ConfigSchema: json.RawMessage(`{"type":"object"}`),
		ResilienceClass: sdk.ResilienceFile,
		Resilience: map[string]any{
			"timeout":                            45,
			"retry.max_attempts":                 6,
			"retry.initial_delay":                0.25,
			"rate_limit.enabled":                 true,
			"rate_limit.max_requests_per_minute": 90,
			"rate_limit.per_host":                true,
		},
		HostKeys:        []string{"server"},
		Aliases:         []string{"acme_legacy"},
		LegacyRetryKeys: true,
	}
}

func (conn) Configure(ctx context.Context, cfg json.RawMessage) ([]sdk.FieldError, error) {
	return nil, nil
}

func (conn) Check(ctx context.Context) error { return nil }

func main() {
	sdk.Serve(func(hclog.Logger) sdk.Connector { return conn{} })
}
