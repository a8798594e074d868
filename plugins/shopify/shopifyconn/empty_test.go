package shopifyconn_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// A new shop with no records of any kind: every stream, through both
// APIs, full and incremental, ends cleanly with no rows; its pages carry
// the object's own columns (a Shopify object's schema is known), and
// Discover lists every stream with its schema.
func TestEmptyShop(t *testing.T) {
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Empty: true, RESTBucket: 1000, RESTLeak: 1000, BucketMax: 100000, RestoreRate: 100000})
			c := configure(t, shop, map[string]any{"api": api, "page_size": 25})
			streams, err := c.Discover(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			want := 12
			if api == "rest" {
				want = 11
			}
			if len(streams) != want {
				t.Fatalf("%d streams, want %d", len(streams), want)
			}
			for _, st := range streams {
				t.Run(st.Name, func(t *testing.T) {
					if st.Schema == nil || st.Schema.NumFields() == 0 {
						t.Fatalf("Discover gives %s no schema", st.Name)
					}
					reqs := []sdk.ReadRequest{{Stream: st.Name}}
					if len(st.CursorFields) > 0 {
						reqs = append(reqs, sdk.ReadRequest{Stream: st.Name, CursorField: st.CursorFields[0], CursorValue: json.RawMessage(`"2024-01-01T00:00:00Z"`)})
					}
					for _, req := range reqs {
						before := len(shop.Requests())
						r := readAll(t, c, req)
						if len(r.rows) != 0 {
							t.Fatalf("%+v: %d rows", req, len(r.rows))
						}
						if len(r.cursor) > 0 {
							t.Fatalf("%+v: cursor %s reported without a row", req, r.cursor)
						}
						wantReqs := 1
						if api == "rest" && st.Name == "collections" {
							wantReqs = 2 // custom_collections, then smart_collections
						}
						if n := len(shop.Requests()) - before; n != wantReqs {
							t.Fatalf("%+v: %d requests, want %d", req, n, wantReqs)
						}
					}
					// The first page's records carry the stream's schema.
					p, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: st.Name})
					if err != nil {
						t.Fatal(err)
					}
					defer p.Records.Release()
					if p.Records.NumRows() != 0 || !p.Records.Schema().Equal(st.Schema) {
						t.Fatalf("first page: %d rows, schema %s; want no rows, %s", p.Records.NumRows(), p.Records.Schema(), st.Schema)
					}
				})
			}
		})
	}
}

// An incremental run that finds nothing updated since the stored cursor
// ends cleanly with no rows, for orders and an order's children, and
// reports no cursor beyond the stored one.
func TestIncrementalNothingNew(t *testing.T) {
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: 40, RESTBucket: 1000, RESTLeak: 1000, BucketMax: 100000, RestoreRate: 100000})
			c := configure(t, shop, map[string]any{"api": api, "page_size": 10, "incremental_overlap": 0})
			stored := shop.MaxOrderUpdated().Add(time.Hour).Format(time.RFC3339)
			for _, tt := range []struct{ stream, cursor string }{{"orders", "updated_at"}, {"transactions", "order_updated_at"}} {
				r := readAll(t, c, sdk.ReadRequest{Stream: tt.stream, CursorField: tt.cursor, CursorValue: json.RawMessage(`"` + stored + `"`)})
				if len(r.rows) != 0 {
					t.Fatalf("%s: %d rows updated after %s", tt.stream, len(r.rows), stored)
				}
				if len(r.cursor) > 0 {
					var got string
					json.Unmarshal(r.cursor, &got)
					if gt, _ := time.Parse(time.RFC3339Nano, got); gt.Before(shop.MaxOrderUpdated().Add(time.Hour)) {
						t.Fatalf("%s: the read reports the cursor %s, before the stored %s", tt.stream, r.cursor, stored)
					}
				}
			}
		})
	}
}
