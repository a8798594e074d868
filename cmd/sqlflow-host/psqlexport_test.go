package main

// The psql export of issue 17: a table written out by psql's own
// `\copy ... csv header` loads back with csv → postgres, exactly, into the
// existing typed table and into a new one.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestPsqlExportLoadsBack exports a typed table (bigint, int, float8,
// numeric(12,2), text, timestamptz, bool, a nullable bigint) with psql's
// `\copy (...) to FILE csv header`, then runs csv → postgres:
//
//   - into a table created `(like perf_rows)`: every row equal to the
//     original (EXCEPT ALL both ways is empty), the table's types kept;
//   - into a new table: timestamptz, boolean and numeric columns (the
//     amount column as numeric(12,2) when the source declares it
//     decimal(12,2), and as an exact numeric(p,2) when inferred), every
//     value equal;
//
// and runs each flow a second time (replace), with the same result.
func TestPsqlExportLoadsBack(t *testing.T) {
	havePlugin(t, "csv")
	havePlugin(t, "postgres")
	dsn := testenv.Postgres(t)
	psql, err := exec.LookPath("psql")
	if err != nil {
		testenv.Require(t, "SQLFLOW_TEST_PSQL_UNAVAILABLE", "psql on PATH (the PostgreSQL client)")
		return
	}
	b := make([]byte, 4)
	rand.Read(b)
	schema := "px_" + hex.EncodeToString(b)
	pgExec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, dsn, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	pgExec(t, dsn, `SET search_path TO `+schema+`;
CREATE TABLE perf_rows (id bigint PRIMARY KEY, n int, f float8, amount numeric(12,2), s text, ts timestamptz, b bool, opt bigint);
INSERT INTO perf_rows
SELECT g, (g * 7919) % 100000 - 50000, g * 1.25 / 3, round(((g * 104729) % 10000000 - 5000000) / 100.0, 2),
       CASE g % 4 WHEN 0 THEN 'plain ' || g WHEN 1 THEN 'comma, "quote" ' || g WHEN 2 THEN 'line' || chr(10) || 'break' ELSE 'ünïcødé ' || g END,
       timestamptz '2026-12-07 01:36:12.123456+00' + g * interval '1 second 1 microsecond',
       g % 3 = 0,
       CASE WHEN g % 10 = 0 THEN NULL ELSE g * 1000003 END
FROM generate_series(1, 2000) g;
CREATE TABLE existing_rows (LIKE perf_rows INCLUDING ALL);`)

	dir := testenv.SafeDir(t)
	export := filepath.Join(dir, "perf_rows.csv")
	cmd := exec.Command(psql, dsn, "-v", "ON_ERROR_STOP=1", "-c",
		`\copy (SELECT * FROM `+schema+`.perf_rows ORDER BY id) TO '`+export+`' csv header`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql export: %v\n%s", err, out)
	}
	if head := strings.SplitN(string(mustRead(t, export)), "\n", 3); !strings.Contains(head[1], "+00") || !strings.Contains(head[1], ",f,") {
		t.Fatalf("the export is not in psql's form (+00 offsets, t/f): %q", head[1])
	}

	p := write(t, dir, "pipeline.yaml", `version: 1
sources:
  export: {type: csv, path: perf_rows.csv}
  declared: {type: csv, path: perf_rows.csv, columns: {amount: "decimal(12,2)"}}
destinations:
  pg: {type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", schema: `+schema+`}
flows:
  - {name: existing, from: export, to: pg, target: existing_rows, mode: replace}
  - {name: inferred, from: export, to: pg, target: inferred_rows, mode: replace}
  - {name: declared, from: declared, to: pg, target: declared_rows, mode: replace}
`)
	t.Setenv("SQLFLOW_TEST_POSTGRES", dsn)
	for run := 1; run <= 2; run++ {
		r := cli(t, "run", p)
		expect(t, r, 0)
		for _, table := range []string{"existing_rows", "inferred_rows", "declared_rows"} {
			if diff := pgQueryOne(t, dsn, `SELECT count(*)::text FROM (
				(SELECT id, n, f, amount, s, ts, b, opt FROM `+schema+`.perf_rows EXCEPT ALL SELECT id, n, f, amount, s, ts, b, opt FROM `+schema+`.`+table+`)
				UNION ALL
				(SELECT id, n, f, amount, s, ts, b, opt FROM `+schema+`.`+table+` EXCEPT ALL SELECT id, n, f, amount, s, ts, b, opt FROM `+schema+`.perf_rows)) d`); diff != "0" {
				t.Fatalf("run %d: %s differs from perf_rows in %s rows", run, table, diff)
			}
		}
	}
	types := func(table string) string {
		return pgQueryOne(t, dsn, `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
			FROM pg_attribute WHERE attrelid = '`+schema+`.`+table+`'::regclass AND attnum > 0 AND NOT attisdropped`)
	}
	if got, want := types("existing_rows"), types("perf_rows"); got != want {
		t.Errorf("existing_rows changed its types: %s, was %s", got, want)
	}
	declared := types("declared_rows")
	for _, want := range []string{"amount numeric(12,2)", "ts timestamp with time zone", "b boolean", "f double precision"} {
		if !strings.Contains(declared, want) {
			t.Errorf("declared_rows: want %s, got %s", want, declared)
		}
	}
	inferred := types("inferred_rows")
	for _, want := range []string{",2)", "ts timestamp with time zone", "b boolean"} {
		if !strings.Contains(inferred, want) {
			t.Errorf("inferred_rows: want %s, got %s", want, inferred)
		}
	}
}

// pgQueryOne returns the one text value a query returns.
func pgQueryOne(t *testing.T, dsn, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}
