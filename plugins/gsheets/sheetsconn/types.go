package sheetsconn

import (
	"github.com/sqlflow/sqlflow-host/sdk/coltype"

	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// sheetsEpochDays is the Unix day of Google Sheets' day 0, 1899-12-30:
// serial number n is the date 1899-12-30 plus n days.
const sheetsEpochDays = -25569

// msPerDay converts a serial number's fraction to milliseconds. Times are
// rounded to the millisecond, the finest a Sheets time shows, so that a
// serial number's floating-point error (10:00 is 0.41666…) does not leave
// 09:59:59.999999.
const msPerDay = 86_400_000

// maxExactInt is the largest integer a Sheets number (a float64) holds
// exactly.
const maxExactInt = 1 << 53

// formulaErrors are the values a cell holding a failed formula shows
// (UNFORMATTED_VALUE renders them as these strings).
var formulaErrors = map[string]bool{
	"#N/A": true, "#DIV/0!": true, "#REF!": true, "#VALUE!": true, "#NAME?": true,
	"#NUM!": true, "#NULL!": true, "#ERROR!": true, "#SPILL!": true, "#CALC!": true,
}

// isNull reports whether a cell is empty: absent, JSON null or "".
func isNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// isFormulaError reports whether v is the text of a failed formula.
func isFormulaError(v any) bool {
	s, ok := v.(string)
	return ok && formulaErrors[s]
}

// convert turns a non-empty cell (a float64, string or bool as the API
// sends them) into a value of type t, or explains why it cannot. loc is
// the spreadsheet's time zone: serial numbers are wall-clock times there.
func convert(t coltype.Type, v any, loc *time.Location) (coltype.Value, error) {
	if t.Kind == coltype.KindDecimal {
		// A number converts from its decimal form to 15 significant
		// digits, the precision Sheets keeps and shows (so 0.1+0.2 is
		// 0.3, not 0.30000000000000004); text as written. Past that, a
		// digit beyond the scale is an error, never rounded.
		var text string
		switch x := v.(type) {
		case float64:
			f15, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 15, 64), 64)
			if err != nil {
				return coltype.Value{}, fmt.Errorf("%s is not a valid %s", describe(v), t)
			}
			text = fmtNumber(f15)
		case string:
			text = strings.TrimSpace(x)
		default:
			return coltype.Value{}, fmt.Errorf("%s is not a valid %s", describe(v), t)
		}
		d, err := coltype.ParseDecimal(text, t.Precision, t.Scale)
		if err != nil {
			return coltype.Value{}, err
		}
		return coltype.Value{D: d}, nil
	}
	switch t {
	case coltype.Int64:
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) || math.Abs(x) >= 1<<63 {
				return coltype.Value{}, fmt.Errorf("%s is not an integer", fmtNumber(x))
			}
			return coltype.Value{I: int64(x)}, nil
		case string:
			s := strings.TrimSpace(x)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return coltype.Value{I: n}, nil
			}
			return coltype.Value{}, fmt.Errorf("text %q is not an integer", x)
		}
	case coltype.Float64:
		switch x := v.(type) {
		case float64:
			return coltype.Value{F: x}, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return coltype.Value{F: f}, nil
			}
			return coltype.Value{}, fmt.Errorf("text %q is not a number", x)
		}
	case coltype.Bool:
		switch x := v.(type) {
		case bool:
			return coltype.Value{B: x}, nil
		case string:
			if b, err := coltype.Parse(coltype.Bool, strings.TrimSpace(x)); err == nil {
				return b, nil
			}
			return coltype.Value{}, fmt.Errorf("text %q is not a boolean (TRUE, FALSE, t or f, in any case)", x)
		}
	case coltype.Date:
		switch x := v.(type) {
		case float64:
			days := math.Floor(x)
			if math.Abs(days) > 3_000_000 {
				return coltype.Value{}, fmt.Errorf("%s is not a date serial number", fmtNumber(x))
			}
			return coltype.Value{I: int64(days) + sheetsEpochDays}, nil
		case string:
			if d, err := time.Parse(time.DateOnly, strings.TrimSpace(x)); err == nil {
				return coltype.Value{I: int64(arrow.Date32FromTime(d))}, nil
			}
			if us, err := parseTimestamp(strings.TrimSpace(x), loc); err == nil {
				return coltype.Value{I: int64(arrow.Date32FromTime(time.UnixMicro(us).In(loc)))}, nil
			}
			return coltype.Value{}, fmt.Errorf("text %q is not a date (YYYY-MM-DD)", x)
		}
	case coltype.Timestamp:
		switch x := v.(type) {
		case float64:
			us, ok := serialToMicros(x, loc)
			if !ok {
				return coltype.Value{}, fmt.Errorf("%s is not a date-time serial number", fmtNumber(x))
			}
			return coltype.Value{I: us}, nil
		case string:
			s := strings.TrimSpace(x)
			if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
				return coltype.Value{I: d.UnixMicro()}, nil
			}
			us, err := parseTimestamp(s, loc)
			if err != nil {
				return coltype.Value{}, err
			}
			return coltype.Value{I: us}, nil
		}
	default:
		switch x := v.(type) {
		case float64:
			return coltype.Value{S: fmtNumber(x)}, nil
		case bool:
			if x {
				return coltype.Value{S: "TRUE"}, nil
			}
			return coltype.Value{S: "FALSE"}, nil
		case string:
			return coltype.Value{S: x}, nil
		}
	}
	return coltype.Value{}, fmt.Errorf("%s is not a valid %s", describe(v), t)
}

// describe names a cell value in a message.
func describe(v any) string {
	switch x := v.(type) {
	case float64:
		return "number " + fmtNumber(x)
	case bool:
		if x {
			return "boolean TRUE"
		}
		return "boolean FALSE"
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprintf("%v", v)
}

// fmtNumber renders a number as Sheets shows it unformatted: the shortest
// decimal that reads back the same, without an exponent.
func fmtNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// serialToMicros converts a date-time serial number (days since
// 1899-12-30, the fraction the time of day, a wall clock in loc) to
// microseconds since the Unix epoch.
func serialToMicros(serial float64, loc *time.Location) (int64, bool) {
	if math.IsNaN(serial) || math.Abs(serial) > 3_000_000 {
		return 0, false
	}
	ms := int64(math.Round(serial * msPerDay))
	days := floorDiv(ms, msPerDay)
	msOfDay := ms - days*msPerDay
	t := time.Date(1899, time.December, 30+int(days), 0, 0, 0, int(msOfDay)*int(time.Millisecond), loc)
	return t.UnixMicro(), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// parseTimestamp returns text s as microseconds since the epoch: the
// forms of coltype.ParseTimestamp (zones Z, +HH, +HHMM, +HH:MM), one
// without a zone read in the spreadsheet's time zone.
func parseTimestamp(s string, loc *time.Location) (int64, error) {
	us, err := coltype.ParseTimestampIn(s, loc)
	if err != nil {
		return 0, fmt.Errorf("text: %w", err)
	}
	return us, nil
}

// sampleCell is one sampled cell: its value and its number format type
// (DATE, DATE_TIME, TIME, NUMBER, ...; "" when unformatted).
type sampleCell struct {
	v      any
	format string
}

// infer picks a column's type from sampled cells, ignoring empty cells
// and formula errors:
//   - no value at all: string;
//   - only text: the text's type by coltype.Infer (decimals with opts),
//     e.g. 2026-12-07 01:36:12+00 is a timestamp, t and f bools, 12.50 a
//     decimal(38,2), 007 a string;
//   - only booleans: bool;
//   - only numbers: date when every one is formatted as a date,
//     timestamp when every one is a date or date-time and some are
//     date-times, int64 when every one is a whole number of at most 2^53,
//     else float64;
//   - anything else (text, or a mix): string.
func infer(cells []sampleCell, opts coltype.InferOptions) coltype.Type {
	var nums, bools, other, dates, dateTimes, whole int
	var texts []string
	for _, c := range cells {
		if isNull(c.v) || isFormulaError(c.v) {
			continue
		}
		switch x := c.v.(type) {
		case float64:
			nums++
			switch c.format {
			case "DATE":
				dates++
			case "DATE_TIME":
				dateTimes++
			}
			if x == math.Trunc(x) && math.Abs(x) <= maxExactInt {
				whole++
			}
		case bool:
			bools++
		case string:
			other++
			texts = append(texts, strings.TrimSpace(x))
		default:
			other++
		}
	}
	switch {
	case other > 0 && other == len(texts) && nums+bools == 0:
		return coltype.Infer(texts, opts)
	case other > 0 || (nums > 0 && bools > 0) || nums+bools == 0:
		return coltype.String
	case bools > 0:
		return coltype.Bool
	case dates == nums:
		return coltype.Date
	case dates+dateTimes == nums:
		return coltype.Timestamp
	case whole == nums:
		return coltype.Int64
	default:
		return coltype.Float64
	}
}

// parseCursor reads a stored cursor (JSON) as a value of type t; false
// for a missing or null cursor.
func parseCursor(t coltype.Type, raw json.RawMessage) (coltype.Value, bool, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return coltype.Value{}, false, nil
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return coltype.Value{}, false, fmt.Errorf("cursor value %s is not valid JSON", s)
	}
	var cell any
	switch y := x.(type) {
	case json.Number:
		f, err := y.Float64()
		if err != nil {
			return coltype.Value{}, false, fmt.Errorf("cursor value %s is not a number", s)
		}
		if t == coltype.Int64 {
			// 9.5 as the cursor of an int column: rows > 9.5 are rows > 9.
			if n, err := y.Int64(); err == nil {
				return coltype.Value{I: n}, true, nil
			}
			return coltype.Value{I: int64(math.Floor(f))}, true, nil
		}
		cell = f
		if t == coltype.Date || t == coltype.Timestamp || t.Kind == coltype.KindDecimal {
			cell = y.String() // a number stored for a date or decimal column is text here
		}
	case string:
		cell = y
	case bool:
		cell = y
	default:
		return coltype.Value{}, false, fmt.Errorf("cursor value %s must be a number or a string", s)
	}
	v, err := convert(t, cell, time.UTC)
	if err != nil {
		return coltype.Value{}, false, fmt.Errorf("cursor value %s does not fit the cursor column's type %s: %v", s, t, err)
	}
	return v, true, nil
}
