package memconn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// A replace without a schema and without batches (an empty stream whose
// columns are unknown) empties the table and keeps its schema; repeating
// the commit changes nothing; an abort leaves the table as it was.
func TestReplaceWithoutSchemaKeepsTheSchema(t *testing.T) {
	ctx := context.Background()
	c := configured(t, `{}`)
	write(t, c, "w1", sdk.ModeReplace, nil, kv("1=a", "2=b"))

	abort := sdk.WriteRequest{WriteID: "w-abort", Flow: "f", Target: "t", Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, abort); err != nil {
		t.Fatalf("BeginWrite without a schema: %v", err)
	}
	if err := c.AbortWrite(ctx, abort.WriteID); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tableRows(t, c, "t"), " "); got != "1=a 2=b" {
		t.Fatalf("after an aborted empty replace the table holds %s", got)
	}

	for _, id := range []string{"w-empty", "w-empty-again"} {
		req := sdk.WriteRequest{WriteID: id, Flow: "f", Target: "t", Mode: sdk.ModeReplace}
		if err := c.BeginWrite(ctx, req); err != nil {
			t.Fatalf("BeginWrite(%s) without a schema: %v", id, err)
		}
		for i := 0; i < 2; i++ {
			if err := c.CommitWrite(ctx, id, nil); err != nil {
				t.Fatalf("CommitWrite(%s) #%d: %v", id, i+1, err)
			}
		}
		schema, recs, ok := c.Table("t")
		if !ok || !schema.Equal(kvSchema) {
			t.Fatalf("after %s the table exists=%v with schema %v; want %v", id, ok, schema, kvSchema)
		}
		for _, r := range recs {
			if r.NumRows() != 0 {
				t.Fatalf("after %s the table holds %d rows", id, r.NumRows())
			}
			r.Release()
		}
		if rep := c.CommitReport(id); rep["rows"] != "0" || rep["location"] != "memory:t" {
			t.Fatalf("report %v", rep)
		}
	}
	// The emptied table takes an append of its schema.
	write(t, c, "w2", sdk.ModeAppend, nil, kv("3=c"))
	if got := strings.Join(tableRows(t, c, "t"), " "); got != "3=c" {
		t.Fatalf("after an append to the emptied table: %s", got)
	}
}

// A replace without a schema into a table that does not exist fails
// PERMANENT, saying so, and creates nothing.
func TestReplaceWithoutSchemaNoTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := configured(t, `{"staging_dir": "`+dir+`", "dump_path": "`+filepath.Join(dir, "dump-{table}.arrow")+`"}`)
	err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Mode: sdk.ModeReplace})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "no schema") {
		t.Fatalf("BeginWrite = %v; want PERMANENT: the table does not exist and no schema is known", err)
	}
	if _, _, ok := c.Table("t"); ok {
		t.Fatal("the failed write created the table")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the failed write left %s", entries[0].Name())
	}
	if err := c.CommitWrite(ctx, "w", nil); errclass.Of(err) != errclass.Permanent {
		t.Fatalf("CommitWrite of the refused write: %v; want PERMANENT", err)
	}
}

// An append or upsert without a schema and without batches commits
// without touching the table, existing or not, also with durable staging
// and a commit repeated by a new process.
func TestAppendWithoutSchemaChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := `{"staging_dir": "` + dir + `"}`
	c := configured(t, cfg)
	write(t, c, "w1", sdk.ModeReplace, nil, kv("1=a"))
	for _, tt := range []struct {
		target string
		mode   sdk.WriteMode
		key    []string
	}{{"t", sdk.ModeAppend, nil}, {"t", sdk.ModeUpsert, []string{"k"}}, {"missing", sdk.ModeAppend, nil}} {
		req := sdk.WriteRequest{WriteID: "w-" + tt.target + "-" + string(tt.mode), Flow: "f-" + string(tt.mode), Target: tt.target, Mode: tt.mode, Key: tt.key}
		if err := c.BeginWrite(ctx, req); err != nil {
			t.Fatalf("BeginWrite(%+v): %v", req, err)
		}
		if err := c.CommitWrite(ctx, req.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s): %v", req.WriteID, err)
		}
		again := configured(t, cfg)
		if err := again.BeginWrite(ctx, req); err != nil {
			t.Fatalf("BeginWrite(%s) in a new process: %v", req.WriteID, err)
		}
		if err := again.CommitWrite(ctx, req.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s) repeated in a new process: %v", req.WriteID, err)
		}
	}
	if got := strings.Join(tableRows(t, c, "t"), " "); got != "1=a" {
		t.Fatalf("table t holds %s", got)
	}
	if _, _, ok := c.Table("missing"); ok {
		t.Fatal("an append without a schema created a table")
	}
}

// A write begun without a schema whose batches were staged durably takes
// its schema from them in a new process (as WriteBatch did in the old one).
func TestWithoutSchemaDurableBatchesKeepTheirSchema(t *testing.T) {
	ctx := context.Background()
	cfg := []byte(`{"staging_dir": "` + t.TempDir() + `"}`)
	newConn := func() *memconn.Connector {
		c := memconn.New(nil)
		if fe, err := c.Configure(ctx, cfg); err != nil || len(fe) > 0 {
			t.Fatal(fe, err)
		}
		return c
	}
	req := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Mode: sdk.ModeAppend}
	first := newConn()
	if err := first.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	rec := kv("1=a", "2=b")
	defer rec.Release()
	if err := first.WriteBatch(ctx, "w", 1, rec); err != nil {
		t.Fatal(err)
	}
	second := newConn()
	if err := second.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := second.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tableRows(t, second, "t"), " "); got != "1=a 2=b" {
		t.Fatalf("table holds %q", got)
	}
}

// Inline rows that are an empty list are an empty stream without a
// schema: Discover names it (a schema of no columns would be made up),
// and a read is one done page of no rows.
func TestSourceEmptyInlineRows(t *testing.T) {
	ctx := context.Background()
	c := configured(t, `{"table_name": "none", "rows": []}`)
	streams, err := c.Discover(ctx)
	if err != nil || len(streams) != 1 || streams[0].Name != "none" || streams[0].Schema != nil {
		t.Fatalf("Discover = %+v, %v; want stream none without a schema", streams, err)
	}
	p, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "none"})
	if err != nil || !p.Done || (p.Records != nil && p.Records.NumRows() != 0) {
		t.Fatalf("ReadPage = %+v, %v; want one done page of no rows", p, err)
	}
	if p.Records != nil {
		p.Records.Release()
	}
}
