// Package rowhash computes an order-independent checksum of the rows of Arrow
// record batches, so that two copies of a data set can be compared without
// sorting them: the same multiset of rows gives the same sum whatever the
// order, the batching or the exact Arrow types used for each column.
//
// Each value is rendered in a canonical text form (integers in decimal,
// floats in the shortest form that round-trips, timestamps as RFC 3339 in
// UTC with nanoseconds, dates as YYYY-MM-DD, binary as hex, null as a
// marker distinct from every string), a row is its column values joined by
// a separator, and the checksum is the wrapping sum of the rows' 64-bit
// FNV-1a hashes. A row that appears twice counts twice.
package rowhash

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
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
	default:
		return append(buf, c.ValueStr(i)...)
	}
}
