package csvconn_test

import (
	"context"
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

var peopleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// people builds a batch of (id, name) rows; a name "<null>" is null.
func people(t *testing.T, rows ...any) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, peopleSchema)
	defer b.Release()
	for i := 0; i < len(rows); i += 2 {
		b.Field(0).(*array.Int64Builder).Append(int64(rows[i].(int)))
		if rows[i+1] == "<null>" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(rows[i+1].(string))
		}
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRoundTripCSVToCSV(t *testing.T) {
	dir := t.TempDir()
	src := configured(t, map[string]any{"path": writeFile(t, dir, "orders.csv", ordersCSV)})
	out := filepath.Join(dir, "out")
	dst := configured(t, map[string]any{"path": out})
	want := copyStream(t, src, dst, "orders", sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "copy", Mode: sdk.ModeReplace})
	if got := visible(t, out); strings.Join(got, ",") != "copy.csv" {
		t.Fatalf("files in out: %v", got)
	}
	back := configured(t, map[string]any{"path": filepath.Join(out, "copy.csv")})
	streams, err := back.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := src.Discover(context.Background())
	if !streams[0].Schema.Equal(orig[0].Schema) {
		t.Fatalf("schema after round trip %s, want %s", streams[0].Schema, orig[0].Schema)
	}
	if got := total(readAll(t, back, sdk.ReadRequest{Stream: "copy"})); got != want || got.Rows != 5 {
		t.Fatalf("round trip: %s, want %s", got, want)
	}
}

func TestWriteBatchIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := map[string]any{"path": dir}
	wr := sdk.WriteRequest{WriteID: "w1", Flow: "people", Target: "people.csv", Schema: peopleSchema, Mode: sdk.ModeReplace}
	c := configured(t, cfg)
	if err := c.BeginWrite(ctx, wr); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int64{1, 1, 2} {
		if err := c.WriteBatch(ctx, "w1", seq, people(t, int(seq), "p")); err != nil {
			t.Fatal(err)
		}
	}
	// A restarted plugin is sent BeginWrite again, then seq 2 again and 3.
	c2 := configured(t, cfg)
	if err := c2.BeginWrite(ctx, wr); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int64{2, 3} {
		if err := c2.WriteBatch(ctx, "w1", seq, people(t, int(seq), "p")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c2.CommitWrite(ctx, "w1", nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "people.csv")); got != "id,name\n1,p\n2,p\n3,p\n" {
		t.Fatalf("target = %q", got)
	}
	// Commit again (same or another process) succeeds and changes nothing.
	if err := c2.CommitWrite(ctx, "w1", nil); err != nil {
		t.Fatalf("repeated commit: %v", err)
	}
	if err := configured(t, cfg).CommitWrite(ctx, "w1", nil); err != nil {
		t.Fatalf("repeated commit in a new process: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "people.csv")); got != "id,name\n1,p\n2,p\n3,p\n" {
		t.Fatalf("target after repeated commit = %q", got)
	}
}

func TestNothingVisibleBeforeCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeFile(t, dir, "people.csv", "id,name\n9,old\n")
	c := configured(t, map[string]any{"path": dir})
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "people", Schema: peopleSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteBatch(ctx, "w1", 1, people(t, 1, "new")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "people.csv")); got != "id,name\n9,old\n" {
		t.Fatalf("target changed before commit: %q", got)
	}
	if got := visible(t, dir); strings.Join(got, ",") != "people.csv" {
		t.Fatalf("visible files before commit: %v", got)
	}
	if err := c.AbortWrite(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if err := c.AbortWrite(ctx, "w1"); err != nil {
		t.Fatalf("second abort: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory after abort holds %d entries, want only people.csv", len(entries))
	}
	if got := readFile(t, filepath.Join(dir, "people.csv")); got != "id,name\n9,old\n" {
		t.Fatalf("target changed by abort: %q", got)
	}
}

func TestReplaceAndAppend(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		mode     sdk.WriteMode
		want     string
	}{
		{"replace existing", "id,name\n9,old\n", sdk.ModeReplace, "id,name\n1,a\n2,\n"},
		{"replace missing", "", sdk.ModeReplace, "id,name\n1,a\n2,\n"},
		{"append existing", "id,name\n9,old\n", sdk.ModeAppend, "id,name\n9,old\n1,a\n2,\n"},
		{"append without final newline", "id,name\n9,old", sdk.ModeAppend, "id,name\n9,old\n1,a\n2,\n"},
		{"append missing", "", sdk.ModeAppend, "id,name\n1,a\n2,\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			if tt.existing != "" {
				writeFile(t, dir, "t.csv", tt.existing)
			}
			c := configured(t, map[string]any{"path": dir})
			if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: peopleSchema, Mode: tt.mode}); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteBatch(ctx, "w", 1, people(t, 1, "a", 2, "<null>")); err != nil {
				t.Fatal(err)
			}
			if err := c.CommitWrite(ctx, "w", nil); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(dir, "t.csv")); got != tt.want {
				t.Fatalf("target = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppendHeaderMismatch(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeFile(t, dir, "t.csv", "a,b\n1,2\n")
	c := configured(t, map[string]any{"path": dir})
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: peopleSchema, Mode: sdk.ModeAppend}); err != nil {
		t.Fatal(err)
	}
	err := c.CommitWrite(ctx, "w", nil)
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "header") {
		t.Fatalf("commit = %v, want a PERMANENT header mismatch", err)
	}
	if got := readFile(t, filepath.Join(dir, "t.csv")); got != "a,b\n1,2\n" {
		t.Fatalf("target changed: %q", got)
	}
}

func TestBeginWriteErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		req  sdk.WriteRequest
		want string
	}{
		{"upsert", dir, sdk.WriteRequest{Target: "t", Mode: sdk.ModeUpsert}, "does not support mode upsert"},
		{"no target", dir, sdk.WriteRequest{Mode: sdk.ModeReplace}, "has no target"},
		{"target with directory", dir, sdk.WriteRequest{Target: "../t", Mode: sdk.ModeReplace}, "plain file name"},
		{"single file other target", filepath.Join(dir, "one.csv"), sdk.WriteRequest{Target: "two", Mode: sdk.ModeReplace}, "single file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, map[string]any{"path": tt.path})
			tt.req.WriteID, tt.req.Flow, tt.req.Schema = "w", "f", peopleSchema
			err := c.BeginWrite(context.Background(), tt.req)
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("BeginWrite = %v, want PERMANENT ...%s...", err, tt.want)
			}
		})
	}
}

func TestSingleFilePathAndLeftoverCleanup(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	path := filepath.Join(dir, "one.csv")
	c := configured(t, map[string]any{"path": path})
	// A killed host left write w0 of flow f staged.
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w0", Flow: "f", Schema: peopleSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteBatch(ctx, "w0", 1, people(t, 7, "lost")); err != nil {
		t.Fatal(err)
	}
	c2 := configured(t, map[string]any{"path": path})
	if err := c2.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "one", Schema: peopleSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := c2.WriteBatch(ctx, "w1", 1, people(t, 1, "x")); err != nil {
		t.Fatal(err)
	}
	if err := c2.CommitWrite(ctx, "w1", nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "id,name\n1,x\n" {
		t.Fatalf("target = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "w0") {
			t.Fatalf("staging of the killed write survived: %s", e.Name())
		}
	}
}

func TestWriteQuotingAndLatin1(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c := configured(t, map[string]any{"path": dir, "encoding": "latin-1"})
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: peopleSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteBatch(ctx, "w", 1, people(t, 1, "René, \"Z\"", 2, "", 3, "<null>", 4, " pad")); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	want := "id,name\n1,\"Ren\xe9, \"\"Z\"\"\"\n2,\"\"\n3,\n4,\" pad\"\n"
	if got := readFile(t, filepath.Join(dir, "t.csv")); got != want {
		t.Fatalf("target = %q, want %q", got, want)
	}
	// And it reads back the same, empty string and null kept apart.
	back := configured(t, map[string]any{"path": filepath.Join(dir, "t.csv"), "encoding": "latin-1"})
	p := readAll(t, back, sdk.ReadRequest{})
	names := p[0].rec.Column(1).(*array.String)
	if names.Value(0) != "René, \"Z\"" || names.IsNull(1) || names.Value(1) != "" || !names.IsNull(2) || names.Value(3) != " pad" {
		t.Fatalf("read back %v", names)
	}

	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w2", Flow: "f", Target: "t", Schema: peopleSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	err := c.WriteBatch(ctx, "w2", 1, people(t, 1, "日本"))
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "latin-1") {
		t.Fatalf("unencodable value: %v", err)
	}
}

// The commit report names the file by its absolute path and counts the
// rows of the batches, a replayed batch once; a process that did not see
// every batch (a restarted plugin) leaves the count out.
func TestCommitReport(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := map[string]any{"path": dir}
	commit := func(c sdk.Destination, id string, seqs ...int64) map[string]string {
		t.Helper()
		wr := sdk.WriteRequest{WriteID: id, Flow: "people", Target: "people.csv", Schema: peopleSchema, Mode: sdk.ModeReplace}
		if err := c.BeginWrite(ctx, wr); err != nil {
			t.Fatal(err)
		}
		for _, seq := range seqs {
			if err := c.WriteBatch(ctx, id, seq, people(t, 1, "a", 2, "b")); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.CommitWrite(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
		return c.(sdk.CommitReporter).CommitReport(id)
	}
	rep := commit(configured(t, cfg), "w1", 1, 1, 2)
	if rep[sdk.ReportLocation] != filepath.Join(dir, "people.csv") || rep[sdk.ReportRows] != "4" {
		t.Fatalf("report %v", rep)
	}
	// Batch 1 was stored by a plugin process that is gone.
	c := configured(t, cfg)
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w2", Flow: "people", Target: "people.csv", Schema: peopleSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteBatch(ctx, "w2", 1, people(t, 1, "a")); err != nil {
		t.Fatal(err)
	}
	rep = commit(configured(t, cfg), "w2", 2)
	if _, ok := rep[sdk.ReportRows]; ok || rep[sdk.ReportLocation] != filepath.Join(dir, "people.csv") {
		t.Fatalf("report after a restart %v: want the location without rows", rep)
	}
}
