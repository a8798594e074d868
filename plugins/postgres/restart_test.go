package main_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// ownServer is a PostgreSQL server of one test's own: a fresh cluster made
// with initdb in a temp dir, on a free loopback port. Stopping it in the
// middle of a run touches no other test (the shared server of
// SQLFLOW_TEST_POSTGRES serves every package's tests at once).
type ownServer struct {
	t    *testing.T
	bin  string   // PostgreSQL's bin directory
	dir  string   // data directory (the socket lives there too)
	port int      // TCP port on 127.0.0.1
	as   []string // prefix running a command as the postgres user under root
}

// newOwnServer makes and starts an ownServer, removed when t ends. It needs
// PostgreSQL's server binaries (Debian's postgresql package); without them
// the test is skipped, or fails under CI.
func newOwnServer(t *testing.T) *ownServer {
	t.Helper()
	bin := ""
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		bin = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); bin == "" || err != nil {
		if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
			bin = filepath.Dir(m[len(m)-1])
		} else {
			const missing = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: make services installs them (Debian's postgresql)"
			if testenv.InCI() {
				t.Fatal(missing)
			}
			t.Skip("skipped: " + missing)
		}
	}
	dir, err := os.MkdirTemp("", "sqlflow-own-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &ownServer{t: t, bin: bin, dir: dir, port: freePort(t)}
	if os.Geteuid() == 0 { // initdb and postgres refuse to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and there is no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.as = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		s.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if out, err := s.command("initdb", "-D", dir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.start()
	return s
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *ownServer) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, s.as...), filepath.Join(s.bin, name)), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (s *ownServer) pgctl(args ...string) ([]byte, error) {
	return s.command("pg_ctl", append([]string{"-D", s.dir, "-w", "-t", "60"}, args...)...).CombinedOutput()
}

// start starts the server and returns once it accepts connections.
func (s *ownServer) start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", s.port, s.dir)
	if out, err := s.pgctl("-l", filepath.Join(s.dir, "server.log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		s.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop shuts the server down the way an administrator does (pg_ctl's
// default "fast" mode: sessions are ended with 57P01, then a clean
// shutdown) and returns once it is down.
func (s *ownServer) stop() {
	s.t.Helper()
	if out, err := s.pgctl("-m", "fast", "stop"); err != nil {
		s.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (s *ownServer) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// lockedBuffer collects a command's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServerStopStartMidRun stops the PostgreSQL server (pg_ctl stop -m
// fast) while a postgres → postgres flow is loading, keeps it down for two
// seconds and starts it again: the host retries the failed calls until the
// server is back, and the flow completes with every row exactly once.
func TestServerStopStartMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("makes its own PostgreSQL cluster and runs a flow through the CLI")
	}
	srv := newOwnServer(t)
	bin := buildBinaries(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	connect := func() *pgx.Conn {
		conn, err := pgx.Connect(ctx, srv.dsn())
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	admin := connect()
	const rows = 400000
	for _, q := range []string{
		"CREATE TABLE src (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz)",
		fmt.Sprintf("INSERT INTO src SELECT i, md5(i::text), i / 100.0, '2026-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, %d) i", rows),
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	admin.Close(ctx)

	pipeline := fmt.Sprintf(`version: 1
sources:
  pg: {type: postgres, dsn: %[1]q, table: src, page_size: 2000, prefetch: false, connect_timeout: 2, application_name: sqlflow-restart-src, %[2]s}
destinations:
  out: {type: postgres, dsn: %[1]q, connect_timeout: 2, application_name: sqlflow-restart-dst, %[2]s}
flows:
  - {from: pg, to: out, target: dst, mode: replace}
`, srv.dsn(), `resilience: {retry: {max_attempts: 60, initial_delay: 0.1, max_delay: 0.5}, circuit_breaker: {failure_threshold: 1000}}`)
	p := filepath.Join(dir, "restart.yaml")
	if err := os.WriteFile(p, []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
		"--state-dir", filepath.Join(dir, "state"), "run", p)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Wait until the load is under way: the destination's ledger holds
	// a few batches.
	watch := connect()
	for loaded := 0; loaded < 5; {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before the server could be stopped mid-load; the test proves nothing\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		var n int
		if err := watch.QueryRow(ctx, "SELECT count(*) FROM public.sqlflow_batches").Scan(&n); err == nil {
			loaded = n
		}
	}
	watch.Close(ctx)
	srv.stop()
	t.Logf("server stopped mid-load")
	time.Sleep(2 * time.Second) // the outage itself: the server stays down this long
	srv.start()
	t.Logf("server started again")

	err := <-done
	t.Logf("host retries:\n%s", strings.Join(retries(out.String()), "\n"))
	if err != nil {
		t.Fatalf("the run failed across a server restart (the host must retry until it is back): %v\n%s", err, out.String())
	}
	if len(retries(out.String())) == 0 {
		t.Errorf("the host retried nothing: the restart did not hit the run; the test proves nothing\n%s", out.String())
	}
	check := connect()
	defer check.Close(context.Background())
	var n, diff int64
	if err := check.QueryRow(ctx, `SELECT (SELECT count(*) FROM dst),
	  (SELECT count(*) FROM ((SELECT * FROM src EXCEPT ALL SELECT * FROM dst) UNION ALL (SELECT * FROM dst EXCEPT ALL SELECT * FROM src)) d)`).Scan(&n, &diff); err != nil {
		t.Fatal(err)
	}
	if n != rows || diff != 0 {
		t.Errorf("dst holds %d rows (want %d), %d differ from src", n, rows, diff)
	}
}
