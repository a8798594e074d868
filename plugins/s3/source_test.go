package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// read is the outcome of reading a stream to its end.
type read struct {
	schema *arrow.Schema
	rows   []string // each row's values joined by "|" ("<null>" for null)
	pages  int
	cursor json.RawMessage // the last page's CursorValue
	last   []byte          // the last page's checkpoint
}

// readFrom reads req.Stream from req.Checkpoint to Done; with switchAfter
// > 0, the pages from then on are read by a freshly configured connector
// (another process resuming at the checkpoint).
func readFrom(t *testing.T, c *s3conn.Connector, cfg json.RawMessage, req sdk.ReadRequest, switchAfter int) read {
	t.Helper()
	ctx := context.Background()
	var r read
	for range 100_000 {
		p, err := c.ReadPage(ctx, req)
		if err != nil {
			t.Fatalf("ReadPage (page %d, checkpoint %s): %v", r.pages+1, req.Checkpoint, err)
		}
		r.pages++
		if p.Records != nil {
			r.schema = p.Records.Schema()
			for i := 0; i < int(p.Records.NumRows()); i++ {
				vals := make([]string, p.Records.NumCols())
				for j, col := range p.Records.Columns() {
					vals[j] = "<null>"
					if !col.IsNull(i) {
						vals[j] = col.ValueStr(i)
					}
				}
				r.rows = append(r.rows, strings.Join(vals, "|"))
			}
			p.Records.Release()
		}
		if len(p.CursorValue) > 0 {
			r.cursor = p.CursorValue
		}
		r.last = p.Checkpoint
		if p.Done {
			return r
		}
		req.Checkpoint = p.Checkpoint
		if r.pages == switchAfter {
			c = configure(t, cfg)
		}
	}
	t.Fatal("no Done after 100,000 pages")
	return r
}

func gzipped(t *testing.T, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(data))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzip: .csv.gz and .jsonl.gz objects are read by extension, page by
// page and resumed by another connector in the middle of an object; the
// compression key reads gzip without the extension and refuses data that
// is not gzip.
func TestGzip(t *testing.T) {
	srv := newServer(t)
	var csvText, jsonText strings.Builder
	csvText.WriteString("id,name,note\n")
	for i := range 500 {
		fmt.Fprintf(&csvText, "%d,n%d,\"line one\nline two of %d\"\n", i, i, i)
		fmt.Fprintf(&jsonText, "{\"id\": %d, \"name\": \"n%d\"}\n", i, i)
	}
	srv.put(t, "gz/csv/a.csv.gz", gzipped(t, csvText.String()))
	srv.put(t, "gz/csv/b.CSV.GZ", gzipped(t, csvText.String()))
	srv.put(t, "gz/json/a.jsonl.gz", gzipped(t, jsonText.String()))
	srv.put(t, "gz/json/b.ndjson.gz", gzipped(t, jsonText.String()))
	srv.put(t, "gz/plain/data.csv", gzipped(t, csvText.String()))
	srv.put(t, "gz/notgz/data.csv.gz", []byte(csvText.String()))

	for _, tc := range []struct {
		name, prefix, stream string
		extra                map[string]any
	}{
		{"csv by extension", "gz/csv/", "csv", nil},
		{"jsonl by extension", "gz/json/", "json", nil},
		{"compression gzip", "gz/plain/", "plain", map[string]any{"compression": "gzip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]any{"path_prefix": tc.prefix}
			for k, v := range tc.extra {
				extra[k] = v
			}
			cfg := srv.config(t, extra)
			whole := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: tc.stream, MaxRows: 1000}, 0)
			paged := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: tc.stream, MaxRows: 33}, 0)
			resumed := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: tc.stream, MaxRows: 33}, 5)
			want := 500 * 2
			if tc.prefix == "gz/plain/" {
				want = 500
			}
			if len(whole.rows) != want {
				t.Fatalf("read %d rows, want %d", len(whole.rows), want)
			}
			if strings.Join(paged.rows, "\n") != strings.Join(whole.rows, "\n") || strings.Join(resumed.rows, "\n") != strings.Join(whole.rows, "\n") {
				t.Fatalf("paged (%d rows) or resumed (%d rows) read differs from the whole read", len(paged.rows), len(resumed.rows))
			}
			if !strings.HasPrefix(whole.rows[7], "7|n7") {
				t.Fatalf("row 7 is %q", whole.rows[7])
			}
			if tc.stream == "csv" && whole.rows[1] != "1|n1|line one\nline two of 1" {
				t.Fatalf("row 1 is %q", whole.rows[1])
			}
		})
	}
	t.Run("not gzip", func(t *testing.T) {
		c := s3conn.New(nil)
		if fe, err := c.Configure(context.Background(), srv.config(t, map[string]any{"path_prefix": "gz/notgz/"})); err != nil || len(fe) > 0 {
			t.Fatal(fe, err)
		}
		_, err := c.Discover(context.Background())
		if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), "not gzip data") || !strings.Contains(err.Error(), "gz/notgz/data.csv.gz") {
			t.Fatalf("Discover: %v, want PERMANENT naming the object that is not gzip", err)
		}
	})
}

// TestCSVTypes: csv column types are inferred from a sample of the first
// object; a later value that does not parse is a PERMANENT error naming the
// object, line and column (also when read from a resumed checkpoint);
// csv_columns and csv_infer_types: false override inference.
func TestCSVTypes(t *testing.T) {
	srv := newServer(t)
	var b strings.Builder
	b.WriteString("id,price,ok,day,at,code,empty\n")
	for i := range 50 {
		fmt.Fprintf(&b, "%d,%d.5,%v,2024-05-%02d,2024-05-01T12:%02d:00Z,%03d,\n", i, i, i%2 == 0, i%28+1, i%60, i)
	}
	srv.put(t, "ty/a.csv", []byte(b.String()))
	b.WriteString("x,1.5,true,2024-05-01,2024-05-01T12:00:00Z,001,\n")
	srv.put(t, "bad/a.csv", []byte(b.String()))

	cfg := srv.config(t, map[string]any{"path_prefix": "ty/"})
	r := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: "ty", MaxRows: 7}, 0)
	// price: every value has one fraction digit, so decimal(38,1).
	want := []string{"int64", "decimal(38, 1)", "bool", "date32", "timestamp[us, tz=UTC]", "utf8", "utf8"}
	for i, f := range r.schema.Fields() {
		if f.Type.String() != want[i] {
			t.Errorf("column %s is %s, want %s", f.Name, f.Type, want[i])
		}
	}
	if len(r.rows) != 50 || r.rows[3] != "3|3.5|false|2024-05-04|2024-05-01T12:03:00Z|003|<null>" {
		t.Fatalf("%d rows; row 3 is %q", len(r.rows), r.rows[3])
	}

	// The bad value is on line 52 (header, 50 rows): past the sample of 10.
	bad := srv.config(t, map[string]any{"path_prefix": "bad/", "csv_sample_rows": 10})
	c := configure(t, bad)
	var err error
	req := sdk.ReadRequest{Stream: "bad", MaxRows: 20}
	for range 5 {
		var p sdk.Page
		if p, err = c.ReadPage(context.Background(), req); err != nil {
			break
		}
		req.Checkpoint = p.Checkpoint
		c = configure(t, bad) // every page from a fresh process: line numbers survive resumes
	}
	for _, w := range []string{"bad/a.csv", "line 52", `column "id"`, `"x"`, "int64", "csv_columns"} {
		if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), w) {
			t.Fatalf("reading the bad value: %v, want PERMANENT mentioning %s", err, w)
		}
	}

	over := srv.config(t, map[string]any{"path_prefix": "bad/", "csv_columns": map[string]string{"id": "string", "ok": "String"}})
	r = readFrom(t, configure(t, over), over, sdk.ReadRequest{Stream: "bad"}, 0)
	if r.schema.Field(0).Type.String() != "utf8" || r.schema.Field(2).Type.String() != "utf8" || r.rows[50] != "x|1.5|true|2024-05-01|2024-05-01T12:00:00Z|001|<null>" {
		t.Fatalf("csv_columns: %s, row 50 %q", r.schema, r.rows[50])
	}
	off := srv.config(t, map[string]any{"path_prefix": "bad/", "csv_infer_types": false})
	r = readFrom(t, configure(t, off), off, sdk.ReadRequest{Stream: "bad"}, 0)
	for _, f := range r.schema.Fields() {
		if f.Type.String() != "utf8" {
			t.Fatalf("csv_infer_types false: %s", r.schema)
		}
	}
	c = s3conn.New(nil)
	fe, _ := c.Configure(context.Background(), srv.config(t, map[string]any{"path_prefix": "bad/", "csv_columns": map[string]string{"id": "decimal(39,2)"}}))
	if len(fe) != 1 || fe[0].Field != "csv_columns" || !strings.Contains(fe[0].Message, "int64, decimal(p,s)") {
		t.Fatalf("bad csv_columns type: %v", fe)
	}
	c = configure(t, srv.config(t, map[string]any{"path_prefix": "bad/", "csv_columns": map[string]string{"nope": "int"}}))
	if _, err := c.Discover(context.Background()); !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("csv_columns naming no column: %v", err)
	}
}

// TestIncrementalColumn: a cursor column reads the rows past the stored
// value, compared by type (9 < 10 for an int column); the cursor is the
// greatest value read.
func TestIncrementalColumn(t *testing.T) {
	srv := newServer(t)
	srv.put(t, "ic/a.csv", []byte("id,name\n1,a\n10,b\n9,c\n\n"))
	srv.put(t, "ic/b.csv", []byte("id,name\n11,d\n2,e\n,f\n"))
	srv.put(t, "ij/a.jsonl", []byte(`{"at": "2024-05-01", "v": 1.5}`+"\n"+`{"at": "2024-06-01", "v": 0.5}`+"\n"))
	cfg := srv.config(t, map[string]any{"path_prefix": "ic/"})
	disc, err := configure(t, cfg).Discover(context.Background())
	if err != nil || strings.Join(disc[0].CursorFields, ",") != "_last_modified,id,name" {
		t.Fatalf("cursor fields %v (%v)", disc, err)
	}
	for _, tc := range []struct {
		name, cursor, stored, rows, after string
	}{
		{"no stored value", "id", "null", "1|a,10|b,9|c,11|d,2|e", "11"},
		{"typed comparison", "id", "9", "10|b,11|d", "11"},
		{"as a string", "id", `"9"`, "10|b,11|d", "11"},
		{"nothing new", "id", "11", "", ""},
		{"string column", "name", `"c"`, "d|11,e|2,f|<null>", `"f"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: "ic", MaxRows: 2, CursorField: tc.cursor, CursorValue: json.RawMessage(tc.stored)}, 2)
			got := strings.Join(r.rows, ",")
			if tc.cursor == "name" {
				var flipped []string
				for _, row := range r.rows {
					p := strings.Split(row, "|")
					flipped = append(flipped, p[1]+"|"+p[0])
				}
				got = strings.Join(flipped, ",")
			}
			if got != tc.rows || string(r.cursor) != tc.after {
				t.Fatalf("rows %q cursor %s, want %q cursor %s", got, r.cursor, tc.rows, tc.after)
			}
		})
	}
	jcfg := srv.config(t, map[string]any{"path_prefix": "ij/", "infer_decimals": false})
	r := readFrom(t, configure(t, jcfg), jcfg, sdk.ReadRequest{Stream: "ij", CursorField: "v", CursorValue: json.RawMessage("1")}, 0)
	if strings.Join(r.rows, ",") != "2024-05-01|1.5" || string(r.cursor) != "1.5" {
		t.Fatalf("jsonl float cursor: %q %s", r.rows, r.cursor)
	}
	// With infer_decimals (the default) 1.5 on the first line makes v a
	// decimal(38,1): compared exactly, stored as a string of its digits.
	jcfg = srv.config(t, map[string]any{"path_prefix": "ij/"})
	r = readFrom(t, configure(t, jcfg), jcfg, sdk.ReadRequest{Stream: "ij", CursorField: "v", CursorValue: json.RawMessage("1")}, 0)
	if strings.Join(r.rows, ",") != "2024-05-01|1.5" || string(r.cursor) != `"1.5"` {
		t.Fatalf("jsonl decimal cursor: %q %s", r.rows, r.cursor)
	}
	_, err = configure(t, cfg).ReadPage(context.Background(), sdk.ReadRequest{Stream: "ic", CursorField: "nope"})
	if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "_last_modified") {
		t.Fatalf("unknown cursor column: %v", err)
	}
	_, err = configure(t, cfg).ReadPage(context.Background(), sdk.ReadRequest{Stream: "ic", CursorField: "id", CursorValue: json.RawMessage(`"x"`)})
	if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), "int64") {
		t.Fatalf("a stored cursor of another type: %v", err)
	}
}

// lastModified returns the LastModified S3 lists for key, to the second.
func (s *server) lastModified(t *testing.T, key string) time.Time {
	t.Helper()
	out, err := s.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToTime(out.LastModified).UTC().Truncate(time.Second)
}

// TestIncrementalLastModified: _last_modified reads the objects modified
// after the stored cursor, oldest first; objects of the cursor's very
// second are read unless the cursor names them; max_files_per_run takes the
// oldest objects and the next run continues after them.
func TestIncrementalLastModified(t *testing.T) {
	srv := newServer(t)
	srv.put(t, "lm/b.csv", []byte("id\n2\n"))
	srv.put(t, "lm/a.csv", []byte("id\n1\n"))
	cfg := srv.config(t, map[string]any{"path_prefix": "lm/"})
	req := sdk.ReadRequest{Stream: "lm", CursorField: "_last_modified", CursorValue: json.RawMessage("null")}
	first := readFrom(t, configure(t, cfg), cfg, req, 0)
	if len(first.rows) != 2 {
		t.Fatalf("first run read %q", first.rows)
	}
	var cur struct {
		LastModified string   `json:"last_modified"`
		Keys         []string `json:"keys"`
	}
	if err := json.Unmarshal(first.cursor, &cur); err != nil {
		t.Fatalf("cursor %s: %v", first.cursor, err)
	}
	tb := srv.lastModified(t, "lm/b.csv")
	ta := srv.lastModified(t, "lm/a.csv")
	if want := max(ta.Unix(), tb.Unix()); cur.LastModified != time.Unix(want, 0).UTC().Format(time.RFC3339) {
		t.Fatalf("cursor %s, want the greatest LastModified", first.cursor)
	}

	// Nothing new: no rows, the same cursor.
	req.CursorValue = first.cursor
	again := readFrom(t, configure(t, cfg), cfg, req, 0)
	if len(again.rows) != 0 || string(again.cursor) != string(first.cursor) {
		t.Fatalf("second run: %q, cursor %s", again.rows, again.cursor)
	}

	// A tie: a cursor at b's second that does not name b reads b again;
	// one naming b does not.
	tie := func(keys ...string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"last_modified": tb.Format(time.RFC3339), "keys": keys})
		return b
	}
	req.CursorValue = tie()
	if r := readFrom(t, configure(t, cfg), cfg, req, 0); !contains(r.rows, "2") {
		t.Fatalf("an object of the cursor's second not named by it was skipped: %q", r.rows)
	}
	req.CursorValue = tie("lm/a.csv", "lm/b.csv")
	if r := readFrom(t, configure(t, cfg), cfg, req, 0); len(r.rows) != 0 {
		t.Fatalf("objects the cursor names were read again: %q", r.rows)
	}

	// A new object and max_files_per_run 1: the runs read the new objects
	// one at a time, oldest first.
	srv.put(t, "lm/0-new.csv", []byte("id\n3\n"))
	one := srv.config(t, map[string]any{"path_prefix": "lm/", "max_files_per_run": 1})
	req.CursorValue = json.RawMessage("null")
	var got []string
	for run := 0; run < 4; run++ {
		r := readFrom(t, configure(t, one), one, req, 0)
		got = append(got, r.rows...)
		if len(r.cursor) > 0 {
			req.CursorValue = r.cursor
		}
	}
	// Oldest first, ties in key order.
	keys := []string{"lm/0-new.csv", "lm/a.csv", "lm/b.csv"}
	ids := map[string]string{"lm/0-new.csv": "3", "lm/a.csv": "1", "lm/b.csv": "2"}
	sort.SliceStable(keys, func(i, j int) bool { return srv.lastModified(t, keys[i]).Before(srv.lastModified(t, keys[j])) })
	if want := []string{ids[keys[0]], ids[keys[1]], ids[keys[2]]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("four runs of one object each read %q; want every object once, oldest first: %q", got, want)
	}
	req.CursorValue = json.RawMessage(`{"last_modified": "yesterday"}`)
	if _, err := configure(t, cfg).ReadPage(context.Background(), req); !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("a bad stored cursor: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestParquetRowGroups: a parquet object of several row groups read page by
// page (pages inside row groups, the next row group fetched ahead), and
// resumed by fresh connectors in the middle of row groups, gives the rows
// of a whole read; a timestamp column works as an incremental cursor.
func TestParquetRowGroups(t *testing.T) {
	srv := newServer(t)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(700)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for i := range 5000 {
		b.Field(0).(*array.Int32Builder).Append(int32(i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(1_700_000_000+i) * 1e9))
		if i%11 == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("n%d", i))
		}
	}
	rec := b.NewRecordBatch()
	if err := w.WriteBuffered(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	b.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	srv.put(t, "pq/data.parquet", buf.Bytes())
	cfg := srv.config(t, map[string]any{"key": "pq/data.parquet"})
	whole := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: "data", MaxRows: 100_000}, 0)
	if len(whole.rows) != 5000 || whole.rows[11] != "11|2023-11-14T22:13:31Z|<null>" {
		t.Fatalf("%d rows; row 11 %q", len(whole.rows), whole.rows[11])
	}
	for _, switchAfter := range []int{0, 3, 9} {
		r := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: "data", MaxRows: 300}, switchAfter)
		if strings.Join(r.rows, "\n") != strings.Join(whole.rows, "\n") {
			t.Fatalf("paged read (fresh connector after page %d) differs from the whole read: %d rows", switchAfter, len(r.rows))
		}
	}
	r := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: "data", MaxRows: 450, CursorField: "at", CursorValue: json.RawMessage(`"2023-11-14T22:13:20Z"`)}, 4)
	if len(r.rows) != 4999 || !strings.HasPrefix(r.rows[0], "1|") || string(r.cursor) != `"2023-11-14T23:36:39Z"` {
		t.Fatalf("timestamp cursor: %d rows from %q, cursor %s", len(r.rows), r.rows[0], r.cursor)
	}
}
