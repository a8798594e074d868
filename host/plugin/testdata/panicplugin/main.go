// Command panicplugin panics while building its connector.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(hclog.Logger) sdk.Connector { panic("cannot open libfoo.so: no such file") })
}
