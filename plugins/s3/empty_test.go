package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

var emptySchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// seed commits a replace of rows [0, 20) to target.
func seed(t *testing.T, cfg json.RawMessage, target, writeID string) {
	t.Helper()
	ctx := context.Background()
	c := configure(t, cfg)
	req := sdk.WriteRequest{WriteID: writeID, Flow: "seed-" + target, Target: target, Schema: emptySchema, Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	rec := batch(emptySchema, 0, 20)
	defer rec.Release()
	if err := c.WriteBatch(ctx, writeID, 1, rec); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitWrite(ctx, writeID, nil); err != nil {
		t.Fatal(err)
	}
}

// manifestOf returns the _SUCCESS manifest under dir.
func (s *server) manifestOf(t *testing.T, dir string) (files []string, schema *arrow.Schema) {
	t.Helper()
	b, err := s.get(context.Background(), dir+"/_SUCCESS")
	if err != nil {
		t.Fatalf("read the manifest of %s: %v", dir, err)
	}
	var m struct {
		Files  []string
		Schema []byte
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if schema, err = arrowipc.DecodeSchema(m.Schema); err != nil {
		t.Fatalf("the manifest's schema: %v", err)
	}
	return m.Files, schema
}

// parquetSchema reads the schema and row count of a parquet object.
func (s *server) parquetSchema(t *testing.T, key string) (*arrow.Schema, int64) {
	t.Helper()
	b, err := s.get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not Parquet: %v", key, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return schema, rdr.NumRows()
}

// A replace without a schema (an empty stream whose columns are unknown)
// empties the dataset and keeps its columns, in every format: the new
// manifest names one object of the old schema and no rows, the old
// objects are deleted, the commit is idempotent (also in a new process),
// an aborted one changes nothing, and the source reads the dataset back as
// no rows (with its columns where the format carries them).
func TestReplaceWithoutSchemaKeepsTheColumns(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	for _, format := range []string{"csv", "jsonl", "parquet"} {
		t.Run(format, func(t *testing.T) {
			cfg := srv.config(t, map[string]any{"path_prefix": "empty", "file_format": format})
			dir := "empty/" + format
			seed(t, cfg, format, "seed-"+format)

			c := configure(t, cfg)
			abort := sdk.WriteRequest{WriteID: "abort-" + format, Flow: "f-" + format, Target: format, Mode: sdk.ModeReplace}
			if err := c.BeginWrite(ctx, abort); err != nil {
				t.Fatalf("BeginWrite without a schema: %v", err)
			}
			if err := c.AbortWrite(ctx, abort.WriteID); err != nil {
				t.Fatal(err)
			}
			if files, _ := srv.manifestOf(t, dir); len(files) != 1 || !strings.Contains(files[0], "seed-") {
				t.Fatalf("after an aborted empty replace the manifest names %v", files)
			}

			for _, id := range []string{"empty-" + format, "again-" + format} {
				req := sdk.WriteRequest{WriteID: id, Flow: "f-" + format, Target: format, Mode: sdk.ModeReplace}
				if err := c.BeginWrite(ctx, req); err != nil {
					t.Fatalf("BeginWrite(%s) without a schema: %v", id, err)
				}
				// A restarted plugin commits; the first one repeats it.
				if err := configure(t, cfg).CommitWrite(ctx, id, nil); err != nil {
					t.Fatalf("CommitWrite(%s): %v", id, err)
				}
				if err := c.CommitWrite(ctx, id, nil); err != nil {
					t.Fatalf("repeated CommitWrite(%s): %v", id, err)
				}

				files, schema := srv.manifestOf(t, dir)
				want := fmt.Sprintf("part-%s-%020d.%s", id, 0, format)
				if len(files) != 1 || files[0] != want {
					t.Fatalf("after %s the manifest names %v; want [%s]", id, files, want)
				}
				if keys := srv.keys(t, dir+"/"); len(keys) != 2 {
					t.Fatalf("after %s the dataset holds %v; want the empty object and _SUCCESS", id, keys)
				}
				if schema == nil || !schema.Equal(emptySchema) {
					t.Fatalf("after %s the manifest's schema is %v; want %v", id, schema, emptySchema)
				}
				key := dir + "/" + files[0]
				switch format {
				case "csv":
					if b, _ := srv.get(ctx, key); string(b) != "id,name,score\n" {
						t.Fatalf("the emptied csv object holds %q", b)
					}
				case "jsonl":
					if b, _ := srv.get(ctx, key); len(b) != 0 {
						t.Fatalf("the emptied jsonl object holds %q", b)
					}
				case "parquet":
					if s, rows := srv.parquetSchema(t, key); rows != 0 || !sameColumns(s, emptySchema) {
						t.Fatalf("the emptied parquet object has %d rows and schema %s", rows, s)
					}
				}
			}

			src := configure(t, srv.config(t, map[string]any{"path_prefix": dir, "file_format": format}))
			streams, err := src.Discover(ctx)
			if err != nil || len(streams) != 1 {
				t.Fatalf("Discover: %v %v", streams, err)
			}
			got := streams[0].Schema
			switch format {
			case "jsonl": // jsonl columns come from data: none
				if got != nil {
					t.Fatalf("the emptied jsonl dataset has schema %s; want none", got)
				}
			default:
				if got == nil || strings.Join(fieldNames(got), ",") != "id,name,score" {
					t.Fatalf("the emptied dataset reads back with schema %v", got)
				}
			}
			r := readFrom(t, src, nil, sdk.ReadRequest{Stream: format}, 0)
			if len(r.rows) != 0 {
				t.Fatalf("read back %d rows", len(r.rows))
			}
		})
	}
}

// sameColumns compares names, types and nullability (not metadata, such
// as the field ids a Parquet reader adds).
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i, f := range a.Fields() {
		g := b.Field(i)
		if f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) || f.Nullable != g.Nullable {
			return false
		}
	}
	return true
}

func fieldNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}

// A replace with a schema and no batch (an empty stream whose source knows
// its columns) leaves a dataset of that schema and no rows, as does a
// replace without a schema of a dataset another tool wrote (no manifest).
func TestReplaceOfNoRows(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	cfg := srv.config(t, map[string]any{"path_prefix": "norows", "file_format": "csv"})
	c := configure(t, cfg)
	req := sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "known", Schema: emptySchema, Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitWrite(ctx, req.WriteID, nil); err != nil {
		t.Fatal(err)
	}
	files, _ := srv.manifestOf(t, "norows/known")
	if len(files) != 1 {
		t.Fatalf("manifest names %v", files)
	}
	if b, _ := srv.get(ctx, "norows/known/"+files[0]); string(b) != "id,name,score\n" {
		t.Fatalf("object holds %q", b)
	}

	srv.put(t, "norows/foreign/a.csv", []byte("x,y\n1,2\n"))
	srv.put(t, "norows/foreign/b.csv", []byte("x,y\n3,4\n"))
	req = sdk.WriteRequest{WriteID: "w2", Flow: "g", Target: "foreign", Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, req); err != nil {
		t.Fatalf("BeginWrite without a schema over objects without a manifest: %v", err)
	}
	if err := c.CommitWrite(ctx, req.WriteID, nil); err != nil {
		t.Fatal(err)
	}
	files, _ = srv.manifestOf(t, "norows/foreign")
	if keys := srv.keys(t, "norows/foreign/"); len(files) != 1 || len(keys) != 2 {
		t.Fatalf("manifest names %v, the prefix holds %v", files, keys)
	}
	if b, _ := srv.get(ctx, "norows/foreign/"+files[0]); string(b) != "x,y\n" {
		t.Fatalf("object holds %q", b)
	}
}

// A replace without a schema of a dataset that does not exist fails
// PERMANENT, saying so, and writes nothing (no staging record either).
func TestReplaceWithoutSchemaNoDataset(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	srv.put(t, "other/x.csv", []byte("a\n1\n"))
	for _, format := range []string{"csv", "jsonl", "parquet"} {
		c := configure(t, srv.config(t, map[string]any{"path_prefix": "nothing", "file_format": format}))
		err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w-" + format, Flow: "f", Target: "missing", Mode: sdk.ModeReplace})
		if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "no schema") {
			t.Fatalf("%s: BeginWrite = %v; want PERMANENT: the target does not exist and no schema is known", format, err)
		}
		if err := c.AbortWrite(ctx, "w-"+format); err != nil {
			t.Fatalf("%s: AbortWrite of the refused write: %v", format, err)
		}
	}
	if keys := srv.keys(t, ""); len(keys) != 1 {
		t.Fatalf("the bucket holds %v; want only other/x.csv", keys)
	}
}

// An append without a schema commits without touching the dataset,
// existing or not.
func TestAppendWithoutSchemaChangesNothing(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	cfg := srv.config(t, map[string]any{"path_prefix": "app", "file_format": "parquet"})
	seed(t, cfg, "t", "seed")
	before, _ := srv.get(ctx, "app/t/_SUCCESS")
	c := configure(t, cfg)
	for _, target := range []string{"t", "missing"} {
		req := sdk.WriteRequest{WriteID: "w-" + target, Flow: "f-" + target, Target: target, Mode: sdk.ModeAppend}
		if err := c.BeginWrite(ctx, req); err != nil {
			t.Fatalf("BeginWrite(%s): %v", target, err)
		}
		rec := batch(emptySchema, 0, 1)
		err := c.WriteBatch(ctx, req.WriteID, 1, rec)
		rec.Release()
		if errclass.Of(err) != errclass.Permanent {
			t.Fatalf("WriteBatch into a write without a schema: %v; want PERMANENT", err)
		}
		if err := c.CommitWrite(ctx, req.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s): %v", target, err)
		}
		if err := configure(t, cfg).CommitWrite(ctx, req.WriteID, nil); err != nil {
			t.Fatalf("CommitWrite(%s) repeated in a new process: %v", target, err)
		}
	}
	if after, _ := srv.get(ctx, "app/t/_SUCCESS"); !bytes.Equal(before, after) {
		t.Fatalf("the manifest changed:\n%s\n%s", before, after)
	}
	if keys := srv.keys(t, "app/missing/"); len(keys) != 0 {
		t.Fatalf("an append without a schema wrote %v", keys)
	}
}

// A prefix with no data object, or whose objects hold no line, is an empty
// stream in every format: Discover names it, and the first page is done,
// with no rows and no error, for full and incremental reads. A named key
// that does not exist stays an error.
func TestSourceEmptyPrefix(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	srv.put(t, "blanks/jsonl/a.jsonl", nil)
	srv.put(t, "blanks/jsonl/b.jsonl", []byte("\n\n"))
	srv.put(t, "blanks/c-empty/a.csv", nil)
	srv.put(t, "blanks/c-header/a.csv", nil)
	srv.put(t, "blanks/c-header/b.csv", []byte("id,name\n"))
	srv.put(t, "blanks/c-late/a.csv", nil)
	srv.put(t, "blanks/c-late/b.csv", []byte("id,name\n1,x\n"))
	srv.put(t, "elsewhere/x.csv", []byte("a\n1\n"))
	tests := []struct {
		name    string
		cfg     map[string]any
		stream  string
		columns string // "" for no schema
		rows    int
	}{
		{"no objects, csv", map[string]any{"path_prefix": "nothing/here", "file_format": "csv"}, "here", "", 0},
		{"no objects, jsonl", map[string]any{"path_prefix": "nothing/here", "file_format": "jsonl"}, "here", "", 0},
		{"no objects, parquet", map[string]any{"path_prefix": "nothing/here", "file_format": "parquet"}, "here", "", 0},
		{"no objects, auto", map[string]any{"path_prefix": "nothing/here"}, "here", "", 0},
		{"empty jsonl objects", map[string]any{"path_prefix": "blanks/jsonl"}, "jsonl", "", 0},
		{"empty csv object", map[string]any{"path_prefix": "blanks/c-empty"}, "c-empty", "", 0},
		{"header-only csv", map[string]any{"path_prefix": "blanks/c-header"}, "c-header", "id,name", 0},
		{"empty csv then rows", map[string]any{"path_prefix": "blanks/c-late"}, "c-late", "id,name", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := srv.config(t, tt.cfg)
			c := configure(t, cfg)
			if err := c.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			streams, err := c.Discover(ctx)
			if err != nil || len(streams) != 1 || streams[0].Name != tt.stream {
				t.Fatalf("Discover = %+v, %v; want one stream %q", streams, err, tt.stream)
			}
			var columns string
			if streams[0].Schema != nil {
				columns = strings.Join(fieldNames(streams[0].Schema), ",")
			}
			if columns != tt.columns {
				t.Fatalf("Discover's schema has columns %q; want %q", columns, tt.columns)
			}
			for _, req := range []sdk.ReadRequest{
				{Stream: tt.stream},
				{Stream: tt.stream, CursorField: "_last_modified", CursorValue: json.RawMessage(`"2020-01-01T00:00:00Z"`)},
			} {
				r := readFrom(t, configure(t, cfg), cfg, req, 0)
				if len(r.rows) != tt.rows {
					t.Fatalf("read %+v: %d rows, want %d", req, len(r.rows), tt.rows)
				}
				if tt.columns == "" && r.pages != 1 {
					t.Fatalf("read %+v: %d pages; want one, done", req, r.pages)
				}
			}
		})
	}

	c := configure(t, srv.config(t, map[string]any{"key": "nothing/here.csv"}))
	if _, err := c.Discover(ctx); errclass.Of(err) != errclass.Permanent {
		t.Fatalf("Discover of a missing key: %v; want PERMANENT", err)
	}
}

// A write's objects are told apart from those of a write whose id starts
// with its id and "-": a replace by write "w" after write "w-1" names only
// its own objects.
func TestWriteIDPrefixes(t *testing.T) {
	srv := newServer(t)
	cfg := srv.config(t, map[string]any{"path_prefix": "ids", "file_format": "csv"})
	seed(t, cfg, "t", "w-1")
	ctx := context.Background()
	c := configure(t, cfg)
	req := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	files, _ := srv.manifestOf(t, "ids/t")
	if len(files) != 1 || files[0] != fmt.Sprintf("part-w-%020d.csv", 0) {
		t.Fatalf("the manifest names %v; want only write w's object", files)
	}
}
