package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/rest/restconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestPerformance measures the rest connector against a local API serving
// SQLFLOW_REST_PERF_PAGES pages (default 1,000) of 1,000 records each,
// and compares it with a plain Go HTTP client fetching the same pages. It
// runs only with SQLFLOW_REST_PERF=1 and logs a table:
//
//	SQLFLOW_REST_PERF=1 go test ./plugins/rest -run TestPerformance -v
func TestPerformance(t *testing.T) {
	if os.Getenv("SQLFLOW_REST_PERF") != "1" {
		t.Skip("set SQLFLOW_REST_PERF=1 to measure")
	}
	pages := 1000
	if v, err := strconv.Atoi(os.Getenv("SQLFLOW_REST_PERF_PAGES")); err == nil && v > 0 {
		pages = v
	}
	const perPage = 1000
	srv := httptest.NewServer(perfAPI(pages, perPage))
	defer srv.Close()
	url := srv.URL + "/v1/items"
	records := float64(pages * perPage)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	report := func(name string, d time.Duration, bytes int64) {
		t.Logf("%-34s %8.2f s  %10.0f records/s  %7.1f µs/page  %6.1f MB", name, d.Seconds(), records/d.Seconds(),
			float64(d.Microseconds())/float64(pages), float64(bytes)/1e6)
	}

	// 1. A plain Go HTTP client: fetch and read each body.
	hc := &http.Client{Timeout: 30 * time.Second}
	var bodyBytes int64
	start := time.Now()
	for p := 1; p <= pages; p++ {
		resp, err := hc.Get(url + "?page=" + strconv.Itoa(p) + "&page_size=1000")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		bodyBytes += n
	}
	report("plain client: fetch", time.Since(start), bodyBytes)

	// 2. The same, decoding each body with encoding/json.
	start = time.Now()
	for p := 1; p <= pages; p++ {
		resp, err := hc.Get(url + "?page=" + strconv.Itoa(p) + "&page_size=1000")
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Data []map[string]any }
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Data) != perPage {
			t.Fatalf("page %d: %d records, %v", p, len(v.Data), err)
		}
		resp.Body.Close()
	}
	report("plain client: fetch + json decode", time.Since(start), bodyBytes)

	cfg := map[string]any{"url": url, "data_path": "data",
		"pagination": map[string]any{"type": "page", "page_size": perPage, "total_path": "total"}}
	raw, _ := json.Marshal(cfg)

	// 3. The connector in process: fetch, decode, Arrow.
	c := restconn.New(nil)
	if ferrs, err := c.Configure(ctx, raw); err != nil || len(ferrs) > 0 {
		t.Fatal(ferrs, err)
	}
	start = time.Now()
	req := sdk.ReadRequest{Stream: "items"}
	var rows int64
	for {
		p, err := c.ReadPage(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		rows += p.Records.NumRows()
		p.Records.Release()
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	if rows != int64(records) {
		t.Fatalf("%d rows", rows)
	}
	report("restconn in process (JSON→Arrow)", time.Since(start), bodyBytes)

	// 4. The plugin process over go-plugin gRPC, as the host reads it
	// (Arrow IPC bytes, not decoded).
	bin := sdktest.BuildPlugin(t, ".")
	pl := sdktest.Start(t, bin)
	if ferrs, err := pl.Client.Configure(ctx, raw); err != nil || len(ferrs) > 0 {
		t.Fatal(ferrs, err)
	}
	start = time.Now()
	req = sdk.ReadRequest{Stream: "items"}
	rows = 0
	var ipcBytes int64
	for {
		p, err := pl.Client.ReadPage(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		rows += p.Rows
		ipcBytes += int64(len(p.Records))
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	if rows != int64(records) {
		t.Fatalf("%d rows", rows)
	}
	report("plugin over gRPC (Arrow IPC)", time.Since(start), ipcBytes)

	// 5. The whole host: sqlflow-host run into a memory destination, with
	// the rest profile's resilience on except the rate limiter. The flow's
	// own SECONDS (from the summary) leaves plugin start-up out.
	dir := testenv.SafeDir(t) // the host refuses plugins under /tmp
	plugins := filepath.Join(dir, "plugins")
	os.Mkdir(plugins, 0o755)
	for _, name := range []string{"rest", "memory"} {
		build(t, filepath.Join(plugins, "sqlflow-plugin-"+name), "../"+name)
	}
	host := filepath.Join(dir, "sqlflow-host")
	build(t, host, "../../cmd/sqlflow-host")
	pipeline := filepath.Join(dir, "p.yaml")
	os.WriteFile(pipeline, []byte(`version: 1
sources:
  api:
    type: rest
    url: `+url+`
    data_path: data
    pagination: {type: page, page_size: 1000, total_path: total}
    resilience: {rate_limit: false}
destinations:
  sink: {type: memory}
flows:
  - {name: items, from: api, to: sink, mode: replace}
`), 0o644)
	start = time.Now()
	out, err := exec.CommandContext(ctx, host, "--plugins-dir", plugins, "--state-dir", filepath.Join(dir, "state"), "run", pipeline).CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("host run: %v\n%s", err, out)
	}
	var flowSecs float64
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && f[0] == "items" {
			flowSecs, _ = strconv.ParseFloat(f[4], 64)
		}
	}
	report("host run, wall (process starts too)", wall, ipcBytes)
	if flowSecs > 0 {
		report("host run, the flow's own time", time.Duration(flowSecs*float64(time.Second)), ipcBytes)
	}
}

func build(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
}

// perfAPI serves pages of perPage records: an int, a string, a float, a
// bool, a timestamp string and a nested object.
func perfAPI(pages, perPage int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Remaining", "1000000")
		b := make([]byte, 0, perPage*160)
		b = append(b, `{"total":`...)
		b = strconv.AppendInt(b, int64(pages*perPage), 10)
		b = append(b, `,"data":[`...)
		if p >= 1 && p <= pages {
			for i := 0; i < perPage; i++ {
				id := int64((p-1)*perPage + i)
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"id":`...)
				b = strconv.AppendInt(b, id, 10)
				b = append(b, `,"name":"customer `...)
				b = strconv.AppendInt(b, id, 10)
				b = append(b, `","amount":`...)
				b = strconv.AppendFloat(b, float64(id%10000)/100+0.01, 'f', -1, 64)
				b = append(b, `,"active":`...)
				b = strconv.AppendBool(b, id%3 == 0)
				b = append(b, `,"created_at":"2024-05-01T12:`...)
				b = append(b, byte('0'+id%6), byte('0'+id%10))
				b = append(b, `:00Z","address":{"city":"c`...)
				b = strconv.AppendInt(b, id%100, 10)
				b = append(b, `","zip":"`...)
				b = strconv.AppendInt(b, 10000+id%90000, 10)
				b = append(b, `"}}`...)
			}
		}
		b = append(b, "]}"...)
		w.Write(b)
	})
}
