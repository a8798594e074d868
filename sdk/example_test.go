package sdk_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// counter is a complete source: it yields the numbers 1..N in pages, and
// its checkpoint is the next number, so any page can be asked for again.
type counter struct {
	n int64
}

// counterConfig declares the configuration; package sdk/config decodes it
// and writes its JSON Schema.
type counterConfig struct {
	N int64 `config:"n,required" min:"0" doc:"How many numbers the stream holds."`
}

func (c *counter) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "counter",
		Version:         "1.0.0",
		ConfigSchema:    config.Schema(counterConfig{}),
		ResilienceClass: sdk.ResilienceNone,
		Discover:        true,
	}
}

func (c *counter) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	var cfg counterConfig
	if errs := config.Decode(raw, &cfg); errs != nil {
		return errs, nil
	}
	c.n = cfg.N
	return nil, nil
}

func (c *counter) Check(ctx context.Context) error { return nil }

var schema = arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (c *counter) Discover(ctx context.Context) ([]sdk.Stream, error) {
	return []sdk.Stream{{Name: "numbers", Schema: schema, PrimaryKey: []string{"i"}}}, nil
}

func (c *counter) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	if req.Stream != "numbers" {
		return sdk.Page{}, errclass.Permanentf("no stream %q; the only stream is \"numbers\"", req.Stream)
	}
	next := int64(1)
	if len(req.Checkpoint) == 8 {
		next = int64(binary.BigEndian.Uint64(req.Checkpoint))
	}
	size := req.MaxRows
	if size <= 0 {
		size = 1000
	}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for ; next <= c.n && int64(b.Len()) < size; next++ {
		b.Append(next)
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
	cp := binary.BigEndian.AppendUint64(nil, uint64(next))
	return sdk.Page{Records: rec, Checkpoint: cp, Done: next > c.n}, nil
}

// Example shows a whole source connector and how the host pages through
// it. A plugin's main would be one line:
//
//	func main() { sdk.Serve(func(hclog.Logger) sdk.Connector { return &counter{} }) }
func Example() {
	var c sdk.Source = &counter{}
	_ = func() { sdk.Serve(func(hclog.Logger) sdk.Connector { return &counter{} }) }

	ctx := context.Background()
	if fe, _ := c.Configure(ctx, json.RawMessage(`{"n": -1}`)); len(fe) > 0 {
		fmt.Println("field error:", fe[0])
	}
	c.Configure(ctx, json.RawMessage(`{"n": 5}`))

	var cp []byte
	for {
		page, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "numbers", Checkpoint: cp, MaxRows: 2})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(page.Records.Column(0), "done:", page.Done)
		page.Records.Release()
		if page.Done {
			break
		}
		cp = page.Checkpoint
	}
	// Output:
	// field error: n: must be an integer of at least 0, got -1
	// [1 2] done: false
	// [3 4] done: false
	// [5] done: true
}
