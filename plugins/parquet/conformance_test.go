package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled
// parquet plugin. The destination's file is read back with pqarrow.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	bin := sdktest.BuildPlugin(t, ".")
	in := t.TempDir()
	out := t.TempDir()
	writeFixture(t, filepath.Join(in, "people.parquet"), 300, 0, 64)
	writeFixture(t, filepath.Join(in, "big.parquet"), 2000, 4096, 500)

	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "no path", Config: json.RawMessage(`{}`), Field: "path"},
			{Name: "empty path", Config: json.RawMessage(`{"path": ""}`), Field: "path"},
			{Name: "columns not a list", Config: json.RawMessage(`{"path": "x.parquet", "columns": "id"}`), Field: "columns"},
			{Name: "unknown compression", Config: json.RawMessage(`{"path": "x.parquet", "compression": "rar"}`), Field: "compression"},
			{Name: "row_group_size zero", Config: json.RawMessage(`{"path": "x.parquet", "row_group_size": 0}`), Field: "row_group_size"},
		},
		Source: &sdktest.SourceConfig{
			Config:      mustJSON(t, map[string]any{"path": filepath.Join(in, "people.parquet")}),
			Stream:      "people",
			MaxRows:     13,
			LargeStream: &sdktest.LargeStreamConfig{Config: mustJSON(t, map[string]any{"path": filepath.Join(in, "big.parquet")}), Stream: "big"},
		},
		Destination: &sdktest.DestinationConfig{
			Config:        mustJSON(t, map[string]any{"path": out}),
			Target:        "result",
			MissingTarget: "never_written",
			ReadTarget: func(ctx context.Context, _ *arrow.Schema) (rowhash.Sum, error) {
				return readParquet(ctx, filepath.Join(out, "result.parquet"))
			},
		},
	})
}

// writeFixture writes rows rows (id, name with nulls, score with nulls, at)
// in row groups of groupRows; strLen > 0 pads names to that many bytes.
func writeFixture(t *testing.T, path string, rows, strLen, groupRows int) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	base := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%6 == 0 && strLen == 0 {
			b.Field(1).AppendNull()
		} else {
			s := fmt.Sprintf("person %d", i)
			if strLen > len(s) {
				s += strings.Repeat("x", strLen-len(s))
			}
			b.Field(1).(*array.StringBuilder).Append(s)
		}
		if i%5 == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float64Builder).Append(float64(i) * 0.5)
		}
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(i) * time.Minute).UnixMicro()))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f,
		parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(groupRows))),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readParquet sums the rows of a parquet file; a missing file holds none.
func readParquet(ctx context.Context, path string) (rowhash.Sum, error) {
	var sum rowhash.Sum
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return sum, nil
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return sum, fmt.Errorf("open %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		sum.Add(rr.RecordBatch())
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return sum, fmt.Errorf("read %s: %w", path, err)
	}
	return sum, nil
}
