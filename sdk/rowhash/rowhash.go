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
// FNV-1a hashes. A row that appears twice counts twice.
package rowhash

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Sum accumulates rows. The zero value is an empty sum, ready to use.
type Sum struct {
	// Rows is the number of rows added.
	Rows int64
	// Hash is the order-independent checksum of the rows added.
	Hash uint64
}

// Add adds every row of rec.
func (s *Sum) Add(rec arrow.RecordBatch) {
	h := fnv.New64a()
	buf := make([]byte, 0, 256)
	cols := rec.Columns()
	for i := 0; i < int(rec.NumRows()); i++ {
		buf = buf[:0]
		for j, c := range cols {
			if j > 0 {
				buf = append(buf, 0x1f)
			}
			buf = AppendValue(buf, c, i)
		}
		h.Reset()
		h.Write(buf)
		s.Hash += h.Sum64()
	}
	s.Rows += rec.NumRows()
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
