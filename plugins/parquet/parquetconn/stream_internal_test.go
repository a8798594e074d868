package parquetconn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
)

// A row group closes once the Arrow bytes written into it pass
// RowGroupBytes, before its row bound, and the file never ends with an
// empty row group.
func TestRowGroupByteBound(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "text", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	batch := func(from int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for i := range int64(100) {
			b.Field(0).(*array.Int64Builder).Append(from + i)
			b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", 100))
		}
		return b.NewRecordBatch()
	}
	probe := batch(0)
	per := arrowipc.BufferSize(probe)
	probe.Release()
	const bound = 64 << 10
	perGroup := (bound + per - 1) / per // batches until the bound is passed
	tests := []struct {
		name    string
		batches int64
	}{
		{"ends inside a group", 3*perGroup + 2},
		{"ends on a group's close", 2 * perGroup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := newStream(dir, schema, config{Compression: compress.Codecs.Snappy, RowGroupSize: 1_000_000, RowGroupBytes: bound})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.batches {
				rec := batch(i * 100)
				err := s.write(rec)
				rec.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			rows, err := s.finish()
			if err != nil {
				t.Fatal(err)
			}
			if rows != tt.batches*100 {
				t.Fatalf("finish reports %d rows; want %d", rows, tt.batches*100)
			}
			var want []int64
			for left := tt.batches; left > 0; left -= perGroup {
				want = append(want, min(left, perGroup)*100)
			}
			r, err := file.OpenParquetFile(s.path, false)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var got []int64
			for i := range r.NumRowGroups() {
				got = append(got, r.MetaData().RowGroup(i).NumRows())
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("row groups %v; want %v (batches of %d Arrow bytes, bound %d)", got, want, per, bound)
			}
		})
	}
}

// When a batch fills a row group to its row bound exactly, the next batch
// starts a new group whose byte count starts from zero: the row bound, hit
// first, decides every group.
func TestRowGroupRowBoundResetsByteCount(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	batch := func(from int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for i := range int64(1000) {
			b.Field(0).(*array.Int64Builder).Append(from + i)
		}
		return b.NewRecordBatch()
	}
	probe := batch(0)
	per := arrowipc.BufferSize(probe)
	probe.Release()
	// Three batches fill a row group's rows; the byte bound is three and a
	// half batches.
	s, err := newStream(t.TempDir(), schema, config{Compression: compress.Codecs.Snappy, RowGroupSize: 3000, RowGroupBytes: per * 7 / 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(9) {
		rec := batch(i * 1000)
		err := s.write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.finish(); err != nil {
		t.Fatal(err)
	}
	r, err := file.OpenParquetFile(s.path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []int64
	for i := range r.NumRowGroups() {
		got = append(got, r.MetaData().RowGroup(i).NumRows())
	}
	if fmt.Sprint(got) != "[3000 3000 3000]" {
		t.Fatalf("row groups %v; want [3000 3000 3000]", got)
	}
}
