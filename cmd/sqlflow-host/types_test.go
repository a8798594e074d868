package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
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
	expect(t, cli(t, "run", p), 0, "rows=3")

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
