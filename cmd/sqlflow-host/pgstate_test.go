package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// pgCount returns the rows of table in the test database.
func pgCount(t *testing.T, dsn, table string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A destination that commits the cursor with the data (postgres) is the
// authority: deleting the state directory, running from another working
// directory or putting back an old copy of the state cannot make a run
// read rows again, and state reset clears the destination's copy too.
func TestPostgresStoredCursorIsTheAuthority(t *testing.T) {
	havePlugin(t, "postgres")
	dsn := testenv.Postgres(t)
	t.Setenv("SQLFLOW_PGSTATE_DSN", dsn)
	table := fmt.Sprintf("st_%d", time.Now().UnixNano())
	dir := t.TempDir()
	write(t, dir, "events.csv", "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n")
	p := write(t, dir, "pipeline.yaml", `version: 1
sources:
  src: {type: csv, path: events.csv}
destinations:
  pg: {type: postgres, dsn: "${SQLFLOW_PGSTATE_DSN}"}
flows:
  - {name: load, from: src, to: pg, target: `+table+`, incremental: {cursor: id}}
`)
	stateDir := filepath.Join(dir, ".sqlflow")
	r := cli(t, "run", p)
	expect(t, r, 0)
	if got := flowRows(t, r, "load"); got != "5" || pgCount(t, dsn, table) != 5 {
		t.Fatalf("first run: %s rows read, %d in the table", got, pgCount(t, dsn, table))
	}
	old := mustRead(t, filepath.Join(stateDir, "state", "pipeline", "load.json"))

	// No state directory, another working directory: nothing is read again.
	if err := os.RemoveAll(stateDir); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	r = cli(t, "run", p)
	expect(t, r, 0)
	if got := flowRows(t, r, "load"); got != "0" || pgCount(t, dsn, table) != 5 {
		t.Fatalf("without the state directory: %s rows read, %d in the table\n%s", got, pgCount(t, dsn, table), r)
	}

	// New rows, then an old copy of the state put back: the destination's
	// cursor wins.
	write(t, dir, "events.csv", "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n6,f\n7,g\n")
	expect(t, cli(t, "run", p), 0)
	if pgCount(t, dsn, table) != 7 {
		t.Fatalf("after new rows: %d in the table", pgCount(t, dsn, table))
	}
	write(t, dir, ".sqlflow/state/pipeline/load.json", old)
	r = cli(t, "run", p)
	expect(t, r, 0)
	if got := flowRows(t, r, "load"); got != "0" || pgCount(t, dsn, table) != 7 {
		t.Fatalf("with an old state file: %s rows read, %d in the table\n%s", got, pgCount(t, dsn, table), r)
	}
	r = cli(t, "state", "show", p, "load")
	expect(t, r, 0, `committed in destination pg (the authority)`, `"cursor": 7`)
	expect(t, cli(t, "state", "list", p), 0, "destination pg")

	// reset forgets both copies: the next run reads (and appends) all 7.
	r = cli(t, "state", "reset", p, "load")
	expect(t, r, 0, "removed state file", `removed the cursor destination "pg" stores`)
	r = cli(t, "run", p)
	expect(t, r, 0)
	if got := flowRows(t, r, "load"); got != "7" || pgCount(t, dsn, table) != 14 {
		t.Fatalf("after reset: %s rows read, %d in the table", got, pgCount(t, dsn, table))
	}
	if strings.Contains(r.String(), dsn) {
		t.Fatal("the DSN reached the output")
	}
}
