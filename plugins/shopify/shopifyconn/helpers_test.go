package shopifyconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifyconn"
	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// newShop starts a fake shop closed with the test.
func newShop(t *testing.T, opts shopifytest.Options) *shopifytest.Shop {
	t.Helper()
	s := shopifytest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// configure returns a connector configured for shop, with extra keys.
func configure(t *testing.T, shop *shopifytest.Shop, extra map[string]any) *shopifyconn.Connector {
	t.Helper()
	cfg := map[string]any{"shop_domain": "fake-shop", "access_token": shopifytest.Token, "endpoint": shop.URL()}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	c := shopifyconn.New(nil)
	ferrs, err := c.Configure(context.Background(), b)
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("configure %s: %v %v", b, ferrs, err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// read is what readAll read.
type read struct {
	rows   []map[string]any
	counts []int      // rows per page
	pages  []sdk.Page // Records released; Checkpoint, CursorValue, RateHints kept
	cursor json.RawMessage
}

// readAll reads a stream to Done from req.Checkpoint.
func readAll(t *testing.T, c *shopifyconn.Connector, req sdk.ReadRequest) read {
	t.Helper()
	var out read
	for i := 0; i < 100000; i++ {
		p, err := c.ReadPage(ctx(t), req)
		if err != nil {
			t.Fatalf("page %d of %s (checkpoint %s): %v", i+1, req.Stream, req.Checkpoint, err)
		}
		rows := rowsOf(p.Records)
		out.rows = append(out.rows, rows...)
		out.counts = append(out.counts, len(rows))
		p.Records.Release()
		p.Records = nil
		out.pages = append(out.pages, p)
		if len(p.CursorValue) > 0 {
			out.cursor = p.CursorValue
		}
		if p.Done {
			return out
		}
		if len(p.Checkpoint) == 0 {
			t.Fatalf("page %d: not done and no checkpoint", i+1)
		}
		req.Checkpoint = p.Checkpoint
	}
	t.Fatal("no end")
	return out
}

// rowsOf decodes a record batch into maps of Go values (int64, float64,
// bool, string, time.Time, nil).
func rowsOf(rec arrow.RecordBatch) []map[string]any {
	var out []map[string]any
	for r := 0; r < int(rec.NumRows()); r++ {
		m := map[string]any{}
		for i, f := range rec.Schema().Fields() {
			col := rec.Column(i)
			if col.IsNull(r) {
				m[f.Name] = nil
				continue
			}
			switch a := col.(type) {
			case *array.Int64:
				m[f.Name] = a.Value(r)
			case *array.Float64:
				m[f.Name] = a.Value(r)
			case *array.Boolean:
				m[f.Name] = a.Value(r)
			case *array.String:
				m[f.Name] = a.Value(r)
			case *array.Timestamp:
				m[f.Name] = time.UnixMicro(int64(a.Value(r))).UTC()
			default:
				m[f.Name] = fmt.Sprintf("unexpected %T", col)
			}
		}
		out = append(out, m)
	}
	return out
}
