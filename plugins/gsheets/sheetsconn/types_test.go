package sheetsconn_test

import (
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// imported is a sheet as a psql export pasted or imported into Sheets
// leaves it: Sheets turned the dates into serial-number cells formatted
// as dates (2026-12-07 is serial 46363) and the numbers into numbers,
// but kept the timestamptz values (+00), the t/f booleans and the
// plain-text amounts as text.
func imported() *sheetstest.Sheet {
	return &sheetstest.Sheet{
		Title: "Export",
		Rows: [][]any{
			{"id", "day", "at", "ts", "b", "amount", "price"},
			{1.0, 46363.0, 46363.5, "2026-12-07 01:36:12.123456+00", "t", "12.50", 12.5},
			{2.0, 46364.0, 46364.25, "2026-12-07 07:06:12+05:30", "f", "-0.10", 3.0},
			{3.0, nil, nil, "2026-12-08 10:00:00", "T", "100.00", 0.1},
		},
		Formats: map[int]string{1: "DATE", 2: "DATE_TIME"},
	}
}

func TestSerialDatesAndTextTypes(t *testing.T) {
	f := newFixture(t, imported())
	c := configure(t, f.config("Export", map[string]any{"columns": map[string]string{"price": "decimal(12,2)"}}))
	rows, pages := readAll(t, c, sdk.ReadRequest{Stream: "Export"})
	want := "id:int64, day:date32, at:timestamp[us, tz=UTC], ts:timestamp[us, tz=UTC], b:bool, amount:decimal(38, 2), price:decimal(12, 2)"
	if got := schemaString(pages[0].schema); got != want {
		t.Fatalf("schema\n got %s\nwant %s", got, want)
	}
	// The spreadsheet's zone is Europe/Paris (UTC+1 in December): serial
	// 46363.5 is noon there, and a text timestamp without a zone too.
	// Decimals print in rowhash's canonical text (no trailing zeros).
	wantRows := strings.Join([]string{
		"1|2026-12-07|2026-12-07T11:00:00Z|2026-12-07T01:36:12.123456Z|true|12.5|12.5",
		"2|2026-12-08|2026-12-08T05:00:00Z|2026-12-07T01:36:12Z|false|-0.1|3",
		"3|NULL|NULL|2026-12-08T09:00:00Z|true|100|0.1",
	}, "\n")
	if got := join(rows); got != wantRows {
		t.Errorf("rows\n got:\n%s\nwant:\n%s", got, wantRows)
	}

	off := configure(t, f.config("Export", map[string]any{"infer_decimals": false}))
	_, pages = readAll(t, off, sdk.ReadRequest{Stream: "Export"})
	if got := pages[0].schema.Field(5).Type.String(); got != "float64" {
		t.Errorf("infer_decimals false: amount is %s, want float64", got)
	}
}

func TestTextCellErrorsNameCellAndColumn(t *testing.T) {
	tests := []struct {
		name  string
		cells []any
		cols  map[string]string
		want  []string
	}{
		{"decimal past its scale", []any{"12.50", "12.505"}, nil, []string{`cell A3 (column "v")`, `value "12.505" has 3 fraction digits`, "not rounded"}},
		{"number past its scale", []any{1.5, 2.125}, map[string]string{"v": "decimal(10,2)"}, []string{`cell A3 (column "v")`, `value "2.125"`, "not rounded"}},
		{"infinity", []any{"2026-12-07 01:36:12+00", "-infinity"}, nil, []string{`cell A3 (column "v")`, "infinite timestamp"}},
		{"nanoseconds", []any{"2026-12-07 01:36:12+00", "2026-12-07 01:36:12.123456789+00"}, nil, []string{`cell A3 (column "v")`, "below the microsecond"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := &sheetstest.Sheet{Title: "S", Rows: [][]any{{"v"}, {tt.cells[0]}, {tt.cells[1]}}}
			f := newFixture(t, sh)
			extra := map[string]any{"sample_rows": 1}
			if tt.cols != nil {
				extra["columns"] = tt.cols
			}
			c := configure(t, f.config("S", extra))
			_, err := readPage(t, c, sdk.ReadRequest{Stream: "S"})
			if !errclass.Is(err, errclass.Permanent) {
				t.Fatalf("err = %v, want PERMANENT", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
