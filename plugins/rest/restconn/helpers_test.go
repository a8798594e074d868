package restconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/plugins/rest/restconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// item is record i of the fake API (1-based).
func item(i int) map[string]any {
	return map[string]any{
		"id":         i,
		"name":       fmt.Sprintf("item %d", i),
		"price":      float64(i) + 0.5,
		"meta":       map[string]any{"color": []string{"red", "green", "blue"}[i%3], "size": i % 5},
		"tags":       []string{"t" + strconv.Itoa(i%2)},
		"updated_at": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
	}
}

// fakeAPI serves n items in pages of size in one pagination style and
// records every request.
type fakeAPI struct {
	t     *testing.T
	n     int
	size  int
	style string

	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	// before, when set, may answer a request itself (return true).
	before func(w http.ResponseWriter, r *http.Request, n int) bool

	srv *httptest.Server
}

func newFakeAPI(t *testing.T, style string, n, size int) *fakeAPI {
	f := &fakeAPI{t: t, n: n, size: size, style: style}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) url(path string) string { return f.srv.URL + path }

func (f *fakeAPI) seen() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body strings.Builder
	if r.Body != nil {
		b := make([]byte, 4096)
		for {
			n, err := r.Body.Read(b)
			body.Write(b[:n])
			if err != nil {
				break
			}
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.bodies = append(f.bodies, body.String())
	count := len(f.requests)
	f.mu.Unlock()
	if f.before != nil && f.before(w, r, count) {
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		var m map[string]any
		json.Unmarshal([]byte(body.String()), &m)
		q = map[string][]string{}
		for k, v := range m {
			q.Set(k, fmt.Sprint(v))
		}
	}
	atoi := func(k string, def int) int {
		if v := q.Get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				http.Error(w, "bad "+k, 400)
				return -1
			}
			return n
		}
		return def
	}
	start := 0 // 0-based index of the first item
	size := f.size
	switch f.style {
	case "page":
		page := atoi("page", 1)
		if s := atoi("page_size", -2); s > 0 {
			size = s
		}
		start = (page - 1) * size
	case "offset":
		start = atoi("offset", 0)
		if s := atoi("limit", -2); s > 0 {
			size = s
		}
	case "cursor", "next_url", "link_header":
		if c := q.Get("cursor"); c != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(c, "c"))
		}
		if c := q.Get("after"); c != "" {
			start, _ = strconv.Atoi(c)
		}
	case "none":
		size = f.n
	}
	// The API's since filter is inclusive (>=), as many are.
	since := q.Get("since")
	var all []map[string]any
	for i := 1; i <= f.n; i++ {
		if it := item(i); since == "" || it["updated_at"].(string) >= since {
			all = append(all, it)
		}
	}
	items := []any{}
	for i := start; i < len(all) && i < start+size; i++ {
		items = append(items, all[i])
	}
	end := start + size
	more := end < len(all)
	resp := map[string]any{}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-RateLimit-Limit", "1000")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(1000-count))
	switch f.style {
	case "cursor":
		next := any(nil)
		if more {
			next = "c" + strconv.Itoa(end)
		}
		resp = map[string]any{"data": items, "meta": map[string]any{"next_cursor": next}}
	case "next_url":
		next := any(nil)
		if more {
			next = "/v1/items?after=" + strconv.Itoa(end)
		}
		resp = map[string]any{"results": items, "next": next}
	case "link_header":
		if more {
			w.Header().Set("Link", fmt.Sprintf(`<%s/v1/items?after=%d>; rel="next", <%s/v1/items>; rel="first"`, f.srv.URL, end, f.srv.URL))
		}
		json.NewEncoder(w).Encode(items)
		return
	default:
		resp = map[string]any{"data": map[string]any{"items": items}, "total": f.n}
	}
	json.NewEncoder(w).Encode(resp)
}

// configure returns a connector configured with cfg; it fails the test on
// field errors.
func configure(t testing.TB, cfg map[string]any) *restconn.Connector {
	t.Helper()
	c := restconn.New(nil)
	raw, _ := json.Marshal(cfg)
	ferrs, err := c.Configure(context.Background(), raw)
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("configure %s: %v %v", raw, ferrs, err)
	}
	return c
}

// row is one record read back, column name → value as JSON would show it.
type row map[string]any

// readAll reads the stream from req.Checkpoint to Done, returning rows and
// pages; it stops at the first error and returns it.
func readAll(t *testing.T, c *restconn.Connector, req sdk.ReadRequest) ([]row, []sdk.Page, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rows []row
	var pages []sdk.Page
	for i := 0; i < 10000; i++ {
		p, err := c.ReadPage(ctx, req)
		if err != nil {
			return rows, pages, err
		}
		if p.Records != nil {
			rows = append(rows, rowsOf(p.Records)...)
			p.Records.Release()
			p.Records = nil
		}
		pages = append(pages, p)
		if p.Done {
			return rows, pages, nil
		}
		if len(p.Checkpoint) == 0 {
			t.Fatalf("page %d not done and without checkpoint", i+1)
		}
		req.Checkpoint = p.Checkpoint
	}
	t.Fatal("no Done after 10000 pages")
	return nil, nil, nil
}

func rowsOf(rec arrow.RecordBatch) []row {
	var out []row
	for i := 0; i < int(rec.NumRows()); i++ {
		r := row{}
		for j, f := range rec.Schema().Fields() {
			col := rec.Column(j)
			if col.IsNull(i) {
				r[f.Name] = nil
				continue
			}
			r[f.Name] = col.GetOneForMarshal(i)
		}
		out = append(out, r)
	}
	return out
}

// ids returns the "id" column of rows.
func ids(rows []row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r["id"].(int64)
	}
	return out
}

func wantIDs(t *testing.T, rows []row, from, to int) {
	t.Helper()
	got := ids(rows)
	if len(got) != to-from+1 {
		t.Fatalf("got %d rows (%v), want ids %d..%d", len(got), got, from, to)
	}
	for i, id := range got {
		if id != int64(from+i) {
			t.Fatalf("row %d has id %d, want %d (all: %v)", i, id, from+i, got)
		}
	}
}
