package sdktest

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// Column is one of the optional columns of the batches the kit writes to a
// destination. Every batch also has a non-nullable int64 column "id".
type Column int

const (
	// ColumnString is "name", a nullable utf8 column. Its values are never
	// empty, so a format that writes null as an empty field (CSV) can read
	// nulls back unambiguously; they do hold commas, double quotes and
	// non-ASCII letters.
	ColumnString Column = iota + 1
	// ColumnFloat64 is "score", a nullable float64 column of values exact in
	// binary (multiples of 0.25).
	ColumnFloat64
	// ColumnBool is "active", a nullable bool column.
	ColumnBool
	// ColumnTimestamp is "at", a nullable timestamp column in microseconds,
	// UTC.
	ColumnTimestamp
)

// AllColumns is every optional column, the default of
// [DestinationConfig.Columns].
var AllColumns = []Column{ColumnString, ColumnFloat64, ColumnBool, ColumnTimestamp}

// String returns the column's name in the generated schema.
func (c Column) String() string {
	switch c {
	case ColumnString:
		return "name"
	case ColumnFloat64:
		return "score"
	case ColumnBool:
		return "active"
	case ColumnTimestamp:
		return "at"
	default:
		return fmt.Sprintf("Column(%d)", int(c))
	}
}

func (c Column) dataType() arrow.DataType {
	switch c {
	case ColumnString:
		return arrow.BinaryTypes.String
	case ColumnFloat64:
		return arrow.PrimitiveTypes.Float64
	case ColumnBool:
		return arrow.FixedWidthTypes.Boolean
	case ColumnTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	default:
		return nil
	}
}

// Schema returns the schema of the batches the kit writes with the given
// optional columns (nil means AllColumns): "id" int64 first, then the
// columns in the order given. Unknown columns are ignored.
func Schema(cols []Column) *arrow.Schema {
	if cols == nil {
		cols = AllColumns
	}
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	seen := map[Column]bool{}
	for _, c := range cols {
		if c.dataType() == nil || seen[c] {
			continue
		}
		seen[c] = true
		fields = append(fields, arrow.Field{Name: c.String(), Type: c.dataType(), Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// baseTime is the first generated timestamp.
var baseTime = time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)

// genOptions shape a generated batch.
type genOptions struct {
	// allNull makes every nullable value of every row null.
	allNull bool
	// strLen, when > 0, pads every string to this many bytes.
	strLen int
}

// generate returns rows first..first+n-1 of schema. Nulls fall on ids
// divisible by 3 (name), 4 (score), 5 (active) and 7 (at).
func generate(schema *arrow.Schema, first int64, n int, opt genOptions) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		id := first + int64(i)
		for j, f := range schema.Fields() {
			fb := b.Field(j)
			if f.Name == "id" {
				fb.(*array.Int64Builder).Append(id)
				continue
			}
			null := opt.allNull
			switch f.Name {
			case "name":
				null = null || id%3 == 0
			case "score":
				null = null || id%4 == 0
			case "active":
				null = null || id%5 == 0
			case "at":
				null = null || id%7 == 0
			}
			if null {
				fb.AppendNull()
				continue
			}
			switch f.Name {
			case "name":
				s := fmt.Sprintf("row %d, \"quoted\" Zürich ✓", id)
				if opt.strLen > len(s) {
					s += strings.Repeat("x", opt.strLen-len(s))
				}
				fb.(*array.StringBuilder).Append(s)
			case "score":
				fb.(*array.Float64Builder).Append(float64(id)*0.25 - 3)
			case "active":
				fb.(*array.BooleanBuilder).Append(id%2 == 0)
			case "at":
				fb.(*array.TimestampBuilder).Append(arrow.Timestamp(baseTime.Add(time.Duration(id) * time.Second).UnixMicro()))
			}
		}
	}
	return b.NewRecordBatch()
}

// batch is one generated batch ready to send: its IPC bytes and its rows.
type batch struct {
	data []byte
	rows rowhash.Sum
}

// encodeBatches generates n batches of size rows each, ids starting at
// first, and encodes them.
func encodeBatches(schema *arrow.Schema, first int64, n, size int, opt genOptions) ([]batch, rowhash.Sum, error) {
	var (
		out   []batch
		total rowhash.Sum
	)
	for i := range n {
		rec := generate(schema, first+int64(i*size), size, opt)
		data, err := arrowipc.EncodeRecord(rec)
		var s rowhash.Sum
		s.Add(rec)
		rec.Release()
		if err != nil {
			return nil, total, err
		}
		out = append(out, batch{data: data, rows: s})
		total.Merge(s)
	}
	return out, total, nil
}
