package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// quotaAPI is a fake REST API with a sliding-window quota: more than quota
// requests within any window answer 429 with Retry-After (whole seconds,
// as HTTP has it). Every page holds one row and links to the next until
// the API has served for dur since its first request; then the last page
// ends both readers' flows.
type quotaAPI struct {
	quota  int
	window time.Duration
	dur    time.Duration
	// force429, when set, answers 429 with Retry-After: forceAfter once,
	// to the path /a after its n-th request.
	forceN     int
	forceAfter int

	mu        sync.Mutex
	first     time.Time
	ok        []time.Time            // arrivals answered 200
	byPath    map[string][]time.Time // arrivals answered 200, per reader
	throttled int
	forced    time.Time
	seq       int
}

func (a *quotaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	now := time.Now()
	if a.first.IsZero() {
		a.first = now
	}
	path := r.URL.Path
	if a.forceN > 0 && path == "/a" && len(a.byPath[path]) == a.forceN && a.forced.IsZero() {
		a.forced = now
		a.mu.Unlock()
		w.Header().Set("Retry-After", fmt.Sprint(a.forceAfter))
		http.Error(w, `{"error":"slow down"}`, http.StatusTooManyRequests)
		return
	}
	n := 0
	for i := len(a.ok) - 1; i >= 0 && now.Sub(a.ok[i]) < a.window; i-- {
		n++
	}
	if n >= a.quota {
		a.throttled++
		a.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"quota exceeded"}`, http.StatusTooManyRequests)
		return
	}
	a.ok = append(a.ok, now)
	if a.byPath == nil {
		a.byPath = map[string][]time.Time{}
	}
	a.byPath[path] = append(a.byPath[path], now)
	a.seq++
	id := a.seq
	more := now.Sub(a.first) < a.dur
	a.mu.Unlock()
	next := "null"
	if more {
		next = fmt.Sprintf("%q", "http://"+r.Host+path+fmt.Sprintf("?after=%d", id))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"data": [{"id": %d}], "next": %s}`, id, next)
}

// quotaPipeline reads url at perMinute (burst 1) into csv under dir.
func quotaPipeline(t *testing.T, dir, url string, perMinute float64) string {
	return write(t, dir, "p.yaml", fmt.Sprintf(`version: 1
sources:
  api:
    type: rest
    url: %s
    data_path: data
    pagination: {type: next_url}
    resilience:
      retry: {max_attempts: 10, initial_delay: 0.1, max_delay: 5}
      rate_limit: {max_requests_per_minute: %g, burst_size: 1}
destinations:
  out: {type: csv, path: %s}
flows:
  - {name: items, from: api, to: out, mode: replace}
`, url, perMinute, filepath.Join(dir, "out")))
}

// runShared starts one `run --shared-limits` process per path of srv and
// waits for all of them.
func runShared(t *testing.T, srv string, perMinute float64, paths ...string) {
	t.Helper()
	dsn := testenv.Require(t, "SQLFLOW_TEST_POSTGRES", "a PostgreSQL DSN")
	havePlugin(t, "rest")
	bin := hostBinary(t)
	schema := fmt.Sprintf("quota_test_%d", time.Now().UnixNano())
	t.Cleanup(func() { dropSchema(dsn, schema) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	outs := make([]string, len(paths))
	errs := make([]error, len(paths))
	for i, p := range paths {
		dir := t.TempDir()
		pf := quotaPipeline(t, dir, srv+p, perMinute)
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, bin, "--plugins-dir", pluginsDir, "run", "--page-rows", "1",
				"--shared-limits", dsn, "--shared-limits-schema", schema, pf)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatalf("run %s: %v\n%s", paths[i], errs[i], outs[i])
		}
	}
}

func dropSchema(dsn, schema string) {
	cmd := exec.Command("psql", dsn, "-c", "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	_ = cmd.Run()
}

// TestSharedQuotaTwoRuns is the quota test: two `run` processes
// read ONE fake API whose quota is 60 requests a minute (sliding window)
// for 5 minutes, sharing the limit through PostgreSQL: no request is
// throttled, and the two together use the quota within 5%.
//
// Time is compressed 10 times (processes cannot share a fake clock): the
// API's quota is 60 per 6 s, its run 30 s, and the pipelines' rate limit
// 580 a minute, i.e. 58 per 6 s: 2 below the quota, the bound of
// host/sharedlimit's overshoot at this rate (⌈E/T⌉ = 1 slot of lateness
// plus 1 for the requests' own latency), so a full window never holds more
// than 60. 58/60 is 96.7% of the quota.
func TestSharedQuotaTwoRuns(t *testing.T) {
	api := &quotaAPI{quota: 60, window: 6 * time.Second, dur: 30 * time.Second}
	srv := httptest.NewServer(api)
	defer srv.Close()
	runShared(t, srv.URL, 580, "/a", "/b")
	checkQuota(t, api)
}

// TestSharedQuotaTwoWorkers is the same quota test with two workers
// (`worker --db`, one flow at a time each) instead of two runs: the two
// readers are jobs of two pipelines, and each worker's shared limits live
// in the job database.
func TestSharedQuotaTwoWorkers(t *testing.T) {
	dsn := testenv.Require(t, "SQLFLOW_TEST_POSTGRES", "a PostgreSQL DSN")
	havePlugin(t, "rest")
	api := &quotaAPI{quota: 60, window: 6 * time.Second, dur: 30 * time.Second}
	srv := httptest.NewServer(api)
	defer srv.Close()
	bin := hostBinary(t)
	schema := jobSchema(t, dsn, "quota_workers")
	limits := schema + "_limits"
	t.Cleanup(func() { dropSchema(dsn, limits) })
	for _, name := range []string{"qa", "qb"} {
		pf := quotaPipeline(t, t.TempDir(), srv.URL+"/"+name, 580)
		write(t, filepath.Dir(pf), "p.yaml", "name: "+name+"\n"+mustRead(t, pf))
		expect(t, cli(t, "submit", pf, "--db", dsn, "--db-schema", schema), 0, "enqueued")
	}
	for _, name := range []string{"w1", "w2"} {
		startWorker(t, bin, dsn, schema, name, "--concurrency", "1", "--shared-limits-schema", limits)
	}
	waitFor(t, 3*time.Minute, "both jobs to complete", func() bool {
		return pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".river_job WHERE state = 'completed'") == 2
	})
	if n := pgValue[int64](t, dsn, "SELECT count(DISTINCT attempted_by[array_length(attempted_by, 1)]) FROM "+schema+".river_job"); n != 2 {
		t.Errorf("the two jobs ran on %d worker(s), want 2", n)
	}
	api.mu.Lock()
	api.byPath["/a"], api.byPath["/b"] = api.byPath["/qa"], api.byPath["/qb"]
	api.mu.Unlock()
	checkQuota(t, api)
}

// checkQuota checks what api saw of two readers, /a and /b: no 429, and
// the requests of its first dur between 95% and 100% of its quota.
func checkQuota(t *testing.T, api *quotaAPI) {
	t.Helper()
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.throttled != 0 {
		t.Errorf("%d requests were throttled (429), want 0", api.throttled)
	}
	var in int
	for _, at := range api.ok {
		if at.Sub(api.first) < api.dur {
			in++
		}
	}
	want := 60.0 * api.dur.Seconds() / api.window.Seconds()
	ratio := float64(in) / want
	t.Logf("%d requests in %v (reader a %d, b %d): %.1f%% of the quota (%g)", in, api.dur,
		len(api.byPath["/a"]), len(api.byPath["/b"]), 100*ratio, want)
	if ratio < 0.95 || ratio > 1.0 {
		t.Errorf("%d requests in %v: %.1f%% of the quota %g, want 95%% to 100%%", in, api.dur, 100*ratio, want)
	}
	if len(api.byPath["/a"]) == 0 || len(api.byPath["/b"]) == 0 {
		t.Errorf("a reader made no request: a %d, b %d", len(api.byPath["/a"]), len(api.byPath["/b"]))
	}
}

// TestSharedRateHint: one process gets a 429 with Retry-After: 3; the
// other one, which got none, makes no request from 1 s after it (the
// tokens it had leased before the pause reached PostgreSQL, at most 0.5 s
// of them, plus margin) until 2.8 s after it.
func TestSharedRateHint(t *testing.T) {
	api := &quotaAPI{quota: 1000, window: time.Second, dur: 8 * time.Second, forceN: 20, forceAfter: 3}
	srv := httptest.NewServer(api)
	defer srv.Close()
	runShared(t, srv.URL, 600, "/a", "/b")
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.forced.IsZero() {
		t.Fatal("reader a never got its 429")
	}
	var during []string
	for _, at := range api.byPath["/b"] {
		if d := at.Sub(api.forced); d > time.Second && d < 2800*time.Millisecond {
			during = append(during, d.Round(time.Millisecond).String())
		}
	}
	if len(during) > 0 {
		t.Errorf("reader b made %d requests during a's Retry-After (at %s after the 429), want none", len(during), strings.Join(during, ", "))
	}
	var after int
	for _, at := range api.byPath["/b"] {
		if at.Sub(api.forced) >= 3*time.Second {
			after++
		}
	}
	if after == 0 {
		t.Errorf("reader b made no request after the pause")
	}
	t.Logf("reader b: %d requests, %d after the pause", len(api.byPath["/b"]), after)
}

// TestSharedLimitsBadDSN: a --shared-limits that is no connection string
// is a usage error (exit 2); a database that does not answer exits 1
// naming it, without the password.
func TestSharedLimitsBadDSN(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: t, generate: {rows: 3, seed: 1}}
destinations:
  out: {type: csv, path: `+dir+`/out}
flows:
  - {from: gen, to: out, target: t.csv}
`)
	expect(t, cli(t, "run", "--shared-limits", "postgres://u:pw@[bad", p), 2, "--shared-limits: not a PostgreSQL connection string")
	r := cli(t, "run", "--shared-limits", "postgres://u:secretpw@127.0.0.1:1/db?connect_timeout=2", p)
	expect(t, r, 1, "--shared-limits: PostgreSQL at 127.0.0.1:1 does not answer")
	if strings.Contains(r.stdout+r.stderr, "secretpw") {
		t.Fatalf("the password leaked:\n%s", r)
	}
}
