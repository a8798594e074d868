package memconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// configured returns a connector configured with cfg, failing the test on
// any field error.
func configured(t testing.TB, cfg string) *memconn.Connector {
	t.Helper()
	c := memconn.New(nil)
	ferrs, err := c.Configure(context.Background(), json.RawMessage(cfg))
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("Configure(%s) = %v, %v", cfg, ferrs, err)
	}
	return c
}

// readAll reads req's stream to the end and returns its rowhash, the
// checkpoints handed out before each page (the first is nil) and the last page.
func readAll(t testing.TB, c *memconn.Connector, req sdk.ReadRequest) (rowhash.Sum, [][]byte, sdk.Page) {
	t.Helper()
	var sum rowhash.Sum
	var cps [][]byte
	for pages := 0; ; pages++ {
		if pages > 1_000_000 {
			t.Fatal("stream never reported done")
		}
		cps = append(cps, req.Checkpoint)
		p, err := c.ReadPage(context.Background(), req)
		if err != nil {
			t.Fatalf("ReadPage(checkpoint %s): %v", req.Checkpoint, err)
		}
		sum.Add(p.Records)
		p.Records.Release()
		if p.Done {
			return sum, cps, p
		}
		if len(p.Checkpoint) == 0 {
			t.Fatal("a page that is not done has an empty checkpoint")
		}
		req.Checkpoint = p.Checkpoint
	}
}

func TestGeneratorDeterminism(t *testing.T) {
	const rows = 5000
	gen := func(seed int) string {
		return fmt.Sprintf(`{"table_name": "events", "generate": {"rows": %d, "seed": %d}}`, rows, seed)
	}
	a, _, _ := readAll(t, configured(t, gen(42)), sdk.ReadRequest{Stream: "events", MaxRows: 777})
	b, _, _ := readAll(t, configured(t, gen(42)), sdk.ReadRequest{Stream: "events", MaxRows: 5000})
	c, _, _ := readAll(t, configured(t, gen(43)), sdk.ReadRequest{Stream: "events"})
	if a.Rows != rows || b.Rows != rows || c.Rows != rows {
		t.Fatalf("row counts %d, %d, %d; want %d", a.Rows, b.Rows, c.Rows, rows)
	}
	if a != b {
		t.Errorf("same seed, different page sizes: %v vs %v", a, b)
	}
	if a == c {
		t.Errorf("seeds 42 and 43 gave the same rows: %v", a)
	}
}

func TestGeneratorSchemaAndDistribution(t *testing.T) {
	const n = 20000
	c := configured(t, fmt.Sprintf(`{"generate": {"rows": %d, "seed": 7}}`, n))
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Name != "memory" {
		t.Fatalf("Discover = %+v, want one stream named memory", streams)
	}
	want := "id:int64 qty:int64 region_id:int32 price:float64 name:utf8 category:utf8 created_at:timestamp[us, tz=UTC] active:bool note:utf8"
	var got []string
	for _, f := range streams[0].Schema.Fields() {
		got = append(got, f.Name+":"+f.Type.String())
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("schema\n got %s\nwant %s", strings.Join(got, " "), want)
	}

	p, err := c.ReadPage(context.Background(), sdk.ReadRequest{MaxRows: n})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()
	if !p.Done || p.Records.NumRows() != n {
		t.Fatalf("one page of %d rows: done=%v rows=%d", n, p.Done, p.Records.NumRows())
	}
	if !p.Records.Schema().Equal(streams[0].Schema) {
		t.Fatalf("page schema %s differs from discovered %s", p.Records.Schema(), streams[0].Schema)
	}
	id := p.Records.Column(0).(*array.Int64)
	qty := p.Records.Column(1).(*array.Int64)
	region := p.Records.Column(2).(*array.Int32)
	price := p.Records.Column(3).(*array.Float64)
	created := p.Records.Column(6).(*array.Timestamp)
	active := p.Records.Column(7).(*array.Boolean)
	note := p.Records.Column(8)
	var nullNotes, trues int
	for i := 0; i < n; i++ {
		if id.Value(i) != int64(i+1) {
			t.Fatalf("id[%d] = %d", i, id.Value(i))
		}
		if q := qty.Value(i); q < 1 || q > 100 {
			t.Fatalf("qty[%d] = %d, want 1..100", i, q)
		}
		if r := region.Value(i); r < 1 || r > 20 {
			t.Fatalf("region_id[%d] = %d, want 1..20", i, r)
		}
		if pr := price.Value(i); pr < 0.01 || pr > 1000 || math.Abs(pr*100-math.Round(pr*100)) > 1e-6 {
			t.Fatalf("price[%d] = %v, want whole cents in 0.01..1000", i, pr)
		}
		ts := created.Value(i).ToTime(arrow.Microsecond)
		lo := time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)
		if ts.Before(lo) || !ts.Before(lo.Add(time.Second)) {
			t.Fatalf("created_at[%d] = %v, want within the second starting %v", i, ts, lo)
		}
		if active.Value(i) {
			trues++
		}
		if note.IsNull(i) {
			nullNotes++
		}
	}
	if share := float64(nullNotes) / n; share < 0.08 || share > 0.12 {
		t.Errorf("note is null in %.3f of rows, want about 0.10", share)
	}
	if share := float64(trues) / n; share < 0.67 || share > 0.73 {
		t.Errorf("active is true in %.3f of rows, want about 0.70", share)
	}
	for i := 0; i < int(p.Records.NumCols())-1; i++ {
		if p.Records.Column(i).NullN() != 0 {
			t.Errorf("column %s has nulls", p.Records.ColumnName(i))
		}
	}
}

func TestResumeFromEveryCheckpoint(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		req  sdk.ReadRequest
	}{
		{"generator by rows", `{"generate": {"rows": 10000, "seed": 1}}`, sdk.ReadRequest{MaxRows: 997}},
		{"generator by bytes", `{"generate": {"rows": 10000, "seed": 1}}`, sdk.ReadRequest{MaxBytes: 64 << 10}},
		{"generator incremental qty", `{"generate": {"rows": 10000, "seed": 1}}`,
			sdk.ReadRequest{MaxRows: 500, CursorField: "qty", CursorValue: json.RawMessage(`90`)}},
		{"inline", `{"rows": [{"a": 1}, {"a": 2}, {"a": null}, {"a": 4}, {"a": 5}]}`, sdk.ReadRequest{MaxRows: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, tt.cfg)
			total, cps, _ := readAll(t, c, tt.req)
			if len(cps) < 3 {
				t.Fatalf("only %d pages; the test needs several", len(cps))
			}
			var before rowhash.Sum
			for _, cp := range cps {
				fresh := configured(t, tt.cfg) // a new process that never saw cp
				req := tt.req
				req.Checkpoint = cp
				rest, _, _ := readAll(t, fresh, req)
				got := before
				got.Merge(rest)
				if got != total {
					t.Fatalf("from checkpoint %s: pages before + rest = %v, want %v", cp, got, total)
				}
				// The same checkpoint gives the same page.
				p1 := readOne(t, c, req)
				p2 := readOne(t, fresh, req)
				if p1 != p2 {
					t.Fatalf("checkpoint %s gave different pages: %v vs %v", cp, p1, p2)
				}
				before.Merge(p1)
			}
		})
	}
}

func readOne(t testing.TB, c *memconn.Connector, req sdk.ReadRequest) rowhash.Sum {
	t.Helper()
	p, err := c.ReadPage(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()
	var s rowhash.Sum
	s.Add(p.Records)
	return s
}

func TestPageCaps(t *testing.T) {
	c := configured(t, `{"generate": {"rows": 200000, "seed": 3}}`)
	tests := []struct {
		name     string
		req      sdk.ReadRequest
		min, max int64
	}{
		{"defaults", sdk.ReadRequest{}, memconn.DefaultMaxRows, memconn.DefaultMaxRows},
		{"max rows", sdk.ReadRequest{MaxRows: 10}, 10, 10},
		{"max bytes", sdk.ReadRequest{MaxBytes: 100 << 10}, 500, 2000},
		{"one row when a row exceeds max bytes", sdk.ReadRequest{MaxBytes: 1}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := c.ReadPage(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Records.Release()
			if n := p.Records.NumRows(); n < tt.min || n > tt.max {
				t.Errorf("page has %d rows, want %d..%d", n, tt.min, tt.max)
			}
		})
	}
}

func TestInlineRows(t *testing.T) {
	c := configured(t, `{"table_name": "people", "rows": [
		{"id": 1, "name": "a", "score": 1, "ok": true, "tags": ["x"]},
		{"id": 2, "name": null, "score": 2.5, "extra": "late"},
		{"id": 3, "score": null, "ok": false, "tags": {"k": 1}}
	]}`)
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range streams[0].Schema.Fields() {
		got = append(got, f.Name+":"+f.Type.String())
	}
	want := "id:int64 name:utf8 score:float64 ok:bool tags:utf8 extra:utf8"
	if strings.Join(got, " ") != want || streams[0].Name != "people" {
		t.Fatalf("stream %s schema\n got %s\nwant %s", streams[0].Name, strings.Join(got, " "), want)
	}
	p, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "people"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()
	if !p.Done || p.Records.NumRows() != 3 {
		t.Fatalf("done=%v rows=%d, want one page of 3 rows", p.Done, p.Records.NumRows())
	}
	var rows []string
	for i := 0; i < 3; i++ {
		var cells []string
		for _, col := range p.Records.Columns() {
			if col.IsNull(i) {
				cells = append(cells, "NULL")
			} else {
				cells = append(cells, col.ValueStr(i))
			}
		}
		rows = append(rows, strings.Join(cells, ","))
	}
	wantRows := []string{
		`1,a,1,true,["x"],NULL`,
		`2,NULL,2.5,NULL,NULL,late`,
		`3,NULL,NULL,false,{"k":1},NULL`,
	}
	for i := range wantRows {
		if rows[i] != wantRows[i] {
			t.Errorf("row %d = %s, want %s", i, rows[i], wantRows[i])
		}
	}
}

func TestInlineNullOnlyColumnIsString(t *testing.T) {
	c := configured(t, `{"rows": [{"a": null}, {"a": null}]}`)
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if typ := streams[0].Schema.Field(0).Type; typ.ID() != arrow.STRING {
		t.Errorf("null-only column has type %s, want utf8", typ)
	}
}

func TestEmptySources(t *testing.T) {
	for _, cfg := range []string{`{"rows": []}`, `{"generate": {"rows": 0}}`} {
		t.Run(cfg, func(t *testing.T) {
			c := configured(t, cfg)
			p, err := c.ReadPage(context.Background(), sdk.ReadRequest{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Records.Release()
			if !p.Done || p.Records.NumRows() != 0 {
				t.Errorf("done=%v rows=%d, want done with 0 rows", p.Done, p.Records.NumRows())
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, cfg string
		req       sdk.ReadRequest
		want      string
	}{
		{"no data", `{}`, sdk.ReadRequest{}, "has no data"},
		{"unknown stream", `{"generate": {"rows": 5}}`, sdk.ReadRequest{Stream: "other"}, `no stream "other"`},
		{"bad checkpoint", `{"generate": {"rows": 5}}`, sdk.ReadRequest{Checkpoint: []byte("xyz")}, "invalid memory source checkpoint"},
		{"unknown cursor", `{"generate": {"rows": 5}}`, sdk.ReadRequest{CursorField: "nope"}, `no column "nope"`},
		{"bool cursor", `{"generate": {"rows": 5}}`, sdk.ReadRequest{CursorField: "active"}, "cannot be an incremental cursor"},
		{"bad timestamp cursor", `{"generate": {"rows": 5}}`,
			sdk.ReadRequest{CursorField: "created_at", CursorValue: json.RawMessage(`"yesterday"`)}, "not an RFC 3339 timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, tt.cfg)
			_, err := c.ReadPage(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if cl := errclass.Of(err); cl != errclass.Permanent {
				t.Errorf("class %s, want PERMANENT", cl)
			}
		})
	}
	if _, err := memconn.New(nil).ReadPage(context.Background(), sdk.ReadRequest{}); errclass.Of(err) != errclass.Permanent {
		t.Errorf("unconfigured ReadPage: %v, want a PERMANENT error", err)
	}
}

func TestIncremental(t *testing.T) {
	const n = 3000
	cfg := fmt.Sprintf(`{"generate": {"rows": %d, "seed": 11}}`, n)
	// Brute force over one full page gives the expected rows.
	full := configured(t, cfg)
	p, err := full.ReadPage(context.Background(), sdk.ReadRequest{MaxRows: n})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()

	tests := []struct {
		name      string
		field     string
		value     string
		keep      func(i int) bool
		wantMax   string
		maxRowsPg int64
	}{
		{"id monotonic", "id", `2500`, func(i int) bool { return i+1 > 2500 }, fmt.Sprint(n), 100},
		{"id fractional", "id", `2500.5`, func(i int) bool { return i+1 > 2500 }, fmt.Sprint(n), 100},
		{"id null reads all", "id", `null`, func(int) bool { return true }, fmt.Sprint(n), 1000},
		{"qty scanned", "qty", `95`, func(i int) bool { return p.Records.Column(1).(*array.Int64).Value(i) > 95 }, "100", 7},
		{"price as float", "price", `990.5`, func(i int) bool { return p.Records.Column(3).(*array.Float64).Value(i) > 990.5 }, "", 5},
		{"created_at as time", "created_at", `"2024-01-01T00:40:00Z"`, func(i int) bool { return i >= 2400 }, "", 128},
		{"category as string", "category", `"sports"`, func(i int) bool { return p.Records.Column(5).(*array.String).Value(i) > "sports" }, `"toys"`, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want rowhash.Sum
			for i := 0; i < n; i++ {
				if tt.keep(i) {
					want.Add(p.Records.NewSlice(int64(i), int64(i+1)))
				}
			}
			req := sdk.ReadRequest{MaxRows: tt.maxRowsPg, CursorField: tt.field, CursorValue: json.RawMessage(tt.value)}
			got, _, last := readAll(t, configured(t, cfg), req)
			if got != want {
				t.Errorf("rows %v, want %v", got, want)
			}
			if tt.wantMax != "" && string(last.CursorValue) != tt.wantMax {
				t.Errorf("final CursorValue = %s, want %s", last.CursorValue, tt.wantMax)
			}
			if want.Rows > 0 && len(last.CursorValue) == 0 {
				t.Error("final CursorValue is empty")
			}
		})
	}
	t.Run("timestamp cursor value is RFC 3339", func(t *testing.T) {
		req := sdk.ReadRequest{MaxRows: 10, CursorField: "created_at"}
		_, _, last := readAll(t, configured(t, `{"generate": {"rows": 10}}`), req)
		var s string
		if err := json.Unmarshal(last.CursorValue, &s); err != nil {
			t.Fatalf("CursorValue %s is not a JSON string", last.CursorValue)
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || ts.Before(time.Date(2024, 1, 1, 0, 0, 9, 0, time.UTC)) {
			t.Errorf("CursorValue %s: %v", s, err)
		}
	})
	t.Run("inline rows with nulls", func(t *testing.T) {
		c := configured(t, `{"rows": [{"v": 3}, {"v": null}, {"v": 10}, {"v": 1}]}`)
		got, _, last := readAll(t, c, sdk.ReadRequest{MaxRows: 1, CursorField: "v", CursorValue: json.RawMessage(`2`)})
		if got.Rows != 2 || string(last.CursorValue) != "10" {
			t.Errorf("got %d rows, cursor %s; want 2 rows, cursor 10", got.Rows, last.CursorValue)
		}
	})
}

func TestDiscoverAdvertisesCursorAndKey(t *testing.T) {
	streams, err := configured(t, `{"generate": {"rows": 1}}`).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := streams[0]
	if fmt.Sprint(s.PrimaryKey) != "[id]" || fmt.Sprint(s.CursorFields) != "[id created_at]" {
		t.Errorf("primary key %v, cursor fields %v", s.PrimaryKey, s.CursorFields)
	}
}

func TestCheck(t *testing.T) {
	c := memconn.New(nil)
	if err := c.Check(context.Background()); err == nil {
		t.Error("Check on an unconfigured connector succeeded")
	}
	c = configured(t, `{}`)
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestSpec(t *testing.T) {
	s := memconn.New(nil).Spec()
	if s.Name != "memory" || s.Version != "0.1.0" || s.ResilienceClass != sdk.ResilienceNone ||
		!s.Discover || !s.Upsert || !s.Incremental || fmt.Sprint(s.WriteModes) != "[replace append upsert]" {
		t.Errorf("Spec = %+v", s)
	}
	var schema map[string]any
	if err := json.Unmarshal(s.ConfigSchema, &schema); err != nil {
		t.Fatalf("ConfigSchema is not JSON: %v", err)
	}
	props, _ := schema["properties"].(map[string]any)
	for _, k := range []string{"table_name", "rows", "generate", "faults", "dump_path"} {
		if _, ok := props[k]; !ok {
			t.Errorf("ConfigSchema has no property %q", k)
		}
	}
}

func TestPagesSurviveIPC(t *testing.T) {
	for _, cfg := range []string{
		`{"generate": {"rows": 1000, "seed": 5}}`,
		`{"rows": [{"a": 1, "b": null}, {"a": null, "b": "x"}, {"a": 3, "b": "y"}]}`,
	} {
		t.Run(cfg, func(t *testing.T) {
			c := configured(t, cfg)
			p, err := c.ReadPage(context.Background(), sdk.ReadRequest{MaxRows: 999})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Records.Release()
			b, err := arrowipc.EncodeRecord(p.Records)
			if err != nil {
				t.Fatal(err)
			}
			back, err := arrowipc.DecodeRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			defer back.Release()
			var want, got rowhash.Sum
			want.Add(p.Records)
			got.Add(back)
			if want != got || !array.RecordEqual(p.Records, back) {
				t.Errorf("IPC round trip changed the page: %v vs %v", want, got)
			}
		})
	}
}

// TestDiscoverEstimatedRows: generate.rows and the inline rows' count are
// exact estimates.
func TestDiscoverEstimatedRows(t *testing.T) {
	for cfg, want := range map[string]int64{
		`{"generate": {"rows": 1234}}`:                1234,
		`{"rows": [{"id": 1}, {"id": 2}, {"id": 3}]}`: 3,
	} {
		streams, err := configured(t, cfg).Discover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := streams[0].EstimatedRows; got != want {
			t.Errorf("%s: EstimatedRows = %d, want %d", cfg, got, want)
		}
	}
}
