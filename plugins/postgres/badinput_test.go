package main_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestBadInputThroughCLI runs flows whose postgres source is wrong in one
// way each — a refused password, a missing database, a missing table, a
// query that does not parse — into a postgres table that already holds
// rows. Each run fails with one clear error, the host makes exactly one
// attempt (the errors are PERMANENT: no retry, although the policy allows
// five), the password appears nowhere, and the target is unchanged.
func TestBadInputThroughCLI(t *testing.T) {
	e := newFaultEnv(t)
	e.exec(t, "CREATE TABLE "+e.schema+".src (id bigint PRIMARY KEY, name text)")
	e.exec(t, "INSERT INTO "+e.schema+".src SELECT i, md5(i::text) FROM generate_series(1, 1000) i")
	e.exec(t, "CREATE TABLE "+e.schema+".dst (id bigint PRIMARY KEY, name text)")
	e.exec(t, "INSERT INTO "+e.schema+".dst SELECT i, 'old-'||i FROM generate_series(1, 10) i")
	snapshot := func() string {
		var s string
		q := "SELECT count(*)::text || ':' || coalesce(md5(string_agg(id::text || name, ',' ORDER BY id)), '') FROM " + e.schema + ".dst"
		if err := e.conn.QueryRow(context.Background(), q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()

	fake := testenv.NewPasswordServer(t)
	fh, fp, _ := net.SplitHostPort(fake.Addr)
	secret := "pw-" + randHex()
	const policy = `resilience: {retry: {max_attempts: 5, initial_delay: 0.05, max_delay: 0.2}}`
	cases := []struct {
		name   string
		source string // the source's keys, without braces
		want   []string
	}{
		{"wrong password",
			fmt.Sprintf(`host: %s, port: %s, username: app, password: "${BAD_PG_PASSWORD}", database: shop, sslmode: disable, table: src`, fh, fp),
			[]string{"password authentication failed", `"app"`}},
		{"missing database",
			fmt.Sprintf(`dsn: %q, database: no_such_db_%s, table: src`, e.dsn, randHex()),
			[]string{"no_such_db_", "does not exist"}},
		{"missing table",
			fmt.Sprintf(`dsn: %q, schema: %s, table: no_such_table`, e.dsn, e.schema),
			[]string{`no table or view "no_such_table"`, e.schema}},
		{"bad query",
			fmt.Sprintf(`dsn: %q, schema: %s, query: "SELEC id FROM src"`, e.dsn, e.schema),
			[]string{"syntax error", "SELEC"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pipeline := fmt.Sprintf(`version: 1
sources:
  pg: {type: postgres, %s, %s}
destinations:
  out: {type: postgres, dsn: %q, schema: %s}
flows:
  - {from: pg, to: out, target: dst, mode: replace}
`, tc.source, policy, e.dsn, e.schema)
			p := filepath.Join(e.dir, "bad.yaml")
			if err := os.WriteFile(p, []byte(pipeline), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "sqlflow-host"), "--log-level", "debug",
				"--plugins-dir", filepath.Join(e.bin, "plugins"), "--state-dir", filepath.Join(e.dir, "state"), "run", p)
			cmd.Dir = e.dir
			cmd.Env = append(os.Environ(), "BAD_PG_PASSWORD="+secret)
			connsBefore := fake.Connections()
			outb, err := cmd.CombinedOutput()
			out := string(outb)
			if err == nil {
				t.Fatalf("the run succeeded\n%s", out)
			}
			var errLine string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "error:") {
					errLine = l
				}
			}
			t.Logf("%s", errLine)
			for _, w := range tc.want {
				if !strings.Contains(errLine, w) {
					t.Errorf("the error does not say %q:\n%s", w, errLine)
				}
			}
			if strings.Contains(out, secret) {
				t.Errorf("the password appears in the output:\n%s", out)
			}
			if r := retries(out); len(r) > 0 {
				t.Errorf("the host retried a PERMANENT error:\n%s", strings.Join(r, "\n"))
			}
			attempts := testenv.AttemptLine.FindAllStringSubmatch(out, -1)
			if len(attempts) != 1 {
				t.Errorf("%d failed attempts logged, want exactly 1:\n%s", len(attempts), out)
			} else if a := attempts[0]; a[2] != "1" || a[3] != "5" || a[4] != "PERMANENT" {
				t.Errorf("failed attempt %q, want attempt 1/5 failed (PERMANENT)", a[0])
			}
			if tc.name == "wrong password" {
				if n := fake.Connections() - connsBefore; n != 1 {
					t.Errorf("the server saw %d connection attempts, want 1", n)
				}
			}
			if got := snapshot(); got != before {
				t.Errorf("the target changed: %s, was %s", got, before)
			}
		})
	}
}
