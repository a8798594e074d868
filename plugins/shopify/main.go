// Command sqlflow-plugin-shopify is the shopify connector plugin: it reads
// a Shopify shop's Admin API objects (GraphQL by default, REST as an
// option), one request per page, reporting Shopify's rate-limit budget to
// the host. See docs/connectors/shopify.md.
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifyconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func main() {
	sdk.Serve(func(l hclog.Logger) sdk.Connector { return shopifyconn.New(l) })
}
