package main_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestKilledPluginResumes kills the plugin process (SIGKILL) while one of
// its requests is in flight, then gives a new process the last checkpoint
// it returned, as the host's crash recovery does: the new process's first
// request carries the killed request's cursor, and the two reads together
// hold every order exactly once. Both APIs.
func TestKilledPluginResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts plugin processes")
	}
	bin := sdktest.BuildPlugin(t, ".")
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := shopifytest.New(shopifytest.Options{Orders: 2000, BucketMax: 1e6, RestoreRate: 1e6, RESTBucket: 1e6, RESTLeak: 1e6})
			defer shop.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cfg, _ := json.Marshal(map[string]any{"shop_domain": "fake-shop", "access_token": shopifytest.Token, "endpoint": shop.URL(), "api": api, "page_size": 100})
			start := func() *sdktest.Plugin {
				p := sdktest.Start(t, bin)
				if fe, err := p.Client.Configure(ctx, cfg); err != nil || len(fe) > 0 {
					t.Fatalf("configure: %v %v", fe, err)
				}
				return p
			}
			first := start()
			var killedAt string
			n := 0
			shop.OnRequest(func(r shopifytest.Request) {
				n++
				if n == 8 {
					killedAt = r.After
					first.Kill()
				}
			})
			req := sdk.ReadRequest{Stream: "orders", MaxRows: 100}
			before, pages, err := sdktest.ReadAll(ctx, first.Client, req)
			if err == nil || killedAt == "" {
				t.Fatalf("the read was not killed (err %v)", err)
			}
			shop.OnRequest(nil)
			if len(pages) != 7 {
				t.Fatalf("%d pages before the kill, want 7", len(pages))
			}
			mark := len(shop.Requests())

			second := start()
			req.Checkpoint = pages[len(pages)-1].Checkpoint
			after, _, err := sdktest.ReadAll(ctx, second.Client, req)
			if err != nil {
				t.Fatal(err)
			}
			if got := shop.Requests()[mark].After; got != killedAt {
				t.Fatalf("the new process started at cursor %q, the killed request was at %q", got, killedAt)
			}
			total := before
			total.Merge(after)
			full, _, err := sdktest.ReadAll(ctx, second.Client, sdk.ReadRequest{Stream: "orders", MaxRows: 100})
			if err != nil {
				t.Fatal(err)
			}
			if total != full || full.Rows != 2000 {
				t.Fatalf("before and after the kill: %d rows (%v); a full read: %d rows (%v)", total.Rows, total, full.Rows, full)
			}
		})
	}
}
