// Package coltype types text columns (csv cells and the like): it infers a
// column's type from sample values, parses a value as a type, appends it to
// an Arrow builder, and reads, compares and writes incremental cursor
// values of that type. Connectors that read text (csv files, csv objects on
// S3) share it so that a column types the same way everywhere.
//
// The types, in inference order: int64, float64, bool, date, timestamp,
// string. A column gets the first type every sampled non-null value parses
// as; see [Infer].
package coltype

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// Type is a text column's type. The order is the inference order.
type Type int

// The column types, in inference order.
const (
	Int64 Type = iota
	Float64
	Bool
	Date
	Timestamp
	String
)

// Names lists the type names, for messages.
const Names = "int64, float64, bool, date, timestamp, string"

// String returns the type's name ("int64" …); an unknown value prints as
// "unknown type N".
func (t Type) String() string {
	if t < Int64 || t > String {
		return fmt.Sprintf("unknown type %d", int(t))
	}
	return [...]string{"int64", "float64", "bool", "date", "timestamp", "string"}[t]
}

// TimestampType is the Arrow type of timestamp columns: microseconds in UTC,
// the precision Parquet readers (Spark, DuckDB, pandas) all accept.
var TimestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// Arrow returns the Arrow type of a column of type t.
func (t Type) Arrow() arrow.DataType {
	switch t {
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Float64:
		return arrow.PrimitiveTypes.Float64
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return TimestampType
	default:
		return arrow.BinaryTypes.String
	}
}

// ParseName reads a type name as users write it in a columns key, with a
// few aliases (int, integer, bigint, long, float, double, number, real,
// boolean, datetime, str, text, varchar, utf8), in any case.
func ParseName(s string) (Type, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "int64", "int", "integer", "bigint", "long":
		return Int64, true
	case "float64", "float", "double", "number", "real":
		return Float64, true
	case "bool", "boolean":
		return Bool, true
	case "date":
		return Date, true
	case "timestamp", "datetime":
		return Timestamp, true
	case "string", "str", "text", "varchar", "utf8":
		return String, true
	}
	return 0, false
}

// ParseColumns reads explicit column types as a columns key holds them: a
// JSON map of name to type, or a list of {"name": …, "type": …}. On failure
// it returns a message saying what is wrong and what is allowed.
func ParseColumns(v json.RawMessage) (map[string]Type, string) {
	out := map[string]Type{}
	var asMap map[string]string
	if strings.TrimSpace(string(v)) != "null" && json.Unmarshal(v, &asMap) == nil {
		names := make([]string, 0, len(asMap))
		for n := range asMap {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t, ok := ParseName(asMap[n])
			if !ok {
				return nil, fmt.Sprintf("column %q: unknown type %q; allowed: %s", n, asMap[n], Names)
			}
			out[n] = t
		}
		return out, ""
	}
	var asList []map[string]string
	if strings.TrimSpace(string(v)) == "null" || json.Unmarshal(v, &asList) != nil {
		return nil, "must be a map of column name to type, or a list of {name, type}"
	}
	for i, e := range asList {
		for _, k := range slices.Sorted(maps.Keys(e)) {
			if k != "name" && k != "type" {
				return nil, fmt.Sprintf("entry %d: %s", i, configkey.Unknown(k, []string{"name", "type"}))
			}
		}
		n, tn := e["name"], e["type"]
		if n == "" || len(e) != 2 {
			return nil, fmt.Sprintf("entry %d: must be {\"name\": ..., \"type\": ...}", i)
		}
		t, ok := ParseName(tn)
		if !ok {
			return nil, fmt.Sprintf("column %q: unknown type %q; allowed: %s", n, tn, Names)
		}
		out[n] = t
	}
	return out, ""
}

// Value is one parsed cell: I holds int64 values, days since the epoch
// (date) and microseconds since the epoch (timestamp); F floats; B bools;
// S strings.
type Value struct {
	I int64
	F float64
	B bool
	S string
}

// Parse parses s as a value of type t, or explains why it cannot (the
// error names the value and the type).
func Parse(t Type, s string) (Value, error) {
	switch t {
	case Int64:
		if !isInt(s) {
			return Value{}, fmt.Errorf("value %q is not a valid int64", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("value %q is not a valid int64 (out of range)", s)
		}
		return Value{I: n}, nil
	case Float64:
		if !isFloat(s) {
			return Value{}, fmt.Errorf("value %q is not a valid float64", s)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("value %q is not a valid float64", s)
		}
		return Value{F: f}, nil
	case Bool:
		switch strings.ToLower(s) {
		case "true":
			return Value{B: true}, nil
		case "false":
			return Value{B: false}, nil
		}
		return Value{}, fmt.Errorf("value %q is not a valid bool (true or false)", s)
	case Date:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil || len(s) != 10 {
			return Value{}, fmt.Errorf("value %q is not a valid date (YYYY-MM-DD)", s)
		}
		return Value{I: int64(arrow.Date32FromTime(d))}, nil
	case Timestamp:
		us, err := ParseTimestamp(s)
		if err != nil {
			return Value{}, err
		}
		return Value{I: us}, nil
	default:
		return Value{S: s}, nil
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

// ParseTimestamp returns s as microseconds since the epoch. It accepts
// RFC 3339 with 'T' or a space and any fraction, and the same without a
// zone (read as UTC). A value with non-zero digits below the microsecond
// is refused rather than truncated.
func ParseTimestamp(s string) (int64, error) {
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

// Infer returns the first type of the inference order that every value
// parses as; no values at all give String. Callers leave nulls out.
func Infer(values []string) Type {
	if len(values) == 0 {
		return String
	}
	for t := Int64; t < String; t++ {
		ok := true
		for _, v := range values {
			if _, err := Parse(t, v); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return t
		}
	}
	return String
}

// Append appends v to b, the builder of a column of type t.
func Append(b array.Builder, t Type, v Value) {
	switch t {
	case Int64:
		b.(*array.Int64Builder).Append(v.I)
	case Float64:
		b.(*array.Float64Builder).Append(v.F)
	case Bool:
		b.(*array.BooleanBuilder).Append(v.B)
	case Date:
		b.(*array.Date32Builder).Append(arrow.Date32(v.I))
	case Timestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.I))
	default:
		b.(*array.StringBuilder).Append(v.S)
	}
}

// Size estimates the Arrow bytes one value of type t takes.
func Size(t Type, v Value) int64 {
	switch t {
	case Bool:
		return 1
	case Date:
		return 4
	case String:
		return int64(len(v.S)) + 4
	default:
		return 8
	}
}

// Less reports a < b for two values of type t: numbers as numbers, dates
// and timestamps as instants, strings byte-wise, false before true.
func Less(t Type, a, b Value) bool {
	switch t {
	case Float64:
		return a.F < b.F
	case Bool:
		return !a.B && b.B
	case String:
		return a.S < b.S
	default:
		return a.I < b.I
	}
}

// CursorJSON renders a cursor value as JSON: numbers as numbers, dates and
// timestamps as strings (YYYY-MM-DD, RFC 3339 in UTC), strings as strings.
func CursorJSON(t Type, v Value) json.RawMessage {
	var out any
	switch t {
	case Int64:
		out = v.I
	case Float64:
		out = v.F
	case Bool:
		out = v.B
	case Date:
		out = arrow.Date32(v.I).ToTime().Format(time.DateOnly)
	case Timestamp:
		out = time.UnixMicro(v.I).UTC().Format(time.RFC3339Nano)
	default:
		out = v.S
	}
	data, _ := json.Marshal(out)
	return data
}

// ParseCursor reads a stored cursor (JSON: a number, or a string in the
// column's format) as a value of type t. It reports false for a missing or
// null cursor. A date cursor accepts a timestamp (its day in UTC) and a
// timestamp cursor a date (its midnight, UTC); a fractional number on an
// int64 column is rounded down (rows > 9.5 are rows > 9).
func ParseCursor(t Type, raw json.RawMessage) (Value, bool, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return Value{}, false, nil
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return Value{}, false, fmt.Errorf("cursor value %s is not valid JSON", s)
	}
	var text string
	switch x := x.(type) {
	case json.Number:
		text = x.String()
		if t == Int64 && !isInt(text) {
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return Value{}, false, fmt.Errorf("cursor value %s is not a number", s)
			}
			return Value{I: int64(math.Floor(f))}, true, nil
		}
	case string:
		text = x
	case bool:
		text = strconv.FormatBool(x)
	default:
		return Value{}, false, fmt.Errorf("cursor value %s must be a number or a string", s)
	}
	if t == Date {
		if v, err := Parse(Date, text); err == nil {
			return v, true, nil
		}
		if us, err := ParseTimestamp(text); err == nil {
			return Value{I: int64(arrow.Date32FromTime(time.UnixMicro(us).UTC()))}, true, nil
		}
	}
	if t == Timestamp {
		if d, err := Parse(Date, text); err == nil {
			return Value{I: arrow.Date32(d.I).ToTime().UnixMicro()}, true, nil
		}
	}
	v, err := Parse(t, text)
	if err != nil {
		return Value{}, false, fmt.Errorf("cursor value %s does not fit the cursor column's type %s: %v", s, t, err)
	}
	return v, true, nil
}
