// Package coltype types text columns (csv cells and the like): it infers a
// column's type from sample values, parses a value as a type, appends it to
// an Arrow builder, and reads, compares and writes incremental cursor
// values of that type. Connectors that read text (csv files, csv objects on
// S3) share it so that a column types the same way everywhere.
//
// The types, in inference order: int64, decimal(p,s), float64, bool,
// date, timestamp, string. A column gets the first type every sampled
// non-null value fits; see [Infer].
package coltype

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// Kind is the kind of a column type; the order is the inference order.
type Kind uint8

// The kinds of column types, in inference order.
const (
	KindInt64 Kind = iota
	KindDecimal
	KindFloat64
	KindBool
	KindDate
	KindTimestamp
	KindString
)

// Type is a text column's type: a kind, and for decimals a precision and
// scale. Types are comparable; the zero Type is Int64.
type Type struct {
	Kind Kind
	// Precision (1 to 38) and Scale (0 to Precision) of a decimal: the
	// number of digits in all, and of those after the decimal point.
	Precision, Scale int32
}

// The column types other than decimals (see [Decimal]).
var (
	Int64     = Type{Kind: KindInt64}
	Float64   = Type{Kind: KindFloat64}
	Bool      = Type{Kind: KindBool}
	Date      = Type{Kind: KindDate}
	Timestamp = Type{Kind: KindTimestamp}
	String    = Type{Kind: KindString}
)

// MaxPrecision is the largest decimal precision, that of Arrow's decimal128.
const MaxPrecision = 38

// InferredPrecision is the precision of an inferred decimal column: the
// largest, so that a later row with more integer digits than the sampled
// ones still fits.
const InferredPrecision = MaxPrecision

// Decimal returns the type decimal(precision, scale); it panics unless
// 1 <= precision <= 38 and 0 <= scale <= precision (ParseName checks
// what users write).
func Decimal(precision, scale int32) Type {
	if precision < 1 || precision > MaxPrecision || scale < 0 || scale > precision {
		panic(fmt.Sprintf("coltype: decimal(%d,%d) is out of range", precision, scale))
	}
	return Type{Kind: KindDecimal, Precision: precision, Scale: scale}
}

// Names lists the type names, for messages.
const Names = "int64, decimal(p,s) (p 1 to 38, s 0 to p), float64, bool, date, timestamp, string"

// String returns the type's name ("int64", "decimal(12,2)" …); an unknown
// kind prints as "unknown type N".
func (t Type) String() string {
	switch t.Kind {
	case KindInt64:
		return "int64"
	case KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case KindFloat64:
		return "float64"
	case KindBool:
		return "bool"
	case KindDate:
		return "date"
	case KindTimestamp:
		return "timestamp"
	case KindString:
		return "string"
	}
	return fmt.Sprintf("unknown type %d", int(t.Kind))
}

// TimestampType is the Arrow type of timestamp columns: microseconds in UTC,
// the precision Parquet readers (Spark, DuckDB, pandas) all accept.
var TimestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// Arrow returns the Arrow type of a column of type t; a decimal is
// decimal128 of its precision and scale.
func (t Type) Arrow() arrow.DataType {
	switch t.Kind {
	case KindInt64:
		return arrow.PrimitiveTypes.Int64
	case KindDecimal:
		return &arrow.Decimal128Type{Precision: t.Precision, Scale: t.Scale}
	case KindFloat64:
		return arrow.PrimitiveTypes.Float64
	case KindBool:
		return arrow.FixedWidthTypes.Boolean
	case KindDate:
		return arrow.FixedWidthTypes.Date32
	case KindTimestamp:
		return TimestampType
	default:
		return arrow.BinaryTypes.String
	}
}

// ParseName reads a type name as users write it in a columns key, with a
// few aliases (int, integer, bigint, long, float, double, number, real,
// boolean, datetime, str, text, varchar, utf8), in any case. A decimal is
// decimal(p,s) or numeric(p,s) with 1 <= p <= 38 and 0 <= s <= p, or
// decimal(p) (scale 0).
func ParseName(s string) (Type, bool) {
	n := strings.ToLower(strings.TrimSpace(s))
	switch n {
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
	for _, prefix := range []string{"decimal", "numeric"} {
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
			return Type{}, false
		}
		args := strings.Split(rest[1:len(rest)-1], ",")
		if len(args) > 2 {
			return Type{}, false
		}
		var ps [2]int64
		for i, a := range args {
			v, err := strconv.ParseInt(strings.TrimSpace(a), 10, 32)
			if err != nil {
				return Type{}, false
			}
			ps[i] = v
		}
		if ps[0] < 1 || ps[0] > MaxPrecision || ps[1] < 0 || ps[1] > ps[0] {
			return Type{}, false
		}
		return Decimal(int32(ps[0]), int32(ps[1])), true
	}
	return Type{}, false
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
// (date) and microseconds since the epoch (timestamp); D decimals (the
// unscaled integer: 12.50 in decimal(p,2) is 1250); F floats; B bools;
// S strings.
type Value struct {
	I int64
	D decimal128.Num
	F float64
	B bool
	S string
}

// Parse parses s as a value of type t, or explains why it cannot (the
// error names the value and the type, and what is allowed).
func Parse(t Type, s string) (Value, error) {
	return ParseWith(t, s, ParseOptions{})
}

// ParseOptions are a source's declared choices for Parse.
type ParseOptions struct {
	// TruncateTimestamps drops a timestamp's digits below the microsecond
	// (sub_microsecond: truncate) instead of refusing the value.
	TruncateTimestamps bool
}

// ParseWith is Parse with opts.
func ParseWith(t Type, s string, opts ParseOptions) (Value, error) {
	if t.Kind != KindString {
		if v, ok := parseCommon(t, s, opts); ok {
			return v, nil
		}
	}
	return parseGeneral(t, s, opts)
}

// parseGeneral is ParseWith for every form, and every error: what
// parseCommon, its fast path for the common forms, must agree with.
func parseGeneral(t Type, s string, opts ParseOptions) (Value, error) {
	switch t.Kind {
	case KindInt64:
		if !isInt(s) {
			return Value{}, fmt.Errorf("value %q is not a valid int64", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("value %q is not a valid int64 (out of range)", s)
		}
		return Value{I: n}, nil
	case KindDecimal:
		d, err := ParseDecimal(s, t.Precision, t.Scale)
		if err != nil {
			return Value{}, err
		}
		return Value{D: d}, nil
	case KindFloat64:
		if !isFloat(s) {
			return Value{}, fmt.Errorf("value %q is not a valid float64", s)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("value %q is not a valid float64", s)
		}
		return Value{F: f}, nil
	case KindBool:
		switch strings.ToLower(s) {
		case "true", "t":
			return Value{B: true}, nil
		case "false", "f":
			return Value{B: false}, nil
		}
		return Value{}, fmt.Errorf("value %q is not a valid bool (true, false, t or f, in any case)", s)
	case KindDate:
		if isInfinity(s) {
			return Value{}, infinityError(s, "date")
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil || len(s) != 10 {
			return Value{}, fmt.Errorf("value %q is not a valid date (YYYY-MM-DD)", s)
		}
		return Value{I: int64(arrow.Date32FromTime(d))}, nil
	case KindTimestamp:
		us, err := parseTimestamp(s, time.UTC, opts.TruncateTimestamps)
		if err != nil {
			return Value{}, err
		}
		return Value{I: us}, nil
	default:
		return Value{S: s}, nil
	}
}

// isInt: an optional sign and decimal digits, without a leading zero
// (so "007" stays a string and keeps its zeros). It reads text as a
// string or as bytes (a csv field where it lies).
func isInt[T ~string | ~[]byte](s T) bool {
	if len(s) != 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if len(s) == 0 || (len(s) > 1 && s[0] == '0') {
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
// hex, no underscores. It reads text as a string or as bytes.
func isFloat[T ~string | ~[]byte](s T) bool {
	if len(s) != 0 && (s[0] == '-' || s[0] == '+') {
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

// decimalText splits a plain decimal, [sign] digits [. digits] or [sign]
// . digits (no exponent), into its sign and its integer and fraction
// digits; ok is false for anything else.
func decimalText(s string) (neg bool, intPart, frac string, ok bool) {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, dot := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return false, "", "", false
	}
	if dot && frac == "" {
		return false, "", "", false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false, "", "", false
			}
		}
	}
	return neg, intPart, frac, true
}

// ParseDecimal parses s, a plain decimal ([sign] digits [. digits], no
// exponent), as a decimal(precision, scale): the unscaled integer. It
// never rounds: a non-zero digit past the scale, or more integer digits
// than precision-scale, is an error saying so (fraction digits past the
// scale that are all zero lose nothing and are accepted).
func ParseDecimal(s string, precision, scale int32) (decimal128.Num, error) {
	name := fmt.Sprintf("decimal(%d,%d)", precision, scale)
	neg, intPart, frac, ok := decimalText(s)
	if !ok {
		return decimal128.Num{}, fmt.Errorf("value %q is not a valid %s (digits with an optional sign and decimal point, e.g. -1234.50; no exponent)", s, name)
	}
	if len(frac) > int(scale) {
		if strings.Trim(frac[scale:], "0") != "" {
			return decimal128.Num{}, fmt.Errorf("value %q has %d fraction digits, more than the scale of %s allows (%d); it is not rounded: declare the column with a larger scale, or as float64", s, len(frac), name, scale)
		}
		frac = frac[:scale]
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > int(precision-scale) {
		return decimal128.Num{}, fmt.Errorf("value %q has %d integer digits, more than %s allows (%d = precision - scale)", s, len(intPart), name, precision-scale)
	}
	digits := intPart + frac + strings.Repeat("0", int(scale)-len(frac))
	var n decimal128.Num
	if len(digits) <= 18 {
		var u uint64
		for i := 0; i < len(digits); i++ {
			u = u*10 + uint64(digits[i]-'0')
		}
		n = decimal128.FromU64(u)
	} else {
		b, _ := new(big.Int).SetString(digits, 10)
		n = decimal128.FromBigInt(b)
	}
	if neg {
		n = n.Negate()
	}
	return n, nil
}

// decimalScale reports the number of fraction digits of s when s is a
// decimal the inference may type as one: the form isFloat accepts without
// an exponent, with at least one fraction digit and at most 38 digits in
// all (leading zeros left out).
func decimalScale(s string) (int, bool) {
	if !isFloat(s) {
		return 0, false
	}
	_, intPart, frac, ok := decimalText(s)
	if !ok || frac == "" {
		return 0, false
	}
	if len(strings.TrimLeft(intPart, "0"))+len(frac) > MaxPrecision {
		return 0, false
	}
	return len(frac), true
}

// isInfinity reports whether s is PostgreSQL's infinite date or
// timestamp.
func isInfinity(s string) bool {
	switch strings.ToLower(s) {
	case "infinity", "+infinity", "-infinity":
		return true
	}
	return false
}

func infinityError(s, what string) error {
	return fmt.Errorf("value %q is an infinite %s (as PostgreSQL writes them), which a %s column cannot hold: filter those rows out, or type the column string", s, what, what)
}

// timestampForms describes the accepted timestamps, for messages.
const timestampForms = "YYYY-MM-DD HH:MM[:SS[.fraction of 1 to 9 digits]], with T or a space between date and time, and an optional zone: Z, +HH, +HHMM or +HH:MM; e.g. 2024-05-01T12:30:00Z or 2024-05-01 12:30:00.123456+00"

// ParseTimestamp returns s as microseconds since the epoch. It accepts
// YYYY-MM-DD HH:MM[:SS[.f]] with 'T' or a space between date and time,
// 1 to 9 fraction digits, and a zone of Z, +HH, +HHMM or +HH:MM (as
// psql writes timestamptz: 2026-12-07 01:36:12.123456+00); without a zone
// the time is UTC. A value with non-zero digits below the microsecond is
// refused rather than truncated, and so are PostgreSQL's infinity and
// -infinity.
func ParseTimestamp(s string) (int64, error) {
	return ParseTimestampIn(s, time.UTC)
}

// scanTimestamp reads the forms ParseTimestamp accepts, with any
// fraction, from text as a string or as bytes.
func scanTimestamp[T ~string | ~[]byte](s T) (time.Time, bool) {
	num := func(s T) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, len(s) != 0
	}
	if len(s) < 16 || s[4] != '-' || s[7] != '-' || s[13] != ':' {
		return time.Time{}, false
	}
	if sep := s[10]; sep != 'T' && sep != 't' && sep != ' ' {
		return time.Time{}, false
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 {
		return time.Time{}, false
	}
	rest := s[16:]
	sec, nanos := 0, 0
	if len(rest) != 0 && rest[0] == ':' {
		if len(rest) < 3 {
			return time.Time{}, false
		}
		var ok bool
		if sec, ok = num(rest[1:3]); !ok || sec > 59 {
			return time.Time{}, false
		}
		rest = rest[3:]
		if len(rest) != 0 && rest[0] == '.' {
			i := 1
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			digits := rest[1:i]
			if len(digits) < 1 || len(digits) > 9 {
				return time.Time{}, false
			}
			nanos, _ = num(digits)
			for range 9 - len(digits) {
				nanos *= 10
			}
			rest = rest[i:]
		}
	}
	offset := 0
	switch {
	case len(rest) == 0 || (len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z')):
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		var hh, mm int
		var ok bool
		switch {
		case len(z) == 2:
			hh, ok = num(z)
		case len(z) == 4:
			hh, ok = num(z[:2])
			if ok {
				mm, ok = num(z[2:])
			}
		case len(z) == 5 && z[2] == ':':
			hh, ok = num(z[:2])
			if ok {
				mm, ok = num(z[3:])
			}
		}
		if !ok || hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		offset = hh*3600 + mm*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // 2024-02-30
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

// InferOptions are a source's choices for Infer.
type InferOptions struct {
	// Decimals types a column of plain decimals that all have the same
	// number of fraction digits as decimal(38, that number) instead of
	// float64 (the infer_decimals key; sources default it to true).
	Decimals bool
}

// Infer returns the type of a column from its sampled non-null values
// (callers leave nulls out), the first of these that fits every value:
//
//  1. int64: an optional sign and digits, no leading zero, in range;
//  2. decimal(38,s), with opts.Decimals: plain decimals ([sign] digits .
//     digits, no exponent, no leading zero) that all have the same number
//     s >= 1 of fraction digits, 38 digits at most;
//  3. float64: numbers, with or without a fraction or an exponent;
//  4. bool: true, false, t, f in any case;
//  5. date: YYYY-MM-DD;
//  6. timestamp: the forms of ParseTimestamp;
//  7. string: anything else, and a column without values.
//
// A date or timestamp column may hold infinity or -infinity among real
// values, and a timestamp column values with digits below the
// microsecond: the column keeps its type and Parse refuses those values,
// so that the reader's error names the row and column instead of the
// column silently becoming text.
func Infer(values []string, opts InferOptions) Type {
	if len(values) == 0 {
		return String
	}
	all := func(fits func(string) bool) bool {
		for _, v := range values {
			if !fits(v) {
				return false
			}
		}
		return true
	}
	if all(func(v string) bool { _, err := Parse(Int64, v); return err == nil }) {
		return Int64
	}
	if opts.Decimals {
		scale := -1
		if all(func(v string) bool {
			s, ok := decimalScale(v)
			if scale < 0 {
				scale = s
			}
			return ok && s == scale
		}) {
			return Decimal(InferredPrecision, int32(scale))
		}
	}
	if all(isFloat[string]) {
		return Float64
	}
	if all(func(v string) bool { _, err := Parse(Bool, v); return err == nil }) {
		return Bool
	}
	finite := 0
	if all(func(v string) bool {
		if isInfinity(v) {
			return true
		}
		_, err := Parse(Date, v)
		finite++
		return err == nil
	}) && finite > 0 {
		return Date
	}
	finite = 0
	if all(func(v string) bool {
		if isInfinity(v) {
			return true
		}
		_, ok := scanTimestamp(v)
		finite++
		return ok
	}) && finite > 0 {
		return Timestamp
	}
	return String
}

// Append appends v to b, the builder of a column of type t.
func Append(b array.Builder, t Type, v Value) {
	switch t.Kind {
	case KindInt64:
		b.(*array.Int64Builder).Append(v.I)
	case KindDecimal:
		b.(*array.Decimal128Builder).Append(v.D)
	case KindFloat64:
		b.(*array.Float64Builder).Append(v.F)
	case KindBool:
		b.(*array.BooleanBuilder).Append(v.B)
	case KindDate:
		b.(*array.Date32Builder).Append(arrow.Date32(v.I))
	case KindTimestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.I))
	default:
		b.(*array.StringBuilder).Append(v.S)
	}
}

// Size estimates the Arrow bytes one value of type t takes.
func Size(t Type, v Value) int64 {
	switch t.Kind {
	case KindBool:
		return 1
	case KindDate:
		return 4
	case KindDecimal:
		return 16
	case KindString:
		return int64(len(v.S)) + 4
	default:
		return 8
	}
}

// Less reports a < b for two values of type t: numbers as numbers
// (decimals exactly), dates and timestamps as instants, strings byte-wise,
// false before true.
func Less(t Type, a, b Value) bool {
	switch t.Kind {
	case KindDecimal:
		return a.D.Less(b.D)
	case KindFloat64:
		return a.F < b.F
	case KindBool:
		return !a.B && b.B
	case KindString:
		return a.S < b.S
	default:
		return a.I < b.I
	}
}

// CursorJSON renders a cursor value as JSON: int64 and float64 as
// numbers, decimals as strings of their exact digits ("12.50"), dates and
// timestamps as strings (YYYY-MM-DD, RFC 3339 in UTC), strings as strings.
func CursorJSON(t Type, v Value) json.RawMessage {
	var out any
	switch t.Kind {
	case KindInt64:
		out = v.I
	case KindDecimal:
		out = v.D.ToString(t.Scale)
	case KindFloat64:
		out = v.F
	case KindBool:
		out = v.B
	case KindDate:
		out = arrow.Date32(v.I).ToTime().Format(time.DateOnly)
	case KindTimestamp:
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
// int64 column is rounded down (rows > 9.5 are rows > 9). A decimal
// cursor (a number or a string) must fit the column's scale exactly.
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
		return Value{}, false, fmt.Errorf("cursor value %s does not fit the cursor column's type %s: %w", s, t, err)
	}
	return v, true, nil
}

// CellError is a value that does not parse as its column's type, with
// where it is: a reader's error that names the row (line) and column.
type CellError struct {
	// Where names the file or object ("file \"a.csv\""); may be empty.
	Where string
	// Line is the line (or row) of the value, from 1.
	Line int64
	// Column is the column's name.
	Column string
	// Type is the column's type.
	Type Type
	// Err is Parse's error, naming the value and what is allowed.
	Err error
}

// Error reads `file "a.csv", line 3, column "ts": value "x" is not a valid
// timestamp (…) (the column's type is timestamp)`.
func (e *CellError) Error() string {
	where := ""
	if e.Where != "" {
		where = e.Where + ", "
	}
	return fmt.Sprintf("%sline %d, column %q: %v (the column's type is %s)", where, e.Line, e.Column, e.Err, e.Type)
}

// Unwrap returns Err.
func (e *CellError) Unwrap() error { return e.Err }

// ParseCell is ParseWith for the value on line line of column column;
// its error is a *CellError.
func ParseCell(t Type, s string, opts ParseOptions, where string, line int64, column string) (Value, error) {
	v, err := ParseWith(t, s, opts)
	if err != nil {
		return Value{}, &CellError{Where: where, Line: line, Column: column, Type: t, Err: err}
	}
	return v, nil
}

// TypeSchema is the JSON Schema of a type name in a columns key, for a
// connector's configuration schema: one of the names (aliases included,
// any case) or decimal(p,s) / numeric(p,s).
const TypeSchema = `{"type": "string", "anyOf": [` +
	`{"enum": ["int64", "float64", "bool", "date", "timestamp", "string"]}, ` +
	`{"pattern": "^\\s*[A-Za-z0-9]+\\s*$", "description": "an alias: int, integer, bigint, long, float, double, number, real, boolean, datetime, str, text, varchar, utf8"}, ` +
	`{"pattern": "^\\s*([Dd][Ee][Cc][Ii][Mm][Aa][Ll]|[Nn][Uu][Mm][Ee][Rr][Ii][Cc])\\s*\\(\\s*[0-9]+\\s*(,\\s*[0-9]+\\s*)?\\)\\s*$", "description": "decimal(p,s): Arrow decimal128, precision 1 to 38, scale 0 to p"}]}`

// ParseTimestampIn is ParseTimestamp with a value without a zone read as
// a wall-clock time in loc (a spreadsheet's time zone) instead of UTC.
func ParseTimestampIn(s string, loc *time.Location) (int64, error) {
	return parseTimestamp(s, loc, false)
}

// parseTimestamp is ParseTimestampIn, which with truncate drops the digits
// below the microsecond (toward the past) instead of refusing them.
func parseTimestamp(s string, loc *time.Location, truncate bool) (int64, error) {
	if isInfinity(s) {
		return 0, infinityError(s, "timestamp")
	}
	t, ok := scanTimestamp(s)
	if ok && loc != nil && loc != time.UTC && !hasZone(s) {
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	}
	if !ok {
		return 0, fmt.Errorf("value %q is not a valid timestamp (%s)", s, timestampForms)
	}
	if t.Nanosecond()%1000 != 0 && !truncate {
		return 0, fmt.Errorf("value %q has non-zero digits below the microsecond, which a timestamp column (microseconds) cannot hold; it is not truncated: set sub_microsecond: truncate to drop them, or type the column string to keep the text", s)
	}
	return t.UnixMicro(), nil
}

// SubMicrosecondKey is the configuration key of ParseOptions.TruncateTimestamps.
const SubMicrosecondKey = "sub_microsecond"

// ParseSubMicrosecond reads the sub_microsecond key: "error" (the
// default) or "truncate". On failure it returns a message saying what is
// allowed.
func ParseSubMicrosecond(v json.RawMessage) (truncate bool, msg string) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil || (s != "error" && s != "truncate") {
		return false, fmt.Sprintf("must be \"error\" (refuse a timestamp with non-zero digits below the microsecond, naming its row and column) or \"truncate\" (drop those digits), got %s", v)
	}
	return s == "truncate", ""
}

// hasZone reports whether a timestamp scanTimestamp accepts ends in a zone.
func hasZone(s string) bool {
	rest := s[16:]
	return strings.ContainsAny(rest, "Zz+-")
}
