package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// An S3 request as the fault proxy sorts it.
const (
	opUploadPart    = "UploadPart"
	opCreate        = "CreateMultipartUpload"
	opComplete      = "CompleteMultipartUpload"
	opAbort         = "AbortMultipartUpload"
	opListUploads   = "ListMultipartUploads"
	opListObjects   = "ListObjectsV2"
	opPutManifest   = "PutManifest"
	opPutMarker     = "PutMarker"
	opDeleteObjects = "DeleteObjects"
)

func s3op(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return opUploadPart
	case r.Method == http.MethodPost && q.Has("uploads"):
		return opCreate
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return opComplete
	case r.Method == http.MethodPost && q.Has("delete"):
		return opDeleteObjects
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return opAbort
	case r.Method == http.MethodGet && q.Has("uploads"):
		return opListUploads
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		return opListObjects
	case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/_SUCCESS"):
		return opPutManifest
	case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/upload-"):
		return opPutMarker
	}
	return r.Method
}

// What the proxy does to a request a rule picks.
const (
	// slowDown answers 503 SlowDown without forwarding.
	slowDown = "slowdown"
	// reset closes the connection without forwarding.
	reset = "reset"
	// slow forwards the request (the server does the work) and then holds
	// the answer until the client gives up: a response slower than the
	// call's deadline.
	slow = "slow"
	// killBefore SIGKILLs the destination plugin, then drops the request.
	killBefore = "kill-before"
	// killAfter forwards the request, SIGKILLs the destination plugin, then
	// drops the answer: the server did the work, the plugin never learnt.
	killAfter = "kill-after"
	// dropReply forwards the request, then closes the connection with a
	// reset instead of answering: the server did the work, the plugin
	// never learnt (a reply lost on the network).
	dropReply = "drop-reply"
)

// rule applies action to the n-th requests of operation op (counting from
// 1); every: to all of them. With body set, only the requests of op whose
// body holds it are picked and counted (a DeleteObjects of markers:
// body "upload-").
type rule struct {
	op     string
	body   string
	nth    []int
	every  bool
	action string
}

// ruleProxy is a reverse proxy on loopback in front of the S3 server that
// applies rules to S3 operations and records the key of every multipart
// upload created through it.
type ruleProxy struct {
	srv     *httptest.Server
	rules   []rule
	hostPid atomic.Int64

	mu      sync.Mutex
	count   map[string]int
	applied map[string]int
	created map[string]bool // keys of CreateMultipartUpload requests
}

func newRuleProxy(t *testing.T, target string, rules []rule) *ruleProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &ruleProxy{rules: rules, count: map[string]int{}, applied: map[string]int{}, created: map[string]bool{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := s3op(r)
		var body []byte
		if r.Method == http.MethodPost && r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		p.mu.Lock()
		p.count[op]++
		counted := map[string]bool{}
		for _, rl := range p.rules {
			if c := op + " " + rl.body; rl.op == op && rl.body != "" && !counted[c] && bytes.Contains(body, []byte(rl.body)) {
				counted[c] = true
				p.count[c]++
			}
		}
		if op == opCreate {
			p.created[strings.TrimPrefix(r.URL.Path, "/")] = true
		}
		action := ""
		for _, rl := range p.rules {
			n := p.count[op]
			if rl.body != "" {
				if !counted[op+" "+rl.body] {
					continue
				}
				n = p.count[op+" "+rl.body]
			}
			if rl.op == op && (rl.every || containsInt(rl.nth, n)) {
				action = rl.action
				p.applied[op+" "+action]++
				break
			}
		}
		p.mu.Unlock()
		switch action {
		case slowDown:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		case reset:
			hangUp(w)
		case slow:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
			select {
			case <-r.Context().Done(): // the client's deadline fired
			case <-time.After(time.Minute):
			}
			hangUp(w)
		case killBefore:
			p.killPlugin(t)
			hangUp(w)
		case dropReply:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
			hangUp(w)
		case killAfter:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
			p.killPlugin(t)
			hangUp(w)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// hangUp closes the client's connection with a reset, answering nothing.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// killPlugin SIGKILLs the host's s3 plugin process (a child of the host
// whose command is sqlflow-plugin-s3).
func (p *ruleProxy) killPlugin(t *testing.T) {
	host := strconv.Itoa(int(p.hostPid.Load()))
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if !strings.Contains(string(cmdline), "sqlflow-plugin-s3") {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != host || f[0] == "Z" {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			p.mu.Lock()
			p.applied["killed"]++
			p.mu.Unlock()
		}
	}
}

// requests returns how many requests of op the proxy saw.
func (p *ruleProxy) requests(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count[op]
}

func (p *ruleProxy) summary() (applied map[string]int, created []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	applied = map[string]int{}
	for k, v := range p.applied {
		applied[k] = v
	}
	for k := range p.created {
		created = append(created, k)
	}
	return applied, created
}

// cli is the host and the memory and s3 plugins, built once per test.
type cli struct{ dir string }

func buildCLI(t *testing.T) cli {
	t.Helper()
	dir := filepath.Join(testenv.SafeDir(t), "bin") // the host refuses plugins under /tmp
	for out, pkg := range map[string]string{
		filepath.Join(dir, "sqlflow-host"):                     "../../cmd/sqlflow-host",
		filepath.Join(dir, "plugins", "sqlflow-plugin-s3"):     ".",
		filepath.Join(dir, "plugins", "sqlflow-plugin-memory"): "../memory",
	} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return cli{dir: dir}
}

// run runs `sqlflow-host run` on pipeline with extra flags; started, when
// not nil, gets the host's pid. It returns the output and the exit code.
func (c cli) run(ctx context.Context, t *testing.T, pipeline string, env []string, started func(pid int), flags ...string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	pfile := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pfile, []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--plugins-dir", filepath.Join(c.dir, "plugins"), "--state-dir", filepath.Join(dir, "state"), "run"}, flags...)
	cmd := exec.CommandContext(ctx, filepath.Join(c.dir, "sqlflow-host"), append(args, pfile)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if started != nil {
		started(cmd.Process.Pid)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee) && ctx.Err() == nil:
		return out.String(), ee.ExitCode()
	default:
		t.Fatalf("sqlflow-host run: %v\n%s", err, out.String())
		return "", -1
	}
}

// generated returns the checksum of the memory connector's generated rows.
func generated(t *testing.T, rows int, seed int) rowhash.Sum {
	t.Helper()
	ctx := context.Background()
	c := memconn.New(nil)
	if fe, err := c.Configure(ctx, []byte(fmt.Sprintf(`{"table_name": "events", "generate": {"rows": %d, "seed": %d}}`, rows, seed))); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	var sum rowhash.Sum
	var cp []byte
	for {
		p, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "events", Checkpoint: cp})
		if err != nil {
			t.Fatal(err)
		}
		if p.Records != nil {
			data, err := arrowipc.EncodeRecord(p.Records) // as the host forwards it
			p.Records.Release()
			if err != nil {
				t.Fatal(err)
			}
			rec, err := arrowipc.DecodeRecord(data)
			if err != nil {
				t.Fatal(err)
			}
			sum.Add(rec)
			rec.Release()
		}
		if p.Done {
			return sum
		}
		cp = p.Checkpoint
	}
}

// checkDataset asserts that the parquet dataset under dir holds want, that
// no multipart upload created through the proxy (or on extra keys) is left
// incomplete, and that the staging prefix holds no marker.
func checkDataset(t *testing.T, srv *server, p *ruleProxy, dir string, want rowhash.Sum, extra []string, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := srv.readParquetDataset(ctx, dir)
	if err != nil {
		t.Fatalf("read the dataset back: %v\n%s", err, out)
	}
	if got != want {
		t.Errorf("the dataset holds %v, the source %v\n%s", got, want, out)
	}
	applied, created := p.summary()
	t.Logf("faults applied: %v; %d uploads created", applied, len(created))
	for i, k := range created {
		created[i] = strings.TrimPrefix(k, srv.bucket+"/")
	}
	srv.noUploadsLeft(t, append(created, extra...))
	for _, k := range srv.keys(t, strings.SplitN(dir, "/", 2)[0]+"/.sqlflow-staging/") {
		if !strings.HasSuffix(k, "/write.json") {
			t.Errorf("stray staging object after the run: %s", k)
		}
	}
}

// destResilience lets the destination ride out many faults quickly: short
// backoff, many restarts, no rate limit in the way.
const destResilience = `{retry: {max_attempts: 10, initial_delay: 0.05, max_delay: 0.3}, recovery: {enable_connection_recovery: true, max_restarts: 50}, rate_limit: {max_requests_per_minute: 60000, burst_size: 100}, circuit_breaker: {failure_threshold: 50}}`

func pipelineYAML(srv *server, proxyURL string, rows int, resilience string) string {
	return fmt.Sprintf(`version: 1
sources:
  gen: {type: memory, table_name: events, generate: {rows: %d, seed: 5}}
destinations:
  out: {type: s3, bucket: %s, endpoint_url: "%s", access_key_id: "${S3_KEY}", secret_access_key: "${S3_SECRET}", path_prefix: out, file_format: parquet, resilience: %s}
flows:
  - {name: events, from: gen, stream: events, to: out, target: events, mode: replace}
`, rows, srv.bucket, proxyURL, resilience)
}

// TestDestinationFaultsThroughCLI runs `sqlflow-host run` (generated rows →
// a parquet dataset on S3, 30 batches) through a proxy that breaks the
// destination's S3 requests: the plugin SIGKILLed in the middle of part
// uploads, creates, markers and the commit; SlowDown and resets on
// listings, aborts, deletes and every commit step; responses slower than
// the call timeout. Each run completes with every row exactly once and
// leaves no incomplete multipart upload and no marker; a destination that
// never answers in time ends the run with a clear timeout error, the
// target untouched and nothing left behind.
func TestDestinationFaultsThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host and the plugins and runs them")
	}
	srv := newServer(t)
	bin := buildCLI(t)
	const rows = 60_000
	want := generated(t, rows, 5)
	env := []string{"S3_KEY=" + srv.access, "S3_SECRET=" + srv.secret}
	pageRows := []string{"--page-rows", "2000"}

	t.Run("plugin killed mid-upload and mid-commit", func(t *testing.T) {
		p := newRuleProxy(t, srv.endpoint, []rule{
			{op: opUploadPart, nth: []int{4}, action: killBefore},
			{op: opUploadPart, nth: []int{9, 15}, action: killAfter},
			{op: opCreate, nth: []int{12}, action: killAfter},
			{op: opPutMarker, nth: []int{20}, action: killAfter},
			{op: opComplete, nth: []int{5}, action: killAfter},
			{op: opPutManifest, nth: []int{1}, action: killAfter},
		})
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		out, code := bin.run(ctx, t, pipelineYAML(srv, p.srv.URL, rows, destResilience), env,
			func(pid int) { p.hostPid.Store(int64(pid)) }, pageRows...)
		if code != 0 {
			t.Fatalf("sqlflow-host run exited %d\n%s", code, out)
		}
		applied, _ := p.summary()
		if applied["killed"] < 7 {
			t.Errorf("the proxy killed the plugin %d times, want 7: %v", applied["killed"], applied)
		}
		checkDataset(t, srv, p, "out/events", want, nil, out)
	})

	t.Run("SlowDown and resets on listing, cleanup and commit", func(t *testing.T) {
		// A write of the same flow that a killed host left: open uploads.
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		dead := configure(t, srv.config(t, map[string]any{"path_prefix": "out", "file_format": "parquet"}))
		schema := memconn.GeneratorSchema
		// The host keys a flow's staging by "<pipeline>/<flow>/<target>":
		// pipeline p (p.yaml), flow events, target events.
		if err := dead.BeginWrite(ctx, sdk.WriteRequest{WriteID: "dead", Flow: "p/events/events", Target: "events", Schema: schema, Mode: sdk.ModeReplace}); err != nil {
			t.Fatal(err)
		}
		var leftovers []string
		for seq := int64(1); seq <= 2; seq++ {
			rec := firstPage(t, 100)
			if err := dead.WriteBatch(ctx, "dead", seq, rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			leftovers = append(leftovers, dataKey("out", "events", "dead", seq, ".parquet"))
		}
		p := newRuleProxy(t, srv.endpoint, []rule{
			{op: opListObjects, nth: []int{1, 2}, action: slowDown},
			{op: opListObjects, nth: []int{3, 6}, action: reset},
			{op: opListUploads, nth: []int{1}, action: slowDown},
			{op: opListUploads, nth: []int{2}, action: reset},
			{op: opAbort, nth: []int{1}, action: reset},
			{op: opCreate, nth: []int{1}, action: reset},
			{op: opComplete, nth: []int{1, 7}, action: slowDown},
			{op: opComplete, nth: []int{3}, action: reset},
			{op: opPutManifest, nth: []int{1}, action: slowDown},
			{op: opPutManifest, nth: []int{2}, action: reset},
			{op: opDeleteObjects, nth: []int{1}, action: slowDown},
		})
		out, code := bin.run(ctx, t, pipelineYAML(srv, p.srv.URL, rows, destResilience), env, nil, pageRows...)
		if code != 0 {
			t.Fatalf("sqlflow-host run exited %d\n%s", code, out)
		}
		checkDataset(t, srv, p, "out/events", want, leftovers, out)
	})

	t.Run("responses slower than the call timeout", func(t *testing.T) {
		p := newRuleProxy(t, srv.endpoint, []rule{
			{op: opUploadPart, nth: []int{3}, action: slow},
			{op: opCreate, nth: []int{8}, action: slow},
			{op: opComplete, nth: []int{2}, action: slow},
			{op: opPutManifest, nth: []int{1}, action: slow},
		})
		res := strings.Replace(destResilience, "{retry:", "{timeout: 2, retry:", 1)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		out, code := bin.run(ctx, t, pipelineYAML(srv, p.srv.URL, rows, res), env, nil, pageRows...)
		if code != 0 {
			t.Fatalf("sqlflow-host run exited %d\n%s", code, out)
		}
		checkDataset(t, srv, p, "out/events", want, nil, out)
	})

	t.Run("every part upload too slow: a clear error, nothing left", func(t *testing.T) {
		before, _ := srv.get(context.Background(), "out/events/_SUCCESS") // nil when run alone
		p := newRuleProxy(t, srv.endpoint, []rule{{op: opUploadPart, every: true, action: slow}})
		res := `{timeout: 1, retry: {max_attempts: 2, initial_delay: 0.05, max_delay: 0.1}}`
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, code := bin.run(ctx, t, pipelineYAML(srv, p.srv.URL, rows, res), env, nil, pageRows...)
		if code != 1 {
			t.Fatalf("sqlflow-host run exited %d, want 1\n%s", code, out)
		}
		if !strings.Contains(out, `write batch 1 to "events" of destination "out": upload part 1 of s3://`) || !strings.Contains(out, "deadline exceeded") {
			t.Errorf("the run's error does not name the batch, the destination, the part upload and the deadline:\n%s", out)
		}
		if strings.Contains(out, "restarting plugin") {
			t.Errorf("the plugin was restarted: a call waiting on a slow S3 should answer before its deadline\n%s", out)
		}
		if after, _ := srv.get(context.Background(), "out/events/_SUCCESS"); !bytes.Equal(before, after) {
			t.Errorf("the failed run changed the dataset's manifest:\n%s\nwas:\n%s", after, before)
		}
		_, created := p.summary()
		for i, k := range created {
			created[i] = strings.TrimPrefix(k, srv.bucket+"/")
		}
		srv.noUploadsLeft(t, created)
		for _, k := range srv.keys(t, "out/.sqlflow-staging/") {
			if !strings.HasSuffix(k, "/write.json") {
				t.Errorf("stray staging object after the failed run: %s", k)
			}
		}
		t.Logf("%s", lastLines(out, 6))
	})
}

// firstPage returns the first n generated rows.
func firstPage(t *testing.T, n int64) arrow.RecordBatch {
	t.Helper()
	c := memconn.New(nil)
	if fe, err := c.Configure(context.Background(), []byte(`{"table_name": "events", "generate": {"rows": 1000, "seed": 9}}`)); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	p, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "events", MaxRows: n})
	if err != nil {
		t.Fatal(err)
	}
	return p.Records
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestLostCompleteReplyThroughCLI: two resets of a batch's
// CompleteMultipartUpload, then its third completion forwarded (the server
// completes the upload) with the reply dropped, under a breaker that opens
// after 4 failures in a row. The batch finds its completed object instead
// of failing again, so the breaker stays closed and the run completes with
// every row once and nothing left behind (before, the lost reply cost two
// more failures, the second "the multipart upload is gone", and opened the
// breaker with attempts left).
func TestLostCompleteReplyThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host and the plugins and runs them")
	}
	srv := newServer(t)
	bin := buildCLI(t)
	const rows = 20_000
	want := generated(t, rows, 5)
	env := []string{"S3_KEY=" + srv.access, "S3_SECRET=" + srv.secret}
	p := newRuleProxy(t, srv.endpoint, []rule{
		{op: opComplete, nth: []int{3, 4}, action: reset},
		{op: opComplete, nth: []int{5}, action: dropReply},
	})
	res := `{retry: {max_attempts: 10, initial_delay: 0.05, max_delay: 0.3}, circuit_breaker: {failure_threshold: 4, recovery_timeout: 600}, rate_limit: {max_requests_per_minute: 60000, burst_size: 100}}`
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, code := bin.run(ctx, t, pipelineYAML(srv, p.srv.URL, rows, res), env, nil, "--page-rows", "2000")
	if code != 0 {
		t.Fatalf("sqlflow-host run exited %d\n%s", code, out)
	}
	if strings.Contains(out, "gone") || strings.Contains(out, "OPEN") {
		t.Errorf("the lost reply counted as more failures:\n%s", out)
	}
	if applied, _ := p.summary(); applied[opComplete+" "+dropReply] != 1 || applied[opComplete+" "+reset] != 2 {
		t.Errorf("faults applied: %v, want 2 resets and 1 dropped reply of CompleteMultipartUpload", applied)
	}
	checkDataset(t, srv, p, "out/events", want, nil, out)
}

// TestMarkerCleanupResetThroughCLI: a reset on the commit's DeleteObjects
// of the batch markers, after write.json recorded the commit. The host
// repeats the commit, which finishes the cleanup: the run completes and no
// marker survives it (before, the repeated commit saw the write committed
// and deleted nothing: 10 markers stayed after a successful flow).
func TestMarkerCleanupResetThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host and the plugins and runs them")
	}
	srv := newServer(t)
	bin := buildCLI(t)
	const rows = 20_000
	want := generated(t, rows, 5)
	env := []string{"S3_KEY=" + srv.access, "S3_SECRET=" + srv.secret}
	p := newRuleProxy(t, srv.endpoint, []rule{{op: opDeleteObjects, body: "/upload-", nth: []int{1}, action: reset}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, code := bin.run(ctx, t, pipelineYAML(srv, p.srv.URL, rows, destResilience), env, nil, "--page-rows", "2000")
	if code != 0 {
		t.Fatalf("sqlflow-host run exited %d\n%s", code, out)
	}
	if applied, _ := p.summary(); applied[opDeleteObjects+" "+reset] != 1 {
		t.Errorf("faults applied: %v, want a reset of the markers' DeleteObjects", applied)
	}
	checkDataset(t, srv, p, "out/events", want, nil, out)
}
