package pgsql

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// valueEnc appends row i of an array (not null) in PostgreSQL's binary
// format, with its int32 length prefix.
type valueEnc func(buf []byte, i int) []byte

// pgTarget is the PostgreSQL type an Arrow type is written as: its SQL
// name, its OID and how to encode an array of it.
type pgTarget struct {
	sql string
	oid uint32
	mk  func(arrow.Array) valueEnc
}

// naturalType returns the PostgreSQL type an Arrow type maps to (see
// docs/connectors/postgres.md), or an error naming the type when it has
// none.
func naturalType(dt arrow.DataType) (pgTarget, error) {
	be := binary.BigEndian
	fixed := func(sql string, oid uint32, f func(buf []byte, a arrow.Array, i int) []byte) pgTarget {
		return pgTarget{sql, oid, func(a arrow.Array) valueEnc {
			return func(buf []byte, i int) []byte { return f(buf, a, i) }
		}}
	}
	i16 := func(buf []byte, v int16) []byte { return be.AppendUint16(be.AppendUint32(buf, 2), uint16(v)) }
	i32 := func(buf []byte, v int32) []byte { return be.AppendUint32(be.AppendUint32(buf, 4), uint32(v)) }
	i64 := func(buf []byte, v int64) []byte { return be.AppendUint64(be.AppendUint32(buf, 8), uint64(v)) }
	switch t := dt.(type) {
	case *arrow.BooleanType:
		return fixed("boolean", oidBool, func(buf []byte, a arrow.Array, i int) []byte {
			b := byte(0)
			if a.(*array.Boolean).Value(i) {
				b = 1
			}
			return append(be.AppendUint32(buf, 1), b)
		}), nil
	case *arrow.Int8Type:
		return fixed("smallint", oidInt2, func(buf []byte, a arrow.Array, i int) []byte { return i16(buf, int16(a.(*array.Int8).Value(i))) }), nil
	case *arrow.Int16Type:
		return pgTarget{"smallint", oidInt2, func(a arrow.Array) valueEnc {
			vs := a.(*array.Int16).Int16Values()
			return func(buf []byte, i int) []byte { return i16(buf, vs[i]) }
		}}, nil
	case *arrow.Uint8Type:
		return fixed("smallint", oidInt2, func(buf []byte, a arrow.Array, i int) []byte { return i16(buf, int16(a.(*array.Uint8).Value(i))) }), nil
	case *arrow.Int32Type:
		return pgTarget{"integer", oidInt4, func(a arrow.Array) valueEnc {
			vs := a.(*array.Int32).Int32Values()
			return func(buf []byte, i int) []byte { return i32(buf, vs[i]) }
		}}, nil
	case *arrow.Uint16Type:
		return fixed("integer", oidInt4, func(buf []byte, a arrow.Array, i int) []byte { return i32(buf, int32(a.(*array.Uint16).Value(i))) }), nil
	case *arrow.Int64Type:
		return pgTarget{"bigint", oidInt8, func(a arrow.Array) valueEnc {
			vs := a.(*array.Int64).Int64Values()
			return func(buf []byte, i int) []byte { return i64(buf, vs[i]) }
		}}, nil
	case *arrow.Uint32Type:
		return fixed("bigint", oidInt8, func(buf []byte, a arrow.Array, i int) []byte { return i64(buf, int64(a.(*array.Uint32).Value(i))) }), nil
	case *arrow.Uint64Type:
		return pgTarget{"numeric(20,0)", oidNumeric, func(a arrow.Array) valueEnc {
			vs := a.(*array.Uint64).Uint64Values()
			var scratch []byte
			return func(buf []byte, i int) []byte {
				scratch = strconv.AppendUint(scratch[:0], vs[i], 10)
				return appendNumeric(buf, scratch, false, 0)
			}
		}}, nil
	case *arrow.Float16Type:
		return fixed("real", oidFloat4, func(buf []byte, a arrow.Array, i int) []byte {
			return be.AppendUint32(be.AppendUint32(buf, 4), math.Float32bits(a.(*array.Float16).Value(i).Float32()))
		}), nil
	case *arrow.Float32Type:
		return pgTarget{"real", oidFloat4, func(a arrow.Array) valueEnc {
			vs := a.(*array.Float32).Float32Values()
			return func(buf []byte, i int) []byte {
				return be.AppendUint32(be.AppendUint32(buf, 4), math.Float32bits(vs[i]))
			}
		}}, nil
	case *arrow.Float64Type:
		return pgTarget{"double precision", oidFloat8, func(a arrow.Array) valueEnc {
			vs := a.(*array.Float64).Float64Values()
			return func(buf []byte, i int) []byte {
				return be.AppendUint64(be.AppendUint32(buf, 8), math.Float64bits(vs[i]))
			}
		}}, nil
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return pgTarget{"text", oidText, func(a arrow.Array) valueEnc {
			return bytesEnc(a)
		}}, nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return pgTarget{"bytea", oidBytea, func(a arrow.Array) valueEnc {
			return bytesEnc(a)
		}}, nil
	case *arrow.Date32Type:
		return pgTarget{"date", oidDate, func(a arrow.Array) valueEnc {
			vs := a.(*array.Date32).Date32Values()
			return func(buf []byte, i int) []byte { return i32(buf, pgDays(int64(vs[i]))) }
		}}, nil
	case *arrow.Date64Type:
		return fixed("date", oidDate, func(buf []byte, a arrow.Array, i int) []byte {
			ms := int64(a.(*array.Date64).Value(i))
			return i32(buf, pgDays(floorDiv(ms, 86400000)))
		}), nil
	case *arrow.TimestampType:
		sql, oid := "timestamp without time zone", uint32(oidTimestamp)
		if t.TimeZone != "" {
			sql, oid = "timestamp with time zone", oidTimestamptz
		}
		unit := t.Unit
		return pgTarget{sql, oid, func(a arrow.Array) valueEnc {
			vs := a.(*array.Timestamp).TimestampValues()
			return func(buf []byte, i int) []byte { return i64(buf, pgMicros(int64(vs[i]), unit)) }
		}}, nil
	case *arrow.Time32Type:
		unit := t.Unit
		return fixed("time without time zone", oidTime, func(buf []byte, a arrow.Array, i int) []byte {
			return i64(buf, toMicros(int64(a.(*array.Time32).Value(i)), unit))
		}), nil
	case *arrow.Time64Type:
		unit := t.Unit
		return fixed("time without time zone", oidTime, func(buf []byte, a arrow.Array, i int) []byte {
			return i64(buf, toMicros(int64(a.(*array.Time64).Value(i)), unit))
		}), nil
	case *arrow.DurationType:
		unit := t.Unit
		return fixed("interval", oidInterval, func(buf []byte, a arrow.Array, i int) []byte {
			return appendInterval(buf, toMicros(int64(a.(*array.Duration).Value(i)), unit), 0, 0)
		}), nil
	case *arrow.MonthDayNanoIntervalType:
		return fixed("interval", oidInterval, func(buf []byte, a arrow.Array, i int) []byte {
			v := a.(*array.MonthDayNanoInterval).Value(i)
			return appendInterval(buf, floorDiv(v.Nanoseconds, 1000), v.Days, v.Months)
		}), nil
	case *arrow.DayTimeIntervalType:
		return fixed("interval", oidInterval, func(buf []byte, a arrow.Array, i int) []byte {
			v := a.(*array.DayTimeInterval).Value(i)
			return appendInterval(buf, int64(v.Milliseconds)*1000, v.Days, 0)
		}), nil
	case *arrow.MonthIntervalType:
		return fixed("interval", oidInterval, func(buf []byte, a arrow.Array, i int) []byte {
			return appendInterval(buf, 0, 0, int32(a.(*array.MonthInterval).Value(i)))
		}), nil
	case *arrow.Decimal128Type:
		scale := int(t.Scale)
		return pgTarget{fmt.Sprintf("numeric(%d,%d)", t.Precision, max(t.Scale, 0)), oidNumeric, func(a arrow.Array) valueEnc {
			arr := a.(*array.Decimal128)
			var scratch []byte
			return func(buf []byte, i int) []byte {
				n := arr.Value(i)
				neg := n.Sign() < 0
				if neg {
					n = n.Negate()
				}
				if n.HighBits() == 0 {
					scratch = strconv.AppendUint(scratch[:0], n.LowBits(), 10)
				} else {
					scratch = n.BigInt().Append(scratch[:0], 10)
				}
				return appendNumeric(buf, scratch, neg, scale)
			}
		}}, nil
	case *arrow.Decimal256Type:
		scale := int(t.Scale)
		return fixed(fmt.Sprintf("numeric(%d,%d)", t.Precision, max(t.Scale, 0)), oidNumeric, func(buf []byte, a arrow.Array, i int) []byte {
			b := a.(*array.Decimal256).Value(i).BigInt()
			neg := b.Sign() < 0
			return appendNumeric(buf, new(big.Int).Abs(b).Append(nil, 10), neg, scale)
		}), nil
	case *arrow.NullType:
		return pgTarget{"text", oidText, func(a arrow.Array) valueEnc {
			return func(buf []byte, i int) []byte { return be.AppendUint32(buf, math.MaxUint32) }
		}}, nil
	case *arrow.DictionaryType:
		inner, err := naturalType(t.ValueType)
		if err != nil {
			return pgTarget{}, err
		}
		return pgTarget{inner.sql, inner.oid, func(a arrow.Array) valueEnc {
			d := a.(*array.Dictionary)
			enc := inner.mk(d.Dictionary())
			return func(buf []byte, i int) []byte { return enc(buf, d.GetValueIndex(i)) }
		}}, nil
	case arrow.ListLikeType:
		elemType := t.Elem()
		if _, nested := elemType.(arrow.ListLikeType); nested {
			return pgTarget{}, fmt.Errorf("nested lists (%s) cannot be stored; PostgreSQL arrays are not lists of lists", dt)
		}
		elem, err := naturalType(elemType)
		if err != nil {
			return pgTarget{}, err
		}
		arrOID, ok := arrayOIDs[elem.oid]
		if !ok {
			return pgTarget{}, fmt.Errorf("a list of %s cannot be stored", elemType)
		}
		return pgTarget{elem.sql + "[]", arrOID, func(a arrow.Array) valueEnc {
			l := a.(array.ListLike)
			values := l.ListValues()
			enc := elem.mk(values)
			elemOID := elem.oid
			return func(buf []byte, i int) []byte {
				start, end := l.ValueOffsets(i)
				lenAt := len(buf)
				buf = be.AppendUint32(buf, 0) // length, patched below
				if start == end {
					buf = be.AppendUint32(be.AppendUint32(buf, 0), 0)
					buf = be.AppendUint32(buf, elemOID)
				} else {
					hasNull := uint32(0)
					for j := start; j < end; j++ {
						if values.IsNull(int(j)) {
							hasNull = 1
							break
						}
					}
					buf = be.AppendUint32(be.AppendUint32(buf, 1), hasNull)
					buf = be.AppendUint32(buf, elemOID)
					buf = be.AppendUint32(be.AppendUint32(buf, uint32(end-start)), 1)
					for j := start; j < end; j++ {
						if values.IsNull(int(j)) {
							buf = be.AppendUint32(buf, math.MaxUint32)
							continue
						}
						buf = enc(buf, int(j))
					}
				}
				be.PutUint32(buf[lenAt:], uint32(len(buf)-lenAt-4))
				return buf
			}
		}}, nil
	}
	return pgTarget{}, fmt.Errorf("Arrow type %s has no PostgreSQL type in this connector", dt)
}

// bytesEnc encodes string and binary arrays: the bytes as they are.
func bytesEnc(a arrow.Array) valueEnc {
	be := binary.BigEndian
	type byteser interface{ ValueBytes() []byte }
	switch x := a.(type) {
	case *array.String:
		return func(buf []byte, i int) []byte {
			s := x.Value(i)
			return append(be.AppendUint32(buf, uint32(len(s))), s...)
		}
	case *array.Binary:
		return func(buf []byte, i int) []byte {
			s := x.Value(i)
			return append(be.AppendUint32(buf, uint32(len(s))), s...)
		}
	case *array.LargeString:
		return func(buf []byte, i int) []byte {
			s := x.Value(i)
			return append(be.AppendUint32(buf, uint32(len(s))), s...)
		}
	case *array.LargeBinary:
		return func(buf []byte, i int) []byte {
			s := x.Value(i)
			return append(be.AppendUint32(buf, uint32(len(s))), s...)
		}
	case *array.FixedSizeBinary:
		return func(buf []byte, i int) []byte {
			s := x.Value(i)
			return append(be.AppendUint32(buf, uint32(len(s))), s...)
		}
	case *array.StringView:
		return func(buf []byte, i int) []byte {
			s := x.Value(i)
			return append(be.AppendUint32(buf, uint32(len(s))), s...)
		}
	case *array.BinaryView:
		return func(buf []byte, i int) []byte {
			s := x.Value(i)
			return append(be.AppendUint32(buf, uint32(len(s))), s...)
		}
	}
	return func(buf []byte, i int) []byte {
		s := a.ValueStr(i)
		return append(be.AppendUint32(buf, uint32(len(s))), s...)
	}
}

func appendInterval(buf []byte, micros int64, days, months int32) []byte {
	be := binary.BigEndian
	buf = be.AppendUint32(buf, 16)
	buf = be.AppendUint64(buf, uint64(micros))
	buf = be.AppendUint32(buf, uint32(days))
	return be.AppendUint32(buf, uint32(months))
}

// appendNumeric appends a numeric in binary format: digits are the decimal
// digits of the absolute unscaled value, scale the digits after the point.
func appendNumeric(buf []byte, digits []byte, neg bool, scale int) []byte {
	be := binary.BigEndian
	// Split into base-10000 groups aligned on the decimal point.
	intLen := len(digits) - scale // digits before the point (may be <= 0)
	var groups [64]uint16
	ng := 0
	weight := -1
	// Integer part: groups from the point leftwards.
	if intLen > 0 {
		first := intLen % 4
		if first == 0 {
			first = 4
		}
		pos := 0
		for pos < intLen {
			n := 4
			if pos == 0 {
				n = first
			}
			var g uint16
			for _, c := range digits[pos : pos+n] {
				g = g*10 + uint16(c-'0')
			}
			if ng < len(groups) {
				groups[ng] = g
				ng++
			}
			pos += n
		}
		weight = (intLen+3)/4 - 1
	}
	// Fraction part: groups of 4 digits after the point, zero-padded.
	fracStart := max(intLen, 0)
	leadZeros := 0
	if intLen < 0 {
		leadZeros = -intLen
	}
	fracDigits := scale
	for k := 0; k < fracDigits; k += 4 {
		var g uint16
		for j := k; j < k+4; j++ {
			d := uint16(0)
			if j < fracDigits && j >= leadZeros {
				d = uint16(digits[fracStart+j-leadZeros] - '0')
			}
			g = g*10 + d
		}
		if ng < len(groups) {
			groups[ng] = g
			ng++
		}
	}
	gs := groups[:ng]
	// Strip leading zero groups (each lowers the weight) and trailing ones.
	for len(gs) > 0 && gs[0] == 0 {
		gs = gs[1:]
		weight--
	}
	for len(gs) > 0 && gs[len(gs)-1] == 0 {
		gs = gs[:len(gs)-1]
	}
	sign := uint16(0)
	if neg && len(gs) > 0 {
		sign = 0x4000
	}
	if len(gs) == 0 {
		weight = 0
	}
	buf = be.AppendUint32(buf, uint32(8+2*len(gs)))
	buf = be.AppendUint16(buf, uint16(len(gs)))
	buf = be.AppendUint16(buf, uint16(int16(weight)))
	buf = be.AppendUint16(buf, sign)
	buf = be.AppendUint16(buf, uint16(scale))
	for _, g := range gs {
		buf = be.AppendUint16(buf, g)
	}
	return buf
}

// Values that PostgreSQL's binary input refuses as out of range ("date out
// of range", "timestamp out of range"): written for an Arrow date or
// timestamp that PostgreSQL cannot hold, so that the COPY fails naming the
// row and column instead of storing another value (a wrapped integer, or
// the ±infinity that the extreme integers mean to PostgreSQL).
const (
	badPgDays   = math.MaxInt32 - 1
	badPgMicros = math.MaxInt64 - 1
)

// pgDays is an Arrow day number (days since 1970-01-01) as PostgreSQL's
// (days since 2000-01-01), or badPgDays when it has none.
func pgDays(d int64) int32 {
	d -= pgEpochDays
	if d <= math.MinInt32 || d >= math.MaxInt32 {
		return badPgDays
	}
	return int32(d)
}

// pgMicros is an Arrow timestamp in unit as PostgreSQL's microseconds
// since 2000-01-01, or badPgMicros when it overflows (or would read as
// ±infinity).
func pgMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		if v > math.MaxInt64/1_000_000 || v < math.MinInt64/1_000_000 {
			return badPgMicros
		}
	case arrow.Millisecond:
		if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
			return badPgMicros
		}
	}
	us := toMicros(v, unit)
	if us < math.MinInt64+pgEpochMicros+1 || us == math.MaxInt64 {
		return badPgMicros
	}
	return us - pgEpochMicros
}

func toMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return floorDiv(v, 1000)
	default:
		return v
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// copyHeader starts a binary COPY stream: signature, flags, extension
// length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// encodeCopy appends rec's rows to buf as binary COPY tuples; with withPos,
// each with one extra int8 column, pos = seq<<32 | row (the staging order,
// which only upsert needs).
func encodeCopy(buf []byte, rec arrow.RecordBatch, targets []pgTarget, seq int64, withPos bool) []byte {
	be := binary.BigEndian
	cols := rec.Columns()
	encs := make([]valueEnc, len(cols))
	for j, a := range cols {
		encs[j] = targets[j].mk(a)
	}
	n := int(rec.NumRows())
	nfields := len(cols)
	if withPos {
		nfields++
	}
	for i := range n {
		buf = be.AppendUint16(buf, uint16(nfields))
		for j, a := range cols {
			if a.IsNull(i) {
				buf = be.AppendUint32(buf, math.MaxUint32)
				continue
			}
			buf = encs[j](buf, i)
		}
		if withPos {
			buf = be.AppendUint64(be.AppendUint32(buf, 8), uint64(seq<<32|int64(i)))
		}
	}
	return buf
}

var _ = decimal128.Num{}
var _ = decimal256.Num{}
