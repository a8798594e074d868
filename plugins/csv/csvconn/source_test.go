package csvconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

const ordersCSV = "id,amount,paid,day,at,note\n" +
	"1,9.5,true,2024-01-02,2024-01-02T10:00:00Z,hello\n" +
	"2,,false,2024-01-03,2024-01-03 11:30:00,\"with, comma\"\n" +
	"3,10,TRUE,,2024-01-04T12:00:00.123456+02:00,\n" +
	"\n" +
	"4,11.25,,2024-01-05,,\"multi\nline \"\"quoted\"\"\"\n" +
	"5,-3e2,false,2024-01-06,2024-01-06T00:00:00Z,\"\"\n"

func TestConfigureFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		field string
		want  string
	}{
		{"unknown key", `{"path":"x.csv","delimeter":";"}`, "delimeter", "allowed keys: path, has_header"},
		{"misspelt key", `{"path":"x.csv","delimter":";"}`, "delimter",
			`unknown key "delimter" (did you mean delimiter?); allowed keys: path, has_header, delimiter, encoding, quote_char, null_values, columns, schema, sample_rows`},
		{"key close to none", `{"path":"x.csv","colour":"red"}`, "colour", `unknown key "colour"; allowed keys: path,`},
		{"misspelt key, other case", `{"path":"x.csv","Has_Headr":false}`, "Has_Headr", `(did you mean has_header?)`},
		{"missing path", `{"has_header":true}`, "path", "required"},
		{"wrong type", `{"path":"x.csv","has_header":"yes"}`, "has_header", "boolean"},
		{"bad encoding", `{"path":"x.csv","encoding":"utf-16"}`, "encoding", "unsupported encoding"},
		{"bad delimiter", `{"path":"x.csv","delimiter":";;"}`, "delimiter", "one ASCII character"},
		{"bad column type", `{"path":"x.csv","columns":{"id":"decimal"}}`, "columns", "unknown type"},
		{"bad sample_rows", `{"path":"x.csv","sample_rows":0}`, "sample_rows", "positive integer"},
		{"null_values not list", `{"path":"x.csv","null_values":3}`, "null_values", "list of strings"},
		{"not an object", `[1]`, "", "JSON object"},
		{"max_record_bytes too small", `{"path":"x.csv","max_record_bytes":1023}`, "max_record_bytes", "from 1024 (1 KiB) to 1073741824 (1 GiB) bytes, got 1023"},
		{"max_record_bytes too large", `{"path":"x.csv","max_record_bytes":1073741825}`, "max_record_bytes", "got 1073741825"},
		{"max_record_bytes not a number", `{"path":"x.csv","max_record_bytes":"64MiB"}`, "max_record_bytes", "integer number of bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := csvconn.New(nil)
			ferrs, err := c.Configure(context.Background(), json.RawMessage(tt.cfg))
			if err != nil {
				t.Fatalf("Configure returned an error, want field errors: %v", err)
			}
			found := false
			for _, fe := range ferrs {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("field errors %v lack %s: ...%s...", ferrs, tt.field, tt.want)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		c := csvconn.New(nil)
		ferrs, err := c.Configure(context.Background(), json.RawMessage(`{"path":"x.csv","columns":[{"name":"id","type":"int64"}],"null_values":["NA",""],"encoding":"latin-1","delimiter":"\\t"}`))
		if err != nil || len(ferrs) > 0 {
			t.Fatalf("Configure = %v, %v", ferrs, err)
		}
	})
}

func TestSpec(t *testing.T) {
	s := csvconn.New(nil).Spec()
	if s.Name != "csv" || s.Version != "0.1.0" || s.ResilienceClass != sdk.ResilienceFile || !s.Discover || !s.Incremental {
		t.Fatalf("spec = %+v", s)
	}
	var schema map[string]any
	if err := json.Unmarshal(s.ConfigSchema, &schema); err != nil {
		t.Fatalf("config schema is not JSON: %v", err)
	}
}

func TestDiscoverInfersTypes(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "orders.csv", ordersCSV)
	c := configured(t, map[string]any{"path": path})
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Name != "orders" {
		t.Fatalf("streams = %+v", streams)
	}
	want := []arrow.DataType{
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean,
		arrow.FixedWidthTypes.Date32, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, arrow.BinaryTypes.String,
	}
	for i, f := range streams[0].Schema.Fields() {
		if !arrow.TypeEqual(f.Type, want[i]) {
			t.Errorf("column %s: type %s, want %s", f.Name, f.Type, want[i])
		}
	}
}

func TestInference(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   arrow.DataType
	}{
		{"ints", []string{"1", "-2", "+3"}, arrow.PrimitiveTypes.Int64},
		{"leading zero stays text", []string{"007", "12"}, arrow.BinaryTypes.String},
		{"floats", []string{"1", "2.5", "1e3"}, arrow.PrimitiveTypes.Float64},
		{"nan is text", []string{"NaN", "1.5"}, arrow.BinaryTypes.String},
		{"bools", []string{"true", "False"}, arrow.FixedWidthTypes.Boolean},
		{"dates", []string{"2024-01-01", "1999-12-31"}, arrow.FixedWidthTypes.Date32},
		{"timestamps", []string{"2024-01-01T00:00:00Z", "2024-01-01 10:00:00"}, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{"date and timestamp", []string{"2024-01-01", "2024-01-01T00:00:00Z"}, arrow.BinaryTypes.String},
		{"only nulls", []string{"", ""}, arrow.BinaryTypes.String},
		{"mixed", []string{"1", "x"}, arrow.BinaryTypes.String},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "v.csv", "v\n"+strings.Join(tt.values, "\n")+"\n")
			c := configured(t, map[string]any{"path": path})
			streams, err := c.Discover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := streams[0].Schema.Field(0).Type; !arrow.TypeEqual(got, tt.want) {
				t.Fatalf("type %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReadValuesAndNulls(t *testing.T) {
	path := writeFile(t, t.TempDir(), "orders.csv", ordersCSV)
	c := configured(t, map[string]any{"path": path})
	pages := readAll(t, c, sdk.ReadRequest{Stream: "orders"})
	if len(pages) != 1 || pages[0].rec.NumRows() != 5 {
		t.Fatalf("got %d pages, want one page of 5 rows", len(pages))
	}
	rec := pages[0].rec
	amount := rec.Column(1).(*array.Float64)
	if !amount.IsNull(1) || amount.Value(4) != -300 {
		t.Errorf("amount = %v", amount)
	}
	note := rec.Column(5).(*array.String)
	if note.Value(1) != "with, comma" || !note.IsNull(2) || note.Value(3) != "multi\nline \"quoted\"" || note.IsNull(4) || note.Value(4) != "" {
		t.Errorf("note = %q", note)
	}
	at := rec.Column(4).(*array.Timestamp)
	if got := at.Value(2).ToTime(arrow.Microsecond).UTC().Format("2006-01-02T15:04:05.000000Z07:00"); got != "2024-01-04T10:00:00.123456Z" {
		t.Errorf("timestamp with zone = %s", got)
	}
}

func TestResumeFromEveryCheckpoint(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,name,score\r\n")
	for i := 1; i <= 57; i++ {
		fmt.Fprintf(&b, "%d,\"name %d\nsecond line\",%d.5\r\n", i, i, i)
	}
	path := writeFile(t, dir, "big.csv", b.String())
	tests := []struct {
		name string
		req  sdk.ReadRequest
	}{
		{"max rows 7", sdk.ReadRequest{Stream: "big", MaxRows: 7}},
		{"max rows 1", sdk.ReadRequest{Stream: "big", MaxRows: 1}},
		{"max bytes 100", sdk.ReadRequest{Stream: "big", MaxBytes: 100}},
		{"exact multiple", sdk.ReadRequest{Stream: "big", MaxRows: 19}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := total(readAll(t, configured(t, map[string]any{"path": path}), tt.req))
			if full.Rows != 57 {
				t.Fatalf("read %d rows, want 57", full.Rows)
			}
			pages := readAll(t, configured(t, map[string]any{"path": path}), tt.req)
			var before rowhash.Sum
			for _, p := range pages {
				// A fresh connector (a new process) resumes at the checkpoint.
				req := tt.req
				req.Checkpoint = p.at
				rest := total(readAll(t, configured(t, map[string]any{"path": path}), req))
				got := before
				got.Merge(rest)
				if got != full {
					t.Fatalf("from checkpoint %s: prefix + rest = %s, full read = %s", p.at, got, full)
				}
				before.Merge(p.sum)
				if p.rec.NumRows() > 0 && tt.req.MaxRows > 0 && p.rec.NumRows() > tt.req.MaxRows {
					t.Fatalf("page of %d rows, cap %d", p.rec.NumRows(), tt.req.MaxRows)
				}
			}
			// The same checkpoint yields the same page.
			again := readAll(t, configured(t, map[string]any{"path": path}), tt.req)
			for i := range pages {
				if again[i].sum != pages[i].sum || string(again[i].out.Checkpoint) != string(pages[i].out.Checkpoint) {
					t.Fatalf("page %d differs on a second read", i)
				}
			}
		})
	}
}

func TestBadDataErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		cfg     map[string]any
		want    []string
	}{
		{"ragged row", "a,b,c\n1,2,3\n4,5\n", nil, []string{"bad.csv", "line 3", "2 fields", "3 columns"}},
		{"ragged after quoted newline", "a,b\n1,\"x\ny\"\n2,3,4\n", nil, []string{"bad.csv", "line 4"}},
		{"value of wrong type", "a,b\n1,2\nx,3\n", map[string]any{"columns": map[string]string{"a": "int64"}}, []string{"bad.csv", "line 3", `column "a"`, "int64"}},
		{"value beyond the sample", "a\n1\n2\nthree\n", map[string]any{"sample_rows": 2}, []string{"bad.csv", "line 4", `column "a"`}},
		{"unclosed quote", "a,b\n1,\"open\n", nil, []string{"bad.csv", "line 2", "not closed"}},
		{"text after quote", "a,b\n1,\"x\"y\n", nil, []string{"bad.csv", "line 2", "closing quote"}},
		{"invalid utf-8", "a\n\xe9t\xe9\n", nil, []string{"bad.csv", "line 2", "latin-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]any{"path": writeFile(t, t.TempDir(), "bad.csv", tt.content)}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			c := configured(t, cfg)
			_, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "bad"})
			if err == nil {
				t.Fatal("ReadPage succeeded, want an error")
			}
			if errclass.Of(err) != errclass.Permanent {
				t.Errorf("class %s, want PERMANENT", errclass.Of(err))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	path := t.TempDir() + "/nope/missing.csv"
	c := configured(t, map[string]any{"path": path})
	for name, err := range map[string]error{
		"check":    c.Check(context.Background()),
		"discover": func() error { _, err := c.Discover(context.Background()); return err }(),
	} {
		if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want PERMANENT naming %s", name, err, path)
		}
	}
}

func TestGlob(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "orders-2.csv", "id,v\n3,c\n4,d\n")
	writeFile(t, dir, "orders-1.csv", "id,v\n1,a\n2,b\n")
	writeFile(t, dir, "orders-3.csv", "id,v\n")
	writeFile(t, dir, "other.csv", "x\n1\n")
	c := configured(t, map[string]any{"path": dir + "/orders-*.csv"})
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if streams[0].Name != "orders" {
		t.Fatalf("stream name %q, want orders", streams[0].Name)
	}
	pages := readAll(t, c, sdk.ReadRequest{Stream: "orders", MaxRows: 3})
	var ids []int64
	for _, p := range pages {
		col := p.rec.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			ids = append(ids, col.Value(i))
		}
	}
	if fmt.Sprint(ids) != "[1 2 3 4]" {
		t.Fatalf("ids = %v, want [1 2 3 4] in file order", ids)
	}

	writeFile(t, dir, "orders-4.csv", "id,other\n5,e\n")
	c = configured(t, map[string]any{"path": dir + "/orders-*.csv"})
	_, err = c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "orders"})
	if err == nil || !strings.Contains(err.Error(), "orders-4.csv") || !strings.Contains(err.Error(), "header") {
		t.Fatalf("mismatched header: %v", err)
	}
}

func TestIncrementalTypedComparison(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,at,name\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, "%d,2024-01-%02dT00:00:00Z,n%d\n", i, i, i)
	}
	path := writeFile(t, dir, "events.csv", b.String())
	tests := []struct {
		name    string
		field   string
		cursor  string
		wantIDs string
		wantMax string
	}{
		{"number 9 < 10", "id", `9`, "[10 11 12]", `12`},
		{"number as string", "id", `"9"`, "[10 11 12]", `12`},
		{"no cursor reads all", "id", `null`, "[1 2 3 4 5 6 7 8 9 10 11 12]", `12`},
		{"timestamp", "at", `"2024-01-10T00:00:00Z"`, "[11 12]", `"2024-01-12T00:00:00Z"`},
		{"timestamp other zone", "at", `"2024-01-10T01:00:00+02:00"`, "[10 11 12]", `"2024-01-12T00:00:00Z"`},
		{"string compares as text", "name", `"n2"`, "[3 4 5 6 7 8 9]", `"n9"`},
		{"nothing newer", "id", `12`, "[]", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, map[string]any{"path": path})
			pages := readAll(t, c, sdk.ReadRequest{Stream: "events", MaxRows: 2, CursorField: tt.field, CursorValue: json.RawMessage(tt.cursor)})
			ids := []int64{}
			for _, p := range pages {
				col := p.rec.Column(0).(*array.Int64)
				for i := 0; i < col.Len(); i++ {
					ids = append(ids, col.Value(i))
				}
			}
			if fmt.Sprint(ids) != tt.wantIDs {
				t.Errorf("ids = %v, want %s", ids, tt.wantIDs)
			}
			if got := string(pages[len(pages)-1].out.CursorValue); got != tt.wantMax {
				t.Errorf("last page cursor = %s, want %s", got, tt.wantMax)
			}
		})
	}
}

func TestLatin1Source(t *testing.T) {
	path := writeFile(t, t.TempDir(), "names.csv", "name;city\nRen\xe9;Z\xfcrich\n")
	c := configured(t, map[string]any{"path": path, "encoding": "latin-1", "delimiter": ";"})
	pages := readAll(t, c, sdk.ReadRequest{Stream: "names"})
	got := pages[0].rec.Column(0).(*array.String).Value(0) + "|" + pages[0].rec.Column(1).(*array.String).Value(0)
	if got != "René|Zürich" {
		t.Fatalf("got %q", got)
	}
}

func TestNoHeaderAndNullValues(t *testing.T) {
	path := writeFile(t, t.TempDir(), "raw.csv", "1,NA\n2,x\n")
	c := configured(t, map[string]any{"path": path, "has_header": false, "null_values": []string{"NA"}})
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := streams[0].Schema.Field(1).Name; n != "column_2" {
		t.Fatalf("column name %q", n)
	}
	pages := readAll(t, c, sdk.ReadRequest{Stream: "raw"})
	if !pages[0].rec.Column(1).IsNull(0) || pages[0].rec.NumRows() != 2 {
		t.Fatal("NA is not null")
	}
}

// TestDiscoverEstimatedRows: the estimate (the files' bytes over the
// sampled rows' average size) is within a factor of 2 of the real count,
// also when only some rows are sampled and over several files; a file of
// only a header estimates 0 (unknown).
func TestDiscoverEstimatedRows(t *testing.T) {
	dir := t.TempDir()
	var a, b strings.Builder
	a.WriteString("id,name,amount\n")
	b.WriteString("id,name,amount\n")
	for i := range 5000 {
		fmt.Fprintf(&a, "%d,name %d,%d.5\n", i, i%97, i%1000)
		if i < 3000 {
			fmt.Fprintf(&b, "%d,other name %d,%d\n", i, i, i)
		}
	}
	writeFile(t, dir, "a.csv", a.String())
	writeFile(t, dir, "b.csv", b.String())
	only := writeFile(t, t.TempDir(), "h.csv", "id,name\n")
	for _, tt := range []struct {
		path   string
		sample int
		want   int64
	}{
		{filepath.Join(dir, "a.csv"), 100, 5000},
		{filepath.Join(dir, "a.csv"), 10000, 5000},
		{filepath.Join(dir, "*.csv"), 200, 8000},
		{only, 100, 0},
	} {
		streams, err := configured(t, map[string]any{"path": tt.path, "sample_rows": tt.sample}).Discover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := streams[0].EstimatedRows
		if tt.want == 0 && got != 0 || got < tt.want/2 || got > tt.want*2 {
			t.Errorf("%s (sample %d): EstimatedRows = %d, want about %d", tt.path, tt.sample, got, tt.want)
		}
		t.Logf("%s (sample %d): EstimatedRows = %d of %d", tt.path, tt.sample, got, tt.want)
	}
}
