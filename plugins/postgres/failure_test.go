package main_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// These tests run whole flows through the CLI and the plugin processes
// while the connection to PostgreSQL fails underneath them. They pass only
// when the host retries TRANSIENT errors (its resilience executor): the
// plugin classifies, the host repeats the page or batch from its last
// checkpoint or seq.

// faultEnv is one failure test's schema, binaries and admin connection.
type faultEnv struct {
	dsn, schema string
	conn        *pgx.Conn
	bin         string
	dir         string
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the host and plugins and runs flows through the CLI")
	}
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	e := &faultEnv{dsn: dsn, schema: "fault_" + randHex(), conn: conn, bin: buildBinaries(t), dir: t.TempDir()}
	e.exec(t, "CREATE SCHEMA "+e.schema)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn.Exec(c, "DROP SCHEMA "+e.schema+" CASCADE")
		conn.Close(c)
	})
	return e
}

func (e *faultEnv) exec(t *testing.T, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := e.conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// run runs `sqlflow-host run` on a pipeline, bounded by timeout.
func (e *faultEnv) run(t *testing.T, name, yaml string, timeout time.Duration) (string, error) {
	t.Helper()
	p := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "sqlflow-host"), "--plugins-dir", filepath.Join(e.bin, "plugins"),
		"--state-dir", filepath.Join(e.dir, "state"), "run", p)
	cmd.Dir = e.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var checksumRe = regexp.MustCompile(`checksum=([0-9a-f]{16})`)

// retries returns the host's "Retrying operation" lines in out.
func retries(out string) []string {
	var r []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Retrying operation") {
			r = append(r, l)
		}
	}
	return r
}

// terminator kills, with pg_terminate_backend, the active backends of one
// application_name, up to n times, once each has run a while.
func terminator(ctx context.Context, dsn, app string, n int) (*atomic.Int32, func()) {
	var killed atomic.Int32
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		for int(killed.Load()) < n {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			var k int32
			err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			  WHERE application_name = $1 AND state = 'active' AND pid <> pg_backend_pid()) x`, app).Scan(&k)
			if err == nil && k > 0 {
				killed.Add(k)
				time.Sleep(400 * time.Millisecond) // let the flow make progress
			}
		}
	}()
	return &killed, func() { cancel(); <-done }
}

const fastRetry = `resilience: {retry: {max_attempts: 20, initial_delay: 0.05, max_delay: 0.5}, circuit_breaker: {failure_threshold: 50}}`

// TestTerminateBackendMidRead: the server kills the plugin's session (57P01)
// while a postgres → memory flow reads; the flow completes with every row
// exactly once (the memory destination's row count and checksum equal a
// clean run's).
func TestTerminateBackendMidRead(t *testing.T) {
	e := newFaultEnv(t)
	e.exec(t, "CREATE TABLE "+e.schema+".src (id bigint PRIMARY KEY, name text, at timestamptz)")
	e.exec(t, "INSERT INTO "+e.schema+".src SELECT i, md5(i::text), now() FROM generate_series(1, 1000000) i")
	pipeline := func(app string) string {
		return fmt.Sprintf(`version: 1
sources:
  pg: {type: postgres, dsn: %q, schema: %s, table: src, page_size: 1000, prefetch: false, application_name: %s, %s}
destinations:
  sink: {type: memory}
flows:
  - {from: pg, to: sink, target: src}
`, e.dsn, e.schema, app, fastRetry)
	}
	clean, err := e.run(t, "clean", pipeline("sqlflow-clean"), 3*time.Minute)
	if err != nil {
		t.Fatalf("clean run: %v\n%s", err, clean)
	}
	want := checksumRe.FindStringSubmatch(clean)
	app := "sqlflow-fault-read-" + randHex()
	killed, stop := terminator(context.Background(), e.dsn, app, 3)
	out, err := e.run(t, "faulty", pipeline(app), 3*time.Minute)
	stop()
	t.Logf("killed %d backends; host retries:\n%s", killed.Load(), strings.Join(retries(out), "\n"))
	if killed.Load() == 0 {
		t.Fatalf("no backend was terminated; the test proves nothing\n%s", out)
	}
	if err != nil {
		t.Fatalf("the flow failed after pg_terminate_backend (the host must retry TRANSIENT reads): %v\n%s", err, out)
	}
	if len(retries(out)) == 0 {
		t.Errorf("the host retried nothing: the kills did not hit a read; the test proves nothing\n%s", out)
	}
	got := checksumRe.FindStringSubmatch(out)
	if want == nil || got == nil || got[1] != want[1] || !strings.Contains(out, "rows=1000000") {
		t.Errorf("checksum %v, want %v (1000000 rows)\n%s", got, want, out)
	}
}

// TestTerminateBackendMidLoad: the server kills the destination plugin's
// sessions while a memory → postgres flow loads and commits; the flow
// completes and the table holds every row once.
func TestTerminateBackendMidLoad(t *testing.T) {
	e := newFaultEnv(t)
	app := "sqlflow-fault-load-" + randHex()
	pipeline := fmt.Sprintf(`version: 1
sources:
  gen: {type: memory, table_name: events, generate: {rows: 400000, seed: 7}}
destinations:
  pg: {type: postgres, dsn: %q, schema: %s, application_name: %s, %s}
flows:
  - {from: gen, to: pg, target: events, mode: replace}
`, e.dsn, e.schema, app, fastRetry)
	clean := strings.ReplaceAll(strings.ReplaceAll(pipeline, "target: events", "target: events_clean"), app, "sqlflow-clean")
	if out, err := e.run(t, "clean", clean, 3*time.Minute); err != nil {
		t.Fatalf("clean run: %v\n%s", err, out)
	}
	killed, stop := terminator(context.Background(), e.dsn, app, 3)
	out, err := e.run(t, "faulty", pipeline, 3*time.Minute)
	stop()
	t.Logf("killed %d backends; host retries:\n%s", killed.Load(), strings.Join(retries(out), "\n"))
	if killed.Load() == 0 {
		t.Fatalf("no backend was terminated; the test proves nothing\n%s", out)
	}
	if err != nil {
		t.Fatalf("the flow failed after pg_terminate_backend (the host must retry TRANSIENT batches and commits): %v\n%s", err, out)
	}
	var diff, n int64
	q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s.events),
	  (SELECT count(*) FROM ((SELECT * FROM %[1]s.events EXCEPT ALL SELECT * FROM %[1]s.events_clean)
	   UNION ALL (SELECT * FROM %[1]s.events_clean EXCEPT ALL SELECT * FROM %[1]s.events)) d)`, e.schema)
	if err := e.conn.QueryRow(context.Background(), q).Scan(&n, &diff); err != nil {
		t.Fatal(err)
	}
	if n != 400000 || diff != 0 {
		t.Errorf("events holds %d rows, %d differ from a clean run", n, diff)
	}
}

// faultProxy is a TCP proxy on loopback between a plugin and the server
// that can add latency, reset every connection, or blackhole traffic.
type faultProxy struct {
	ln       net.Listener
	upstream string
	latency  atomic.Int64 // per forwarded chunk, nanoseconds
	hole     atomic.Bool
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func newFaultProxy(t *testing.T, upstream string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.Reset() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

// Reset closes every open connection abruptly (RST).
func (p *faultProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
		delete(p.conns, c)
	}
}

func (p *faultProxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Close()
		return
	}
	p.track(c, true)
	p.track(up, true)
	pipe := func(dst, src net.Conn) {
		defer func() { dst.Close(); src.Close(); p.track(dst, false); p.track(src, false) }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				for p.hole.Load() { // blackhole: hold the data, send nothing
					time.Sleep(20 * time.Millisecond)
				}
				if d := time.Duration(p.latency.Load()); d > 0 {
					time.Sleep(d)
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					return
				}
				return
			}
		}
	}
	go pipe(up, c)
	pipe(c, up)
}

// TestProxyFaults runs flows through a faulty TCP proxy: added latency
// (completes), connections reset mid-run (completes, every row once), and
// a blackhole (ends within the configured per-call timeout with a
// classified, retryable error; it does not hang).
func TestProxyFaults(t *testing.T) {
	e := newFaultEnv(t)
	e.exec(t, "CREATE TABLE "+e.schema+".src (id bigint PRIMARY KEY, name text)")
	e.exec(t, "INSERT INTO "+e.schema+".src SELECT i, md5(i::text) FROM generate_series(1, 200000) i")
	u := strings.TrimPrefix(e.dsn, "postgres://")
	hostPort := u[strings.Index(u, "@")+1:]
	hostPort = hostPort[:strings.IndexAny(hostPort, "/?")]
	proxy := newFaultProxy(t, hostPort)
	ph, pp, _ := net.SplitHostPort(proxy.addr())
	pipeline := func(extra string) string {
		return fmt.Sprintf(`version: 1
sources:
  pg: {type: postgres, dsn: %q, host: %s, port: %s, schema: %s, table: src, page_size: 5000, prefetch: false, connect_timeout: 2, %s}
destinations:
  sink: {type: memory}
flows:
  - {from: pg, to: sink, target: src}
`, e.dsn, ph, pp, e.schema, extra)
	}
	clean, err := e.run(t, "clean", pipeline(fastRetry), 3*time.Minute)
	if err != nil {
		t.Fatalf("clean run through the proxy: %v\n%s", err, clean)
	}
	want := checksumRe.FindStringSubmatch(clean)

	t.Run("latency", func(t *testing.T) {
		proxy.latency.Store(int64(2 * time.Millisecond))
		defer proxy.latency.Store(0)
		out, err := e.run(t, "latency", pipeline(fastRetry), 3*time.Minute)
		if err != nil {
			t.Fatalf("flow with latency: %v\n%s", err, out)
		}
		if got := checksumRe.FindStringSubmatch(out); got == nil || got[1] != want[1] {
			t.Errorf("checksum %v, want %v", got, want)
		}
	})
	t.Run("reset", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var resets atomic.Int32
		go func() {
			for i := 0; i < 3; i++ {
				select {
				case <-ctx.Done():
					return
				case <-time.After(700 * time.Millisecond):
				}
				proxy.Reset()
				resets.Add(1)
			}
		}()
		proxy.latency.Store(int64(5 * time.Millisecond)) // long enough a run to reset it mid-read
		defer proxy.latency.Store(0)
		out, err := e.run(t, "reset", pipeline(fastRetry), 3*time.Minute)
		cancel()
		t.Logf("%d resets; host retries:\n%s", resets.Load(), strings.Join(retries(out), "\n"))
		if err != nil {
			t.Fatalf("flow with connection resets (the host must retry TRANSIENT reads): %v\n%s", err, out)
		}
		if len(retries(out)) == 0 {
			t.Errorf("no retry: the resets did not hit the flow; the test proves nothing\n%s", out)
		}
		if got := checksumRe.FindStringSubmatch(out); got == nil || got[1] != want[1] {
			t.Errorf("checksum %v, want %v", got, want)
		}
	})
	t.Run("blackhole", func(t *testing.T) {
		proxy.hole.Store(true)
		defer proxy.hole.Store(false)
		defer proxy.Reset()
		start := time.Now()
		out, err := e.run(t, "blackhole", pipeline(`resilience: {retry: {max_attempts: 2, initial_delay: 0.05}, timeout: 3}`), 2*time.Minute)
		elapsed := time.Since(start)
		if err == nil {
			t.Fatalf("the flow succeeded through a blackhole\n%s", out)
		}
		if elapsed > 45*time.Second {
			t.Errorf("the flow took %v to give up; the per-call timeout is 3 s with 2 attempts", elapsed)
		}
		if !strings.Contains(out, "deadline") && !strings.Contains(out, "timeout") && !strings.Contains(out, "timed out") {
			t.Errorf("the error does not say it timed out:\n%s", out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "Error") || strings.Contains(l, "error") || strings.Contains(l, "Retrying") {
				t.Logf("%s", l)
			}
		}
	})
}
