// Package rowhash computes an order-independent checksum of the rows of Arrow
// record batches, so that two copies of a data set can be compared without
// sorting them: the same multiset of rows gives the same sum whatever the
// order, the batching or the exact Arrow types used for each column.
//
// Each value is rendered in a canonical text form (integers in decimal,
// floats in the shortest form that round-trips, decimals in plain notation
// without trailing fraction zeros, timestamps as RFC 3339 in
// UTC with nanoseconds, dates as YYYY-MM-DD, binary as hex, null as a
// marker distinct from every string), a row is its column values joined by
// a separator, and the checksum is the wrapping sum of the rows' 64-bit
// XXH3 hashes (xxh3.Hash; FNV-1a until the hash of a 100-byte row cost
// more than reading it from PostgreSQL). A row that appears twice counts twice.
package rowhash

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/zeebo/xxh3"
)

// Sum accumulates rows. The zero value is an empty sum, ready to use.
type Sum struct {
	// Rows is the number of rows added.
	Rows int64
	// Hash is the order-independent checksum of the rows added.
	Hash uint64
}

// Add adds every row of rec.
//
// It picks each column's formatter once per batch (not per value) and has
// fast paths for the forms that dominate real data (timestamps and dates,
// whose time.Time formatting cost more than the rest of the row); every
// value is rendered exactly as AppendValue renders it.
func (s *Sum) Add(rec arrow.RecordBatch) {
	cols := rec.Columns()
	apps := make([]func([]byte, int) []byte, len(cols))
	for j, c := range cols {
		apps[j] = appender(c)
	}
	buf := make([]byte, 0, 256)
	for i := 0; i < int(rec.NumRows()); i++ {
		buf = buf[:0]
		for j, c := range cols {
			if j > 0 {
				buf = append(buf, 0x1f)
			}
			if c.IsNull(i) {
				buf = append(buf, nullMarker...)
				continue
			}
			buf = apps[j](buf, i)
		}
		s.Hash += xxh3.Hash(buf)
	}
	s.Rows += rec.NumRows()
}

// appender returns the function that appends the canonical text of a
// column's non-null row i: AppendValue's rendering, with the type switch
// done once.
func appender(c arrow.Array) func([]byte, int) []byte {
	switch a := c.(type) {
	case *array.Int32:
		vs := a.Int32Values()
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, int64(vs[i]), 10) }
	case *array.Int64:
		vs := a.Int64Values()
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, vs[i], 10) }
	case *array.Float64:
		vs := a.Float64Values()
		return func(buf []byte, i int) []byte { return strconv.AppendFloat(buf, vs[i], 'g', -1, 64) }
	case *array.String:
		return func(buf []byte, i int) []byte { return append(buf, a.Value(i)...) }
	case *array.Boolean:
		return func(buf []byte, i int) []byte { return strconv.AppendBool(buf, a.Value(i)) }
	case *array.Timestamp:
		vs := a.TimestampValues()
		unit := a.DataType().(*arrow.TimestampType).Unit
		var memo dayMemo
		return func(buf []byte, i int) []byte { return appendTimestamp(buf, int64(vs[i]), unit, &memo) }
	case *array.Date32:
		vs := a.Date32Values()
		var memo dayMemo
		return func(buf []byte, i int) []byte {
			if date, ok := memo.date(int64(vs[i])); ok {
				return append(buf, date...)
			}
			return vs[i].ToTime().UTC().AppendFormat(buf, time.DateOnly)
		}
	case *array.Decimal128:
		return func(buf []byte, i int) []byte { return appendDecimal128(buf, a, i) }
	}
	return func(buf []byte, i int) []byte { return AppendValue(buf, c, i) }
}

// appendTimestamp appends v (in unit) as time.RFC3339Nano in UTC, as
// AppendValue does, without going through time.Time for years 0 to 9999.
func appendTimestamp(buf []byte, v int64, unit arrow.TimeUnit, memo *dayMemo) []byte {
	var sec, nsec int64
	switch unit {
	case arrow.Second:
		sec = v
	case arrow.Millisecond:
		sec, nsec = floorDivMod(v, 1e3)
		nsec *= 1e6
	case arrow.Microsecond:
		sec, nsec = floorDivMod(v, 1e6)
		nsec *= 1e3
	case arrow.Nanosecond:
		sec, nsec = floorDivMod(v, 1e9)
	default:
		return arrow.Timestamp(v).ToTime(unit).UTC().AppendFormat(buf, time.RFC3339Nano)
	}
	days, secOfDay := floorDivMod(sec, 86400)
	date, ok := memo.date(days)
	if !ok {
		return arrow.Timestamp(v).ToTime(unit).UTC().AppendFormat(buf, time.RFC3339Nano)
	}
	buf = append(buf, date...)
	hh, mm, ss := secOfDay/3600, secOfDay/60%60, secOfDay%60
	buf = append(buf, 'T', byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ':', byte('0'+ss/10), byte('0'+ss%10))
	if nsec != 0 {
		var f [10]byte
		f[0] = '.'
		for k, n := 9, nsec; k >= 1; k-- {
			f[k] = byte('0' + n%10)
			n /= 10
		}
		n := 10
		for f[n-1] == '0' {
			n--
		}
		buf = append(buf, f[:n]...)
	}
	return append(buf, 'Z')
}

// dayMemo remembers the text of the last day formatted: a column's
// neighbouring values mostly fall on the same day.
type dayMemo struct {
	days  int64
	text  [10]byte
	valid bool
}

// date returns days since 1970-01-01 as YYYY-MM-DD; ok is false outside
// the years civil handles.
func (m *dayMemo) date(days int64) ([]byte, bool) {
	if !m.valid || m.days != days {
		y, mo, d, ok := civil(days)
		if !ok {
			return nil, false
		}
		appendDate(m.text[:0], y, mo, d)
		m.days, m.valid = days, true
	}
	return m.text[:], true
}

// appendDate appends YYYY-MM-DD (y in 0..9999).
func appendDate(buf []byte, y, m, d int64) []byte {
	return append(buf, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date (H.
// Hinnant's algorithm). ok is false outside 0000-03-01 to 9999-12-31, which the
// callers leave to package time.
func civil(days int64) (y, m, d int64, ok bool) {
	if days < -719468 || days > 2932896 { // 0000-03-01 .. 9999-12-31
		return 0, 0, 0, false
	}
	z := days + 719468
	era := z / 146097 // z >= 0 here
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d, true
}

func floorDivMod(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// Merge adds the rows counted by o.
func (s *Sum) Merge(o Sum) {
	s.Rows += o.Rows
	s.Hash += o.Hash
}

// String returns "<rows> rows, checksum <16 hex digits>".
func (s Sum) String() string {
	return fmt.Sprintf("%d rows, checksum %016x", s.Rows, s.Hash)
}

// nullMarker cannot occur in a valid UTF-8 string value.
const nullMarker = "\xff\xfeNULL"

// AppendValue appends the canonical text form of row i of column c to buf.
func AppendValue(buf []byte, c arrow.Array, i int) []byte {
	if c.IsNull(i) {
		return append(buf, nullMarker...)
	}
	switch a := c.(type) {
	case *array.Int8:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(buf, a.Value(i), 10)
	case *array.Uint8:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint32:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(buf, a.Value(i), 10)
	case *array.Float32:
		return strconv.AppendFloat(buf, float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.AppendFloat(buf, a.Value(i), 'g', -1, 64)
	case *array.Boolean:
		return strconv.AppendBool(buf, a.Value(i))
	case *array.String:
		return append(buf, a.Value(i)...)
	case *array.LargeString:
		return append(buf, a.Value(i)...)
	case *array.Binary:
		return hex.AppendEncode(buf, a.Value(i))
	case *array.LargeBinary:
		return hex.AppendEncode(buf, a.Value(i))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().AppendFormat(buf, time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().UTC().AppendFormat(buf, time.DateOnly)
	case *array.Date64:
		return a.Value(i).ToTime().UTC().AppendFormat(buf, time.DateOnly)
	case *array.Decimal128:
		return appendDecimal128(buf, a, i)
	default:
		return append(buf, c.ValueStr(i)...)
	}
}

// appendDecimal128 appends a decimal in plain notation with trailing
// fraction zeros removed ("1.50" → "1.5", "2.00" → "2", "-0.00" → "0"),
// so the same number hashes alike whatever the column's scale. Values whose
// unscaled integer fits in an int64 are formatted without big-number
// arithmetic, which would cost more than reading the row did.
func appendDecimal128(buf []byte, a *array.Decimal128, i int) []byte {
	v := a.Value(i)
	scale := int(a.DataType().(*arrow.Decimal128Type).Scale)
	hi, lo := v.HighBits(), v.LowBits()
	var digits []byte
	neg := false
	if ((hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64)) && int64(lo) != math.MinInt64 && scale >= 0 {
		n := int64(lo)
		if n < 0 {
			neg, n = true, -n
		}
		var tmp [24]byte
		digits = strconv.AppendInt(tmp[:0], n, 10)
	} else {
		str := v.ToString(int32(scale))
		if strings.HasPrefix(str, "-") {
			neg, str = true, str[1:]
		}
		if scale > 0 {
			str = strings.Replace(str, ".", "", 1)
		}
		digits = []byte(strings.TrimLeft(str, "0"))
		if scale < 0 {
			return append(buf, v.ToString(int32(scale))...)
		}
	}
	// digits is the unscaled magnitude; place the point scale digits from
	// the right, then trim fraction zeros.
	for len(digits) <= scale {
		digits = append([]byte{'0'}, digits...)
	}
	intPart, frac := digits[:len(digits)-scale], digits[len(digits)-scale:]
	frac = []byte(strings.TrimRight(string(frac), "0"))
	if len(intPart) == 0 {
		intPart = []byte{'0'}
	}
	if neg && !(string(intPart) == "0" && len(frac) == 0) {
		buf = append(buf, '-')
	}
	buf = append(buf, intPart...)
	if len(frac) > 0 {
		buf = append(buf, '.')
		buf = append(buf, frac...)
	}
	return buf
}
