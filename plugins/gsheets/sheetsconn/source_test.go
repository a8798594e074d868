package sheetsconn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// orders is a sheet of every kind of cell: 2024-01-01 is serial 45292,
// noon is .5, and the spreadsheet's time zone is Europe/Paris (UTC+1 in
// winter, +2 in summer).
func orders() *sheetstest.Sheet {
	return &sheetstest.Sheet{
		Title: "Orders",
		Rows: [][]any{
			{"id", "customer", "amount", "paid", "day", "at", "note", "mixed"},
			{1.0, "Ada", 12.5, true, 45292.0, 45292.5, "first", 1.0},
			{2.0, "Grace", 7.0, false, 45293.0, 45474.25, nil, "two"},
			{},
			{3.0, nil, "#N/A", nil, 45294.0, 45294.0, "=\"x\"", true},
			{4.0, "Linus", 1e6, true, nil, nil, "", nil},
		},
		Formats: map[int]string{4: "DATE", 5: "DATE_TIME"},
	}
}

func TestReadTypesAndHeader(t *testing.T) {
	f := newFixture(t, orders())
	c := configure(t, f.config("Orders", nil))
	streams, err := c.Discover(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Name != "Orders" {
		t.Fatalf("streams %+v", streams)
	}
	want := "id:int64, customer:utf8, amount:float64, paid:bool, day:date32, at:timestamp[us, tz=UTC], note:utf8, mixed:utf8"
	if got := schemaString(streams[0].Schema); got != want {
		t.Errorf("discovered schema\n got %s\nwant %s", got, want)
	}
	rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "Orders"})
	if got := schemaString(pages[0].schema); got != want {
		t.Errorf("page schema\n got %s\nwant %s", got, want)
	}
	wantRows := strings.Join([]string{
		"1|Ada|12.5|true|2024-01-01|2024-01-01T11:00:00Z|first|1",
		"2|Grace|7|false|2024-01-02|2024-07-01T04:00:00Z|NULL|two",
		"3|NULL|NULL|NULL|2024-01-03|2024-01-02T23:00:00Z|=\"x\"|TRUE",
		"4|Linus|1e+06|true|NULL|NULL|NULL|NULL",
	}, "\n")
	if got := join(rows); got != wantRows {
		t.Errorf("rows\n got:\n%s\nwant:\n%s", got, wantRows)
	}
	// Discover sampled; the first page reused its layout: metadata,
	// sample, one values.get.
	if n := len(f.srv.Requests()); n != 4 { // plus the token
		t.Errorf("%d requests, want 4: %+v", n, f.srv.Requests())
	}
}

func TestExplicitColumns(t *testing.T) {
	sheet := &sheetstest.Sheet{Title: "S", Rows: [][]any{
		{"code", "when", "n", "flag", "stamp"},
		{7.0, "2024-03-05", "42", "TRUE", "2024-03-05 10:30"},
		{8.0, "2024-03-06", "43", "false", 45357.4375},
	}}
	f := newFixture(t, sheet)
	c := configure(t, f.config("S", map[string]any{"columns": map[string]any{"code": "string", "when": "date", "n": "int", "flag": "bool", "stamp": "timestamp"}}))
	rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "S"})
	want := "code:utf8, when:date32, n:int64, flag:bool, stamp:timestamp[us, tz=UTC]"
	if got := schemaString(pages[0].schema); got != want {
		t.Errorf("schema %s, want %s", got, want)
	}
	wantRows := "7|2024-03-05|42|true|2024-03-05T09:30:00Z\n8|2024-03-06|43|false|2024-03-06T09:30:00Z"
	if got := join(rows); got != wantRows {
		t.Errorf("rows\n got:\n%s\nwant:\n%s", got, wantRows)
	}

	// A value that does not fit its column's type is an error naming the
	// cell, never a silent null.
	c = configure(t, f.config("S", map[string]any{"columns": map[string]any{"when": "float64"}}))
	_, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "S"})
	if err == nil || !strings.Contains(err.Error(), `cell B2 (column "when")`) || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("mismatch: %v", err)
	}
	// Naming a column the sheet lacks is an error.
	c = configure(t, f.config("S", map[string]any{"columns": map[string]any{"nope": "int64"}}))
	if _, err := c.Discover(ctx(t)); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Errorf("unknown column: %v", err)
	}
}

func TestRangeAndHeader(t *testing.T) {
	sheet := &sheetstest.Sheet{Title: "Report", Rows: [][]any{
		{"title row"},
		{},
		{"ignored", "a", "b", "c", "ignored"},
		{"x", 1.0, 2.0, 3.0, "x"},
		{"x", 4.0, 5.0, 6.0, "x"},
		{"x", 7.0, 8.0, 9.0, "x"},
		{"x", 10.0, 11.0, 12.0, "x"},
	}}
	f := newFixture(t, sheet)
	tests := []struct {
		name   string
		extra  map[string]any
		schema string
		rows   string
	}{
		{"range with header", map[string]any{"range": "B3:D6"}, "a:int64, b:int64, c:int64", "1|2|3\n4|5|6\n7|8|9"},
		{"open-ended range", map[string]any{"range": "B3:D"}, "a:int64, b:int64, c:int64", "1|2|3\n4|5|6\n7|8|9\n10|11|12"},
		{"range with the sheet's name", map[string]any{"range": "'Report'!C3:C"}, "b:int64", "2\n5\n8\n11"},
		{"no header", map[string]any{"range": "B4:C5", "has_header": false}, "column_1:int64, column_2:int64", "1|2\n4|5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configure(t, f.config("Report", tt.extra))
			rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "Report", MaxRows: 2})
			if got := schemaString(pages[0].schema); got != tt.schema {
				t.Errorf("schema %s, want %s", got, tt.schema)
			}
			if got := join(rows); got != tt.rows {
				t.Errorf("rows\n got:\n%s\nwant:\n%s", got, tt.rows)
			}
		})
	}
	for _, r := range f.srv.Requests() {
		if r.Kind == "values" && !strings.HasPrefix(r.Range, "'Report'!") {
			t.Errorf("range %q is not in A1 notation with a quoted sheet", r.Range)
		}
	}
}

// bigSheet is a sheet of n numbered rows under a header.
func bigSheet(title string, n int) *sheetstest.Sheet {
	rows := make([][]any, 0, n+1)
	rows = append(rows, []any{"id", "name", "score"})
	for i := 1; i <= n; i++ {
		rows = append(rows, []any{float64(i), fmt.Sprintf("row %d", i), float64(i) / 4})
	}
	return &sheetstest.Sheet{Title: title, Rows: rows}
}

func Test25000RowsInPagesAndResume(t *testing.T) {
	f := newFixture(t, bigSheet("Big", 25_000))
	c := configure(t, f.config("Big", map[string]any{"page_size": 1000}))
	rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "Big"})
	if len(rows) != 25_000 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		if r[0] != fmt.Sprint(i+1) {
			t.Fatalf("row %d has id %s", i+1, r[0])
		}
	}
	if len(pages) != 25 {
		t.Errorf("%d pages, want 25", len(pages))
	}
	var ranges []string
	for _, r := range f.srv.Requests() {
		if r.Kind == "values" {
			ranges = append(ranges, r.Range)
		}
	}
	if len(ranges) != 25 || ranges[0] != "'Big'!A2:C1001" || ranges[1] != "'Big'!A1002:C2001" || ranges[24] != "'Big'!A24002:C25001" {
		t.Errorf("ranges %d: %v ... %v", len(ranges), ranges[:2], ranges[len(ranges)-1])
	}

	// A new connector (a new process) resumed at page 10's checkpoint asks
	// for the same range again and reads on from the next row.
	before := len(f.srv.Requests())
	c2 := configure(t, f.config("Big", map[string]any{"page_size": 1000}))
	p, err := readPage(t, c2, sdk.ReadRequest{Stream: "Big", Checkpoint: pages[9].checkpoint})
	if err != nil {
		t.Fatal(err)
	}
	if p.rows[0][0] != "10001" || len(p.rows) != 1000 {
		t.Errorf("resumed page starts at id %s with %d rows", p.rows[0][0], len(p.rows))
	}
	reqs := f.srv.Requests()[before:]
	if len(reqs) != 2 || reqs[1].Range != ranges[10] { // a token, then the page
		t.Errorf("resumed read made %+v, want the token and %s", reqs, ranges[10])
	}
	again, err := readPage(t, c2, sdk.ReadRequest{Stream: "Big", Checkpoint: pages[9].checkpoint})
	if err != nil || join(again.rows) != join(p.rows) || string(again.checkpoint) != string(p.checkpoint) {
		t.Errorf("the same checkpoint gave another page: %v", err)
	}
}

func TestMaxBytesCutsThePage(t *testing.T) {
	f := newFixture(t, bigSheet("Big", 50))
	c := configure(t, f.config("Big", nil))
	rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "Big", MaxBytes: 200})
	if len(rows) != 50 || len(pages) < 5 {
		t.Fatalf("%d rows in %d pages", len(rows), len(pages))
	}
	for i, r := range rows {
		if r[0] != fmt.Sprint(i+1) {
			t.Fatalf("row %d has id %s", i+1, r[0])
		}
	}
}

func TestEmptySheetAndBlankRows(t *testing.T) {
	f := newFixture(t, &sheetstest.Sheet{Title: "Empty"}, &sheetstest.Sheet{Title: "Gaps", Rows: [][]any{
		{"a"}, {1.0}, {}, {}, {2.0}, {nil}, {3.0},
	}}, &sheetstest.Sheet{Title: "Chart", Type: "OBJECT"})
	c := configure(t, f.config("Gaps", nil))
	streams, err := c.Discover(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 2 || streams[0].Name != "Gaps" || streams[1].Name != "Empty" {
		t.Fatalf("streams %+v (the chart sheet has no rows; sheet_name comes first)", streams)
	}
	rows, _ := readAll(t, c, sdk.ReadRequest{Stream: "Gaps", MaxRows: 2})
	if got := join(rows); got != "1\n2\n3" {
		t.Errorf("rows %q", got)
	}
	rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "Empty"})
	if len(rows) != 0 || len(pages) != 1 || !pages[0].done {
		t.Errorf("empty sheet: %d rows, %d pages", len(rows), len(pages))
	}
}

func TestIncrementalComparesTypedValues(t *testing.T) {
	sheet := &sheetstest.Sheet{Title: "S", Rows: [][]any{
		{"id", "day"}, {2.0, 45292.0}, {10.0, 45300.0}, {9.0, 45299.0}, {nil, 45301.0}, {11.0, nil},
	}, Formats: map[int]string{1: "DATE"}}
	f := newFixture(t, sheet)
	c := configure(t, f.config("S", nil))
	// As text "10" < "9"; as numbers only 10 and 11 are after 9.
	rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "S", CursorField: "id", CursorValue: []byte(`9`)})
	if got := join(rows); got != "10|2024-01-09\n11|NULL" {
		t.Errorf("rows after 9:\n%s", got)
	}
	if last := pages[len(pages)-1].cursor; last != "11" {
		t.Errorf("cursor %s, want 11", last)
	}
	rows, pages = readAll(t, c, sdk.ReadRequest{Stream: "S", CursorField: "day", CursorValue: []byte(`"2024-01-08"`), MaxRows: 2})
	if got := join(rows); got != "10|2024-01-09\nNULL|2024-01-10" {
		t.Errorf("rows after 2024-01-08:\n%s", got)
	}
	if last := pages[len(pages)-1].cursor; last != `"2024-01-10"` {
		t.Errorf("cursor %s", last)
	}
	if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "S", CursorField: "nope"}); err == nil || !strings.Contains(err.Error(), `"nope" is not a column`) {
		t.Errorf("unknown cursor column: %v", err)
	}
}
