package restconn_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// An endpoint with no records is a clean end of the stream in every
// pagination style: Discover names the stream, and the first page is done,
// with one request, no records (no schema to invent) and no error.
func TestEmptyEndpoint(t *testing.T) {
	tests := []struct {
		name  string
		style string
		cfg   map[string]any
	}{
		{"none", "none", map[string]any{"data_path": "data.items"}},
		{"page", "page", map[string]any{"data_path": "data.items", "pagination": map[string]any{"type": "page", "page_size": 10}}},
		{"page, total", "page", map[string]any{"data_path": "data.items", "pagination": map[string]any{"type": "page", "total_path": "total"}}},
		{"offset", "offset", map[string]any{"data_path": "data.items", "pagination": map[string]any{"type": "offset", "page_size": 10}}},
		{"cursor", "cursor", map[string]any{"data_path": "data", "pagination": map[string]any{"type": "cursor", "next_token_path": "meta.next_cursor"}}},
		{"next_url", "next_url", map[string]any{"data_path": "results", "pagination": map[string]any{"type": "next_url"}}},
		{"link_header", "link_header", map[string]any{"pagination": map[string]any{"type": "link_header"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.style, 0, 10)
			tt.cfg["url"] = api.url("/v1/items")
			c := configure(t, tt.cfg)
			streams, err := c.Discover(t.Context())
			if err != nil || len(streams) != 1 || streams[0].Name != "items" {
				t.Fatalf("Discover: %+v %v", streams, err)
			}
			rows, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(rows) != 0 || len(pages) != 1 || !pages[0].Done || len(pages[0].Checkpoint) == 0 {
				t.Fatalf("%d rows in %d pages (done %v); want one done page of no rows", len(rows), len(pages), pages[0].Done)
			}
			if n := len(api.seen()); n != 1 {
				t.Fatalf("%d requests; want 1", n)
			}
			// The done checkpoint, asked again (a retry), answers done
			// without a request.
			p, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items", Checkpoint: pages[0].Checkpoint})
			if err != nil || !p.Done || p.Records != nil || len(api.seen()) != 1 {
				t.Fatalf("read at the done checkpoint: %+v, %v, %d requests", p, err, len(api.seen()))
			}
		})
	}
}

// The other shapes of "nothing": an empty body (204), null records, an
// empty object list; and with a pinned schema, a page of no rows in it.
func TestEmptyResponses(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		cfg    map[string]any
	}{
		{"204 no content", http.StatusNoContent, "", nil},
		{"empty 200 body", http.StatusOK, "", nil},
		{"empty list", http.StatusOK, `[]`, nil},
		{"null at data_path", http.StatusOK, `{"data": null, "meta": {}}`, map[string]any{"data_path": "data"}},
		{"empty list at data_path", http.StatusOK, `{"data": [], "next": null}`, map[string]any{"data_path": "data", "pagination": map[string]any{"type": "next_url"}}},
		{"pinned schema", http.StatusOK, `[]`, map[string]any{"schema": map[string]any{"id": "int64", "at": "timestamp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			cfg := map[string]any{"url": url}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			rows, pages, err := readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items"})
			if err != nil || len(rows) != 0 || len(pages) != 1 || !pages[0].Done {
				t.Fatalf("%d rows in %d pages, %v; want one done page of no rows", len(rows), len(pages), err)
			}
		})
	}
	// The pinned schema's page keeps its columns (read here without
	// readAll, which drops the records).
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `[]`) })
	p, err := configure(t, map[string]any{"url": url, "schema": map[string]any{"id": "int64", "at": "timestamp"}}).
		ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
	if err != nil || !p.Done || p.Records == nil || p.Records.NumRows() != 0 || p.Records.NumCols() != 2 {
		t.Fatalf("pinned schema, empty list: %+v, %v", p, err)
	}
	p.Records.Release()
}

// An incremental run that finds nothing new ends cleanly and reports no
// cursor, so the stored one stays: whether the API answers nothing after
// the stored cursor, or (inclusive since) only rows at it.
func TestIncrementalNothingNew(t *testing.T) {
	api := newFakeAPI(t, "page", 10, 4)
	cfg := map[string]any{"url": api.url("/v1/items"), "data_path": "data.items", "pagination": map[string]any{"page_size": 4}}
	for _, stored := range []string{`"2024-01-01T00:10:00Z"`, `"2030-01-01T00:00:00Z"`} {
		rows, pages, err := readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items", CursorField: "updated_at", CursorValue: json.RawMessage(stored)})
		if err != nil {
			t.Fatalf("from %s: %v", stored, err)
		}
		if len(rows) != 0 || !pages[len(pages)-1].Done {
			t.Fatalf("from %s: %d rows", stored, len(rows))
		}
		for _, p := range pages {
			if len(p.CursorValue) > 0 && string(p.CursorValue) != stored {
				t.Fatalf("from %s: a page reports the cursor %s; the stored one must stay", stored, p.CursorValue)
			}
		}
	}
}
