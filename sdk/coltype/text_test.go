package coltype

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// textTypes are the types ParseText is checked against ParseWith with.
var textTypes = []Type{Int64, Float64, Bool, Date, Timestamp, String,
	Decimal(38, 2), Decimal(38, 0), Decimal(10, 3), Decimal(18, 18), Decimal(20, 2), Decimal(5, 5)}

// hostileValues are values at the edges of each type's forms.
var hostileValues = []string{
	"", "0", "-0", "+0", "00", "007", "1", "-1", "+1", "+", "-", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "999999999999999999", "-999999999999999999", "1000000000000000000",
	"1.5", "-1.5", ".5", "5.", "-.5", "1e5", "1E-5", "1e", "1e+", "0.1", "00.1", "1.50", "12.345", "12.340", "0.000",
	"1_000", "0x10", "NaN", "Inf", "-Inf", "infinity", "-infinity", "+Infinity", "İnfinity", " 1", "1 ", "١",
	"t", "T", "f", "F", "true", "TRUE", "True", "false", "FALSE", "falſe", "tru", "yes", "1.0.0",
	"2024-05-01", "2024-02-29", "2023-02-29", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", "0000-01-01",
	"-123-05-01", "+202-05-01", "2024-5-01", "20240501", "2024/05/01", "2024-05-01 ",
	"2024-05-01T12:30", "2024-05-01 12:30:00", "2024-05-01t12:30:00z", "2024-05-01T12:30:00Z", "2024-05-01T12:30:00.1",
	"2024-05-01T12:30:00.123456", "2024-05-01T12:30:00.1234567", "2024-05-01T12:30:00.123456789+05:30",
	"2024-05-01 12:30:00.123456+00", "2024-05-01 12:30:00-0130", "2024-05-01 12:30:00+24", "2024-05-01 24:00:00",
	"2024-05-01 12:60:00", "2024-05-01 12:30:60", "2024-05-01 12:30:00.", "2024-05-01 12:30:00.1234567890",
	"2024-02-30 00:00:00", "2024-05-01 12:30:00+05:3", "2024-05-01 12:30:00 Z", "\xff", "é", "12345678901234567890.12",
	"123456789012345678901234567890123456.12", "-0.00", "+.10", "1.", ".", "-.", "1e400", "4.9e-324", "0.30000000000000004",
}

// randomValue builds a value from the characters of the forms.
func randomValue(r *rand.Rand) string {
	const chars = "0123456789-+.eETtZz :fFalsruİ\xff"
	var sb strings.Builder
	for range r.IntN(30) {
		sb.WriteByte(chars[r.IntN(len(chars))])
	}
	return sb.String()
}

// TestParseCommonMatchesGeneral: for hostile and random values of every
// type, with and without truncation, ParseText (bytes) and ParseWith
// (strings), which parse the common forms by parseCommon, give the general
// parser's value or its error, word for word.
func TestParseCommonMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := append([]string(nil), hostileValues...)
	for range 20000 {
		values = append(values, randomValue(r))
	}
	// Near-forms: a valid value with one byte changed.
	for _, v := range hostileValues {
		for range 5 {
			if v == "" {
				continue
			}
			b := []byte(v)
			b[r.IntN(len(b))] = "0123456789-:. Tx"[r.IntN(16)]
			values = append(values, string(b))
		}
	}
	for _, truncate := range []bool{false, true} {
		opts := ParseOptions{TruncateTimestamps: truncate}
		for _, typ := range textTypes {
			for _, v := range values {
				want, wantErr := parseGeneral(typ, v, opts)
				got, gotErr := ParseText(typ, []byte(v), opts)
				if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %q (truncate %v): ParseText %+v, %v; general %+v, %v", typ, v, truncate, got, gotErr, want, wantErr)
				}
				got, gotErr = ParseWith(typ, v, opts)
				if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %q (truncate %v): ParseWith %+v, %v; general %+v, %v", typ, v, truncate, got, gotErr, want, wantErr)
				}
			}
		}
	}
}

// TestAppendTextMatchesAppend: AppendText builds the column Append builds
// from ParseWith's values, reports Size, and appends nothing on an error.
func TestAppendTextMatchesAppend(t *testing.T) {
	for _, typ := range textTypes {
		got, want := array.NewBuilder(memory.DefaultAllocator, typ.Arrow()), array.NewBuilder(memory.DefaultAllocator, typ.Arrow())
		for _, v := range hostileValues {
			n, err := AppendText(got, typ, []byte(v), ParseOptions{})
			pv, perr := parseGeneral(typ, v, ParseOptions{})
			if (err == nil) != (perr == nil) {
				t.Fatalf("%s %q: AppendText %v, ParseWith %v", typ, v, err, perr)
			}
			if perr != nil {
				if got.Len() != want.Len() {
					t.Fatalf("%s %q: AppendText appended on an error", typ, v)
				}
				continue
			}
			Append(want, typ, pv)
			if n != Size(typ, pv) {
				t.Fatalf("%s %q: size %d, want %d", typ, v, n, Size(typ, pv))
			}
		}
		a, b := got.NewArray(), want.NewArray()
		if !array.Equal(a, b) {
			t.Fatalf("%s: AppendText built %v, Append %v", typ, a, b)
		}
		a.Release()
		b.Release()
		got.Release()
		want.Release()
	}
}

// TestParseTextDoesNotAllocate: the common forms of every type but
// string parse from bytes (ParseText) and strings (ParseWith) without
// allocating.
func TestParseTextDoesNotAllocate(t *testing.T) {
	cases := []struct {
		typ Type
		v   string
	}{
		{Int64, "-123456789"}, {Float64, "1234.5678e-3"}, {Decimal(38, 2), "-1234.50"}, {Bool, "TRUE"},
		{Date, "2024-05-01"}, {Timestamp, "2024-05-01 12:30:00.123456+05:30"},
	}
	for _, c := range cases {
		b := []byte(c.v)
		if n := testing.AllocsPerRun(100, func() {
			if _, err := ParseText(c.typ, b, ParseOptions{}); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s %q: %v allocations per value", c.typ, c.v, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			if _, err := ParseWith(c.typ, c.v, ParseOptions{}); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("ParseWith %s %q: %v allocations per value", c.typ, c.v, n)
		}
	}
}
