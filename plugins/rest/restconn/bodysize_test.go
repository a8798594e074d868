package restconn_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// bigBody writes a JSON list of one record whose "name" is n bytes of x,
// in 64 KiB writes, counting the bytes written; with chunked the body has
// no Content-Length.
func bigBody(w http.ResponseWriter, n int, chunked bool, written *atomic.Int64) {
	head, tail := `[{"id": 1, "name": "`, `"}]`
	if !chunked {
		w.Header().Set("Content-Length", strconv.Itoa(len(head)+n+len(tail)))
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, head)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for left := n; left > 0; left -= len(chunk) {
		k, err := w.Write(chunk[:min(left, len(chunk))])
		written.Add(int64(k))
		if err != nil {
			return
		}
		if chunked {
			w.(http.Flusher).Flush()
		}
	}
	io.WriteString(w, tail)
}

// TestBodyOverCap: a response body larger than max_record_bytes fails the
// read PERMANENT naming the request (without the user info of the URL) and
// the page, and how to raise the cap: told by Content-Length before a byte
// is read, or, without one (chunked, or gzip inflating past the cap), as
// soon as the body passes the cap, having allocated about the cap, not the
// body (runtime.MemStats.TotalAlloc over the call: every byte allocated in
// the process, garbage included, whenever the GC runs; the in-process
// measure, as the test server shares the process). A body of exactly the
// cap is read.
func TestBodyOverCap(t *testing.T) {
	const limit = 1 << 20
	var written atomic.Int64
	var mode atomic.Value
	// The gzip'd body is made before any allocation is measured: the
	// server runs in this process.
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	z.Write([]byte(`[{"id": 1, "name": "`))
	z.Write(bytes.Repeat([]byte("x"), 64<<20))
	z.Write([]byte(`"}]`))
	z.Close()
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load().(string) {
		case "length":
			bigBody(w, 64<<20, false, &written)
		case "chunked":
			bigBody(w, 64<<20, true, &written)
		case "gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/json")
			w.Write(gz.Bytes())
		case "exact", "exact+1":
			n := limit - len(`[{"id": 1, "name": ""}]`)
			if mode.Load() == "exact+1" {
				n++
			}
			bigBody(w, n, r.URL.Query().Get("chunked") == "1", &written)
		}
	})
	cfg := map[string]any{"url": strings.Replace(url, "http://", "http://bodyuser:B0dyPassw0rd@", 1), "max_record_bytes": limit}
	for _, m := range []string{"length", "chunked", "gzip"} {
		t.Run(m, func(t *testing.T) {
			mode.Store(m)
			written.Store(0)
			c := configure(t, cfg)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
			runtime.ReadMemStats(&after)
			want := "/v1/items: page 1: the response body is larger than max_record_bytes (1 MiB"
			if errclass.Of(err) != errclass.Permanent || err == nil || !strings.Contains(err.Error(), want) ||
				!strings.Contains(err.Error(), "raise max_record_bytes (at most 1073741824, 1 GiB)") {
				t.Fatalf("%v (%v)\nwant ...%s...", err, errclass.Of(err), want)
			}
			if strings.Contains(err.Error(), "B0dyPassw0rd") || strings.Contains(err.Error(), "bodyuser") {
				t.Errorf("the message shows the URL's user info: %v", err)
			}
			if m == "length" && !strings.Contains(err.Error(), fmt.Sprintf("Content-Length says %d bytes", 64<<20+len(`[{"id": 1, "name": ""}]`))) {
				t.Errorf("the message does not quote Content-Length: %v", err)
			}
			// TotalAlloc counts every byte allocated in the process
			// during the call, garbage included, whenever the GC runs.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*limit {
				t.Errorf("the failed read allocated %.1f MiB, want at most three times the cap (%.1f MiB)", float64(alloc)/(1<<20), 3.0*limit/(1<<20))
			}
			t.Logf("%s: allocated %.1f MiB; the server wrote %.1f MiB before the connection closed: %v",
				m, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), float64(written.Load())/(1<<20), err)
		})
	}
	for _, chunked := range []string{"0", "1"} {
		mode.Store("exact")
		u := strings.Replace(url, "http://", "http://bodyuser:B0dyPassw0rd@", 1) + "?chunked=" + chunked
		rows, _, err := readAll(t, configure(t, map[string]any{"url": u, "max_record_bytes": limit}), sdk.ReadRequest{Stream: "items"})
		if err != nil || len(rows) != 1 {
			t.Fatalf("a body of exactly the cap (chunked %s): %d rows, %v", chunked, len(rows), err)
		}
		mode.Store("exact+1")
		_, _, err = readAll(t, configure(t, map[string]any{"url": u, "max_record_bytes": limit}), sdk.ReadRequest{Stream: "items"})
		if errclass.Of(err) != errclass.Permanent || !strings.Contains(fmt.Sprint(err), "larger than max_record_bytes") {
			t.Fatalf("one byte over the cap (chunked %s): %v", chunked, err)
		}
	}
	mode.Store("chunked")
	if err := configure(t, cfg).Check(t.Context()); errclass.Of(err) != errclass.Permanent || !strings.Contains(fmt.Sprint(err), "larger than max_record_bytes") {
		t.Fatalf("Check: %v", err)
	}
}

// TestBodyCapDefault: without the key a body is capped at 64 MiB; the
// key's bounds are field errors.
func TestBodyCapDefault(t *testing.T) {
	var written atomic.Int64
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { bigBody(w, 65<<20, false, &written) })
	_, err := configure(t, map[string]any{"url": url}).ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(fmt.Sprint(err), "larger than max_record_bytes (64 MiB") {
		t.Fatalf("%v", err)
	}
	for _, v := range []any{1023, 1<<30 + 1, "64MiB"} {
		c := configure(t, map[string]any{"url": url})
		raw := fmt.Sprintf(`{"url": %q, "max_record_bytes": %#v}`, url, v)
		if s, ok := v.(string); ok {
			raw = fmt.Sprintf(`{"url": %q, "max_record_bytes": %q}`, url, s)
		}
		fe, err := c.Configure(t.Context(), []byte(raw))
		if err != nil || len(fe) != 1 || fe[0].Field != "max_record_bytes" {
			t.Fatalf("%v: %v %v", v, fe, err)
		}
	}
}
