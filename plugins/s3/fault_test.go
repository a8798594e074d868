package main_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// faultProxy is a reverse proxy on loopback in front of the S3 server. The
// first time it sees each ranged GET of an object and each part upload
// (UploadPart) of a data object, it fails the request: alternately a 503
// SlowDown answer and a reset connection. A retry of the same request
// passes.
type faultProxy struct {
	srv    *httptest.Server
	mu     sync.Mutex
	seen   map[string]bool
	faults map[string]int
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &faultProxy{seen: map[string]bool{}, faults: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		faulty := (r.Method == http.MethodGet && r.Header.Get("Range") != "") ||
			(r.Method == http.MethodPut && r.URL.Query().Has("partNumber")) // UploadPart
		if faulty {
			key := r.Method + " " + r.URL.Path + " " + r.Header.Get("Range") + " " + r.URL.Query().Get("partNumber")
			p.mu.Lock()
			first := !p.seen[key]
			p.seen[key] = true
			n := len(p.seen)
			if first {
				if n%2 == 0 {
					p.faults["slowdown"]++
				} else {
					p.faults["reset"]++
				}
			}
			p.mu.Unlock()
			if first && n%2 == 0 {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
				return
			}
			if first {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						tc.SetLinger(0)
					}
					conn.Close()
				}
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// TestFaultsThroughCLI runs `sqlflow-host run` (csv objects on S3 → a
// parquet dataset on S3), with every object read and every part upload
// failing once through the fault proxy (503 SlowDown or a reset
// connection): the host's retries finish the run, and the dataset holds
// every row exactly once, with no staged parts left.
func TestFaultsThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host and the plugin and runs them")
	}
	srv := newServer(t)
	proxy := newFaultProxy(t, srv.endpoint)
	const objects, perObject = 4, 500
	for o := range objects {
		var b strings.Builder
		b.WriteString("id,name\n")
		for i := range perObject {
			fmt.Fprintf(&b, "%d,name %d\n", o*perObject+i, o*perObject+i)
		}
		srv.put(t, fmt.Sprintf("in/orders/part-%d.csv", o), []byte(b.String()))
	}

	dir := t.TempDir()
	bin := filepath.Join(testenv.SafeDir(t), "bin") // the host refuses plugins under /tmp
	for out, pkg := range map[string]string{
		filepath.Join(bin, "sqlflow-host"):                 "../../cmd/sqlflow-host",
		filepath.Join(bin, "plugins", "sqlflow-plugin-s3"): ".",
	} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	common := `bucket: ` + srv.bucket + `, endpoint_url: "` + proxy.srv.URL + `", access_key_id: "${S3_KEY}", secret_access_key: "${S3_SECRET}"`
	yaml := `version: 1
sources:
  in: {type: s3, ` + common + `, path_prefix: in/orders/, file_format: csv}
destinations:
  out: {type: s3, ` + common + `, path_prefix: out, file_format: parquet}
flows:
  - {name: orders, from: in, stream: orders, to: out, target: orders, mode: replace}
`
	pfile := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pfile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
		"--state-dir", filepath.Join(dir, "state"), "run", pfile)
	cmd.Env = append(os.Environ(), "S3_KEY="+srv.access, "S3_SECRET="+srv.secret)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sqlflow-host run: %v\n%s", err, out.String())
	}
	proxy.mu.Lock()
	t.Logf("faults injected: %v", proxy.faults)
	if proxy.faults["slowdown"] == 0 || proxy.faults["reset"] == 0 {
		t.Errorf("the proxy injected %v; want both kinds", proxy.faults)
	}
	proxy.mu.Unlock()

	files, err := srv.manifestFiles(ctx, "out/orders")
	if err != nil || len(files) == 0 {
		t.Fatalf("manifest: %v %v\n%s", files, err, out.String())
	}
	seen := map[string]int{}
	for _, f := range files {
		data, err := srv.get(ctx, "out/orders/"+f)
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(ctx)
		if err != nil {
			t.Fatal(err)
		}
		col := tbl.Column(0)
		for _, chunk := range col.Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				seen[chunk.ValueStr(i)]++
			}
		}
		tbl.Release()
		rdr.Close()
	}
	if len(seen) != objects*perObject {
		t.Fatalf("the dataset holds %d distinct ids, want %d\n%s", len(seen), objects*perObject, out.String())
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("id %s is in the dataset %d times", id, n)
		}
	}
	for _, k := range srv.keys(t, "out/.sqlflow-staging/") {
		if !strings.HasSuffix(k, "/write.json") {
			t.Errorf("stray staging object after the run: %s", k)
		}
	}
}
