package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestPsqlExportToParquetKeepsDecimalsAndTimestamps runs csv → parquet on
// what psql's \copy ... csv header (null '\N') writes and reads the
// Parquet file back: numeric(12,2) arrives as decimal128, exact;
// timestamptz as a timestamp; t/f as bools; \N as nulls.
func TestPsqlExportToParquetKeepsDecimalsAndTimestamps(t *testing.T) {
	havePlugin(t, "csv")
	havePlugin(t, "parquet")
	dir := t.TempDir()
	write(t, dir, "export.csv", "id,amount,ts,b,opt\n"+
		"1,12.50,2026-12-07 01:36:12.123456+00,t,\\N\n"+
		"2,-0.10,2026-12-07 07:06:12+05:30,f,42\n"+
		"3,1234567890.01,2026-12-08 00:00:00+00,t,\\N\n")
	p := write(t, dir, "pipeline.yaml", `version: 1
name: types
sources:
  export:
    type: csv
    path: export.csv
    null_values: ['\N', '']
destinations:
  lake:
    type: parquet
    path: out
flows:
  - name: export_to_parquet
    from: export
    to: lake
    target: export.parquet
    mode: replace
`)
	expect(t, cli(t, "run", p), 0, "3 rows")

	rdr, err := file.OpenParquetFile(filepath.Join(dir, "out", "export.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if got := tbl.Schema().Field(1).Type; !arrow.TypeEqual(got, &arrow.Decimal128Type{Precision: 38, Scale: 2}) {
		t.Fatalf("amount is %s in Parquet, want decimal(38, 2)", got)
	}
	amount := tbl.Column(1).Data().Chunk(0).(*array.Decimal128)
	for i, w := range []string{"12.50", "-0.10", "1234567890.01"} {
		if got := amount.Value(i).ToString(2); got != w {
			t.Errorf("amount[%d] = %s, want %s", i, got, w)
		}
	}
	ts, ok := tbl.Column(2).Data().Chunk(0).(*array.Timestamp)
	if !ok {
		t.Fatalf("ts is %s in Parquet, want a timestamp", tbl.Schema().Field(2).Type)
	}
	unit := tbl.Schema().Field(2).Type.(*arrow.TimestampType).Unit
	if got := ts.Value(0).ToTime(unit).UTC(); !got.Equal(time.Date(2026, 12, 7, 1, 36, 12, 123456000, time.UTC)) {
		t.Errorf("ts[0] = %s", got)
	}
	b := tbl.Column(3).Data().Chunk(0).(*array.Boolean)
	if !b.Value(0) || b.Value(1) {
		t.Errorf("b = %v", b)
	}
	opt := tbl.Column(4).Data().Chunk(0)
	if !opt.IsNull(0) || opt.IsNull(1) || !opt.IsNull(2) {
		t.Errorf("opt = %v, want [null 42 null]", opt)
	}
}

// psqlExport is what psql's \copy (select ...) to 'export.csv' csv header
// null '\N' writes for a table of bigint, int, float8, numeric(12,2),
// text, timestamptz, bool and a nullable bigint.
const psqlExport = `id,n,x,amount,name,ts,b,opt
1,10,1.5,12.50,alice,2026-12-07 01:36:12.123456+00,t,\N
2,-3,2.25,-0.10,"bob, jr",2026-12-07 01:36:13+00,f,42
3,7,0.001,99999.00,\N,2026-12-08 09:00:00.5+05:30,t,\N
`

// TestPsqlExportToPostgresKeepsTypes is issue 17's round trip: a psql csv
// export loaded with csv → postgres gets numeric, timestamptz and boolean
// columns, not double precision and text, with the exact values.
func TestPsqlExportToPostgresKeepsTypes(t *testing.T) {
	dsn := testenv.Postgres(t)
	havePlugin(t, "csv")
	havePlugin(t, "postgres")
	var b [4]byte
	rand.Read(b[:])
	schema := "sqlflow_types_" + hex.EncodeToString(b[:])
	pgExec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	dir := t.TempDir()
	write(t, dir, "export.csv", psqlExport)
	p := write(t, dir, "pipeline.yaml", `version: 1
name: types_pg
sources:
  export:
    type: csv
    path: export.csv
    null_values: ['\N', '']
destinations:
  db:
    type: postgres
    dsn: "${SQLFLOW_TEST_POSTGRES}"
    schema: `+schema+`
flows:
  - name: export_to_pg
    from: export
    to: db
    target: export
    mode: replace
`)
	expect(t, cli(t, "run", p), 0, "3 rows")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT column_name || ' ' || data_type FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'export' ORDER BY ordinal_position`, schema)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := "id bigint, n bigint, x double precision, amount numeric, name text, ts timestamp with time zone, b boolean, opt bigint"
	if got := strings.Join(cols, ", "); got != want {
		t.Errorf("columns\n got %s\nwant %s", got, want)
	}
	rows, err = conn.Query(ctx, `SELECT concat_ws('|', id, amount, coalesce(name, 'NULL'), to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), b, coalesce(opt::text, 'NULL'))
		FROM `+schema+`.export ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	wantRows := "1|12.50|alice|2026-12-07 01:36:12.123456|t|NULL\n" +
		"2|-0.10|bob, jr|2026-12-07 01:36:13.000000|f|42\n" +
		"3|99999.00|NULL|2026-12-08 03:30:00.500000|t|NULL"
	if strings.Join(got, "\n") != wantRows {
		t.Errorf("rows\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), wantRows)
	}
}
