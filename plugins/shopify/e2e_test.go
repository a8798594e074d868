package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
)

// These tests run the real CLI (sqlflow-host run) with the shopify and
// memory plugins against a fake shop, so the host's resilience executor
// (its limiter fed by the plugin's rate hints, its retries) does the
// pacing, as it would against Shopify.

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries builds sqlflow-host and the shopify and memory plugins once for
// the package's tests and returns the directory holding sqlflow-host and
// plugins/.
func binaries(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the host and plugins and runs them")
	}
	buildOnce.Do(func() {
		dir, err := testenv.MkdirSafe("shopify-e2e-") // the host refuses plugins under /tmp
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		plugins := filepath.Join(dir, "plugins")
		os.Mkdir(plugins, 0o755)
		for out, pkg := range map[string]string{
			filepath.Join(dir, "sqlflow-host"):               "../../cmd/sqlflow-host",
			filepath.Join(plugins, "sqlflow-plugin-shopify"): ".",
			filepath.Join(plugins, "sqlflow-plugin-memory"):  "../memory",
		} {
			if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// hostRun is one `sqlflow-host run`.
type hostRun struct {
	out     string
	code    int
	elapsed time.Duration
	dump    string // the memory destination's dump of target "orders"
}

// pipeline writes a pipeline reading stream from the shop into a memory
// destination that dumps each committed table; source holds extra source
// keys (YAML lines indented by four spaces).
func pipeline(t *testing.T, dir string, shop *shopifytest.Shop, stream, source string) string {
	t.Helper()
	p := filepath.Join(dir, "p.yaml")
	yaml := `version: 1
sources:
  shop:
    type: shopify
    shop_domain: fake-shop
    access_token: ${SHOPIFY_ACCESS_TOKEN}
    endpoint: ` + shop.URL() + `
` + source + `
destinations:
  sink: {type: memory, dump_path: "` + filepath.Join(dir, "{table}.arrow") + `"}
flows:
  - {name: ` + stream + `, from: shop, stream: ` + stream + `, to: sink, target: ` + stream + `, mode: replace}
`
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs the host on a pipeline; during, when not nil, is called with
// the host's process once it started.
func run(t *testing.T, file string, during func(host *exec.Cmd)) hostRun {
	t.Helper()
	bin := binaries(t)
	dir := filepath.Dir(file)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
		"--state-dir", filepath.Join(dir, "state"), "run", file)
	cmd.Env = append(os.Environ(), "SHOPIFY_ACCESS_TOKEN="+shopifytest.Token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(cmd)
	}
	err := cmd.Wait()
	r := hostRun{out: out.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// dumpIDs reads the id column of a memory destination's dump.
func dumpIDs(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ids []int64
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		idx := rec.Schema().FieldIndices("id")
		col := rec.Column(idx[0]).(*array.Int64)
		for j := 0; j < col.Len(); j++ {
			ids = append(ids, col.Value(j))
		}
	}
	return ids
}

// checkOrders checks that the dump holds orders 1..n exactly once.
func checkOrders(t *testing.T, dir string, n int) {
	t.Helper()
	ids := dumpIDs(t, filepath.Join(dir, "orders.arrow"))
	seen := make(map[int64]int, len(ids))
	for _, id := range ids {
		seen[id]++
	}
	if len(ids) != n || len(seen) != n {
		t.Fatalf("the target holds %d rows, %d distinct orders, want %d", len(ids), len(seen), n)
	}
	for id, c := range seen {
		if id < 1 || id > int64(n) || c != 1 {
			t.Fatalf("order %d: %d times", id, c)
		}
	}
}

// bucketShop is the shop of the pacing tests: 5,000 orders; a GraphQL
// bucket of 1,000 points restoring 1,000 a second (Shopify Plus's
// numbers are 10,000 and 1,000; standard 2,000 and 100: scaled so the
// test takes seconds); each order costs one point, so a page of 99 costs
// 101 and the read about 5,150 points: the bucket must run dry about four
// times over unless the host paces.
func bucketShop(t *testing.T) *shopifytest.Shop {
	shop := shopifytest.New(shopifytest.Options{Orders: 5000, BucketMax: 1000, RestoreRate: 1000, NodeCost: 1})
	t.Cleanup(shop.Close)
	return shop
}

// TestPacedByHints syncs 5,000 orders through the CLI and checks that the
// shop throttled nothing: the host paced from the plugin's rate hints.
// It runs with the shopify profile as it is, and with the profile's
// request limiter raised out of the way so the hints alone pace.
func TestPacedByHints(t *testing.T) {
	cases := []struct{ name, resilience string }{
		{"shopify profile", ""},
		{"hints alone", "    resilience: {rate_limit: {max_requests_per_minute: 600000, burst_size: 1000}}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shop := bucketShop(t)
			dir := t.TempDir()
			r := run(t, pipeline(t, dir, shop, "orders", "    page_size: 100\n"+tc.resilience), nil)
			if r.code != 0 {
				t.Fatalf("exit %d:\n%s", r.code, r.out)
			}
			checkOrders(t, dir, 5000)
			reqs := shop.Requests()
			t.Logf("%s: %d requests, %d throttled, %.1fs", tc.name, len(reqs), shop.Throttled(), r.elapsed.Seconds())
			if n := shop.Throttled(); n != 0 {
				t.Fatalf("the shop throttled %d of %d requests; the host did not pace from the hints\n%s", n, len(reqs), r.out)
			}
			// The read needed the bucket about four times over: pacing
			// took time (and the bucket did run low).
			if r.elapsed < 3*time.Second {
				t.Fatalf("the run took %v: the bucket cannot have been honoured", r.elapsed)
			}
		})
	}
}

// TestSharedBucket syncs 5,000 orders while another app uses 40% of the
// bucket's restore rate: the plugin's hints cannot see the other app's
// spending coming, so some requests are throttled; every one is retried
// (at the same cursor) and the sync completes with every order once.
func TestSharedBucket(t *testing.T) {
	shop := bucketShop(t)
	stop := shop.OtherClient(40, 100*time.Millisecond) // 400 points a second
	dir := t.TempDir()
	r := run(t, pipeline(t, dir, shop, "orders", "    page_size: 100\n"+
		"    resilience: {retry: {max_attempts: 10}, rate_limit: {max_requests_per_minute: 600000, burst_size: 1000}}\n"), nil)
	otherOK, otherThrottled := stop()
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	checkOrders(t, dir, 5000)
	reqs := shop.Requests()
	throttled := 0
	for i, q := range reqs {
		if !q.Throttled {
			continue
		}
		throttled++
		// The next request for this connection is the retry of the same page.
		retried := false
		for _, n := range reqs[i+1:] {
			if n.Root == q.Root {
				retried = n.After == q.After
				break
			}
		}
		if !retried {
			t.Fatalf("throttled request %d (after %q) was not retried at its cursor", i, q.After)
		}
	}
	t.Logf("%d requests, %d throttled and retried; the other app: %d queries, %d throttled; %.1fs",
		len(reqs), throttled, otherOK, otherThrottled, r.elapsed.Seconds())
}

// TestRESTThrottled syncs through the REST API with Shopify's standard
// bucket (40 requests, leaking 2 a second) which another client has
// filled and keeps using at one request a second: 429s with Retry-After
// are retried at the same page_info and the sync completes.
func TestRESTThrottled(t *testing.T) {
	shop := shopifytest.New(shopifytest.Options{Orders: 1000, RESTBucket: 40, RESTLeak: 2})
	defer shop.Close()
	shop.RESTUse(40)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Second):
				shop.RESTUse(1)
			}
		}
	}()
	dir := t.TempDir()
	r := run(t, pipeline(t, dir, shop, "orders", "    api: rest\n    page_size: 100\n    resilience: {retry: {max_attempts: 10}}\n"), nil)
	close(done)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	checkOrders(t, dir, 1000)
	reqs := shop.Requests()
	for i, q := range reqs {
		if q.Throttled && (i+1 == len(reqs) || reqs[i+1].After != q.After) {
			t.Fatalf("the 429 of request %d (page_info %q) was not retried at its page_info", i, q.After)
		}
	}
	if shop.Throttled() == 0 {
		t.Fatal("no request was throttled: the test did not test 429s")
	}
	t.Logf("%d requests, %d answered 429 and retried, %.1fs", len(reqs), shop.Throttled(), r.elapsed.Seconds())
}

// TestNoLimiter shows what happens when a user turns the host's rate
// limiter off (resilience: {rate_limit: false}): the host then has nothing
// to apply the hints to, so the bucket runs dry and THROTTLED answers
// pace the read instead, each retried after the wait the plugin computed
// from the restore rate. The sync still completes with every order once.
func TestNoLimiter(t *testing.T) {
	shop := bucketShop(t)
	dir := t.TempDir()
	r := run(t, pipeline(t, dir, shop, "orders", "    page_size: 100\n    resilience: {rate_limit: false, retry: {max_attempts: 10}}\n"), nil)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	checkOrders(t, dir, 5000)
	t.Logf("%d requests, %d throttled and retried, %.1fs", len(shop.Requests()), shop.Throttled(), r.elapsed.Seconds())
}

// TestMissingScopeCLI checks the message a user sees when the app lacks a
// scope: the run fails at once (no retries) naming the scope.
func TestMissingScopeCLI(t *testing.T) {
	shop := shopifytest.New(shopifytest.Options{Orders: 10, Scopes: []string{"read_products"}})
	defer shop.Close()
	dir := t.TempDir()
	r := run(t, pipeline(t, dir, shop, "orders", ""), nil)
	if r.code != 1 || !strings.Contains(r.out, "access scope read_orders") || strings.Contains(r.out, "Retrying") {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	if len(shop.Requests()) > 3 {
		t.Fatalf("%d requests for a permanent error", len(shop.Requests()))
	}
}

// pluginPid returns the pid of the host's shopify plugin process, or 0.
func pluginPid(host int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(host) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cmdline, []byte("sqlflow-plugin-shopify")) {
			return pid
		}
	}
	return 0
}

// TestKilledPluginResumesCLI kills the shopify plugin (SIGKILL) while its
// 20th request is in flight: the host must restart it and repeat the read
// from the last checkpoint, so the request after the kill carries the
// killed request's cursor and every order arrives once. It skips itself
// when the host reports no restart (an engine without crash recovery).
func TestKilledPluginResumesCLI(t *testing.T) {
	shop := shopifytest.New(shopifytest.Options{Orders: 3000, BucketMax: 1e6, RestoreRate: 1e6})
	defer shop.Close()
	var (
		mu      sync.Mutex
		hostPid int
		n       int
		killed  string
	)
	shop.OnRequest(func(r shopifytest.Request) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 20 && hostPid != 0 {
			if pid := pluginPid(hostPid); pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed = r.After
				time.Sleep(100 * time.Millisecond) // let the host see the dead connection first
			}
		}
	})
	dir := t.TempDir()
	r := run(t, pipeline(t, dir, shop, "orders", "    page_size: 50\n    resilience: {rate_limit: {max_requests_per_minute: 600000, burst_size: 1000}}\n"), func(host *exec.Cmd) {
		mu.Lock()
		hostPid = host.Process.Pid
		mu.Unlock()
	})
	if killed == "" {
		t.Fatal("the plugin was not killed")
	}
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	checkOrders(t, dir, 3000)
	for _, line := range strings.Split(r.out, "\n") {
		if strings.Contains(line, "restart") {
			t.Log(strings.TrimSpace(line))
		}
	}
	reqs := shop.Requests()
	for i, q := range reqs {
		if q.After == killed && i+1 < len(reqs) {
			if reqs[i+1].After != killed {
				t.Fatalf("after the kill the read went on at %q, not at the killed request's cursor", reqs[i+1].After)
			}
			return
		}
	}
}
