package restconn_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk"
)

func TestPaginationStyles(t *testing.T) {
	tests := []struct {
		name      string
		style     string
		n, size   int
		cfg       map[string]any
		wantPages int // pages read, the last one included
		wantReqs  int
	}{
		{name: "none", style: "none", n: 7, size: 7, cfg: map[string]any{"data_path": "data.items"}, wantPages: 1, wantReqs: 1},
		{name: "page, short last page", style: "page", n: 25, size: 10,
			cfg:       map[string]any{"data_path": "data.items", "pagination": map[string]any{"type": "page", "page_size": 10}},
			wantPages: 3, wantReqs: 3},
		{name: "page, exact multiple ends on an empty page", style: "page", n: 30, size: 10,
			cfg:       map[string]any{"data_path": "data.items", "pagination": map[string]any{"page_param": "page", "size_param": "page_size", "page_size": 10}},
			wantPages: 4, wantReqs: 4},
		{name: "page, no page_size: empty page stops", style: "page", n: 25, size: 10,
			cfg:       map[string]any{"data_path": "data.items", "pagination": map[string]any{"type": "page"}},
			wantPages: 4, wantReqs: 4},
		{name: "page, total reached", style: "page", n: 30, size: 10,
			cfg:       map[string]any{"data_path": "data.items", "pagination": map[string]any{"type": "page", "total_path": "total"}},
			wantPages: 3, wantReqs: 3},
		{name: "offset", style: "offset", n: 25, size: 10,
			cfg:       map[string]any{"data_path": "data.items", "pagination": map[string]any{"type": "offset", "page_size": 10}},
			wantPages: 3, wantReqs: 3},
		{name: "cursor", style: "cursor", n: 25, size: 10,
			cfg:       map[string]any{"data_path": "data", "pagination": map[string]any{"type": "cursor", "next_token_path": "meta.next_cursor"}},
			wantPages: 3, wantReqs: 3},
		{name: "next_url", style: "next_url", n: 25, size: 10,
			cfg:       map[string]any{"data_path": "results", "pagination": map[string]any{"type": "next_url"}},
			wantPages: 3, wantReqs: 3},
		{name: "link_header", style: "link_header", n: 25, size: 10,
			cfg:       map[string]any{"pagination": map[string]any{"type": "link_header"}},
			wantPages: 3, wantReqs: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.style, tt.n, tt.size)
			tt.cfg["url"] = api.url("/v1/items")
			c := configure(t, tt.cfg)
			streams, err := c.Discover(t.Context())
			if err != nil || len(streams) != 1 || streams[0].Name != "items" {
				t.Fatalf("discover: %+v %v", streams, err)
			}
			rows, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
			if err != nil {
				t.Fatal(err)
			}
			wantIDs(t, rows, 1, tt.n)
			if len(pages) != tt.wantPages {
				t.Errorf("%d pages, want %d", len(pages), tt.wantPages)
			}
			if got := len(api.seen()); got != tt.wantReqs {
				t.Errorf("the server saw %d requests, want %d", got, tt.wantReqs)
			}
			for i, p := range pages {
				if p.RateHints == nil || p.RateHints.Limit != 1000 {
					t.Errorf("page %d: rate hints %+v", i+1, p.RateHints)
				}
			}
			// Resume from every checkpoint in a fresh connector: the rest
			// of the stream, without fetching an earlier page again.
			for i := range pages[:len(pages)-1] {
				api2 := len(api.seen())
				c2 := configure(t, tt.cfg)
				rest, _, err := readAll(t, c2, sdk.ReadRequest{Stream: "items", Checkpoint: pages[i].Checkpoint})
				if err != nil {
					t.Fatalf("resume after page %d: %v", i+1, err)
				}
				if got := len(rows) - len(rest); got < 0 || (len(rest) > 0 && rest[0]["id"] != rows[got]["id"]) {
					t.Fatalf("resume after page %d: %d rows, full read %d", i+1, len(rest), len(rows))
				}
				if got := len(api.seen()) - api2; got != len(pages)-i-1 {
					t.Fatalf("resume after page %d made %d requests, want %d", i+1, got, len(pages)-i-1)
				}
			}
		})
	}
}

func TestRecordsAndSchema(t *testing.T) {
	api := newFakeAPI(t, "page", 3, 10)
	c := configure(t, map[string]any{"url": api.url("/v1/items"), "data_path": "data.items"})
	p, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()
	var names []string
	for _, f := range p.Records.Schema().Fields() {
		names = append(names, f.Name+":"+f.Type.String())
	}
	// Columns come in the API's key order (encoding/json sorts map keys).
	// Every price has one fraction digit (1.5, 2.5): decimal(38,1).
	want := "id:int64 meta_color:utf8 meta_size:int64 name:utf8 price:decimal(38, 1) tags:utf8 updated_at:utf8"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("schema %s\nwant   %s", got, want)
	}
	r := rowsOf(p.Records)[1]
	if r["meta_color"] != "blue" || r["tags"] != `["t0"]` || r["price"] != "2.5" {
		t.Fatalf("row %v", r)
	}
	if !p.Done {
		t.Fatal("a page without pagination is the last")
	}
}

func TestNoFlatten(t *testing.T) {
	api := newFakeAPI(t, "page", 2, 10)
	c := configure(t, map[string]any{"url": api.url("/v1/items"), "data_path": "data.items", "flatten_response": false,
		"schema": map[string]any{"updated_at": "timestamp", "extra": "int"}})
	p, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()
	s := p.Records.Schema()
	if i := s.FieldIndices("meta"); len(i) != 1 || s.Field(i[0]).Type.ID() != arrow.STRING {
		t.Fatalf("meta: %v", s)
	}
	if i := s.FieldIndices("updated_at"); len(i) != 1 || s.Field(i[0]).Type.ID() != arrow.TIMESTAMP {
		t.Fatalf("updated_at: %v", s)
	}
	if i := s.FieldIndices("extra"); len(i) != 1 || s.Field(i[0]).Type.ID() != arrow.INT64 {
		t.Fatalf("pinned column absent from the data: %v", s)
	}
	r := rowsOf(p.Records)[0]
	if r["meta"] != `{"color":"green","size":1}` || r["extra"] != nil {
		t.Fatalf("row %v", r)
	}
}

func TestPOSTSendsJSONBody(t *testing.T) {
	api := newFakeAPI(t, "page", 5, 2)
	c := configure(t, map[string]any{
		"url": api.url("/v1/search"), "method": "POST", "data_path": "data.items",
		"params":     map[string]any{"filter": map[string]any{"status": "open"}, "fields": []any{"a", "b"}},
		"pagination": map[string]any{"type": "page", "page_size": 2, "size_param": "page_size"},
	})
	rows, _, err := readAll(t, c, sdk.ReadRequest{Stream: "search"})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, rows, 1, 5)
	reqs := api.seen()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || r.URL.RawQuery != "" {
			t.Fatalf("request %d: %s %s %v", i, r.Method, r.URL, r.Header)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(api.bodies[i]), &body); err != nil {
			t.Fatalf("request %d body %q: %v", i, api.bodies[i], err)
		}
		if body["page"] != float64(i+1) || body["page_size"] != float64(2) ||
			body["filter"].(map[string]any)["status"] != "open" || len(body["fields"].([]any)) != 2 {
			t.Fatalf("request %d body %v", i, body)
		}
	}
}

func TestGETParams(t *testing.T) {
	api := newFakeAPI(t, "none", 1, 1)
	c := configure(t, map[string]any{
		"url":     api.url("/v1/items?fixed=1"),
		"params":  map[string]any{"status": "open", "ids": []any{1, 2}, "flag": true},
		"headers": map[string]any{"X-Trace": "abc", "X-Num": 7},
	})
	if _, _, err := readAll(t, c, sdk.ReadRequest{Stream: "items"}); err != nil {
		t.Fatal(err)
	}
	r := api.seen()[0]
	q := r.URL.Query()
	if q.Get("fixed") != "1" || q.Get("status") != "open" || strings.Join(q["ids"], ",") != "1,2" || q.Get("flag") != "true" {
		t.Fatalf("query %v", q)
	}
	if r.Header.Get("X-Trace") != "abc" || r.Header.Get("X-Num") != "7" || r.Header.Get("Accept") != "application/json" {
		t.Fatalf("headers %v", r.Header)
	}
}
