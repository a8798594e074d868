package shopifyconn_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// TestEveryStream reads every stream through both APIs and checks the row
// counts the fake shop implies and that every key column is set.
func TestEveryStream(t *testing.T) {
	const orders = 120
	// Transactions: order i has i%3; refunds: every 5th; fulfillments: every 2nd.
	var txns int
	for i := 1; i <= orders; i++ {
		txns += i % 3
	}
	want := map[string]int{
		"orders": orders, "customers": 30, "products": 20, "inventory_items": 20, "inventory_levels": 36, "locations": 3,
		"transactions": txns, "fulfillments": orders / 2, "refunds": orders / 5, "discounts": 8, "collections": 6, "metafields": 9,
	}
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: orders, RESTBucket: 1000, RESTLeak: 1000, BucketMax: 100000, RestoreRate: 100000})
			c := configure(t, shop, map[string]any{"api": api, "page_size": 25})
			streams, err := c.Discover(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, st := range streams {
				seen[st.Name] = true
				t.Run(st.Name, func(t *testing.T) {
					r := readAll(t, c, sdk.ReadRequest{Stream: st.Name, MaxRows: 1000})
					if len(r.rows) != want[st.Name] {
						t.Fatalf("%d rows, want %d", len(r.rows), want[st.Name])
					}
					keys := map[string]bool{}
					for _, row := range r.rows {
						k := ""
						for _, col := range st.PrimaryKey {
							if row[col] == nil {
								t.Fatalf("key column %s is null in %v", col, row)
							}
							k += fmt.Sprint(row[col]) + "/"
						}
						if keys[k] {
							t.Fatalf("key %s twice", k)
						}
						keys[k] = true
					}
				})
			}
			wantStreams := 12
			if api == "rest" {
				wantStreams = 11
				if seen["inventory_items"] {
					t.Fatal("REST lists inventory_items")
				}
			}
			if len(streams) != wantStreams {
				t.Fatalf("%d streams", len(streams))
			}
		})
	}
}

// TestSameRowsBothAPIs checks that GraphQL and REST give orders and
// transactions the same values in the columns both APIs have.
func TestSameRowsBothAPIs(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 60, RESTBucket: 1000, RESTLeak: 1000, BucketMax: 100000, RestoreRate: 100000})
	tests := []struct {
		stream string
		cols   []string
	}{
		{"orders", []string{"id", "admin_graphql_api_id", "name", "email", "created_at", "updated_at", "financial_status", "currency",
			"total_price", "total_tax", "customer_id", "tags", "test", "source_name"}},
		{"transactions", []string{"id", "admin_graphql_api_id", "order_id", "order_updated_at", "kind", "status", "gateway", "amount", "currency", "created_at", "test"}},
		{"fulfillments", []string{"id", "order_id", "name", "status", "location_id", "tracking_company", "tracking_number"}},
		{"inventory_levels", []string{"admin_graphql_api_id", "inventory_item_id", "location_id", "available", "updated_at"}},
		{"collections", []string{"id", "title", "collection_type", "updated_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.stream, func(t *testing.T) {
			var got [2][]map[string]any
			for i, api := range []string{"graphql", "rest"} {
				c := configure(t, shop, map[string]any{"api": api, "page_size": 7})
				rows := readAll(t, c, sdk.ReadRequest{Stream: tt.stream}).rows
				for _, r := range rows {
					m := map[string]any{}
					for _, col := range tt.cols {
						m[col] = r[col]
					}
					got[i] = append(got[i], m)
				}
				sort.Slice(got[i], func(a, b int) bool { return fmt.Sprint(got[i][a]) < fmt.Sprint(got[i][b]) })
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				for i := range got[0] {
					if i < len(got[1]) && !reflect.DeepEqual(got[0][i], got[1][i]) {
						t.Fatalf("row %d differs:\ngraphql %v\nrest    %v", i, got[0][i], got[1][i])
					}
				}
				t.Fatalf("graphql %d rows, rest %d", len(got[0]), len(got[1]))
			}
		})
	}
}

// TestIncremental checks that a read from a stored cursor returns only the
// orders updated since (plus those in the overlap), through both APIs, and
// for an order's children.
func TestIncremental(t *testing.T) {
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: 300, RESTBucket: 1000, RESTLeak: 1000, BucketMax: 100000, RestoreRate: 100000})
			full := configure(t, shop, map[string]any{"api": api, "page_size": 50})
			first := readAll(t, full, sdk.ReadRequest{Stream: "orders", CursorField: "updated_at", CursorValue: json.RawMessage("null")})
			if len(first.rows) != 300 {
				t.Fatalf("first run: %d rows", len(first.rows))
			}
			var s string
			json.Unmarshal(first.cursor, &s)
			stored, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || !stored.Equal(shop.MaxOrderUpdated()) {
				t.Fatalf("cursor %s, want %v", first.cursor, shop.MaxOrderUpdated())
			}
			// Ten orders change after the run.
			later := stored.Add(time.Hour)
			touched := []int64{3, 17, 42, 99, 100, 150, 201, 250, 299, 7}
			shop.Touch(later, touched...)

			// Without overlap: exactly the ten.
			exact := configure(t, shop, map[string]any{"api": api, "page_size": 4, "incremental_overlap": 0})
			r := readAll(t, exact, sdk.ReadRequest{Stream: "orders", CursorField: "updated_at", CursorValue: first.cursor})
			var ids []int64
			for _, row := range r.rows {
				ids = append(ids, row["id"].(int64))
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			want := append([]int64(nil), touched...)
			if api == "rest" {
				// REST's updated_at_min is inclusive: the order at exactly
				// the stored cursor (the last run's newest, order 300) comes
				// again.
				want = append(want, 300)
			}
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			if !reflect.DeepEqual(ids, want) {
				t.Fatalf("incremental read gave ids %v, want %v", ids, want)
			}
			var cur string
			json.Unmarshal(r.cursor, &cur)
			if ct, _ := time.Parse(time.RFC3339Nano, cur); !ct.Equal(later) {
				t.Fatalf("cursor after the incremental read %s, want %v", r.cursor, later)
			}

			// The default overlap (5 minutes) also gives the orders updated in
			// the 5 minutes before the stored cursor (one a minute here):
			// duplicates of the first run, which an upsert on id absorbs.
			overlap := configure(t, shop, map[string]any{"api": api, "page_size": 4})
			r = readAll(t, overlap, sdk.ReadRequest{Stream: "orders", CursorField: "updated_at", CursorValue: first.cursor})
			extra := 0
			for _, row := range r.rows {
				u := row["updated_at"].(time.Time)
				if u.Before(stored.Add(-5 * time.Minute)) {
					t.Fatalf("row updated at %v is older than the overlap", u)
				}
				if !u.Equal(later) {
					extra++
				}
			}
			if len(r.rows)-extra != 10 || extra < 4 || extra > 7 {
				t.Fatalf("%d rows, %d from the overlap", len(r.rows), extra)
			}

			// An order's transactions follow the order's updated_at.
			tr := readAll(t, exact, sdk.ReadRequest{Stream: "transactions", CursorField: "order_updated_at", CursorValue: first.cursor})
			wantTx := 0
			for _, id := range touched {
				wantTx += int(id % 3)
			}
			if len(tr.rows) != wantTx {
				t.Fatalf("%d transactions, want %d", len(tr.rows), wantTx)
			}
			for _, row := range tr.rows {
				if !row["order_updated_at"].(time.Time).Equal(later) {
					t.Fatalf("transaction of an untouched order: %v", row)
				}
			}
			// The filter is Shopify's own, not the plugin's: the requests
			// carried it.
			reqs := shop.Requests()
			last := reqs[len(reqs)-1]
			if api == "graphql" && last.Query == "" && last.After == "" {
				t.Fatalf("no search query sent: %+v", last)
			}
		})
	}
}

// TestSinceID checks the old since_id option.
func TestSinceID(t *testing.T) {
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: 100, RESTBucket: 1000, RESTLeak: 1000})
			c := configure(t, shop, map[string]any{"api": api, "since_id": 90, "page_size": 3})
			r := readAll(t, c, sdk.ReadRequest{Stream: "orders"})
			if len(r.rows) != 10 {
				t.Fatalf("%d rows", len(r.rows))
			}
			for _, row := range r.rows {
				if row["id"].(int64) <= 90 {
					t.Fatalf("row %v", row)
				}
			}
			// A list Shopify cannot filter by id is filtered in the plugin.
			l := readAll(t, c, sdk.ReadRequest{Stream: "locations"})
			if len(l.rows) != 0 {
				t.Fatalf("locations: %d rows", len(l.rows))
			}
		})
	}
}
