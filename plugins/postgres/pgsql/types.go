package pgsql

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// MetaType is the Arrow field metadata key holding a column's PostgreSQL
// type as format_type() prints it ("uuid", "numeric(12,2)", "jsonb").
// The destination uses it to recreate columns whose Arrow type alone is
// ambiguous (uuid, json and jsonb travel as utf8).
const MetaType = "postgres.type"

// Type OIDs of the built-in types the connector maps.
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// pgEpochMicros is 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix
// microseconds; pgEpochDays the same in days.
const (
	pgEpochMicros = 946684800000000
	pgEpochDays   = 10957
)

// kind is how a column's values are decoded.
type kind int

const (
	kText kind = iota // any type read in text format, and text types
	kBool
	kInt2
	kInt4
	kInt8
	kOID
	kFloat4
	kFloat8
	kBytea
	kJSONB
	kDate
	kTime
	kTimestamp
	kTimestamptz
	kInterval
	kUUID
	kDecimal
	kArray
)

// column is one column of a stream: its PostgreSQL type and how it maps.
type column struct {
	Name     string
	OID      uint32
	Typmod   int32
	TypeName string // format_type(oid, typmod)
	NotNull  bool

	kind   kind
	format int16 // result format: 0 text, 1 binary
	arrow  arrow.DataType
	elem   *column // for kArray
	prec   int32
	scale  int32
	// special is what to do with values Arrow's type cannot hold.
	special specials
}

// Values of numeric_special and timestamp_special.
const (
	specialError  = "error"
	specialNull   = "null"
	specialString = "string"
)

// specials is what the source does with values that the column's Arrow
// type cannot hold: numeric NaN and ±Infinity in a decimal128 column
// (Numeric), date and timestamp ±infinity (Timestamp). "error" (or empty,
// the default) fails the read naming the column and row, "null" reads them
// as null (logged once per column), "string" reads the whole column as
// text (utf8) so that every value keeps its PostgreSQL text form.
type specials struct {
	Numeric   string
	Timestamp string
	// checkUTF8 is set for a SQL_ASCII database, whose text may hold any
	// bytes (every other server encoding is checked and converted to the
	// UTF8 the session asks for): text that is not valid UTF-8 fails the
	// read naming the column and row, as a utf8 column cannot hold it.
	checkUTF8 bool
}

// elemOIDs maps the array types the connector reads as Arrow lists to
// their element types.
var elemOIDs = map[uint32]uint32{
	1000: oidBool, 1001: oidBytea, 1005: oidInt2, 1007: oidInt4, 1016: oidInt8,
	1009: oidText, 1015: oidVarchar, 1014: oidBPChar, 1021: oidFloat4, 1022: oidFloat8,
	1231: oidNumeric, 1182: oidDate, 1183: oidTime, 1115: oidTimestamp, 1185: oidTimestamptz,
	2951: oidUUID, 199: oidJSON, 3807: oidJSONB, 1187: oidInterval, 1028: oidOID, 1003: oidName,
}

// arrayOIDs is elemOIDs inverted: the array type of an element type.
var arrayOIDs = func() map[uint32]uint32 {
	m := make(map[uint32]uint32, len(elemOIDs))
	for a, e := range elemOIDs {
		m[e] = a
	}
	return m
}()

// resolve decides a column's kind, wire format and Arrow type from its
// OID and type modifier. Types the connector does not know are read in
// text format as utf8.
func (c *column) resolve() {
	c.format = 1
	switch c.OID {
	case oidBool:
		c.kind, c.arrow = kBool, arrow.FixedWidthTypes.Boolean
	case oidInt2:
		c.kind, c.arrow = kInt2, arrow.PrimitiveTypes.Int16
	case oidInt4:
		c.kind, c.arrow = kInt4, arrow.PrimitiveTypes.Int32
	case oidInt8:
		c.kind, c.arrow = kInt8, arrow.PrimitiveTypes.Int64
	case oidOID:
		c.kind, c.arrow = kOID, arrow.PrimitiveTypes.Int64
	case oidFloat4:
		c.kind, c.arrow = kFloat4, arrow.PrimitiveTypes.Float32
	case oidFloat8:
		c.kind, c.arrow = kFloat8, arrow.PrimitiveTypes.Float64
	case oidText, oidVarchar, oidBPChar, oidName, oidChar, oidJSON:
		c.kind, c.arrow = kText, arrow.BinaryTypes.String
	case oidJSONB:
		c.kind, c.arrow = kJSONB, arrow.BinaryTypes.String
	case oidBytea:
		c.kind, c.arrow = kBytea, arrow.BinaryTypes.Binary
	case oidDate, oidTimestamp, oidTimestamptz:
		if c.special.Timestamp == specialString {
			c.kind, c.format, c.arrow = kText, 0, arrow.BinaryTypes.String
			return
		}
		c.resolveTime()
	case oidTime:
		c.kind, c.arrow = kTime, arrow.FixedWidthTypes.Time64us
	case oidInterval:
		c.kind, c.arrow = kInterval, arrow.FixedWidthTypes.MonthDayNanoInterval
	case oidUUID:
		c.kind, c.arrow = kUUID, arrow.BinaryTypes.String
	case oidNumeric:
		// numeric(p,s): typmod = (p << 16 | s) + 4. Unconstrained numeric
		// (typmod -1), a precision over 38 or a scale outside 0..p cannot
		// be a decimal128: read as text.
		if c.Typmod >= 4 && c.special.Numeric != specialString {
			p, s := (c.Typmod-4)>>16&0xffff, int32(int16((c.Typmod-4)&0xffff))
			if p >= 1 && p <= 38 && s >= 0 && s <= p {
				c.kind, c.prec, c.scale = kDecimal, p, s
				c.arrow = &arrow.Decimal128Type{Precision: p, Scale: s}
				return
			}
		}
		c.kind, c.format, c.arrow = kText, 0, arrow.BinaryTypes.String
	default:
		if e, ok := elemOIDs[c.OID]; ok {
			elem := &column{Name: "item", OID: e, Typmod: c.Typmod, special: c.special}
			elem.resolve()
			if elem.format == 1 {
				c.kind, c.elem = kArray, elem
				c.arrow = arrow.ListOf(elem.arrow)
				return
			}
		}
		c.kind, c.format, c.arrow = kText, 0, arrow.BinaryTypes.String
	}
}

// resolveTime resolves a date, timestamp or timestamptz column read as
// such (not as text).
func (c *column) resolveTime() {
	switch c.OID {
	case oidDate:
		c.kind, c.arrow = kDate, arrow.FixedWidthTypes.Date32
	case oidTimestamp:
		c.kind, c.arrow = kTimestamp, &arrow.TimestampType{Unit: arrow.Microsecond}
	default:
		c.kind, c.arrow = kTimestamptz, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
}

// field returns the column's Arrow field, with its PostgreSQL type in the
// metadata.
func (c *column) field() arrow.Field {
	return arrow.Field{
		Name:     c.Name,
		Type:     c.arrow,
		Nullable: !c.NotNull,
		Metadata: arrow.NewMetadata([]string{MetaType}, []string{c.TypeName}),
	}
}

// decoder appends one column's wire values to an Arrow builder.
type decoder struct {
	col *column
	b   array.Builder
	// typed builders, one set per kind
	str   *array.StringBuilder
	bin   *array.BinaryBuilder
	list  *array.ListBuilder
	elem  *decoder
	nulls int // values turned into nulls (infinity, NaN)
}

func newDecoder(c *column, b array.Builder) *decoder {
	d := &decoder{col: c, b: b}
	switch c.kind {
	case kText, kJSONB, kUUID:
		d.str = b.(*array.StringBuilder)
	case kBytea:
		d.bin = b.(*array.BinaryBuilder)
	case kArray:
		d.list = b.(*array.ListBuilder)
		d.elem = newDecoder(c.elem, d.list.ValueBuilder())
	}
	return d
}

// appendValue appends one value; v nil is SQL NULL.
func (d *decoder) appendValue(v []byte) error {
	if v == nil {
		d.b.AppendNull()
		return nil
	}
	be := binary.BigEndian
	switch d.col.kind {
	case kText:
		if d.col.special.checkUTF8 && !utf8.Valid(v) {
			return errNotUTF8
		}
		d.str.BinaryBuilder.Append(v)
	case kJSONB:
		if d.col.format == 1 {
			if len(v) < 1 || v[0] != 1 {
				return fmt.Errorf("jsonb value of unknown binary version")
			}
			v = v[1:]
		}
		if d.col.special.checkUTF8 && !utf8.Valid(v) {
			return errNotUTF8
		}
		d.str.BinaryBuilder.Append(v)
	case kBytea:
		d.bin.Append(v)
	case kBool:
		if len(v) != 1 {
			return errLen("bool", len(v))
		}
		d.b.(*array.BooleanBuilder).Append(v[0] != 0)
	case kInt2:
		if len(v) != 2 {
			return errLen("int2", len(v))
		}
		d.b.(*array.Int16Builder).Append(int16(be.Uint16(v)))
	case kInt4:
		if len(v) != 4 {
			return errLen("int4", len(v))
		}
		d.b.(*array.Int32Builder).Append(int32(be.Uint32(v)))
	case kInt8:
		if len(v) != 8 {
			return errLen("int8", len(v))
		}
		d.b.(*array.Int64Builder).Append(int64(be.Uint64(v)))
	case kOID:
		if len(v) != 4 {
			return errLen("oid", len(v))
		}
		d.b.(*array.Int64Builder).Append(int64(be.Uint32(v)))
	case kFloat4:
		if len(v) != 4 {
			return errLen("float4", len(v))
		}
		d.b.(*array.Float32Builder).Append(math.Float32frombits(be.Uint32(v)))
	case kFloat8:
		if len(v) != 8 {
			return errLen("float8", len(v))
		}
		d.b.(*array.Float64Builder).Append(math.Float64frombits(be.Uint64(v)))
	case kDate:
		if len(v) != 4 {
			return errLen("date", len(v))
		}
		days := int32(be.Uint32(v))
		if days == math.MaxInt32 || days == math.MinInt32 { // ±infinity
			return d.special(d.col.special.Timestamp, "timestamp_special", infinity(days == math.MaxInt32), "date32")
		}
		d.b.(*array.Date32Builder).Append(arrow.Date32(days + pgEpochDays))
	case kTime:
		if len(v) != 8 {
			return errLen("time", len(v))
		}
		d.b.(*array.Time64Builder).Append(arrow.Time64(int64(be.Uint64(v))))
	case kTimestamp, kTimestamptz:
		if len(v) != 8 {
			return errLen("timestamp", len(v))
		}
		us := int64(be.Uint64(v))
		if us == math.MaxInt64 || us == math.MinInt64 { // ±infinity
			return d.special(d.col.special.Timestamp, "timestamp_special", infinity(us == math.MaxInt64), "timestamp")
		}
		if us > math.MaxInt64-pgEpochMicros { // after 294247-01-10T04:00:54.775807Z
			return d.special(d.col.special.Timestamp, "timestamp_special", "after 294247-01-10 (the end of Arrow's microsecond timestamps)", "timestamp")
		}
		d.b.(*array.TimestampBuilder).Append(arrow.Timestamp(us + pgEpochMicros))
	case kInterval:
		if len(v) != 16 {
			return errLen("interval", len(v))
		}
		d.b.(*array.MonthDayNanoIntervalBuilder).Append(arrow.MonthDayNanoInterval{
			Nanoseconds: int64(be.Uint64(v)) * 1000,
			Days:        int32(be.Uint32(v[8:])),
			Months:      int32(be.Uint32(v[12:])),
		})
	case kUUID:
		if len(v) != 16 {
			return errLen("uuid", len(v))
		}
		var s [36]byte
		hex.Encode(s[0:8], v[0:4])
		s[8] = '-'
		hex.Encode(s[9:13], v[4:6])
		s[13] = '-'
		hex.Encode(s[14:18], v[6:8])
		s[18] = '-'
		hex.Encode(s[19:23], v[8:10])
		s[23] = '-'
		hex.Encode(s[24:], v[10:16])
		d.str.BinaryBuilder.Append(s[:])
	case kDecimal:
		n, ok, err := decodeNumeric(v, d.col.scale)
		if err != nil {
			return err
		}
		if !ok { // NaN or ±Infinity
			return d.special(d.col.special.Numeric, "numeric_special", numericSpecial(v), "decimal128")
		}
		d.b.(*array.Decimal128Builder).Append(n)
	case kArray:
		return d.appendArray(v)
	}
	return nil
}

// special handles a value the column's Arrow type cannot hold (what,
// e.g. its PostgreSQL text form): a null under mode "null", else an error
// naming the value and the option (key) that chooses otherwise.
func (d *decoder) special(mode, key, what, arrowType string) error {
	if mode == specialNull {
		d.nulls++
		d.b.AppendNull()
		return nil
	}
	return fmt.Errorf("the value %s has no %s value; set %s: null to read such values as null, or %s: string to read the column as text", what, arrowType, key, key)
}

func infinity(positive bool) string {
	if positive {
		return "infinity"
	}
	return "-infinity"
}

// numericSpecial names a binary numeric that is not a number: NaN,
// Infinity or -Infinity.
func numericSpecial(v []byte) string {
	switch binary.BigEndian.Uint16(v[4:]) {
	case 0xD000:
		return "Infinity"
	case 0xF000:
		return "-Infinity"
	}
	return "NaN"
}

// errNotUTF8 is the error of text that is not valid UTF-8 (from a
// SQL_ASCII database).
var errNotUTF8 = errors.New("the text is not valid UTF-8 (the database's encoding is SQL_ASCII, which stores any bytes), and a utf8 column cannot hold it; read its bytes in a query instead: convert_to(col, 'SQL_ASCII') is a bytea of them")

func errLen(typ string, n int) error {
	return fmt.Errorf("%s value of %d bytes", typ, n)
}

// appendArray decodes a one-dimensional array in binary format into the
// list builder.
func (d *decoder) appendArray(v []byte) error {
	be := binary.BigEndian
	if len(v) < 12 {
		return fmt.Errorf("array value of %d bytes", len(v))
	}
	ndim := int32(be.Uint32(v))
	if ndim == 0 {
		d.list.Append(true)
		return nil
	}
	if ndim != 1 {
		return fmt.Errorf("a %d-dimensional array; only one-dimensional arrays map to Arrow lists (cast the column to text in a query: key query)", ndim)
	}
	if len(v) < 20 {
		return fmt.Errorf("array value of %d bytes", len(v))
	}
	n := int(int32(be.Uint32(v[12:])))
	off := 20
	d.list.Append(true)
	for range n {
		if off+4 > len(v) {
			return fmt.Errorf("truncated array value")
		}
		l := int(int32(be.Uint32(v[off:])))
		off += 4
		if l < 0 {
			d.elem.b.AppendNull()
			continue
		}
		if off+l > len(v) {
			return fmt.Errorf("truncated array value")
		}
		if err := d.elem.appendValue(v[off : off+l]); err != nil {
			return err
		}
		off += l
	}
	return nil
}

// decodeNumeric reads a numeric in binary format as a decimal128 with the
// given scale. ok is false for NaN and ±Infinity.
func decodeNumeric(v []byte, scale int32) (decimal128.Num, bool, error) {
	be := binary.BigEndian
	if len(v) < 8 {
		return decimal128.Num{}, false, fmt.Errorf("numeric value of %d bytes", len(v))
	}
	ndigits := int(int16(be.Uint16(v)))
	weight := int(int16(be.Uint16(v[2:])))
	sign := be.Uint16(v[4:])
	if sign == 0xC000 || sign == 0xD000 || sign == 0xF000 {
		return decimal128.Num{}, false, nil
	}
	if len(v) != 8+2*ndigits {
		return decimal128.Num{}, false, fmt.Errorf("numeric value of %d bytes for %d digits", len(v), ndigits)
	}
	if ndigits == 0 {
		return decimal128.Num{}, true, nil
	}
	// value = sum(d[i] * 10000^(weight-i)); we want value * 10^scale.
	e := 4*(weight-ndigits+1) + int(scale)
	if e < -3 || e > 38 {
		return decimal128.Num{}, false, fmt.Errorf("numeric value does not fit the column's scale %d", scale)
	}
	ten4 := decimal128.FromU64(10000)
	var acc decimal128.Num
	var small uint64
	useSmall := ndigits <= 4
	for i := range ndigits {
		d := uint64(be.Uint16(v[8+2*i:]))
		last := i == ndigits-1
		if last && e < 0 {
			div := uint64(math.Pow10(-e))
			mul := uint64(math.Pow10(4 + e))
			if useSmall {
				small = small*mul + d/div
			} else {
				acc = acc.Mul(decimal128.FromU64(mul)).Add(decimal128.FromU64(d / div))
			}
			break
		}
		if useSmall {
			small = small*10000 + d
		} else {
			acc = acc.Mul(ten4).Add(decimal128.FromU64(d))
		}
	}
	if useSmall {
		acc = decimal128.FromU64(small)
	}
	if e > 0 {
		acc = acc.Mul(decimal128.GetScaleMultiplier(e))
	}
	if sign == 0x4000 {
		acc = acc.Negate()
	}
	return acc, true, nil
}
