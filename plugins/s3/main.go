// Command sqlflow-plugin-s3 is the s3 connector plugin: it reads csv, jsonl
// and parquet objects under an S3 prefix and writes datasets of them, staged
// and made visible by a _SUCCESS manifest. See docs/connectors/s3.md.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return s3conn.New(l) })
}
