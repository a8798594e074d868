package memconn_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

var kvSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// kv builds a batch from "k=v" pairs; v "-" is a null.
func kv(pairs ...string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, kvSchema)
	defer b.Release()
	for _, p := range pairs {
		var k int64
		var v string
		fmt.Sscanf(strings.Replace(p, "=", " ", 1), "%d %s", &k, &v)
		b.Field(0).(*array.Int64Builder).Append(k)
		if v == "-" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch()
}

// tableRows returns the table's rows as sorted "k=v" strings.
func tableRows(t *testing.T, c *memconn.Connector, name string) []string {
	t.Helper()
	_, recs, ok := c.Table(name)
	if !ok {
		return nil
	}
	out := []string{}
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			v := "-"
			if !r.Column(1).IsNull(i) {
				v = r.Column(1).(*array.String).Value(i)
			}
			out = append(out, fmt.Sprintf("%d=%s", r.Column(0).(*array.Int64).Value(i), v))
		}
		r.Release()
	}
	sort.Strings(out)
	return out
}

// write runs one whole write of batches (seq 1, 2, ...) and commits it.
func write(t *testing.T, c *memconn.Connector, id string, mode sdk.WriteMode, key []string, batches ...arrow.RecordBatch) {
	t.Helper()
	ctx := context.Background()
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: id, Flow: "f-" + id, Target: "t", Schema: kvSchema, Mode: mode, Key: key}); err != nil {
		t.Fatal(err)
	}
	for i, b := range batches {
		if err := c.WriteBatch(ctx, id, int64(i+1), b); err != nil {
			t.Fatal(err)
		}
		b.Release() // as the SDK does after WriteBatch
	}
	if err := c.CommitWrite(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
}

func TestWriteModes(t *testing.T) {
	tests := []struct {
		name string
		mode sdk.WriteMode
		key  []string
		want string
	}{
		{"replace", sdk.ModeReplace, nil, "3=c 4=d"},
		{"append", sdk.ModeAppend, nil, "1=a 2=b 3=c 3=c 4=d"},
		{"upsert", sdk.ModeUpsert, []string{"k"}, "1=a 2=b 3=c 4=d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, `{}`)
			write(t, c, "w1", sdk.ModeReplace, nil, kv("1=a", "2=b", "3=c"))
			write(t, c, "w2", tt.mode, tt.key, kv("3=c", "4=d"))
			if got := strings.Join(tableRows(t, c, "t"), " "); got != tt.want {
				t.Errorf("table holds %s, want %s", got, tt.want)
			}
		})
	}
}

func TestUpsertLaterRowWins(t *testing.T) {
	c := configured(t, `{}`)
	write(t, c, "w1", sdk.ModeReplace, nil, kv("1=a", "2=b", "3=c", "4=-"))
	write(t, c, "w2", sdk.ModeUpsert, []string{"k"}, kv("2=x", "5=e"), kv("2=y", "4=z", "6=-"))
	want := "1=a 2=y 3=c 4=z 5=e 6=-"
	if got := strings.Join(tableRows(t, c, "t"), " "); got != want {
		t.Errorf("table holds %s, want %s", got, want)
	}
	// Upsert into a table that does not exist yet dedups within the write.
	c2 := configured(t, `{}`)
	write(t, c2, "w1", sdk.ModeUpsert, []string{"k"}, kv("9=a", "9=b"))
	if got := strings.Join(tableRows(t, c2, "t"), " "); got != "9=b" {
		t.Errorf("table holds %s, want 9=b", got)
	}
}

func TestWriteBatchSeqIdempotent(t *testing.T) {
	c := configured(t, `{}`)
	ctx := context.Background()
	req := sdk.WriteRequest{WriteID: "w", Target: "t", Schema: kvSchema, Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.BeginWrite(ctx, req); err != nil { // repeated: harmless
		t.Fatal(err)
	}
	for _, step := range []struct {
		seq  int64
		rows []string
	}{{1, []string{"1=a"}}, {2, []string{"2=b"}}, {2, []string{"2=b"}}, {1, []string{"1=a"}}, {3, []string{"3=c"}}} {
		b := kv(step.rows...)
		if err := c.WriteBatch(ctx, "w", step.seq, b); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Errorf("repeated commit: %v", err)
	}
	if got := strings.Join(tableRows(t, c, "t"), " "); got != "1=a 2=b 3=c" {
		t.Errorf("table holds %s, want each seq once", got)
	}
	rep := c.CommitReport("w")
	if rep["rows"] != "3" || rep["location"] != "memory:t" || len(rep["checksum"]) != 16 {
		t.Errorf("CommitReport = %v", rep)
	}
}

func TestAbortWrite(t *testing.T) {
	c := configured(t, `{}`)
	ctx := context.Background()
	write(t, c, "w1", sdk.ModeReplace, nil, kv("1=a"))
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w2", Target: "t", Schema: kvSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	b := kv("2=b")
	if err := c.WriteBatch(ctx, "w2", 1, b); err != nil {
		t.Fatal(err)
	}
	b.Release()
	for i := 0; i < 2; i++ {
		if err := c.AbortWrite(ctx, "w2"); err != nil {
			t.Fatalf("abort %d: %v", i+1, err)
		}
	}
	if err := c.AbortWrite(ctx, "never-begun"); err != nil {
		t.Errorf("abort of an unknown write: %v", err)
	}
	if got := strings.Join(tableRows(t, c, "t"), " "); got != "1=a" {
		t.Errorf("after abort the table holds %s, want 1=a", got)
	}
	if err := c.CommitWrite(ctx, "w2", nil); errclass.Of(err) != errclass.Permanent {
		t.Errorf("commit after abort: %v, want PERMANENT", err)
	}
	if rep := c.CommitReport("w2"); rep != nil {
		t.Errorf("CommitReport of an aborted write = %v", rep)
	}
}

func TestUncommittedWriteIsInvisible(t *testing.T) {
	c := configured(t, `{}`)
	ctx := context.Background()
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: kvSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	b := kv("1=a")
	if err := c.WriteBatch(ctx, "w", 1, b); err != nil {
		t.Fatal(err)
	}
	b.Release()
	if _, _, ok := c.Table("t"); ok {
		t.Error("the table exists before commit")
	}
	// A later write of the same flow drops the leftover staging.
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w-2", Flow: "f", Target: "t", Schema: kvSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitWrite(ctx, "w", nil); errclass.Of(err) != errclass.Permanent {
		t.Errorf("commit of a dropped staging: %v, want PERMANENT", err)
	}
}

func TestWriteErrors(t *testing.T) {
	ctx := context.Background()
	c := configured(t, `{}`)
	other := arrow.NewSchema([]arrow.Field{{Name: "z", Type: arrow.PrimitiveTypes.Int32}}, nil)
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"upsert without key", func() error {
			return c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "a", Schema: kvSchema, Mode: sdk.ModeUpsert})
		}, "needs key columns"},
		{"upsert key not in schema", func() error {
			return c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "b", Schema: kvSchema, Mode: sdk.ModeUpsert, Key: []string{"id"}})
		}, `key column "id" is not in the written schema`},
		{"unknown mode", func() error {
			return c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "c", Schema: kvSchema, Mode: "merge"})
		}, `unknown write mode "merge"`},
		{"batch for unknown write", func() error {
			b := kv("1=a")
			defer b.Release()
			return c.WriteBatch(ctx, "nope", 1, b)
		}, `write "nope" is unknown`},
		{"batch with another schema", func() error {
			if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "d", Schema: other, Mode: sdk.ModeReplace}); err != nil {
				return err
			}
			b := kv("1=a")
			defer b.Release()
			return c.WriteBatch(ctx, "d", 1, b)
		}, "but the write was begun with"},
		{"append with another schema", func() error {
			write(t, c, "e1", sdk.ModeReplace, nil, kv("1=a"))
			if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "e2", Target: "t", Schema: other, Mode: sdk.ModeAppend}); err != nil {
				return err
			}
			return c.CommitWrite(ctx, "e2", nil)
		}, "differs from the written schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if errclass.Of(err) != errclass.Permanent {
				t.Errorf("class %s, want PERMANENT", errclass.Of(err))
			}
		})
	}
}

// TestSourceToDestination copies the generator into the destination page by
// page, as the host does, and checks the commit report against rowhash of
// the source rows.
func TestSourceToDestination(t *testing.T) {
	ctx := context.Background()
	src := configured(t, `{"table_name": "events", "generate": {"rows": 50000, "seed": 42}}`)
	dumpDir := t.TempDir()
	dst := configured(t, `{"dump_path": "`+filepath.Join(dumpDir, "{table}.arrow")+`"}`)
	streams, err := src.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Target: "events", Schema: streams[0].Schema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	var want rowhash.Sum
	req := sdk.ReadRequest{Stream: "events", MaxRows: 4096}
	for seq := int64(1); ; seq++ {
		p, err := src.ReadPage(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want.Add(p.Records)
		if err := dst.WriteBatch(ctx, "w", seq, p.Records); err != nil {
			t.Fatal(err)
		}
		p.Records.Release()
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	if err := dst.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	rep := dst.CommitReport("w")
	wantRep := map[string]string{"location": "memory:events", "rows": "50000", "checksum": fmt.Sprintf("%016x", want.Hash)}
	if fmt.Sprint(rep) != fmt.Sprint(wantRep) {
		t.Errorf("CommitReport = %v, want %v", rep, wantRep)
	}

	// The dump holds the same rows.
	f, err := os.Open(filepath.Join(dumpDir, "events.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got rowhash.Sum
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		got.Add(rec)
	}
	if got != want {
		t.Errorf("dump holds %v, want %v", got, want)
	}
	entries, _ := os.ReadDir(dumpDir)
	if len(entries) != 1 {
		t.Errorf("dump dir holds %d entries, want only the dump (no temp files)", len(entries))
	}
}

func TestDumpFailureLeavesTableUnchanged(t *testing.T) {
	// A file where the dump's directory should be: the dump cannot be written.
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := configured(t, `{"dump_path": "`+filepath.Join(blocker, "t.arrow")+`"}`)
	ctx := context.Background()
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Target: "t", Schema: kvSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	b := kv("1=a")
	defer b.Release()
	if err := c.WriteBatch(ctx, "w", 1, b); err != nil {
		t.Fatal(err)
	}
	err := c.CommitWrite(ctx, "w", nil)
	if err == nil || !strings.Contains(err.Error(), "dump_path") {
		t.Fatalf("commit err = %v, want a dump_path error", err)
	}
	if _, _, ok := c.Table("t"); ok {
		t.Error("a failed commit made the table visible")
	}
}

// A write staged with staging_dir survives its process: a new connector
// (as after a plugin restart) begun with the same write id finds every
// batch, skips a replayed seq, and commits each row once; a repeated
// commit after that is a no-op, and abort removes the staging.
func TestDurableStagingSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := []byte(`{"staging_dir": "` + dir + `"}`)
	ctx := context.Background()
	newConn := func() *memconn.Connector {
		c := memconn.New(nil)
		if fe, err := c.Configure(ctx, cfg); err != nil || len(fe) > 0 {
			t.Fatal(fe, err)
		}
		return c
	}
	rec := durableBatch(t, 1, 2, 3)
	defer rec.Release()
	rec2 := durableBatch(t, 4, 5)
	defer rec2.Release()
	req := sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "t", Schema: rec.Schema(), Mode: sdk.ModeReplace}

	first := newConn()
	if err := first.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := first.WriteBatch(ctx, "w1", 1, rec); err != nil {
		t.Fatal(err)
	}
	// The process dies here; a new one takes over.
	second := newConn()
	if err := second.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := second.WriteBatch(ctx, "w1", 1, rec); err != nil { // replayed
		t.Fatal(err)
	}
	if err := second.WriteBatch(ctx, "w1", 2, rec2); err != nil {
		t.Fatal(err)
	}
	if err := second.CommitWrite(ctx, "w1", nil); err != nil {
		t.Fatal(err)
	}
	if got := second.CommitReport("w1")["rows"]; got != "5" {
		t.Fatalf("rows after commit = %s, want 5", got)
	}
	// A third process repeating the commit (its reply was lost) is a no-op.
	third := newConn()
	if err := third.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := third.CommitWrite(ctx, "w1", nil); err != nil {
		t.Fatal(err)
	}
	// Abort of an unknown write in a fresh process removes its staging.
	req2 := req
	req2.WriteID, req2.Flow = "w2", "g"
	if err := third.BeginWrite(ctx, req2); err != nil {
		t.Fatal(err)
	}
	if err := third.WriteBatch(ctx, "w2", 1, rec); err != nil {
		t.Fatal(err)
	}
	if err := newConn().AbortWrite(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "g--w2")); len(m) != 0 {
		t.Fatalf("abort left %v", m)
	}
}

func durableBatch(t *testing.T, ids ...int64) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	return b.NewRecordBatch()
}

// Without staging_dir a restarted process has lost the batches the host
// was told were staged: the next batch is refused, never committed with a
// gap.
func TestLostInMemoryStagingIsRefused(t *testing.T) {
	ctx := context.Background()
	rec := durableBatch(t, 1, 2, 3)
	defer rec.Release()
	req := sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "t", Schema: rec.Schema(), Mode: sdk.ModeReplace}
	first := memconn.New(nil)
	if fe, err := first.Configure(ctx, []byte(`{}`)); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	if err := first.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := first.WriteBatch(ctx, "w1", 1, rec); err != nil {
		t.Fatal(err)
	}
	second := memconn.New(nil) // the process died; the host begins again
	if fe, err := second.Configure(ctx, []byte(`{}`)); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	if err := second.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	err := second.WriteBatch(ctx, "w1", 2, rec)
	if err == nil || errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "batch 1 is not staged") {
		t.Fatalf("got %v, want a PERMANENT error naming the lost batch", err)
	}
}
