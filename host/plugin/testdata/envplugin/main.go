// Command envplugin is a source whose one stream is its own process
// environment, one row per variable (name, value), for the tests of the
// environment the host gives plugins. Its Spec declares SQLFLOW_ENVTEST_*,
// ENVTEST_EXACT and "*" (which the host must ignore).
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.BinaryTypes.String},
}, nil)

type conn struct{}

func (conn) Spec() sdk.Spec {
	return sdk.Spec{Name: "env", Version: "0.0.1", ConfigSchema: json.RawMessage(`{"type":"object"}`),
		ResilienceClass: sdk.ResilienceNone, Env: []string{"SQLFLOW_ENVTEST_*", "ENVTEST_EXACT", "*"}}
}
func (conn) Configure(context.Context, json.RawMessage) ([]sdk.FieldError, error) { return nil, nil }
func (conn) Check(context.Context) error                                          { return nil }
func (conn) Discover(context.Context) ([]sdk.Stream, error) {
	return []sdk.Stream{{Name: "env", Schema: schema}}, nil
}

func (conn) ReadPage(_ context.Context, _ sdk.ReadRequest) (sdk.Page, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		b.Field(0).(*array.StringBuilder).Append(name)
		b.Field(1).(*array.StringBuilder).Append(value)
	}
	return sdk.Page{Records: b.NewRecordBatch(), Done: true}, nil
}

func main() { sdk.Serve(func(hclog.Logger) sdk.Connector { return conn{} }) }
