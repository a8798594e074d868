package main_test

import (
	"encoding/json"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled
// shopify plugin reading a local fake shop of 300 orders, 37 rows a page:
// orders and an order's transactions through GraphQL (endCursor
// checkpoints), orders and inventory levels through REST (page_info
// checkpoints, and parent plus child positions).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	bin := sdktest.BuildPlugin(t, ".")
	shop := shopifytest.New(shopifytest.Options{Orders: 300, BucketMax: 1e6, RestoreRate: 1e6, RESTBucket: 1e6, RESTLeak: 1e6})
	defer shop.Close()
	cases := []struct {
		name, api, stream string
	}{
		{"graphql orders", "graphql", "orders"},
		{"graphql transactions", "graphql", "transactions"}, // an order's children, read inline
		{"rest orders", "rest", "orders"},
		{"rest inventory_levels", "rest", "inventory_levels"}, // per location, parent and child page_info
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { conformance(t, bin, shop, c.api, c.stream) })
	}
}

func conformance(t *testing.T, bin string, shop *shopifytest.Shop, api, stream string) {
	cfg, _ := json.Marshal(map[string]any{"shop_domain": "fake-shop", "access_token": shopifytest.Token, "endpoint": shop.URL(), "api": api})
	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "no shop_domain", Config: json.RawMessage(`{"access_token": "t"}`), Field: "shop_domain"},
			{Name: "no access_token", Config: json.RawMessage(`{"shop_domain": "s"}`), Field: "access_token"},
			{Name: "custom domain", Config: json.RawMessage(`{"shop_domain": "shop.example.com", "access_token": "t"}`), Field: "shop_domain"},
			{Name: "bad api", Config: json.RawMessage(`{"shop_domain": "s", "access_token": "t", "api": "soap"}`), Field: "api"},
			{Name: "bad api_version", Config: json.RawMessage(`{"shop_domain": "s", "access_token": "t", "api_version": "v2"}`), Field: "api_version"},
			{Name: "unknown object", Config: json.RawMessage(`{"shop_domain": "s", "access_token": "t", "streams": ["carts"]}`), Field: "streams"},
			{Name: "page_size too big", Config: json.RawMessage(`{"shop_domain": "s", "access_token": "t", "page_size": 1000}`), Field: "page_size"},
		},
		Source: &sdktest.SourceConfig{
			Config:  cfg,
			Stream:  stream,
			MaxRows: 37,
		},
	})
}
