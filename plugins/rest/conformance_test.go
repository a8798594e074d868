package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled rest
// plugin, reading a deterministic local API: 100 records with nulls,
// nested objects and mixed numbers, 7 per page by cursor token, and a
// large stream of one 8 MiB response.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	bin := sdktest.BuildPlugin(t, ".")
	srv := httptest.NewServer(http.HandlerFunc(serveAPI))
	defer srv.Close()

	cfg := func(v map[string]any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "no url", Config: json.RawMessage(`{}`), Field: "url"},
			{Name: "relative url", Config: json.RawMessage(`{"url": "/v1/items"}`), Field: "url"},
			{Name: "bad method", Config: json.RawMessage(`{"url": "http://127.0.0.1/x", "method": "DELETE"}`), Field: "method"},
			{Name: "bad auth type", Config: json.RawMessage(`{"url": "http://127.0.0.1/x", "auth": {"type": "ntlm"}}`), Field: "auth.type"},
			{Name: "cursor without path", Config: json.RawMessage(`{"url": "http://127.0.0.1/x", "pagination": {"type": "cursor"}}`), Field: "pagination.next_token_path"},
			{Name: "bad schema type", Config: json.RawMessage(`{"url": "http://127.0.0.1/x", "schema": {"a": "money"}}`), Field: "schema"},
		},
		Source: &sdktest.SourceConfig{
			Config: cfg(map[string]any{"url": srv.URL + "/v1/items", "data_path": "data",
				"pagination": map[string]any{"type": "cursor", "next_token_path": "next", "page_size": 7, "size_param": "limit"}}),
			Stream:  "items",
			MaxRows: 7,
			LargeStream: &sdktest.LargeStreamConfig{
				Config: cfg(map[string]any{"url": srv.URL + "/v1/big", "data_path": "data"}),
				Stream: "big",
			},
		},
	})
}

// serveAPI is the deterministic API: /v1/items pages by ?cursor=<offset>
// and ?limit=; /v1/big answers 2,000 records of 4 KiB at once.
func serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/v1/big" {
		data := make([]any, 2000)
		for i := range data {
			data[i] = map[string]any{"id": i, "blob": strings.Repeat(string(rune('a'+i%26)), 4096)}
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data})
		return
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 10
	}
	const n = 100
	var data []any
	for i := start; i < n && i < start+limit; i++ {
		rec := map[string]any{
			"id":    i,
			"name":  fmt.Sprintf("person %d, \"the %dth\"", i, i),
			"score": float64(i) * 0.5,
			"owner": map[string]any{"name": fmt.Sprintf("o%d", i%4), "level": i % 3},
			"tags":  []any{"a", i},
		}
		if i%6 == 0 {
			rec["name"] = nil
		}
		if i%5 == 0 {
			rec["score"] = i // an int among floats
		}
		if i%7 == 3 {
			delete(rec, "owner")
		}
		data = append(data, rec)
	}
	var next any
	if start+limit < n {
		next = strconv.Itoa(start + limit)
	}
	json.NewEncoder(w).Encode(map[string]any{"data": data, "next": next})
}
