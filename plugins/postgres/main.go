// Command sqlflow-plugin-postgres is the postgres connector plugin: it
// reads tables, views and queries with keyset paging over pgx's binary
// protocol, and writes through an UNLOGGED staging table loaded with COPY
// and committed in one transaction. See docs/connectors/postgres.md.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/postgres/pgsql"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return pgsql.New(l) })
}
