package csvconn

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// colType is a CSV column's type. The order is the inference order: a
// column gets the first type every sampled non-null value parses as.
type colType int

const (
	tInt64 colType = iota
	tFloat64
	tBool
	tDate
	tTimestamp
	tString
)

const typeNames = "int64, float64, bool, date, timestamp, string"

func (t colType) String() string {
	return [...]string{"int64", "float64", "bool", "date", "timestamp", "string"}[t]
}

// timestampType is the Arrow type of timestamp columns: microseconds in UTC,
// the precision Parquet readers (Spark, DuckDB, pandas) all accept.
var timestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

func (t colType) arrow() arrow.DataType {
	switch t {
	case tInt64:
		return arrow.PrimitiveTypes.Int64
	case tFloat64:
		return arrow.PrimitiveTypes.Float64
	case tBool:
		return arrow.FixedWidthTypes.Boolean
	case tDate:
		return arrow.FixedWidthTypes.Date32
	case tTimestamp:
		return timestampType
	default:
		return arrow.BinaryTypes.String
	}
}

// parseTypeName reads a type name of the columns key, with a few aliases.
func parseTypeName(s string) (colType, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "int64", "int", "integer", "bigint", "long":
		return tInt64, true
	case "float64", "float", "double", "number", "real":
		return tFloat64, true
	case "bool", "boolean":
		return tBool, true
	case "date":
		return tDate, true
	case "timestamp", "datetime":
		return tTimestamp, true
	case "string", "str", "text", "varchar", "utf8":
		return tString, true
	}
	return 0, false
}

// value is one parsed cell: i holds int64 values, days (date) and
// microseconds since the epoch (timestamp); f floats; b bools; s strings.
type value struct {
	i int64
	f float64
	b bool
	s string
}

// parseValue parses s as a value of type t, or explains why it cannot.
func parseValue(t colType, s string) (value, error) {
	switch t {
	case tInt64:
		if !isInt(s) {
			return value{}, fmt.Errorf("value %q is not a valid int64", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return value{}, fmt.Errorf("value %q is not a valid int64 (out of range)", s)
		}
		return value{i: n}, nil
	case tFloat64:
		if !isFloat(s) {
			return value{}, fmt.Errorf("value %q is not a valid float64", s)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return value{}, fmt.Errorf("value %q is not a valid float64", s)
		}
		return value{f: f}, nil
	case tBool:
		switch strings.ToLower(s) {
		case "true":
			return value{b: true}, nil
		case "false":
			return value{b: false}, nil
		}
		return value{}, fmt.Errorf("value %q is not a valid bool (true or false)", s)
	case tDate:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil || len(s) != 10 {
			return value{}, fmt.Errorf("value %q is not a valid date (YYYY-MM-DD)", s)
		}
		return value{i: int64(arrow.Date32FromTime(d))}, nil
	case tTimestamp:
		us, err := parseTimestamp(s)
		if err != nil {
			return value{}, err
		}
		return value{i: us}, nil
	default:
		return value{s: s}, nil
	}
}

// isInt: an optional sign and decimal digits, without a leading zero
// (so "007" stays a string and keeps its zeros).
func isInt(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isFloat: [sign] digits [. digits] [e [sign] digits], or [sign] . digits,
// without a leading zero before other integer digits. No NaN or Inf, no
// hex, no underscores.
func isFloat(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if digits > 1 && s[0] == '0' {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// timestampLayouts are the accepted timestamp forms: RFC 3339 (with 'T' or
// a space, any fraction) and the same without a zone, read as UTC.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

// parseTimestamp returns s as microseconds since the epoch. A value with
// non-zero digits below the microsecond is refused rather than truncated.
func parseTimestamp(s string) (int64, error) {
	if len(s) >= 16 {
		for _, layout := range timestampLayouts {
			t, err := time.Parse(layout, s)
			if err != nil {
				continue
			}
			if t.Nanosecond()%1000 != 0 {
				return 0, fmt.Errorf("value %q has sub-microsecond precision, which a timestamp column cannot hold", s)
			}
			return t.UnixMicro(), nil
		}
	}
	return 0, fmt.Errorf("value %q is not a valid timestamp (RFC 3339, e.g. 2024-05-01T12:30:00Z)", s)
}

// infer returns the first type of the inference order that every value
// parses as; no values at all give string.
func infer(values []string) colType {
	if len(values) == 0 {
		return tString
	}
	for t := tInt64; t < tString; t++ {
		ok := true
		for _, v := range values {
			if _, err := parseValue(t, v); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return t
		}
	}
	return tString
}

// appendValue appends v to the builder of a column of type t.
func appendValue(b array.Builder, t colType, v value) {
	switch t {
	case tInt64:
		b.(*array.Int64Builder).Append(v.i)
	case tFloat64:
		b.(*array.Float64Builder).Append(v.f)
	case tBool:
		b.(*array.BooleanBuilder).Append(v.b)
	case tDate:
		b.(*array.Date32Builder).Append(arrow.Date32(v.i))
	case tTimestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.i))
	default:
		b.(*array.StringBuilder).Append(v.s)
	}
}

// valueSize estimates the Arrow bytes one value takes.
func valueSize(t colType, v value) int64 {
	switch t {
	case tBool:
		return 1
	case tDate:
		return 4
	case tString:
		return int64(len(v.s)) + 4
	default:
		return 8
	}
}

// less reports a < b for two values of type t.
func less(t colType, a, b value) bool {
	switch t {
	case tFloat64:
		return a.f < b.f
	case tBool:
		return !a.b && b.b
	case tString:
		return a.s < b.s
	default:
		return a.i < b.i
	}
}

// cursorJSON renders a cursor value as JSON: numbers as numbers, dates and
// timestamps as strings (YYYY-MM-DD, RFC 3339 in UTC), strings as strings.
func cursorJSON(t colType, v value) json.RawMessage {
	var out any
	switch t {
	case tInt64:
		out = v.i
	case tFloat64:
		out = v.f
	case tBool:
		out = v.b
	case tDate:
		out = arrow.Date32(v.i).ToTime().Format(time.DateOnly)
	case tTimestamp:
		out = time.UnixMicro(v.i).UTC().Format(time.RFC3339Nano)
	default:
		out = v.s
	}
	data, _ := json.Marshal(out)
	return data
}

// parseCursor reads a stored cursor (JSON) as a value of type t. It
// reports false for a missing or null cursor.
func parseCursor(t colType, raw json.RawMessage) (value, bool, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return value{}, false, nil
	}
	var any any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&any); err != nil {
		return value{}, false, fmt.Errorf("cursor value %s is not valid JSON", s)
	}
	var text string
	switch x := any.(type) {
	case json.Number:
		text = x.String()
		if t == tInt64 && !isInt(text) {
			// 9.5 as the cursor of an int column: rows > 9.5 are rows > 9.
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return value{}, false, fmt.Errorf("cursor value %s is not a number", s)
			}
			return value{i: int64(math.Floor(f))}, true, nil
		}
	case string:
		text = x
	case bool:
		text = strconv.FormatBool(x)
	default:
		return value{}, false, fmt.Errorf("cursor value %s must be a number or a string", s)
	}
	if t == tDate {
		if v, err := parseValue(tDate, text); err == nil {
			return v, true, nil
		}
		if us, err := parseTimestamp(text); err == nil {
			return value{i: int64(arrow.Date32FromTime(time.UnixMicro(us).UTC()))}, true, nil
		}
	}
	if t == tTimestamp {
		if d, err := parseValue(tDate, text); err == nil {
			return value{i: arrow.Date32(d.i).ToTime().UnixMicro()}, true, nil
		}
	}
	v, err := parseValue(t, text)
	if err != nil {
		return value{}, false, fmt.Errorf("cursor value %s does not fit the cursor column's type %s: %v", s, t, err)
	}
	return v, true, nil
}
