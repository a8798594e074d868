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
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"slices"
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
// It renders the rows chunkRows at a time, column by column: each
// column's renderer (picked once per batch, by type) writes its values of
// the chunk in one loop, each straight into its row's place in the chunk
// (a region sized for the longest text the row's values can have), so no
// value is formatted elsewhere and copied, and there is no call per value.
// Then each row of the chunk is hashed. The renderers have fast paths for
// the forms that dominate real data (timestamps and dates, whose
// time.Time formatting cost more than the rest of the row; float64s that
// are short decimals; decimals that fit in 64 bits; integers and short
// decimals as whole words of digits); every value is rendered exactly as
// AppendValue renders it. Columns without nulls skip the validity bitmap.
func (s *Sum) Add(rec arrow.RecordBatch) {
	n := int(rec.NumRows())
	s.Rows += int64(n)
	if n == 0 {
		return
	}
	if rec.NumCols() == 0 {
		s.Hash += uint64(n) * xxh3.Hash(nil) // every row is the empty text
		return
	}
	cols := make([]column, rec.NumCols())
	for j, a := range rec.Columns() {
		cols[j] = newColumn(a)
	}
	c := &chunk{start: make([]int, chunkRows+1), end: make([]int, chunkRows)}
	for lo := 0; lo < n; lo += chunkRows {
		s.addChunk(c, rec, cols, lo, min(lo+chunkRows, n))
	}
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date. ok
// is false outside 0000-03-01 to 9999-12-31, which the callers leave to
// package time. It is C. Neri and L. Schneider's algorithm ("Euclidean
// affine functions and their application to calendar algorithms", 2022):
// unsigned 32-bit arithmetic with multiplications in place of most
// divisions, on days shifted by 82 eras of 400 years to be non-negative.
func civil(days int64) (y, m, d uint32, ok bool) {
	if days < -719468 || days > 2932896 { // 0000-03-01 .. 9999-12-31
		return 0, 0, 0, false
	}
	const eras = 82
	n := uint32(days + 719468 + 146097*eras) // days since 0000-03-01, shifted
	n1 := 4*n + 3
	century := n1 / 146097
	n2 := n1%146097 | 3 // 4 * day of the century + 3
	p2 := 2939745 * uint64(n2)
	yoc := uint32(p2 >> 32)         // year of the century
	doy := uint32(p2) / 2939745 / 4 // day of the year, from March 1st
	n3 := 2141*doy + 197913
	mo, dd := n3>>16, n3&0xffff/2141
	yy := 100*century + yoc
	if doy >= 306 { // January and February belong to the next year
		yy++
		mo -= 12
	}
	return yy - 400*eras, mo, dd + 1, true
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
	n := len(buf)
	buf = slices.Grow(buf, 22+scale) // '-', 20 digits, '.', scale digits at most
	return buf[:putPlain(buf[:cap(buf)], n, neg, m, scale)]
}

// putPlain writes appendPlain's text at buf[p:] and returns its end. It
// works out the length first, then writes the digits in place with
// putLow (8, 4 and 2 digits at a time) rather than one by one into a
// scratch array that is then copied.
func putPlain(buf []byte, p int, neg bool, m uint64, scale int) int {
	if m == 0 {
		buf[p] = '0'
		return p + 1
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
	if neg {
		buf[p] = '-'
		p++
	}
	intDigits := max(decimalLen(m)-scale, 1)
	if scale == 0 {
		return putDigits(buf, p, m, intDigits)
	}
	// The integer digits, the point, scale fraction digits (the leading
	// ones zeros once m runs out), filled from the right.
	point := p + intDigits
	q := putLow(buf[point+1:point+1+scale], m)
	putLow(buf[p:point], q)
	buf[point] = '.'
	return point + 1 + scale
}

// appendFloat64 appends strconv.AppendFloat(buf, v, 'g', -1, 64), the
// shortest decimal that parses back to v, without strconv's search for it
// when v is a short decimal (see putFloat64), the common case in data.
func appendFloat64(buf []byte, v float64) []byte {
	n := len(buf)
	buf = slices.Grow(buf, float64Width)
	if end, ok := putFloat64(buf[:n+float64Width], n, v); ok {
		return buf[:end]
	}
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

// putFloat64 writes strconv's 'g' -1 text of v at buf[p:] and returns its
// end, when v is 0 or a short decimal (see shortDecimal); ok is false,
// with buf left as it was, for the other values, for strconv. It may
// write garbage after the end up to p+float64Width, which buf must have.
func putFloat64(buf []byte, p int, v float64) (end int, ok bool) {
	if v == 0 && !math.Signbit(v) {
		buf[p] = '0' // -0 is "-0", left to strconv
		return p + 1, true
	}
	k, d, ok := shortDecimal(math.Abs(v))
	if !ok {
		return p, false
	}
	if v < 0 {
		buf[p] = '-'
		p++
	}
	return putShortDecimal(buf, p, k, 14-d), true
}

// putShortDecimal writes k / 10^(14-e), with 10^14 <= k < 10^15 and e in
// -4..5 (shortDecimal's k and 14-d), in plain notation without trailing
// fraction zeros (k=123450000000000, e=1 → "12.345") at buf[p:] and
// returns its end. Rather than dividing by powers of ten, it takes k's
// 15 digits as two words of eightDigits (a '0' and the first 7, then
// the last 8, when they are not all zeros), counts their trailing zeros
// from the words' leading zero bytes, and writes the point into the first
// word. It writes up to 21 bytes, the last ones garbage past the end.
func putShortDecimal(buf []byte, p int, k uint64, e int) int {
	const zeros = 0x30303030_30303030
	hi := k / 1e8
	w1 := eightDigits(uint32(hi)) // '0' and digits 1 to 7: digit i is byte i
	w2 := uint64(zeros)           // digits 8 to 15, often all '0'
	if lo := uint32(k - hi*1e8); lo != 0 {
		w2 = eightDigits(lo)
	}
	// n is the number of digits less the trailing zeros: a word's bytes
	// xor '0' are zero for the '0's, so its leading zero bytes count the
	// trailing '0's (digit 1 is not '0').
	n := 15 - bits.LeadingZeros64(w2^zeros)/8
	if n == 7 {
		n = 7 - bits.LeadingZeros64(w1^zeros)/8
	}
	if e < 0 { // "0.", -e-1 zeros, the digits
		*(*[5]byte)(buf[p:]) = [5]byte{'0', '.', '0', '0', '0'}
		q := p + 1 - e // where digit 1 goes
		binary.LittleEndian.PutUint64(buf[q:], w1>>8)
		binary.LittleEndian.PutUint64(buf[q+7:], w2)
		return q + n
	}
	// Digits 1 to e+1 move down a byte over w1's '0'; the point takes
	// byte e+1; digits e+2 on stay where they are.
	if n <= e+1 { // no fraction
		binary.LittleEndian.PutUint64(buf[p:], w1>>8)
		binary.LittleEndian.PutUint64(buf[p+7:], w2)
		return p + e + 1
	}
	intMask := uint64(1)<<(8*(e+1)) - 1
	w1 = w1>>8&intMask | '.'<<(8*(e+1)) | w1&^(intMask<<8|0xff)
	binary.LittleEndian.PutUint64(buf[p:], w1)
	binary.LittleEndian.PutUint64(buf[p+8:], w2)
	return p + 1 + n
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
	// e = floor(log10(a)) is floor(log10(2)·x) or one more, x being a's
	// binary exponent (1233/4096 ≈ log10(2), and >> rounds down).
	e := (int(math.Float64bits(a)>>52) - 1023) * 1233 >> 12
	if a >= pow10[e+1+4] {
		e++
	}
	d = 14 - e
	p := pow10[d+4]
	// a·p < 10^15: int64 conversions are single instructions where
	// uint64 ones are not (math.Round is a function call on amd64).
	k = uint64(int64(a*p + 0.5))
	if k < 1e15 && float64(int64(k))/p == a {
		return k, d, true
	}
	return 0, 0, false
}

// pow10[i] is 10^(i-4), exact for i >= 4: 1e-4 .. 1e18.
var pow10 = [...]float64{1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}
