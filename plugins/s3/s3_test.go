package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func configure(t *testing.T, cfg json.RawMessage) *s3conn.Connector {
	t.Helper()
	c := s3conn.New(nil)
	fe, err := c.Configure(context.Background(), cfg)
	if err != nil || len(fe) > 0 {
		t.Fatalf("Configure(%s): %v %v", cfg, fe, err)
	}
	return c
}

// batch returns rows [first, first+n) of (id int64, name string with
// nulls, score float64).
func batch(schema *arrow.Schema, first, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name %d, \"q\"", i))
		}
		b.Field(2).(*array.Float64Builder).Append(float64(i) / 4)
	}
	return b.NewRecordBatch()
}

// readAll reads the source's one stream to Done; it returns the column
// "name" as strings ("<null>" for null) and the row count.
func readAll(t *testing.T, c *s3conn.Connector, maxRows int64) ([]string, int) {
	t.Helper()
	ctx := context.Background()
	streams, err := c.Discover(ctx)
	if err != nil || len(streams) != 1 {
		t.Fatalf("Discover: %v %v", streams, err)
	}
	var names []string
	var cp []byte
	rows := 0
	for range 10_000 {
		p, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: streams[0].Name, Checkpoint: cp, MaxRows: maxRows})
		if err != nil {
			t.Fatalf("ReadPage: %v", err)
		}
		if p.Records != nil {
			idx := p.Records.Schema().FieldIndices("name")
			if len(idx) != 1 {
				t.Fatalf("no column name in %s", p.Records.Schema())
			}
			col := p.Records.Column(idx[0])
			for i := 0; i < col.Len(); i++ {
				if col.IsNull(i) {
					names = append(names, "<null>")
				} else {
					names = append(names, col.ValueStr(i))
				}
			}
			rows += int(p.Records.NumRows())
			p.Records.Release()
		}
		if p.Done {
			return names, rows
		}
		cp = p.Checkpoint
	}
	t.Fatal("no Done after 10,000 pages")
	return nil, 0
}

// TestRoundTrip writes a dataset in each format through the destination
// (two writes: replace, then append) and reads it back through the source.
func TestRoundTrip(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	for _, format := range []string{"csv", "jsonl", "parquet"} {
		t.Run(format, func(t *testing.T) {
			dst := configure(t, srv.config(t, map[string]any{"path_prefix": "rt", "file_format": format}))
			write := func(id string, mode sdk.WriteMode, first int) {
				req := sdk.WriteRequest{WriteID: id, Flow: "flow-" + format, Target: format, Schema: schema, Mode: mode}
				if err := dst.BeginWrite(ctx, req); err != nil {
					t.Fatal(err)
				}
				for seq := int64(1); seq <= 3; seq++ {
					rec := batch(schema, first+int(seq-1)*50, 50)
					if err := dst.WriteBatch(ctx, id, seq, rec); err != nil {
						t.Fatal(err)
					}
					rec.Release()
				}
				// A fresh process commits: the write is found in S3.
				if err := configure(t, srv.config(t, map[string]any{"path_prefix": "rt", "file_format": format})).CommitWrite(ctx, id, nil); err != nil {
					t.Fatal(err)
				}
				if err := dst.CommitWrite(ctx, id, nil); err != nil {
					t.Fatalf("repeated commit: %v", err)
				}
			}
			write(format+"-w1", sdk.ModeReplace, 1000)
			write(format+"-w2", sdk.ModeReplace, 0)
			write(format+"-w3", sdk.ModeAppend, 150)

			src := configure(t, srv.config(t, map[string]any{"path_prefix": "rt/" + format, "file_format": format}))
			names, rows := readAll(t, src, 37)
			if rows != 300 {
				t.Fatalf("read %d rows, want 300 (the replace of w1 by w2 plus the append of w3)", rows)
			}
			for i, got := range names {
				want := fmt.Sprintf("name %d, \"q\"", i)
				if i%7 == 0 {
					want = "<null>"
				}
				if got != want {
					t.Fatalf("row %d: name %q, want %q", i, got, want)
				}
			}
			if left := srv.keys(t, "rt/.sqlflow-staging/flow-"+format+"/"); len(left) > 1 {
				t.Errorf("staging holds %v after commits; want only the last write's record", left)
			}
			files, err := srv.manifestFiles(ctx, "rt/"+format)
			if err != nil || len(files) != 6 {
				t.Fatalf("manifest names %v (%v), want 6 parts", files, err)
			}
			if all := srv.keys(t, "rt/"+format+"/"); len(all) != 7 {
				t.Errorf("the dataset prefix holds %v, want the 6 parts and _SUCCESS (w1's objects deleted)", all)
			}
		})
	}
}

// TestAbortAndStaleStaging: an aborted write leaves nothing and the target
// untouched; a write left by a killed host is cleaned by the next
// BeginWrite of the flow.
func TestAbortAndStaleStaging(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	dst := configure(t, srv.config(t, map[string]any{"path_prefix": "ab"}))
	rec := batch(schema, 0, 10)
	defer rec.Release()
	req := sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "t", Schema: schema, Mode: sdk.ModeReplace}
	if err := dst.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := dst.WriteBatch(ctx, "w1", 1, rec); err != nil {
		t.Fatal(err)
	}
	if err := dst.AbortWrite(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if err := dst.AbortWrite(ctx, "w1"); err != nil {
		t.Fatalf("second abort: %v", err)
	}
	if left := srv.keys(t, "ab/"); len(left) > 0 {
		t.Fatalf("after abort: %v", left)
	}
	// w2 is left staged (a killed host); w3 of the same flow cleans it.
	req.WriteID = "w2"
	if err := dst.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := dst.WriteBatch(ctx, "w2", 1, rec); err != nil {
		t.Fatal(err)
	}
	req.WriteID = "w3"
	if err := configure(t, srv.config(t, map[string]any{"path_prefix": "ab"})).BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	for _, k := range srv.keys(t, "ab/") {
		if strings.Contains(k, "/w2/") {
			t.Fatalf("w2's staging survived the next BeginWrite of the flow: %s", k)
		}
	}
}

// TestChangedObject: a checkpoint in an object that was overwritten since is
// a PERMANENT error that says so.
func TestChangedObject(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	srv.put(t, "ch/data.csv", []byte("id,name\n1,a\n2,b\n3,c\n"))
	c := configure(t, srv.config(t, map[string]any{"key": "ch/data.csv"}))
	p, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "data", MaxRows: 1})
	if err != nil || p.Done {
		t.Fatalf("first page: %v %v", p.Done, err)
	}
	srv.put(t, "ch/data.csv", []byte("id,name\n9,z\n"))
	c = configure(t, srv.config(t, map[string]any{"key": "ch/data.csv"}))
	_, err = c.ReadPage(ctx, sdk.ReadRequest{Stream: "data", Checkpoint: p.Checkpoint, MaxRows: 1})
	if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("ReadPage after the object changed: %v (class %v), want PERMANENT naming the change", err, errclass.Of(err))
	}
}

// TestErrors: wrong keys and a missing bucket are PERMANENT errors with a
// message that says what to fix.
func TestErrors(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"missing bucket", map[string]any{"bucket": srv.bucket + "-missing"}, "bucket does not exist"},
		{"wrong access key", map[string]any{"access_key_id": "nobody"}, "access_key_id"},
		{"wrong secret", map[string]any{"secret_access_key": "wrong-secret"}, "secret_access_key"},
		{"missing key", map[string]any{"key": "nothing/here.csv"}, "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := configure(t, srv.config(t, tc.cfg))
			err := c.Check(ctx)
			if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v (class %v), want PERMANENT mentioning %q", err, errclass.Of(err), tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

// TestHeaderMismatch: csv objects of one stream must share the first
// object's header.
func TestHeaderMismatch(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	srv.put(t, "hm/a.csv", []byte("id,name\n1,a\n"))
	srv.put(t, "hm/b.csv", []byte("id,other\n2,b\n"))
	c := configure(t, srv.config(t, map[string]any{"path_prefix": "hm/"}))
	p, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "hm"})
	if err != nil || p.Records.NumRows() != 1 || p.Done {
		t.Fatalf("first object: %v", err)
	}
	_, err = c.ReadPage(ctx, sdk.ReadRequest{Stream: "hm", Checkpoint: p.Checkpoint})
	if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), "header") {
		t.Fatalf("second object: %v, want PERMANENT about the header", err)
	}
}

// TestManyObjects: a prefix of 1,200 small objects (more than one
// ListObjectsV2 page of 1,000) is read whole, in key order.
func TestManyObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 1,200 objects")
	}
	srv := newServer(t)
	const n = 1200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			key := fmt.Sprintf("many/obj-%05d.csv", i)
			body := strings.NewReader(fmt.Sprintf("id,name\n%d,n%d\n", i, i))
			if _, err := srv.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(srv.bucket), Key: aws.String(key), Body: body}); err != nil {
				t.Errorf("put %s: %v", key, err) // not Fatal: another goroutine
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	c := configure(t, srv.config(t, map[string]any{"path_prefix": "many/"}))
	names, rows := readAll(t, c, 100)
	if rows != n {
		t.Fatalf("read %d rows from %d objects", rows, n)
	}
	for i, name := range names {
		if name != fmt.Sprintf("n%d", i) {
			t.Fatalf("row %d is %q: objects not read in key order", i, name)
		}
	}
}
