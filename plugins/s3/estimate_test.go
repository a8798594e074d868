package main_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
)

// TestEstimatedRows: Discover estimates a stream's rows for the host's
// progress view (an ETA) from what it already read for the schema: the
// sampled csv rows or jsonl lines per byte, or the first parquet object's
// rows per byte, times the objects' total size
func TestEstimatedRows(t *testing.T) {
	srv := newServer(t)
	var csvA, csvB, jsonl strings.Builder
	csvA.WriteString("id,name\n")
	csvB.WriteString("id,name\n")
	for i := range 3000 {
		fmt.Fprintf(&csvA, "%d,name %d\n", i, i)
		fmt.Fprintf(&csvB, "%d,other name %d\n", i+3000, i)
		fmt.Fprintf(&jsonl, "{\"id\": %d, \"name\": \"name %d\"}\n", i, i)
	}
	srv.put(t, "csv/a.csv", []byte(csvA.String()))
	srv.put(t, "csv/b.csv", []byte(csvB.String()))
	srv.put(t, "jsonl/a.jsonl", []byte(jsonl.String()))
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "score", Type: arrow.PrimitiveTypes.Float64}}, nil)
	var pq bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &pq, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	rec := batch(schema, 0, 2500)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	srv.put(t, "pq/a.parquet", pq.Bytes())

	for _, tc := range []struct {
		prefix   string
		min, max int64
	}{
		{"csv/", 3000, 12000}, // 6000 rows, within a factor of 2
		{"jsonl/", 1500, 6000},
		{"pq/", 2500, 2500},
	} {
		c := s3conn.New(nil)
		if fe, err := c.Configure(context.Background(), srv.config(t, map[string]any{"path_prefix": tc.prefix})); err != nil || len(fe) > 0 {
			t.Fatalf("%s: Configure: %v %v", tc.prefix, fe, err)
		}
		streams, err := c.Discover(context.Background())
		if err != nil || len(streams) != 1 {
			t.Fatalf("%s: Discover: %v %v", tc.prefix, streams, err)
		}
		if got := streams[0].EstimatedRows; got < tc.min || got > tc.max {
			t.Errorf("%s: estimate %d, want %d to %d", tc.prefix, got, tc.min, tc.max)
		}
	}
}
