// Command sqlflow-plugin-memory is the memory connector plugin: an in-memory
// source (inline rows or a seeded generator, with optional fault injection)
// and an in-memory destination, for tests, demos and benchmarks.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return memconn.New(l) })
}
