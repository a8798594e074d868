package sheetsconn

import (
	"github.com/sqlflow/sqlflow-host/sdk/coltype"

	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestA1Range(t *testing.T) {
	tests := []struct {
		in, sheet, out string
		err            bool
	}{
		{in: "A1:F", out: "A1:F"},
		{in: "b3:h500", out: "B3:H500"},
		{in: "A:F", out: "A1:F"},
		{in: "$B$2:$C$9", out: "B2:C9"},
		{in: "C5", out: "C5:ZZZ"},
		{in: "2:500", out: "A2:ZZZ500"},
		{in: "Sheet1!A1:B2", sheet: "Sheet1", out: "A1:B2"},
		{in: "'It''s here'!AA10:AB", sheet: "It's here", out: "AA10:AB"},
		{in: "A1:?", err: true},
		{in: "C1:A1", err: true},
		{in: "A5:A1", err: true},
		{in: "A0:B1", err: true},
		{in: "AAAA1", err: true},
		{in: "!A1", err: true},
	}
	for _, tt := range tests {
		r, sheet, err := parseA1Range(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("%q: error %v", tt.in, err)
			continue
		}
		if err == nil && (r.String() != tt.out || sheet != tt.sheet) {
			t.Errorf("%q: %q on sheet %q, want %q on %q", tt.in, r.String(), sheet, tt.out, tt.sheet)
		}
	}
	if got := a1("It's", 0, 27, 1001, 2000); got != "'It''s'!A1001:AB2000" {
		t.Errorf("a1: %s", got)
	}
	for c, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 701: "ZZ", 702: "AAA", maxColumns - 1: "ZZZ"} {
		if got := colLetters(c); got != want {
			t.Errorf("colLetters(%d) = %s, want %s", c, got, want)
		}
	}
}

func TestSerialNumbers(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	tests := []struct {
		serial float64
		loc    *time.Location
		want   string
	}{
		{0, time.UTC, "1899-12-30T00:00:00Z"},
		{1, time.UTC, "1899-12-31T00:00:00Z"},
		{25569, time.UTC, "1970-01-01T00:00:00Z"},
		{45292.5, time.UTC, "2024-01-01T12:00:00Z"},
		{45292 + 10.0/24, time.UTC, "2024-01-01T10:00:00Z"}, // 0.41666… rounds to the millisecond
		{45292 + (10*3600+1.5)/86400, time.UTC, "2024-01-01T10:00:01.5Z"},
		{45292.5, paris, "2024-01-01T11:00:00Z"},
		{45474.5, paris, "2024-07-01T10:00:00Z"},
		{-1.25, time.UTC, "1899-12-28T18:00:00Z"},
	}
	for _, tt := range tests {
		us, ok := serialToMicros(tt.serial, tt.loc)
		got := time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
		if !ok || got != tt.want {
			t.Errorf("serial %v in %v: %s, want %s", tt.serial, tt.loc, got, tt.want)
		}
	}
	v, err := convert(coltype.Date, 45292.75, time.UTC)
	if err != nil || v.I != 19723 {
		t.Errorf("date of 45292.75: %v %v", v.I, err)
	}
}

func TestInfer(t *testing.T) {
	c := func(v any, format string) sampleCell { return sampleCell{v: v, format: format} }
	tests := []struct {
		name  string
		cells []sampleCell
		want  coltype.Type
	}{
		{"empty", nil, coltype.String},
		{"only blanks", []sampleCell{c(nil, ""), c("", "")}, coltype.String},
		{"ints", []sampleCell{c(1.0, ""), c(nil, ""), c(-3.0, "NUMBER")}, coltype.Int64},
		{"floats", []sampleCell{c(1.0, ""), c(2.5, "")}, coltype.Float64},
		{"too big for int", []sampleCell{c(1e17, "")}, coltype.Float64},
		{"bools", []sampleCell{c(true, ""), c(false, "")}, coltype.Bool},
		{"dates", []sampleCell{c(45292.0, "DATE"), c(45293.0, "DATE")}, coltype.Date},
		{"date times", []sampleCell{c(45292.0, "DATE"), c(45293.5, "DATE_TIME")}, coltype.Timestamp},
		{"date and number", []sampleCell{c(45292.0, "DATE"), c(3.0, "")}, coltype.Int64},
		{"text", []sampleCell{c("a", ""), c(1.0, "")}, coltype.String},
		{"bools and numbers", []sampleCell{c(true, ""), c(1.0, "")}, coltype.String},
		{"formula errors ignored", []sampleCell{c(1.0, ""), c("#N/A", "")}, coltype.Int64},
		{"text decimals", []sampleCell{c("12.50", ""), c(" -0.10 ", "")}, coltype.Decimal(38, 2)},
		{"text of varying scale", []sampleCell{c("12.5", ""), c("0.10", "")}, coltype.Float64},
		{"psql timestamps as text", []sampleCell{c("2026-12-07 01:36:12.123456+00", ""), c("2026-12-07 07:06:12+05:30", "")}, coltype.Timestamp},
		{"psql bools as text", []sampleCell{c("t", ""), c("f", "")}, coltype.Bool},
		{"text with leading zeros", []sampleCell{c("007", "")}, coltype.String},
		{"text and a formula error", []sampleCell{c("12.50", ""), c("#N/A", "")}, coltype.Decimal(38, 2)},
	}
	for _, tt := range tests {
		if got := infer(tt.cells, coltype.InferOptions{Decimals: true}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDecimalCursor(t *testing.T) {
	dt := coltype.Decimal(12, 2)
	for _, raw := range []string{`10.05`, `"10.05"`} {
		v, ok, err := parseCursor(dt, json.RawMessage(raw))
		if err != nil || !ok || v.D.ToString(2) != "10.05" {
			t.Errorf("parseCursor(%s) = %v %v %v, want 10.05", raw, v.D.ToString(2), ok, err)
		}
	}
	if _, _, err := parseCursor(dt, json.RawMessage(`10.055`)); err == nil || !strings.Contains(err.Error(), "not rounded") {
		t.Errorf("a cursor past the scale: %v", err)
	}
	// A number cell converts at the 15 significant digits Sheets keeps:
	// 0.1+0.2 (0.30000000000000004 as a float64) is 0.30.
	a, b := 0.1, 0.2 // variables: a constant 0.1+0.2 is exactly 0.3
	if v, err := convert(dt, a+b, time.UTC); err != nil || v.D.ToString(2) != "0.30" {
		t.Errorf("0.1+0.2 converted to %s, %v; want 0.30", v.D.ToString(2), err)
	}
	if _, err := convert(dt, 2.125, time.UTC); err == nil || !strings.Contains(err.Error(), "not rounded") {
		t.Errorf("2.125 into decimal(12,2): %v, want an error", err)
	}
}

func TestQuotaBackoffCap(t *testing.T) {
	q := newQuotaBackoff(func() float64 { return 0.999 })
	var last time.Duration
	for range 10 {
		last, _ = q.failure(0)
	}
	if last != maxQuotaWait {
		t.Errorf("wait after ten 429s %v, want the %v cap", last, maxQuotaWait)
	}
	if w, _ := q.failure(2 * time.Minute); w != maxQuotaWait {
		t.Errorf("a server asking for 2m gives %v", w)
	}
}
