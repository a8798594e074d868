// Command sqlflow-plugin-counter is a complete source: its stream "numbers"
// holds 1..n, and a page's checkpoint is the last number it holds.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/config"
)

type conf struct {
	N int64 `config:"n,required" min:"0" doc:"How many numbers the stream holds."`
}

type counter struct{ conf conf }

var schema = arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}}, nil)

func main() { sdk.Serve(func(hclog.Logger) sdk.Connector { return &counter{} }) }

func (c *counter) Spec() sdk.Spec {
	return sdk.Spec{Name: "counter", Version: "1.0.0", ConfigSchema: config.Schema(conf{}), ResilienceClass: sdk.ResilienceNone}
}

func (c *counter) Configure(_ context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	return config.Decode(raw, &c.conf), nil
}

func (c *counter) Check(context.Context) error { return nil }

func (c *counter) Discover(context.Context) ([]sdk.Stream, error) {
	return []sdk.Stream{{Name: "numbers", Schema: schema, PrimaryKey: []string{"i"}}}, nil
}

func (c *counter) ReadPage(_ context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	last, _ := strconv.ParseInt(string(req.Checkpoint), 10, 64)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	for ; last < c.conf.N && int64(b.Len()) < cmp.Or(req.MaxRows, 65536); last++ {
		b.Append(last + 1)
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
	return sdk.Page{Records: rec, Checkpoint: strconv.AppendInt(nil, last, 10), Done: last >= c.conf.N}, nil
}
