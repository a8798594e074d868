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
// whose time.Time formatting cost more than the rest of the row; float64s
// that are short decimals; decimals that fit in 64 bits); every value is
// rendered exactly as AppendValue renders it. Columns without nulls skip
// the validity bitmap.
func (s *Sum) Add(rec arrow.RecordBatch) {
	cols := rec.Columns()
	apps := make([]func([]byte, int) []byte, len(cols))
	nullable := make([]bool, len(cols)) // only these need the validity bitmap read
	for j, c := range cols {
		apps[j] = appender(c)
		nullable[j] = c.NullN() > 0
	}
	buf := make([]byte, 0, 256)
	for i := 0; i < int(rec.NumRows()); i++ {
		buf = buf[:0]
		for j, c := range cols {
			if j > 0 {
				buf = append(buf, 0x1f)
			}
			if nullable[j] && c.IsNull(i) {
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
		return func(buf []byte, i int) []byte { return appendFloat64(buf, vs[i]) }
	case *array.String:
		return func(buf []byte, i int) []byte { return append(buf, a.Value(i)...) }
	case *array.Boolean:
		return func(buf []byte, i int) []byte { return strconv.AppendBool(buf, a.Value(i)) }
	case *array.Timestamp:
		vs := a.TimestampValues()
		unit := a.DataType().(*arrow.TimestampType).Unit
		memo := new(dayMemo)
		return func(buf []byte, i int) []byte { return appendTimestamp(buf, int64(vs[i]), unit, memo) }
	case *array.Date32:
		vs := a.Date32Values()
		memo := new(dayMemo)
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

// dayMemo remembers the text of recently formatted days, direct-mapped
// by the day number: a column's values mostly fall on the same day
// (timestamps) or cycle through a few thousand days (dates), and civil
// costs more than the lookup.
type dayMemo struct {
	slots [dayMemoSlots]struct {
		days  int64
		text  [10]byte
		valid bool
	}
}

// dayMemoSlots is the number of days a dayMemo holds (a power of two).
const dayMemoSlots = 1024

// date returns days since 1970-01-01 as YYYY-MM-DD; ok is false outside
// the years civil handles.
func (m *dayMemo) date(days int64) ([]byte, bool) {
	e := &m.slots[uint64(days)&(dayMemoSlots-1)]
	if !e.valid || e.days != days {
		y, mo, d, ok := civil(days)
		if !ok {
			return nil, false
		}
		appendDate(e.text[:0], y, mo, d)
		e.days, e.valid = days, true
	}
	return e.text[:], true
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
		return appendFloat64(buf, a.Value(i))
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
// unscaled integer's magnitude fits in a uint64 are formatted by appendPlain,
// without big-number arithmetic, which would cost more than reading the row
// did.
func appendDecimal128(buf []byte, a *array.Decimal128, i int) []byte {
	v := a.Value(i)
	scale := int(a.DataType().(*arrow.Decimal128Type).Scale)
	hi, lo := v.HighBits(), v.LowBits()
	if scale >= 0 {
		switch {
		case hi == 0:
			return appendPlain(buf, false, lo, scale)
		case hi == -1 && lo != 0: // -(2^64 - lo), magnitude -lo mod 2^64
			return appendPlain(buf, true, -lo, scale)
		}
	}
	str := v.ToString(int32(scale))
	if scale < 0 {
		return append(buf, str...)
	}
	neg := strings.HasPrefix(str, "-")
	if neg {
		str = str[1:]
	}
	digits := []byte(strings.TrimLeft(strings.Replace(str, ".", "", 1), "0"))
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

// appendPlain appends m / 10^scale in plain notation without trailing
// fraction zeros (m=1500, scale=3 → "1.5"; m=5, scale=3 → "0.005"; m=0 → "0"),
// with a '-' in front when neg and m is not zero: the canonical text of a
// decimal, and of a float64 in the range where 'g' uses %f notation.
func appendPlain(buf []byte, neg bool, m uint64, scale int) []byte {
	if m == 0 {
		return append(buf, '0')
	}
	// Drop min(trailing zeros, scale) zeros: by 8 while it can, then by 4,
	// 2 and 1 (a 15-digit float64 decimal is mostly zeros).
	for scale >= 8 && m%1e8 == 0 {
		m /= 1e8
		scale -= 8
	}
	if scale >= 4 && m%1e4 == 0 {
		m /= 1e4
		scale -= 4
	}
	if scale >= 2 && m%100 == 0 {
		m /= 100
		scale -= 2
	}
	if scale >= 1 && m%10 == 0 {
		m /= 10
		scale--
	}
	// Write right to left: scale fraction digits (the leading ones zeros
	// once m runs out), the point, at least one integer digit, the sign.
	var tmp [64]byte // 38 fraction digits, '.', 20 integer digits, '-'
	i := len(tmp)
	if scale > 0 {
		for ; scale > 0; scale-- {
			i--
			tmp[i] = byte('0' + m%10)
			m /= 10
		}
		i--
		tmp[i] = '.'
	}
	for {
		i--
		tmp[i] = byte('0' + m%10)
		m /= 10
		if m == 0 {
			break
		}
	}
	if neg {
		i--
		tmp[i] = '-'
	}
	return append(buf, tmp[i:]...)
}

// appendFloat64 appends strconv.AppendFloat(buf, v, 'g', -1, 64), the
// shortest decimal that parses back to v, without strconv's search for it
// when v is a short decimal (see shortDecimal), the common case in data.
func appendFloat64(buf []byte, v float64) []byte {
	if v == 0 && !math.Signbit(v) {
		return append(buf, '0') // -0 is "-0", left to strconv
	}
	if k, d, ok := shortDecimal(math.Abs(v)); ok {
		return appendPlain(buf, v < 0, k, d)
	}
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

// shortDecimal reports whether a (> 0) is in [1e-4, 1e6), where 'g' writes
// the shortest decimal in plain (%f) notation, and has a decimal of at most
// 15 significant digits; if so that decimal is k/10^d, which appendPlain
// writes (trailing zeros removed) exactly as strconv does.
//
// It is exact. With a in [10^e, 10^(e+1)) it takes k ≈ round(a·10^d),
// d = 14-e, so that k has 15 digits, and accepts k only when
// float64(k)/10^d == a: k (< 10^15 < 2^53) and 10^d (d <= 18) are exact
// float64s and IEEE division rounds correctly, so acceptance means the
// decimal k/10^d parses to a. Two different decimals of at most 15
// significant digits never parse to the same normal float64 (DBL_DIG is
// 15), so k/10^d less its trailing zeros is the only decimal of 15 or fewer
// digits that parses to a: it is the shortest one, the digits strconv
// finds, and (as 1e-4 and 1e6 are such decimals too) it lies in [1e-4, 1e6).
// When a has no such decimal the check fails and strconv does the work.
// Only speed depends on how k is computed: when a has such a decimal K,
// a·10^d is within 10^15·2^-52 < 0.25 of K and adding 0.5 then truncating
// gives K, but a k off by one (say, from a fused multiply-add) would just
// fail the check.
func shortDecimal(a float64) (k uint64, d int, ok bool) {
	if !(a >= 1e-4 && a < 1e6) {
		return 0, 0, false
	}
	e := -4
	for e < 5 && a >= pow10[e+1+4] {
		e++
	}
	d = 14 - e
	p := pow10[d+4]
	k = uint64(a*p + 0.5) // math.Round is a function call on amd64
	if k < 1e15 && float64(k)/p == a {
		return k, d, true
	}
	return 0, 0, false
}

// pow10[i] is 10^(i-4), exact for i >= 4: 1e-4 .. 1e18.
var pow10 = [...]float64{1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}
