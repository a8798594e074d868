// Command hangplugin is a source for the hung-plugin test: 20 pages of 100
// rows; while the file named by hang_file exists, the read of page 5
// removes it and then hangs for good, ignoring its context, as a plugin
// stuck in a C library would.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

type conn struct {
	hangFile string
}

var schema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (c *conn) Spec() sdk.Spec {
	return sdk.Spec{Name: "hang", Version: "0.0.1", ConfigSchema: json.RawMessage(`{"type":"object"}`), ResilienceClass: sdk.ResilienceNetwork}
}

func (c *conn) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	var cfg struct {
		HangFile string `json:"hang_file"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	c.hangFile = cfg.HangFile
	return nil, nil
}

func (c *conn) Check(ctx context.Context) error { return nil }

func (c *conn) Discover(ctx context.Context) ([]sdk.Stream, error) {
	return []sdk.Stream{{Name: "numbers", Schema: schema}}, nil
}

func (c *conn) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	page := uint64(0)
	if len(req.Checkpoint) == 8 {
		page = binary.BigEndian.Uint64(req.Checkpoint)
	}
	if page == 4 {
		if err := os.Remove(c.hangFile); err == nil {
			select {} // hang, deaf to ctx
		}
	}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := uint64(0); i < 100; i++ {
		b.Append(int64(page*100 + i + 1))
	}
	col := b.NewArray()
	defer col.Release()
	return sdk.Page{
		Records:    array.NewRecordBatch(schema, []arrow.Array{col}, 100),
		Checkpoint: binary.BigEndian.AppendUint64(nil, page+1),
		Done:       page+1 == 20,
	}, nil
}

func main() { sdk.Serve(func(hclog.Logger) sdk.Connector { return &conn{} }) }
