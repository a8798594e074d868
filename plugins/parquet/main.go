// Command sqlflow-plugin-parquet is the parquet connector plugin: it reads
// Parquet files (a file, a directory or a glob) row group by row group and
// writes them, staged and committed atomically. See
// docs/connectors/parquet.md.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/parquet/parquetconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return parquetconn.New(l) })
}
