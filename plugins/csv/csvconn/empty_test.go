package csvconn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// A replace without a schema (an empty stream whose columns are unknown)
// empties the target and keeps its header; it commits idempotently, also
// in a new process, and an abort leaves the target as it was.
func TestReplaceWithoutSchemaKeepsTheHeader(t *testing.T) {
	tests := []struct {
		name     string
		cfg      map[string]any
		existing string
		want     string
	}{
		{"header and rows", nil, "id,name\n1,a\n2,b\n", "id,name\n"},
		{"quoted header", nil, "\"id,x\",name\n1,a\n", "\"id,x\",name\n"},
		{"header only", nil, "id,name\n", "id,name\n"},
		{"semicolons", map[string]any{"delimiter": ";"}, "id;name\n1;a\n", "id;name\n"},
		{"no header", map[string]any{"has_header": false}, "1,a\n2,b\n", ""},
		{"empty file", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			target := writeFile(t, dir, "t.csv", tt.existing)
			cfg := map[string]any{"path": dir}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			c := configured(t, cfg)
			wr := sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "t", Mode: sdk.ModeReplace}
			if err := c.BeginWrite(ctx, wr); err != nil {
				t.Fatalf("BeginWrite without a schema: %v", err)
			}
			if got := readFile(t, target); got != tt.existing {
				t.Fatalf("target changed before the commit: %q", got)
			}
			// The commit happens in a new process (a restart after BeginWrite).
			c2 := configured(t, cfg)
			if err := c2.BeginWrite(ctx, wr); err != nil {
				t.Fatalf("BeginWrite again in a new process: %v", err)
			}
			if err := c2.CommitWrite(ctx, "w1", nil); err != nil {
				t.Fatalf("CommitWrite: %v", err)
			}
			if got := readFile(t, target); got != tt.want {
				t.Fatalf("target = %q, want %q", got, tt.want)
			}
			if err := c2.CommitWrite(ctx, "w1", nil); err != nil {
				t.Fatalf("repeated CommitWrite: %v", err)
			}
			if err := configured(t, cfg).CommitWrite(ctx, "w1", nil); err != nil {
				t.Fatalf("repeated CommitWrite in a new process: %v", err)
			}
			if got := readFile(t, target); got != tt.want {
				t.Fatalf("target after repeated commits = %q, want %q", got, tt.want)
			}
			if got := visible(t, dir); strings.Join(got, ",") != "t.csv" {
				t.Fatalf("files = %v", got)
			}

			// The emptied target can be emptied again, and aborting such a
			// write leaves it alone.
			if err := c2.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w2", Flow: "f", Target: "t", Mode: sdk.ModeReplace}); err != nil {
				t.Fatalf("BeginWrite without a schema on the emptied target: %v", err)
			}
			if err := c2.AbortWrite(ctx, "w2"); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, target); got != tt.want {
				t.Fatalf("target after abort = %q, want %q", got, tt.want)
			}
		})
	}
}

// A header-only file written by a replace without a schema reads back as
// the same columns and no rows.
func TestReplaceWithoutSchemaReadsBack(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	target := writeFile(t, dir, "orders.csv", ordersCSV)
	c := configured(t, map[string]any{"path": dir})
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "orders", Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	back := configured(t, map[string]any{"path": target})
	streams, err := back.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range streams[0].Schema.Fields() {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "id,amount,paid,day,at,note" {
		t.Fatalf("columns read back: %s", got)
	}
	if got := total(readAll(t, back, sdk.ReadRequest{Stream: "orders"})); got.Rows != 0 {
		t.Fatalf("read back %d rows", got.Rows)
	}
}

// A replace without a schema into a target that does not exist fails
// PERMANENT, saying so, and creates nothing: no file, no staging, not even
// the directory.
func TestReplaceWithoutSchemaNoTarget(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, target string
	}{
		{"directory", filepath.Join(dir, "out"), "t"},
		{"single file", filepath.Join(dir, "one.csv"), ""},
		{"directory that exists", dir, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, map[string]any{"path": tt.path})
			err := c.BeginWrite(context.Background(), sdk.WriteRequest{WriteID: "w", Flow: "f", Target: tt.target, Mode: sdk.ModeReplace})
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "no schema") {
				t.Fatalf("BeginWrite = %v; want PERMANENT: the target does not exist and no schema is known", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Fatalf("the failed BeginWrite left %s", entries[0].Name())
			}
			if err := c.AbortWrite(context.Background(), "w"); err != nil {
				t.Fatalf("AbortWrite after the failed BeginWrite: %v", err)
			}
		})
	}
}

// An append without a schema (the host does not send one, but it must not
// fail) commits without touching the target, existing or not.
func TestAppendWithoutSchemaChangesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	target := writeFile(t, dir, "t.csv", "id,name\n1,a\n")
	c := configured(t, map[string]any{"path": dir})
	for _, name := range []string{"t", "missing"} {
		wr := sdk.WriteRequest{WriteID: "w-" + name, Flow: "f-" + name, Target: name, Mode: sdk.ModeAppend}
		if err := c.BeginWrite(ctx, wr); err != nil {
			t.Fatalf("BeginWrite(%s): %v", name, err)
		}
		if err := c.WriteBatch(ctx, wr.WriteID, 1, people(t, 2, "b")); errclass.Of(err) != errclass.Permanent {
			t.Fatalf("WriteBatch into a write without a schema: %v; want PERMANENT", err)
		}
		if err := c.CommitWrite(ctx, wr.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s): %v", name, err)
		}
		if err := configured(t, map[string]any{"path": dir}).CommitWrite(ctx, wr.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s) repeated in a new process: %v", name, err)
		}
		if rep := c.CommitReport(wr.WriteID); rep != nil {
			t.Fatalf("report of a write that changed nothing: %v", rep)
		}
	}
	if got := readFile(t, target); got != "id,name\n1,a\n" {
		t.Fatalf("target = %q", got)
	}
	if got := visible(t, dir); strings.Join(got, ",") != "t.csv" {
		t.Fatalf("files = %v", got)
	}
}
