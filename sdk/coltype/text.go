package coltype

import (
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// ParseText is ParseWith for a value held as bytes (a csv field where it
// lies in a read buffer): the same values and the same errors, without
// making a string of the value in the common forms. A string column's
// value is copied into Value.S.
func ParseText(t Type, text []byte, opts ParseOptions) (Value, error) {
	if t.Kind == KindString {
		return Value{S: string(text)}, nil
	}
	if v, ok := parseCommon(t, text, opts); ok {
		return v, nil
	}
	// Any other form, and every error, goes the general way.
	return parseGeneral(t, string(text), opts)
}

// AppendText parses text as a value of type t and appends it to b, the
// builder of a column of type t, as ParseText and Append would; it
// returns the value's Size. A string is appended from the bytes, without
// a string in between. On an error (ParseWith's) it appends nothing.
func AppendText(b array.Builder, t Type, text []byte, opts ParseOptions) (int64, error) {
	if t.Kind == KindString {
		b.(*array.StringBuilder).BinaryBuilder.Append(text)
		return int64(len(text)) + 4, nil
	}
	v, err := ParseText(t, text, opts)
	if err != nil {
		return 0, err
	}
	Append(b, t, v)
	return Size(t, v), nil
}

// parseCommon parses the common forms of a value of type t (not string)
// from a string or bytes, without allocating: plain integers of up to 18 digits, decimals of up to 18
// digits, floats, bools, YYYY-MM-DD dates with a four-digit year and the
// timestamps of scanTimestamp. It reports false for anything else, which
// parseGeneral then decides; where it reports true its value is
// parseGeneral's (TestParseCommonMatchesGeneral).
func parseCommon[T ~string | ~[]byte](t Type, b T, opts ParseOptions) (Value, bool) {
	switch t.Kind {
	case KindInt64:
		// isInt without a sign leaves at most 18 digits: no overflow.
		if !isInt(b) || len(b) > 18 {
			return Value{}, false
		}
		neg := b[0] == '-'
		if b[0] == '-' || b[0] == '+' {
			b = b[1:]
		}
		var n int64
		for i := range len(b) {
			n = n*10 + int64(b[i]-'0')
		}
		if neg {
			n = -n
		}
		return Value{I: n}, true
	case KindDecimal:
		d, ok := decimalBytes(b, t.Precision, t.Scale)
		return Value{D: d}, ok
	case KindFloat64:
		if !isFloat(b) {
			return Value{}, false
		}
		// string(b) does not escape ParseFloat (it clones what its
		// errors keep), so a short value is converted on the stack.
		f, err := strconv.ParseFloat(string(b), 64)
		return Value{F: f}, err == nil
	case KindBool:
		switch len(b) {
		case 1:
			switch b[0] {
			case 't', 'T':
				return Value{B: true}, true
			case 'f', 'F':
				return Value{B: false}, true
			}
		case 4:
			if lowerASCII(b, "true") {
				return Value{B: true}, true
			}
		case 5:
			if lowerASCII(b, "false") {
				return Value{B: false}, true
			}
		}
		return Value{}, false
	case KindDate:
		if len(b) != 10 || b[4] != '-' || b[7] != '-' {
			return Value{}, false
		}
		year, ok1 := digits(b[0:4])
		month, ok2 := digits(b[5:7])
		day, ok3 := digits(b[8:10])
		if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 {
			return Value{}, false
		}
		d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
		if d.Day() != day {
			return Value{}, false // 2024-02-30: ParseWith says why
		}
		return Value{I: int64(arrow.Date32FromTime(d))}, true
	case KindTimestamp:
		ts, ok := scanTimestamp(b)
		if !ok || (ts.Nanosecond()%1000 != 0 && !opts.TruncateTimestamps) {
			return Value{}, false
		}
		return Value{I: ts.UnixMicro()}, true
	}
	return Value{}, false
}

// lowerASCII reports whether b, with ASCII letters in lower case, is
// word. (bytes.EqualFold would also take "ſ" for "s", which
// strings.ToLower, what ParseWith uses, does not.)
func lowerASCII[T ~string | ~[]byte](b T, word string) bool {
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

// digits reads b, all ASCII digits, as a number.
func digits[T ~string | ~[]byte](b T) (int, bool) {
	n := 0
	for i := range len(b) {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// decimalBytes is ParseDecimal for a plain decimal of at most 18 digits
// (at the column's scale) held as bytes; false for anything else.
func decimalBytes[T ~string | ~[]byte](b T, precision, scale int32) (decimal128.Num, bool) {
	neg := false
	if len(b) != 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	intPart, frac := b, b[:0]
	dot := false
	for i := range len(b) {
		if b[i] == '.' {
			intPart, frac, dot = b[:i], b[i+1:], true
			break
		}
	}
	if len(intPart) == 0 && len(frac) == 0 || dot && len(frac) == 0 {
		return decimal128.Num{}, false
	}
	if _, ok := digits(intPart); !ok && len(intPart) > 0 {
		return decimal128.Num{}, false
	}
	if _, ok := digits(frac); !ok && len(frac) > 0 {
		return decimal128.Num{}, false
	}
	if len(frac) > int(scale) {
		for i := int(scale); i < len(frac); i++ {
			if frac[i] != '0' {
				return decimal128.Num{}, false
			}
		}
		frac = frac[:scale]
	}
	for len(intPart) > 0 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	if len(intPart) > int(precision-scale) || len(intPart)+int(scale) > 18 {
		return decimal128.Num{}, false
	}
	var u uint64
	for i := range len(intPart) {
		u = u*10 + uint64(intPart[i]-'0')
	}
	for i := range len(frac) {
		u = u*10 + uint64(frac[i]-'0')
	}
	for range int(scale) - len(frac) {
		u *= 10
	}
	n := decimal128.FromU64(u)
	if neg {
		n = n.Negate()
	}
	return n, true
}
