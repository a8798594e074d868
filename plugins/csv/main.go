// Command sqlflow-plugin-csv is the csv connector plugin: it reads CSV
// files (a file, a directory or a glob) and writes them, staged and
// committed atomically. See docs/connectors/csv.md.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return csvconn.New(l) })
}
