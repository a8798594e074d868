package coltype_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk/coltype"
)

func TestParseTimestampForms(t *testing.T) {
	base := time.Date(2026, 12, 7, 1, 36, 12, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-12-07 01:36:12.123456+00", base.Add(123456 * time.Microsecond)},
		{"2026-12-07T01:36:12.123456Z", base.Add(123456 * time.Microsecond)},
		{"2026-12-07t01:36:12z", base},
		{"2026-12-07 01:36:12", base},
		{"2026-12-07 01:36", base.Add(-12 * time.Second)},
		{"2026-12-07 07:06:12+0530", base},
		{"2026-12-07 07:06:12+05:30", base},
		{"2026-12-06 20:36:12-05", base},
		{"2026-12-07 01:36:12.1+00", base.Add(100 * time.Millisecond)},
		{"2026-12-07 01:36:12.123456000+00", base.Add(123456 * time.Microsecond)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := coltype.ParseTimestamp(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want.UnixMicro() {
				t.Fatalf("ParseTimestamp(%q) = %s, want %s", tt.in, time.UnixMicro(got).UTC(), tt.want)
			}
		})
	}
}

func TestParseRefusesWithAClearError(t *testing.T) {
	tests := []struct {
		name string
		t    coltype.Type
		in   string
		want string
	}{
		{"nanoseconds", coltype.Timestamp, "2026-12-07 01:36:12.123456789+00", "non-zero digits below the microsecond"},
		{"ten fraction digits", coltype.Timestamp, "2026-12-07 01:36:12.1234567890+00", "not a valid timestamp"},
		{"infinity", coltype.Timestamp, "infinity", `value "infinity" is an infinite timestamp`},
		{"-infinity", coltype.Timestamp, "-infinity", `value "-infinity" is an infinite timestamp`},
		{"infinite date", coltype.Date, "-infinity", `infinite date`},
		{"bad zone", coltype.Timestamp, "2026-12-07 01:36:12+5", "not a valid timestamp"},
		{"zone with a space", coltype.Timestamp, "2026-12-07 01:36:12 +00", "not a valid timestamp"},
		{"no such day", coltype.Timestamp, "2026-02-30 01:36:12", "not a valid timestamp"},
		{"hour 24", coltype.Timestamp, "2026-12-07 24:00:00", "not a valid timestamp"},
		{"bool yes", coltype.Bool, "yes", `value "yes" is not a valid bool (true, false, t or f, in any case)`},
		{"decimal scale", coltype.Decimal(12, 2), "12.505", `value "12.505" has 3 fraction digits, more than the scale of decimal(12,2) allows (2); it is not rounded`},
		{"decimal precision", coltype.Decimal(5, 2), "1234.50", `value "1234.50" has 4 integer digits, more than decimal(5,2) allows (3 = precision - scale)`},
		{"decimal exponent", coltype.Decimal(12, 2), "1.5e3", "is not a valid decimal(12,2)"},
		{"decimal text", coltype.Decimal(12, 2), "12,50", "is not a valid decimal(12,2)"},
		{"decimal bare point", coltype.Decimal(12, 2), "12.", "is not a valid decimal(12,2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := coltype.ParseCell(tt.t, tt.in, coltype.ParseOptions{}, `file "a.csv"`, 7, "col")
			if err == nil {
				t.Fatalf("Parse(%s, %q) succeeded", tt.t, tt.in)
			}
			prefix := `file "a.csv", line 7, column "col": `
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q and %q", err, prefix, tt.want)
			}
			var ce *coltype.CellError
			if !errors.As(err, &ce) || ce.Line != 7 || ce.Column != "col" {
				t.Fatalf("error %v is not a *CellError of line 7, column col", err)
			}
		})
	}
}

func TestParseDecimalIsExact(t *testing.T) {
	tests := []struct {
		t    coltype.Type
		in   string
		want string
	}{
		{coltype.Decimal(12, 2), "12.50", "12.50"},
		{coltype.Decimal(12, 2), "-0.01", "-0.01"},
		{coltype.Decimal(12, 2), "7", "7.00"},
		{coltype.Decimal(12, 2), "007.5", "7.50"},
		{coltype.Decimal(12, 2), ".5", "0.50"},
		{coltype.Decimal(12, 2), "1.2000", "1.20"},
		{coltype.Decimal(12, 2), "9999999999.99", "9999999999.99"},
		{coltype.Decimal(38, 0), "99999999999999999999999999999999999999", "99999999999999999999999999999999999999"},
		{coltype.Decimal(38, 10), "-1234567890123456789012345678.0123456789", "-1234567890123456789012345678.0123456789"},
	}
	for _, tt := range tests {
		v, err := coltype.Parse(tt.t, tt.in)
		if err != nil {
			t.Errorf("Parse(%s, %q): %v", tt.t, tt.in, err)
			continue
		}
		if got := v.D.ToString(tt.t.Scale); got != tt.want {
			t.Errorf("Parse(%s, %q) = %s, want %s", tt.t, tt.in, got, tt.want)
		}
	}
}

func TestParseBools(t *testing.T) {
	for in, want := range map[string]bool{"t": true, "f": false, "T": true, "F": false, "true": true, "FALSE": false} {
		v, err := coltype.Parse(coltype.Bool, in)
		if err != nil || v.B != want {
			t.Errorf("Parse(bool, %q) = %v, %v; want %v", in, v.B, err, want)
		}
	}
}

func TestParseNameDecimals(t *testing.T) {
	for in, want := range map[string]coltype.Type{
		"decimal(12,2)":     coltype.Decimal(12, 2),
		"Decimal( 38 , 0 )": coltype.Decimal(38, 0),
		"numeric(5)":        coltype.Decimal(5, 0),
	} {
		if got, ok := coltype.ParseName(in); !ok || got != want {
			t.Errorf("ParseName(%q) = %v %v, want %v", in, got, ok, want)
		}
		if got, ok := coltype.ParseName(want.String()); !ok || got != want {
			t.Errorf("ParseName(%q) does not read back", want)
		}
	}
	for _, in := range []string{"decimal", "decimal()", "decimal(0,0)", "decimal(39,2)", "decimal(5,6)", "decimal(5,-1)", "decimal(1,2,3)", "decimal(a,b)"} {
		if got, ok := coltype.ParseName(in); ok {
			t.Errorf("ParseName(%q) = %v, want refused", in, got)
		}
	}
}

func TestDecimalCursor(t *testing.T) {
	dt := coltype.Decimal(12, 2)
	bound, ok, err := coltype.ParseCursor(dt, []byte(`"10.05"`))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if n, _, err := coltype.ParseCursor(dt, []byte(`10.05`)); err != nil || n != bound {
		t.Fatalf("a number cursor: %v %v", n, err)
	}
	if _, _, err := coltype.ParseCursor(dt, []byte(`"10.055"`)); err == nil || !strings.Contains(err.Error(), "not rounded") {
		t.Fatalf("a cursor past the scale: %v", err)
	}
	c := coltype.NewCursor(dt, bound, true, coltype.Value{}, false)
	for _, tc := range []struct {
		v    string
		keep bool
	}{{"10.05", false}, {"10.04", false}, {"-99", false}, {"10.06", true}, {"100.00", true}, {"11", true}} {
		v, err := coltype.Parse(dt, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Keep(v); got != tc.keep {
			t.Errorf("Keep(%s) = %v, want %v", tc.v, got, tc.keep)
		}
	}
	if got := string(c.JSON()); got != `"100.00"` {
		t.Errorf("JSON = %s, want \"100.00\"", got)
	}
}

func TestParseTimestampInReadsZonelessValuesInTheZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	for in, want := range map[string]string{
		"2026-12-07 10:00:00":       "2026-12-07T09:00:00Z",
		"2026-07-07T10:00":          "2026-07-07T08:00:00Z",
		"2026-12-07 10:00:00+00":    "2026-12-07T10:00:00Z",
		"2026-12-07 10:00:00-05:00": "2026-12-07T15:00:00Z",
		"2026-12-07 10:00:00.25Z":   "2026-12-07T10:00:00.25Z",
	} {
		us, err := coltype.ParseTimestampIn(in, paris)
		if err != nil {
			t.Errorf("ParseTimestampIn(%q): %v", in, err)
			continue
		}
		if got := time.UnixMicro(us).UTC().Format(time.RFC3339Nano); got != want {
			t.Errorf("ParseTimestampIn(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestTruncateTimestamps(t *testing.T) {
	in := "2026-12-07 01:36:12.123456789+00"
	v, err := coltype.ParseWith(coltype.Timestamp, in, coltype.ParseOptions{TruncateTimestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := time.UnixMicro(v.I).UTC().Format(time.RFC3339Nano); got != "2026-12-07T01:36:12.123456Z" {
		t.Fatalf("truncated = %s", got)
	}
	if _, err := coltype.Parse(coltype.Timestamp, in); err == nil || !strings.Contains(err.Error(), "sub_microsecond: truncate") {
		t.Fatalf("without the option: %v", err)
	}
	for raw, want := range map[string]string{`"truncate"`: "", `"error"`: "", `"round"`: `must be "error"`, `true`: `must be "error"`} {
		_, msg := coltype.ParseSubMicrosecond([]byte(raw))
		if (want == "") != (msg == "") || !strings.Contains(msg, want) {
			t.Errorf("ParseSubMicrosecond(%s) = %q, want %q", raw, msg, want)
		}
	}
}
