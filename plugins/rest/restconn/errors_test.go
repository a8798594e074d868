package restconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// serve answers every request with handler.
func serve(t *testing.T, handler http.HandlerFunc) string {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/items"
}

func TestHTTPErrors(t *testing.T) {
	date := time.Now().Add(4 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		cfg      map[string]any
		class    errclass.Class
		raLo     time.Duration
		raHi     time.Duration
		contains []string
		lacks    []string
	}{
		{name: "429 retry-after seconds", status: 429, header: map[string]string{"Retry-After": "2"}, class: errclass.RateLimited, raLo: 2 * time.Second, raHi: 2 * time.Second},
		{name: "429 retry-after http-date", status: 429, header: map[string]string{"Retry-After": date}, class: errclass.RateLimited, raLo: 2 * time.Second, raHi: 4 * time.Second},
		{name: "503", status: 503, class: errclass.Transient},
		{name: "500", status: 500, class: errclass.Transient},
		{name: "408", status: 408, class: errclass.Transient},
		{name: "404", status: 404, body: `{"error": "no route /v1/items"}`, class: errclass.Permanent, contains: []string{"404 Not Found", "no route"}},
		{name: "400 redacts the key", status: 400, body: `{"error": "key k-SECRET-1 is invalid"}`,
			cfg:   map[string]any{"auth": map[string]any{"type": "api_key", "key_name": "key", "key_value": "k-SECRET-1", "in": "query"}},
			class: errclass.Permanent, contains: []string{"400", "key *** is invalid"}, lacks: []string{"k-SECRET-1"}},
		{name: "malformed JSON", status: 200, body: `{"data": [1, 2,`, class: errclass.Permanent, contains: []string{"not valid JSON", `{"data": [1, 2,`}},
		{name: "HTML", status: 200, body: "<html><body>Maintenance</body></html>", class: errclass.Permanent, contains: []string{"not valid JSON", "<html><body>Maintenance"}},
		{name: "trailing garbage", status: 200, body: `[{"a":1}] [`, class: errclass.Permanent, contains: []string{"not valid JSON"}},
		{name: "data_path missing", status: 200, body: `{"result": {"rows": []}, "ok": true}`, cfg: map[string]any{"data_path": "result.items"},
			class: errclass.Permanent, contains: []string{`data_path "result.items"`, `"result" has no field "items"`, "its fields: rows"}},
		{name: "data_path into a scalar", status: 200, body: `{"result": 5}`, cfg: map[string]any{"data_path": "result.items"},
			class: errclass.Permanent, contains: []string{`data_path "result.items"`, `"result" is a number`}},
		{name: "data_path index out of range", status: 200, body: `{"pages": [{"rows": []}]}`, cfg: map[string]any{"data_path": "pages.1.rows"},
			class: errclass.Permanent, contains: []string{"out of range"}},
		{name: "records not a list", status: 200, body: `{"data": "x"}`, cfg: map[string]any{"data_path": "data"},
			class: errclass.Permanent, contains: []string{"is a string, not a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				n++
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			cfg := map[string]any{"url": url}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			c := configure(t, cfg)
			_, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
			if errclass.Of(err) != tt.class {
				t.Fatalf("class %v, want %v (%v)", errclass.Of(err), tt.class, err)
			}
			if ra := errclass.RetryAfter(err); ra < tt.raLo || ra > tt.raHi {
				t.Fatalf("retry after %v, want [%v, %v]", ra, tt.raLo, tt.raHi)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message lacks %q: %v", s, err)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(err.Error(), s) {
					t.Errorf("message has %q: %v", s, err)
				}
			}
			if n != 1 {
				t.Fatalf("the server saw %d requests; the connector must not retry", n)
			}
			if tt.class == errclass.Permanent {
				return
			}
			// Check reports the same class.
			if err := c.Check(t.Context()); errclass.Of(err) != tt.class {
				t.Fatalf("check: %v", err)
			}
		})
	}
}

// TestBurstOf503ThenSuccess: each failed page is TRANSIENT and leaves the
// checkpoint where it was; asked again (as the host's retry does), the
// page succeeds and the read goes on with nothing lost or repeated.
func TestBurstOf503ThenSuccess(t *testing.T) {
	api := newFakeAPI(t, "page", 9, 3)
	api.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n >= 2 && n <= 4 { // page 2 fails three times
			w.Header().Set("Retry-After", "1")
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	c := configure(t, map[string]any{"url": api.url("/v1/items"), "data_path": "data.items", "pagination": map[string]any{"page_size": 3}})
	req := sdk.ReadRequest{Stream: "items"}
	var rows []row
	failures := 0
	for {
		p, err := c.ReadPage(t.Context(), req)
		if err != nil {
			if errclass.Of(err) != errclass.Transient || errclass.RetryAfter(err) != time.Second {
				t.Fatalf("got %v retry-after %v: %v", errclass.Of(err), errclass.RetryAfter(err), err)
			}
			failures++
			continue
		}
		rows = append(rows, rowsOf(p.Records)...)
		p.Records.Release()
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	wantIDs(t, rows, 1, 9)
	pagesAsked := map[string]int{}
	for _, r := range api.seen() {
		pagesAsked[r.URL.Query().Get("page")]++
	}
	if failures != 3 || pagesAsked["1"] != 1 || pagesAsked["2"] != 4 || pagesAsked["3"] != 1 || pagesAsked["4"] != 1 {
		t.Fatalf("%d failures; requests per page %v", failures, pagesAsked)
	}
}

func TestStallPastTimeout(t *testing.T) {
	release := make(chan struct{})
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	t.Run("client timeout key", func(t *testing.T) {
		c := configure(t, map[string]any{"url": url, "timeout": 0.2})
		start := time.Now()
		_, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
		if errclass.Of(err) != errclass.Transient || time.Since(start) > 5*time.Second {
			t.Fatalf("got %v after %v: %v", errclass.Of(err), time.Since(start), err)
		}
	})
	t.Run("host deadline", func(t *testing.T) {
		c := configure(t, map[string]any{"url": url})
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "items"})
		if errclass.Of(err) != errclass.Transient {
			t.Fatalf("got %v: %v", errclass.Of(err), err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c := configure(t, map[string]any{"url": url})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "items"})
		if errclass.Of(err) != errclass.Unknown || !strings.Contains(err.Error(), "canceled") {
			t.Fatalf("got %v: %v", errclass.Of(err), err)
		}
	})
}

// TestServerRestartMidPagination kills the API's server after two pages
// and starts it again on the same port: the page in between fails
// TRANSIENT (connection refused), and once the server is back the read
// resumes at that page: no page is fetched twice, no record is missing.
func TestServerRestartMidPagination(t *testing.T) {
	api := &fakeAPI{t: t, n: 10, size: 2, style: "cursor"}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	srv := &http.Server{Handler: api}
	go srv.Serve(l)
	api.srv = &httptest.Server{URL: "http://" + addr}

	c := configure(t, map[string]any{"url": "http://" + addr + "/v1/items", "data_path": "data",
		"pagination": map[string]any{"type": "cursor", "next_token_path": "meta.next_cursor"}})
	req := sdk.ReadRequest{Stream: "items"}
	var rows []row
	read := func() (sdk.Page, error) {
		p, err := c.ReadPage(t.Context(), req)
		if err == nil {
			rows = append(rows, rowsOf(p.Records)...)
			p.Records.Release()
			req.Checkpoint = p.Checkpoint
		}
		return p, err
	}
	for range 2 {
		if _, err := read(); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close() // killed: its listener and connections are gone
	before := len(api.seen())
	if _, err := read(); errclass.Of(err) != errclass.Transient {
		t.Fatalf("with the server down: %v (%v)", errclass.Of(err), err)
	}
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	srv2 := &http.Server{Handler: api}
	go srv2.Serve(l2)
	defer srv2.Close()
	for {
		p, err := read()
		if err != nil {
			t.Fatal(err)
		}
		if p.Done {
			break
		}
	}
	wantIDs(t, rows, 1, 10)
	seen := map[string]int{}
	for _, r := range api.seen()[before:] {
		seen[r.URL.Query().Get("cursor")]++
	}
	for cur, n := range seen {
		if n != 1 || cur == "" || cur == "c2" {
			t.Fatalf("after the restart, cursor %q was fetched %d times (all: %v)", cur, n, seen)
		}
	}
	if len(seen) != 3 || seen["c4"] != 1 {
		t.Fatalf("after the restart: %v", seen)
	}
}

func TestSchemaIsFixedByTheFirstPage(t *testing.T) {
	pages := []string{
		`[{"id": 1, "amount": 10, "note": null, "ok": true}, {"id": 2, "amount": 2.5, "ok": false}]`,
		`[{"id": 3, "amount": 7, "note": "x", "ok": true}, {"id": 4.0, "amount": 1e2, "note": 5, "ok": null}]`,
		`[{"id": 5, "amount": "n/a"}]`,
	}
	var n int
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("page")
		i := int(page[0] - '1')
		n++
		io.WriteString(w, pages[i])
	})
	c := configure(t, map[string]any{"url": url, "pagination": map[string]any{"type": "page", "page_size": 2}})
	rows, _, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `page 3, record 1, field "amount"`) ||
		!strings.Contains(err.Error(), `"n/a"`) || !strings.Contains(err.Error(), "float64") {
		t.Fatalf("got %v", err)
	}
	got, _ := json.Marshal(rows)
	want := `[{"amount":10,"id":1,"note":null,"ok":true},{"amount":2.5,"id":2,"note":null,"ok":false},` +
		`{"amount":7,"id":3,"note":"x","ok":true},{"amount":100,"id":4,"note":"5","ok":null}]`
	if string(got) != want {
		t.Fatalf("rows\n%s\nwant\n%s", got, want)
	}
}

func TestNewFields(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "1":
			io.WriteString(w, `[{"id": 1}]`)
		case "2":
			io.WriteString(w, `[{"id": 2, "discount": null, "extra": {"a": 1}}]`)
		default:
			io.WriteString(w, `[]`)
		}
	})
	cfg := map[string]any{"url": url, "pagination": map[string]any{"type": "page"}}
	_, _, err := readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `page 2, record 1: field "extra_a" is not in the schema`) {
		t.Fatalf("got %v", err)
	}
	cfg["new_fields"] = "ignore"
	rows, _, err := readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items"})
	if err != nil || len(rows) != 2 || len(rows[1]) != 1 {
		t.Fatalf("ignore: %v %v", rows, err)
	}
	delete(cfg, "new_fields")
	cfg["schema"] = map[string]any{"extra_a": "int64"}
	rows, _, err = readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items"})
	if err != nil || rows[0]["extra_a"] != nil || rows[1]["extra_a"] != int64(1) {
		t.Fatalf("pinned: %v %v", rows, err)
	}
}

func TestIncremental(t *testing.T) {
	api := newFakeAPI(t, "page", 10, 4)
	cfg := map[string]any{"url": api.url("/v1/items"), "data_path": "data.items", "pagination": map[string]any{"page_size": 4}}
	// First run: nothing stored, nothing sent, everything read.
	rows, pages, err := readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items", CursorField: "updated_at", CursorValue: json.RawMessage("null")})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, rows, 1, 10)
	last := pages[len(pages)-1].CursorValue
	if string(last) != `"2024-01-01T00:10:00Z"` {
		t.Fatalf("cursor %s", last)
	}
	if api.seen()[0].URL.Query().Has("since") {
		t.Fatal("since sent without a stored cursor")
	}
	// Second run from a stored cursor: it is sent as ?since=..., and rows
	// at or before it are dropped even when the API includes them.
	before := len(api.seen())
	rows, pages, err = readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items", CursorField: "updated_at", CursorValue: json.RawMessage(`"2024-01-01T00:07:00Z"`)})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, rows, 8, 10)
	if got := api.seen()[before].URL.Query().Get("since"); got != "2024-01-01T00:07:00Z" {
		t.Fatalf("since=%q", got)
	}
	if string(pages[len(pages)-1].CursorValue) != `"2024-01-01T00:10:00Z"` {
		t.Fatalf("cursor %s", pages[len(pages)-1].CursorValue)
	}
	// A numeric cursor compares as a number, and the maximum survives a
	// resume in a new connector.
	cfg["cursor_param"] = "min_id"
	c := configure(t, cfg)
	p1, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items", CursorField: "id", CursorValue: json.RawMessage(`2`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(p1.Records); len(got) != 2 || string(p1.CursorValue) != "4" {
		t.Fatalf("page 1: %v cursor %s", got, p1.CursorValue)
	}
	p1.Records.Release()
	c = configure(t, cfg)
	p2, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items", CursorField: "id", CursorValue: json.RawMessage(`2`), Checkpoint: p1.Checkpoint})
	if err != nil {
		t.Fatal(err)
	}
	p2.Records.Release()
	if string(p2.CursorValue) != "8" {
		t.Fatalf("page 2 cursor %s", p2.CursorValue)
	}
	// A cursor field that is not a column is a clear error.
	_, err = configure(t, cfg).ReadPage(t.Context(), sdk.ReadRequest{Stream: "items", CursorField: "modified", CursorValue: json.RawMessage(`2`)})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `cursor field "modified" is not a column`) {
		t.Fatalf("got %v", err)
	}
}

func TestSamePageTwiceIsAnError(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"id": 1}, {"id": 2}]`) // ignores ?page=
	})
	c := configure(t, map[string]any{"url": url, "pagination": map[string]any{"type": "page"}})
	_, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || len(pages) != 1 || !strings.Contains(err.Error(), "ignores the pagination parameters") {
		t.Fatalf("%d pages, %v", len(pages), err)
	}
}

// TestMaxPagesAndEmptyStream: a read that needs more pages than
// max_pages fails PERMANENT naming the cap once the pages allowed are read
// (it does not end quietly: a replace would drop the rest of the target),
// without asking for the next page; a read within the cap ends normally.
func TestMaxPagesAndEmptyStream(t *testing.T) {
	api := newFakeAPI(t, "page", 100, 5)
	cfg := map[string]any{"url": api.url("/v1/items"), "data_path": "data.items", "pagination": map[string]any{"page_size": 5, "max_pages": 3}}
	rows, pages, err := readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || len(pages) != 3 || len(rows) != 15 || len(api.seen()) != 3 ||
		!strings.Contains(err.Error(), `stream "items": the API has more than pagination.max_pages (3) pages: page 4 would be next; raise max_pages`) {
		t.Fatalf("%d pages, %d rows, %d requests, %v", len(pages), len(rows), len(api.seen()), err)
	}
	// A fresh connector at the last checkpoint (a restarted plugin) fails
	// the same way: the count is in the checkpoint.
	_, err = configure(t, cfg).ReadPage(t.Context(), sdk.ReadRequest{Stream: "items", Checkpoint: pages[2].Checkpoint})
	if errclass.Of(err) != errclass.Permanent || len(api.seen()) != 3 {
		t.Fatalf("resumed: %v", err)
	}
	// 100 records in pages of 5 take 21 requests (the last one empty).
	cfg["pagination"] = map[string]any{"page_size": 5, "max_pages": 21}
	if rows, pages, err := readAll(t, configure(t, cfg), sdk.ReadRequest{Stream: "items"}); err != nil || len(pages) != 21 || len(rows) != 100 {
		t.Fatalf("within the cap: %d pages, %d rows, %v", len(pages), len(rows), err)
	}
	empty := newFakeAPI(t, "page", 0, 5)
	rows, pages, err = readAll(t, configure(t, map[string]any{"url": empty.url("/v1/items"), "data_path": "data.items",
		"pagination": map[string]any{"page_size": 5}}), sdk.ReadRequest{Stream: "items"})
	if err != nil || len(pages) != 1 || len(rows) != 0 || !pages[0].Done {
		t.Fatalf("empty: %d pages, %d rows, %v", len(pages), len(rows), err)
	}
}

func TestBareArrayAndScalars(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `[1, 2, 3]`) })
	rows, _, err := readAll(t, configure(t, map[string]any{"url": url, "stream_name": "numbers"}), sdk.ReadRequest{Stream: "numbers"})
	if err != nil || len(rows) != 3 || rows[2]["value"] != int64(3) {
		t.Fatalf("%v %v", rows, err)
	}
	_, err = configure(t, map[string]any{"url": url}).ReadPage(t.Context(), sdk.ReadRequest{Stream: "numbers"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `no stream "numbers"`) {
		t.Fatalf("wrong stream: %v", err)
	}
	_ = fmt.Sprint()
}
