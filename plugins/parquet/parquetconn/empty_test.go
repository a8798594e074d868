package parquetconn_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// discoverSchema is the schema the parquet source reads from path.
func discoverSchema(t *testing.T, path string) *arrow.Schema {
	t.Helper()
	streams, err := pq(t, map[string]any{"path": path}).Discover(context.Background())
	if err != nil {
		t.Fatalf("Discover(%s): %v", path, err)
	}
	return streams[0].Schema
}

// A replace without a schema (an empty stream whose columns are unknown)
// makes the target a Parquet file of its old schema and no rows, and drops
// the files appends put beside it; the commit is idempotent, also in a new
// process; an abort leaves the target as it was.
func TestReplaceWithoutSchemaKeepsTheSchema(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeNumbers(t, dir, "t", 0, 4, 100, sdk.ModeAppend, "w1")
	writeNumbers(t, dir, "t", 10, 3, 100, sdk.ModeAppend, "w2")
	target := filepath.Join(dir, "t.parquet")
	want := discoverSchema(t, target)
	cfg := map[string]any{"path": dir}

	// An aborted one first: nothing changes.
	c := pq(t, cfg)
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w-abort", Flow: "f", Target: "t", Mode: sdk.ModeReplace}); err != nil {
		t.Fatalf("BeginWrite without a schema: %v", err)
	}
	if err := c.AbortWrite(ctx, "w-abort"); err != nil {
		t.Fatal(err)
	}
	glob := filepath.Join(dir, "t*.parquet")
	if n := total(readAll(t, pq(t, map[string]any{"path": glob}), sdk.ReadRequest{Stream: "t"})).Rows; n != 7 {
		t.Fatalf("after an aborted replace the data set holds %d rows, want 7", n)
	}

	wr := sdk.WriteRequest{WriteID: "w-empty", Flow: "f", Target: "t", Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, wr); err != nil {
		t.Fatalf("BeginWrite without a schema: %v", err)
	}
	c2 := pq(t, cfg) // the commit comes to a restarted plugin
	if err := c2.BeginWrite(ctx, wr); err != nil {
		t.Fatalf("BeginWrite again in a new process: %v", err)
	}
	if err := c2.CommitWrite(ctx, wr.WriteID, nil); err != nil {
		t.Fatalf("CommitWrite: %v", err)
	}
	for i, again := range []connector{c2, pq(t, cfg)} {
		if err := again.CommitWrite(ctx, wr.WriteID, nil); err != nil {
			t.Fatalf("repeated CommitWrite %d: %v", i+1, err)
		}
	}
	if files := visible(t, dir); fmt.Sprint(files) != "[t.parquet]" {
		t.Fatalf("files after the empty replace: %v", files)
	}
	if got := discoverSchema(t, target); !got.Equal(want) {
		t.Fatalf("schema after the empty replace:\n%s\nwant\n%s", got, want)
	}
	if n := total(readAll(t, pq(t, map[string]any{"path": target}), sdk.ReadRequest{Stream: "t"})).Rows; n != 0 {
		t.Fatalf("the emptied target holds %d rows", n)
	}
	if rep := c2.(sdk.CommitReporter).CommitReport(wr.WriteID); rep["rows"] != "0" || rep["location"] != target {
		t.Fatalf("report %v", rep)
	}

	// The emptied target keeps its columns for the next empty replace, and
	// takes rows again.
	if err := c2.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w-empty-2", Flow: "f", Target: "t", Mode: sdk.ModeReplace}); err != nil {
		t.Fatalf("BeginWrite without a schema on the emptied target: %v", err)
	}
	if err := c2.CommitWrite(ctx, "w-empty-2", nil); err != nil {
		t.Fatal(err)
	}
	if got := discoverSchema(t, target); !got.Equal(want) {
		t.Fatalf("schema after a second empty replace: %s", got)
	}
	writeNumbers(t, dir, "t", 50, 2, 100, sdk.ModeAppend, "w3")
	if n := total(readAll(t, pq(t, map[string]any{"path": glob}), sdk.ReadRequest{Stream: "t"})).Rows; n != 2 {
		t.Fatalf("rows appended to the emptied target: %d, want 2", n)
	}
}

// When only files appended beside the target are left (the target file
// was removed), a replace without a schema takes their schema.
func TestReplaceWithoutSchemaOnlyAppendedFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeNumbers(t, dir, "t", 0, 4, 100, sdk.ModeAppend, "w1")
	writeNumbers(t, dir, "t", 10, 3, 100, sdk.ModeAppend, "w2")
	target := filepath.Join(dir, "t.parquet")
	want := discoverSchema(t, target)
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	c := pq(t, map[string]any{"path": dir})
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Mode: sdk.ModeReplace}); err != nil {
		t.Fatalf("BeginWrite without a schema: %v", err)
	}
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	if files := visible(t, dir); fmt.Sprint(files) != "[t.parquet]" {
		t.Fatalf("files: %v", files)
	}
	if got := discoverSchema(t, target); !got.Equal(want) {
		t.Fatalf("schema %s, want %s", got, want)
	}
}

// A replace without a schema into a target that does not exist fails
// PERMANENT, saying so, and creates nothing, not even the directory.
func TestReplaceWithoutSchemaNoTarget(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, target string
	}{
		{"directory", filepath.Join(dir, "out"), "t"},
		{"single file", filepath.Join(dir, "one.parquet"), ""},
		{"directory that exists", dir, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pq(t, map[string]any{"path": tt.path})
			err := c.BeginWrite(context.Background(), sdk.WriteRequest{WriteID: "w", Flow: "f", Target: tt.target, Mode: sdk.ModeReplace})
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "no schema") {
				t.Fatalf("BeginWrite = %v; want PERMANENT: the target does not exist and no schema is known", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("the failed BeginWrite left %s", entries[0].Name())
			}
		})
	}
}

// An append without a schema commits without touching the target.
func TestAppendWithoutSchemaChangesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeNumbers(t, dir, "t", 0, 4, 100, sdk.ModeAppend, "w1")
	c := pq(t, map[string]any{"path": dir})
	for _, name := range []string{"t", "missing"} {
		wr := sdk.WriteRequest{WriteID: "w-" + name, Flow: "f-" + name, Target: name, Mode: sdk.ModeAppend}
		if err := c.BeginWrite(ctx, wr); err != nil {
			t.Fatalf("BeginWrite(%s): %v", name, err)
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil))
		b.Field(0).(*array.Int64Builder).Append(1)
		rec := b.NewRecordBatch()
		b.Release()
		err := c.WriteBatch(ctx, wr.WriteID, 1, rec)
		rec.Release()
		if errclass.Of(err) != errclass.Permanent {
			t.Fatalf("WriteBatch into a write without a schema: %v; want PERMANENT", err)
		}
		if err := c.CommitWrite(ctx, wr.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s): %v", name, err)
		}
		if err := pq(t, map[string]any{"path": dir}).CommitWrite(ctx, wr.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s) repeated in a new process: %v", name, err)
		}
	}
	if files := visible(t, dir); fmt.Sprint(files) != "[t.parquet]" {
		t.Fatalf("files: %v", files)
	}
	if n := total(readAll(t, pq(t, map[string]any{"path": filepath.Join(dir, "t.parquet")}), sdk.ReadRequest{Stream: "t"})).Rows; n != 4 {
		t.Fatalf("target holds %d rows, want 4", n)
	}
}
