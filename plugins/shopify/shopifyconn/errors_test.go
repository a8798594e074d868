package shopifyconn_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifyconn"
	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func TestConfigure(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		field string // "" means accepted
		msg   string
	}{
		{"minimal", `{"shop_domain": "my-shop", "access_token": "shpat_x"}`, "", ""},
		{"full domain and url", `{"shop_domain": "https://My-Shop.myshopify.com/admin", "access_token": "t"}`, "", ""},
		{"every key", `{"shop_domain": "s", "access_token": "t", "api_version": "2024-10", "api": "rest", "streams": ["orders", "refunds"],
			"page_size": 100, "child_page_size": 20, "since_id": 5, "incremental_overlap": 60, "metafields_owner": "products",
			"endpoint": "http://127.0.0.1:1", "timeout": 10, "max_retries": 3, "retry_delay": 1.5}`, "", ""},
		{"objects alias as a string", `{"shop_domain": "s", "access_token": "t", "objects": "orders, customers"}`, "", ""},
		{"timeout as a string", `{"shop_domain": "s", "access_token": "t", "timeout": "20"}`, "", ""},
		{"no shop", `{"access_token": "t"}`, "shop_domain", "required"},
		{"custom domain", `{"shop_domain": "shop.example.com", "access_token": "t"}`, "shop_domain", "custom domain"},
		{"bad shop name", `{"shop_domain": "my shop", "access_token": "t"}`, "shop_domain", "not a shop name"},
		{"no token", `{"shop_domain": "s"}`, "access_token", "SHOPIFY_ACCESS_TOKEN"},
		{"empty token", `{"shop_domain": "s", "access_token": ""}`, "access_token", "required"},
		{"bad version", `{"shop_domain": "s", "access_token": "t", "api_version": "2025-02"}`, "api_version", "2025-01"},
		{"bad api", `{"shop_domain": "s", "access_token": "t", "api": "soap"}`, "api", "graphql"},
		{"unknown object", `{"shop_domain": "s", "access_token": "t", "streams": ["orders", "carts"]}`, "streams[1]", "carts"},
		{"both aliases", `{"shop_domain": "s", "access_token": "t", "streams": ["orders"], "objects": ["orders"]}`, "objects", "not both"},
		{"page size", `{"shop_domain": "s", "access_token": "t", "page_size": 251}`, "page_size", "1 to 250"},
		{"since_id", `{"shop_domain": "s", "access_token": "t", "since_id": -1}`, "since_id", "≥ 0"},
		{"overlap", `{"shop_domain": "s", "access_token": "t", "incremental_overlap": -5}`, "incremental_overlap", "seconds"},
		{"owner", `{"shop_domain": "s", "access_token": "t", "metafields_owner": "carts"}`, "metafields_owner", "products"},
		{"endpoint with path", `{"shop_domain": "s", "access_token": "t", "endpoint": "http://127.0.0.1:1/admin"}`, "endpoint", "scheme and host"},
		{"timeout", `{"shop_domain": "s", "access_token": "t", "timeout": 0}`, "timeout", "above 0"},
		{"unknown key", `{"shop_domain": "s", "access_token": "t", "shop": "x"}`, "shop", `unknown key "shop"; allowed keys: shop_domain, access_token,`},
		{"misspelt key", `{"shop_domain": "s", "access_token": "t", "acess_token": "x"}`, "acess_token",
			`unknown key "acess_token" (did you mean access_token?); allowed keys: shop_domain, access_token, api_version, api, streams, objects, page_size, child_page_size, since_id, incremental_overlap, metafields_owner, endpoint, timeout, max_retries, retry_delay`},
		{"misspelt key, other case", `{"shop_domain": "s", "access_token": "t", "Shop_Domian": "x"}`, "Shop_Domian", "(did you mean shop_domain?)"},
		{"not an object", `[1]`, "", "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ferrs, err := shopifyconn.New(nil).Configure(context.Background(), json.RawMessage(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			if tt.msg == "" {
				if len(ferrs) > 0 {
					t.Fatalf("refused: %v", ferrs)
				}
				return
			}
			for _, fe := range ferrs {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("want a field error on %q containing %q, got %v", tt.field, tt.msg, ferrs)
		})
	}
}

// TestMissingScope checks that a token without an object's access scope
// gives a PERMANENT error naming the scope, through both APIs.
func TestMissingScope(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 10, Scopes: []string{"read_products"}})
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			c := configure(t, shop, map[string]any{"api": api})
			if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "products"}); err != nil {
				t.Fatalf("products: %v", err)
			}
			_, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders"})
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "access scope read_orders") ||
				!strings.Contains(err.Error(), "add read_orders to the custom app") {
				t.Fatalf("got %v: %v", errclass.Of(err), err)
			}
		})
	}
}

func TestBadToken(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 10, Token: "shpat_the_right_one"})
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			c := configure(t, shop, map[string]any{"api": api, "access_token": "shpat_wrong_token_1234"})
			err := c.Check(ctx(t))
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "check access_token") {
				t.Fatalf("got %v: %v", errclass.Of(err), err)
			}
			if strings.Contains(err.Error(), "shpat_wrong_token_1234") {
				t.Fatalf("the token leaked: %v", err)
			}
		})
	}
}

func TestServerErrorsAndTimeouts(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 10})
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			c := configure(t, shop, map[string]any{"api": api, "timeout": 0.3})
			for _, status := range []int{500, 502, 503, 504} {
				shop.FailNext(status)
				_, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders"})
				if errclass.Of(err) != errclass.Transient {
					t.Fatalf("%d: got %v: %v", status, errclass.Of(err), err)
				}
			}
			shop.FailNext(404)
			if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders"}); errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "api_version") {
				t.Fatalf("404: %v", err)
			}
			// A stalled response hits the request timeout.
			release := make(chan struct{})
			shop.OnRequest(func(shopifytest.Request) { <-release })
			start := time.Now()
			_, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders"})
			close(release)
			shop.OnRequest(nil)
			if errclass.Of(err) != errclass.Transient || time.Since(start) > 5*time.Second {
				t.Fatalf("stall: %v after %v", err, time.Since(start))
			}
			// The host's deadline is honoured too, as TRANSIENT; a cancel
			// stays a cancel.
			release2 := make(chan struct{})
			shop.OnRequest(func(shopifytest.Request) { <-release2 })
			dctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			_, err = c.ReadPage(dctx, sdk.ReadRequest{Stream: "orders"})
			cancel()
			cctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			_, cerr := c.ReadPage(cctx, sdk.ReadRequest{Stream: "orders"})
			close(release2)
			shop.OnRequest(nil)
			if errclass.Of(err) != errclass.Transient || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("deadline: %v %v", errclass.Of(err), err)
			}
			if errclass.Of(cerr) != errclass.Unknown || !errors.Is(cerr, context.Canceled) {
				t.Fatalf("cancel: %v %v", errclass.Of(cerr), cerr)
			}
		})
	}
}

// TestGraphQLHints checks that each page reports the bucket as Shopify
// answered it, and the query's requested cost.
func TestGraphQLHints(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 100, BucketMax: 1000, RestoreRate: 50, NodeCost: 1})
	c := configure(t, shop, map[string]any{"page_size": 20})
	p, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	p.Records.Release()
	h := p.RateHints
	// 20 nodes of 1 point plus 2: requested 22, all used; about 1000-22 left.
	if h == nil || h.Limit != 1000 || h.RestoreRate != 50 || h.Cost != 22 || h.Remaining < 970 || h.Remaining > 980 || h.RetryAfter != 0 {
		t.Fatalf("hints %+v", h)
	}
}

// TestThrottled drains the GraphQL bucket and checks the THROTTLED answer
// becomes RATE_LIMITED with the wait the deficit and restore rate give.
func TestThrottled(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 100, BucketMax: 100, RestoreRate: 10, NodeCost: 1})
	c := configure(t, shop, map[string]any{"page_size": 40})
	// 42 points a page: two pages leave about 16.
	var cp []byte
	for i := 0; i < 2; i++ {
		p, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders", Checkpoint: cp})
		if err != nil {
			t.Fatal(err)
		}
		p.Records.Release()
		cp = p.Checkpoint
	}
	_, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders", Checkpoint: cp})
	ra := errclass.RetryAfter(err)
	// Deficit about 42-16 = 26 points at 10 a second: about 2.6 s.
	if errclass.Of(err) != errclass.RateLimited || ra < 2*time.Second || ra > 3*time.Second || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("got %v after %v: %v", errclass.Of(err), ra, err)
	}
	if shop.Throttled() != 1 {
		t.Fatalf("the shop throttled %d requests", shop.Throttled())
	}
}

// TestRESTHintsAnd429 checks the call-limit header's hints and a 429 with
// Shopify's decimal Retry-After.
func TestRESTHintsAnd429(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 100, RESTBucket: 40, RESTLeak: 2})
	c := configure(t, shop, map[string]any{"api": "rest", "page_size": 10})
	p, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	p.Records.Release()
	if h := p.RateHints; h == nil || h.Limit != 40 || h.Remaining != 39 || h.RestoreRate != 2 || h.Cost != 1 {
		t.Fatalf("hints %+v", h)
	}
	shop.RESTUse(40) // another client fills the bucket
	_, err = c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders", Checkpoint: p.Checkpoint})
	ra := errclass.RetryAfter(err)
	if errclass.Of(err) != errclass.RateLimited || ra < 400*time.Millisecond || ra > time.Second {
		t.Fatalf("got %v after %v: %v", errclass.Of(err), ra, err)
	}
}

// TestResumeAtFailedCursor fails a request mid-read and checks that a new
// connector given the last checkpoint sends the same cursor again and
// finishes the read with every order once.
func TestResumeAtFailedCursor(t *testing.T) {
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: 500, RESTBucket: 1000, RESTLeak: 1000, BucketMax: 100000, RestoreRate: 100000})
			c := configure(t, shop, map[string]any{"api": api, "page_size": 50})
			seen := map[int64]int{}
			var cp []byte
			for i := 0; i < 4; i++ {
				p, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders", Checkpoint: cp})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rowsOf(p.Records) {
					seen[r["id"].(int64)]++
				}
				p.Records.Release()
				cp = p.Checkpoint
			}
			shop.FailNext(503)
			if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders", Checkpoint: cp}); errclass.Of(err) != errclass.Transient {
				t.Fatalf("want TRANSIENT, got %v", err)
			}
			failed := shop.Requests()[len(shop.Requests())-1]
			fresh := configure(t, shop, map[string]any{"api": api, "page_size": 50})
			rest := readAll(t, fresh, sdk.ReadRequest{Stream: "orders", Checkpoint: cp})
			reqs := shop.Requests()
			var resumed shopifytest.Request
			for i, r := range reqs {
				if r.Status == 503 {
					resumed = reqs[i+1]
				}
			}
			if resumed.After == "" || resumed.After != failed.After || resumed.Status != 200 {
				t.Fatalf("resumed with %+v, the failed request was %+v", resumed, failed)
			}
			for _, r := range rest.rows {
				seen[r["id"].(int64)]++
			}
			if len(seen) != 500 {
				t.Fatalf("%d orders", len(seen))
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("order %d read %d times", id, n)
				}
			}
		})
	}
}

// TestChildrenPaging checks the per-parent checkpoint (parents' cursor,
// parents left, cursor inside one parent's children) with small pages,
// and pages split when one response holds more rows than MaxRows.
func TestChildrenPaging(t *testing.T) {
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: 40, RESTBucket: 1000, RESTLeak: 1000, BucketMax: 100000, RestoreRate: 100000})
			c := configure(t, shop, map[string]any{"api": api, "page_size": 5})
			r := readAll(t, c, sdk.ReadRequest{Stream: "inventory_levels"})
			if len(r.rows) != 36 {
				t.Fatalf("%d levels", len(r.rows))
			}
			// A new connector resuming from any checkpoint reads exactly the
			// rows after it.
			before := 0
			for i, p := range r.pages[:len(r.pages)-1] {
				before += r.counts[i]
				rest := readAll(t, configure(t, shop, map[string]any{"api": api, "page_size": 5}), sdk.ReadRequest{Stream: "inventory_levels", Checkpoint: p.Checkpoint})
				if !reflect.DeepEqual(rest.rows, r.rows[before:]) {
					t.Fatalf("resuming after page %d gave %d rows, want the %d after it", i+1, len(rest.rows), len(r.rows)-before)
				}
			}
			// Transactions with MaxRows 1: every page holds one row.
			tr := readAll(t, c, sdk.ReadRequest{Stream: "transactions", MaxRows: 1})
			want := 0
			for i := 1; i <= 40; i++ {
				want += i % 3
			}
			if len(tr.rows) != want {
				t.Fatalf("%d transactions, want %d", len(tr.rows), want)
			}
			ids := map[int64]bool{}
			for _, row := range tr.rows {
				if ids[row["id"].(int64)] {
					t.Fatalf("transaction %v twice", row["id"])
				}
				ids[row["id"].(int64)] = true
			}
		})
	}
}

// TestChildLimit checks that an order with more children than one GraphQL
// query reads fails the page instead of dropping some.
func TestChildLimit(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 10})
	c := configure(t, shop, map[string]any{"child_page_size": 1})
	_, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "transactions"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "child_page_size") || !strings.Contains(err.Error(), "api: rest") {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownStreamAndCursor(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 10})
	c := configure(t, shop, map[string]any{"streams": []string{"orders"}})
	if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "customers"}); errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "orders") {
		t.Fatalf("got %v", err)
	}
	if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders", CursorField: "email"}); errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "updated_at") {
		t.Fatalf("got %v", err)
	}
	rest := configure(t, shop, map[string]any{"api": "rest"})
	if _, err := rest.ReadPage(ctx(t), sdk.ReadRequest{Stream: "inventory_items"}); errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "api: graphql") {
		t.Fatalf("got %v", err)
	}
	if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders", Checkpoint: []byte(`{"v":1,"api":"rest","stream":"orders"}`)}); errclass.Of(err) != errclass.Permanent {
		t.Fatalf("got %v", err)
	}
	_ = http.StatusOK
}
