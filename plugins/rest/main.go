// Command sqlflow-plugin-rest is the rest connector plugin: it reads a JSON
// HTTP API as one stream, one request per page, with pagination, auth and
// incremental reads. See docs/connectors/rest.md.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/rest/restconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return restconn.New(l) })
}
