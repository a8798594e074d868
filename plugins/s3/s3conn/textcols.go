package s3conn

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// csvWritable reports whether Arrow's csv writer renders columns of type
// dt in a form the csv connector shares. It has no form for times,
// durations, intervals, structs, maps, dictionaries and the like (it
// panics on them), and writes lists as {1,2,3}, where the csv connector
// writes JSON ([1,2,3]).
func csvWritable(dt arrow.DataType) bool {
	switch dt.(type) {
	case *arrow.BooleanType,
		*arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type,
		*arrow.StringType, *arrow.LargeStringType,
		*arrow.Date32Type, *arrow.Date64Type, *arrow.TimestampType,
		*arrow.Decimal128Type, *arrow.Decimal256Type,
		*arrow.BinaryType, *arrow.LargeBinaryType, *arrow.FixedSizeBinaryType, *arrow.NullType:
		return true
	}
	return false
}

// csvText returns schema and rec with every column that Arrow's csv
// writer cannot render turned into strings in Arrow's own text form
// (times as 15:04:05.999999, intervals and structs as their JSON-like
// text), so every type a flow can carry can be written as csv. It returns
// the inputs unchanged when no column needs it; otherwise the caller
// releases the returned record.
func csvText(schema *arrow.Schema, rec arrow.RecordBatch) (*arrow.Schema, arrow.RecordBatch, bool) {
	return asText(schema, rec, func(dt arrow.DataType) bool { return !csvWritable(dt) })
}

// decimalsAsText returns schema and rec with decimal columns turned into
// strings holding their exact value (12.50 for 12.50 at scale 2): Arrow's
// JSON writer renders a decimal with %g (-1e-09), and JSON numbers are
// read back as float64. It returns the inputs unchanged when no column
// needs it; otherwise the caller releases the returned record.
func decimalsAsText(schema *arrow.Schema, rec arrow.RecordBatch) (*arrow.Schema, arrow.RecordBatch, bool) {
	return asText(schema, rec, func(dt arrow.DataType) bool {
		switch dt.(type) {
		case *arrow.Decimal128Type, *arrow.Decimal256Type:
			return true
		}
		return false
	})
}

// asText turns the columns whose type pick selects into strings.
func asText(schema *arrow.Schema, rec arrow.RecordBatch, pick func(arrow.DataType) bool) (*arrow.Schema, arrow.RecordBatch, bool) {
	var fix []int
	for i, f := range schema.Fields() {
		if pick(f.Type) {
			fix = append(fix, i)
		}
	}
	if len(fix) == 0 || rec == nil {
		return schema, rec, false
	}
	fields := schema.Fields()
	cols := make([]arrow.Array, len(fields))
	for i := range cols {
		cols[i] = rec.Column(i)
		cols[i].Retain()
	}
	for _, i := range fix {
		fields[i].Type = arrow.BinaryTypes.String
		b := array.NewStringBuilder(memory.DefaultAllocator)
		col := rec.Column(i)
		b.Reserve(col.Len())
		for r := range col.Len() {
			if col.IsNull(r) {
				b.AppendNull()
			} else {
				b.Append(textOf(col, r))
			}
		}
		cols[i].Release()
		cols[i] = b.NewArray()
		b.Release()
	}
	md := schema.Metadata()
	out := arrow.NewSchema(fields, &md)
	nr := array.NewRecordBatch(out, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nr, true
}

// textOf is value r of col as text: a decimal exactly, at its scale;
// anything else in Arrow's own text form.
func textOf(col arrow.Array, r int) string {
	switch a := col.(type) {
	case *array.Decimal128:
		return a.Value(r).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return a.Value(r).ToString(a.DataType().(*arrow.Decimal256Type).Scale)
	}
	return col.ValueStr(r)
}
