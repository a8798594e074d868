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

// A path that names no file yet (a glob matching none, a directory
// without .csv files) or only empty files is an empty stream: Check
// passes, Discover names the stream without a schema, and the first page
// is done with no records, also for an incremental read. A named file
// that does not exist, and a glob in a directory that does not exist, stay
// PERMANENT errors.
func TestSourceEmptyStream(t *testing.T) {
	dir := t.TempDir()
	emptyDir := filepath.Join(dir, "empty")
	os.Mkdir(emptyDir, 0o755)
	writeFile(t, emptyDir, "notes.txt", "not csv\n")
	writeFile(t, dir, "blank.csv", "")
	writeFile(t, dir, "newlines.csv", "\n\n")
	writeFile(t, dir, "header.csv", "id,name\n")
	tests := []struct {
		name    string
		cfg     map[string]any
		stream  string
		columns string // "" for no schema
	}{
		{"glob matching no file", map[string]any{"path": filepath.Join(dir, "orders-*.csv")}, "orders", ""},
		{"glob in a directory without csv files", map[string]any{"path": filepath.Join(emptyDir, "*.csv")}, "empty", ""},
		{"directory without csv files", map[string]any{"path": emptyDir}, "empty", ""},
		{"empty file", map[string]any{"path": filepath.Join(dir, "blank.csv")}, "blank", ""},
		{"blank lines only", map[string]any{"path": filepath.Join(dir, "newlines.csv")}, "newlines", ""},
		{"empty file without header", map[string]any{"path": filepath.Join(dir, "blank.csv"), "has_header": false}, "blank", ""},
		{"header only", map[string]any{"path": filepath.Join(dir, "header.csv")}, "header", "id,name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := configured(t, tt.cfg)
			if err := c.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			streams, err := c.Discover(ctx)
			if err != nil || len(streams) != 1 || streams[0].Name != tt.stream {
				t.Fatalf("Discover = %+v, %v; want one stream %q", streams, err, tt.stream)
			}
			var columns []string
			if s := streams[0].Schema; s != nil {
				for _, f := range s.Fields() {
					columns = append(columns, f.Name)
				}
			}
			if got := strings.Join(columns, ","); got != tt.columns {
				t.Fatalf("Discover's columns %q; want %q", got, tt.columns)
			}
			for _, req := range []sdk.ReadRequest{
				{Stream: tt.stream},
				{Stream: tt.stream, CursorField: "id", CursorValue: []byte(`3`)},
			} {
				if tt.columns == "" && req.CursorField != "" {
					req.CursorField = "anything" // no columns to check it against
				}
				pages := readAll(t, configured(t, tt.cfg), req)
				if len(pages) != 1 || !pages[0].out.Done || total(pages).Rows != 0 {
					t.Fatalf("read %+v: %d pages, %d rows; want one done page of no rows", req, len(pages), total(pages).Rows)
				}
				if tt.columns == "" && (pages[0].rec != nil || len(pages[0].out.CursorValue) > 0) {
					t.Fatalf("read %+v: a page with records %v or a cursor %s for a stream without a schema", req, pages[0].rec, pages[0].out.CursorValue)
				}
			}
		})
	}

	errs := []struct{ name, path, want string }{
		{"missing file", filepath.Join(dir, "missing.csv"), "does not exist"},
		{"missing directory", filepath.Join(dir, "missing"), "does not exist"},
		{"glob in a missing directory", filepath.Join(dir, "missing", "*.csv"), "does not exist"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, map[string]any{"path": tt.path})
			if _, err := c.Discover(context.Background()); errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Discover = %v; want PERMANENT ...%s...", err, tt.want)
			}
			if _, err := c.ReadPage(context.Background(), sdk.ReadRequest{}); errclass.Of(err) != errclass.Permanent {
				t.Fatalf("ReadPage = %v; want PERMANENT", err)
			}
		})
	}
}

// Empty files of a glob hold no rows wherever they are, also first: the
// schema comes from the first file that is not empty, and every file's
// header must match it.
func TestSourceEmptyFilesInAGlob(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", "")
	writeFile(t, dir, "b.csv", "id,name\n1,x\n")
	writeFile(t, dir, "c.csv", "")
	writeFile(t, dir, "d.csv", "id,name\n2,y\n")
	c := configured(t, map[string]any{"path": filepath.Join(dir, "*.csv")})
	streams, err := c.Discover(context.Background())
	if err != nil || streams[0].Schema == nil || streams[0].Schema.NumFields() != 2 {
		t.Fatalf("Discover = %+v, %v", streams, err)
	}
	if got := total(readAll(t, c, sdk.ReadRequest{Stream: streams[0].Name, MaxRows: 1})).Rows; got != 2 {
		t.Fatalf("read %d rows, want 2", got)
	}
	writeFile(t, dir, "e.csv", "id,label\n3,z\n")
	_, err = c.ReadPage(context.Background(), sdk.ReadRequest{Stream: streams[0].Name, Checkpoint: []byte(`{"file": 4, "name": "` + filepath.Join(dir, "e.csv") + `"}`)})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), filepath.Join(dir, "b.csv")) {
		t.Fatalf("a file with another header: %v; want PERMANENT naming the file the header came from", err)
	}
}

// A glob that matched nothing when the flow was discovered reads the file
// that has appeared since (nothing is cached from the empty look).
func TestSourceGlobFillsLater(t *testing.T) {
	dir := t.TempDir()
	c := configured(t, map[string]any{"path": filepath.Join(dir, "*.csv")})
	if pages := readAll(t, c, sdk.ReadRequest{}); total(pages).Rows != 0 {
		t.Fatal("rows from an empty glob")
	}
	writeFile(t, dir, "late.csv", "id\n1\n2\n")
	if got := total(readAll(t, c, sdk.ReadRequest{})).Rows; got != 2 {
		t.Fatalf("read %d rows once the file appeared, want 2", got)
	}
}
