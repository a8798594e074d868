// Command sqlflow-plugin-gsheets is the gsheets connector plugin: it reads
// the sheets of a Google spreadsheet through the Sheets API v4, one stream
// per sheet, one request per page. See docs/connectors/gsheets.md.
package main

import (
	_ "time/tzdata" // spreadsheets name IANA time zones; do not depend on the system's database

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetsconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return sheetsconn.New(l) })
}
