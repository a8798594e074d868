package restconn

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// column is one column of the stream's schema.
type column struct {
	Name string
	Type colType
}

// walkRecord calls emit for every leaf of a record: with flatten, nested
// objects become columns named parent_child (recursively) unless isLeaf
// says their name is a column already; lists and, without flatten,
// objects are leaves. A record that is not an object is one leaf named
// "value".
func walkRecord(rec any, flatten bool, isLeaf func(string) bool, emit func(name string, v any) error) error {
	switch rec.(type) {
	case map[string]any, *object:
		return walkObject("", rec, flatten, isLeaf, emit)
	}
	return emit("value", rec)
}

func walkObject(prefix string, obj any, flatten bool, isLeaf func(string) bool, emit func(string, any) error) error {
	visit := func(k string, v any) error {
		name := k
		if prefix != "" {
			name = prefix + "_" + k
		}
		if flatten && !isLeaf(name) {
			switch v.(type) {
			case map[string]any, *object:
				return walkObject(name, v, flatten, isLeaf, emit)
			}
		}
		return emit(name, v)
	}
	switch o := obj.(type) {
	case *object:
		for _, k := range o.keys {
			if err := visit(k, o.vals[k]); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, v := range o {
			if err := visit(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Value kinds seen while inferring, as bits.
const (
	kindNull = 1 << iota
	kindBool
	kindInt
	kindFloat
	kindString
	kindNested
	// kindDecimal marks a cursor value of a decimal column (cursorKey).
	kindDecimal
)

func kindOf(v any) int {
	switch x := v.(type) {
	case nil:
		return kindNull
	case bool:
		return kindBool
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return kindInt
		}
		return kindFloat
	case string:
		return kindString
	}
	return kindNested
}

// inferSchema derives the stream's columns from the first page's records:
// columns in order of first appearance, then pinned columns the page
// lacks (sorted). A column's type is its pinned type, else the narrowest
// type that holds every value of the page: int64, decimal(38,s) when
// every number has s >= 1 fraction digits and no exponent (with
// infer_decimals), float64 for other numbers and when ints and floats
// mix, bool, string; json for lists (and objects when not flattened);
// string for any other mix and for a column that is null throughout.
func inferSchema(records []any, cfg config) ([]column, error) {
	var order []string
	kinds := map[string]int{}
	// scales holds the fraction digits every float of a column has, or
	// -1 when they differ or one is no plain decimal.
	scales := map[string]int32{}
	isLeaf := func(name string) bool { _, ok := cfg.Pinned[name]; return ok }
	for _, rec := range records {
		seen := map[string]bool{}
		err := walkRecord(rec, cfg.Flatten, isLeaf, func(name string, v any) error {
			if seen[name] {
				return errclass.Permanentf("field %q appears twice in one record once nested objects are flattened with \"_\"; pin it in schema: as json, or set flatten_response: false", name)
			}
			seen[name] = true
			if _, ok := kinds[name]; !ok {
				order = append(order, name)
			}
			k := kindOf(v)
			kinds[name] |= k
			if k == kindFloat {
				scale := int32(-1)
				if ct := coltype.Infer([]string{string(v.(json.Number))}, coltype.InferOptions{Decimals: true}); ct.Kind == coltype.KindDecimal {
					scale = ct.Scale
				}
				if prev, ok := scales[name]; ok && prev != scale {
					scale = -1
				}
				scales[name] = scale
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	cols := make([]column, 0, len(order)+len(cfg.Pinned))
	for _, name := range order {
		t, ok := cfg.Pinned[name]
		if !ok {
			t = typeFromKinds(kinds[name])
			if t == typeFloat64 && kinds[name]&kindInt == 0 && cfg.InferDecimals && scales[name] >= 1 {
				t = colType(coltype.Decimal(coltype.InferredPrecision, scales[name]).String())
			}
		}
		cols = append(cols, column{Name: name, Type: t})
	}
	var extra []string
	for name := range cfg.Pinned {
		if _, ok := kinds[name]; !ok {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		cols = append(cols, column{Name: name, Type: cfg.Pinned[name]})
	}
	return cols, nil
}

func typeFromKinds(k int) colType {
	k &^= kindNull
	switch k {
	case kindInt:
		return typeInt64
	case kindInt | kindFloat, kindFloat:
		return typeFloat64
	case kindBool:
		return typeBool
	case kindNested:
		return typeJSON
	default:
		return typeString
	}
}

// arrowSchema is the Arrow schema of cols; every column is nullable.
func arrowSchema(cols []column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.arrowType(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// pageBuilder turns one page's records into a record batch of a fixed
// schema, coercing values into their column's type, and applies the
// incremental filter.
type pageBuilder struct {
	cols     []column
	index    map[string]int
	flatten  bool
	ignore   bool
	builders []array.Builder
	row      []any
	set      []bool
	buf      []byte

	cursor    int        // column index of the cursor field, -1 for none
	after     *cursorKey // stored cursor: keep rows above it only
	max       *cursorKey // greatest cursor so far
	pageLabel string     // "page 3" for messages
}

func newPageBuilder(cols []column, cfg config, pageLabel string) *pageBuilder {
	b := &pageBuilder{cols: cols, index: make(map[string]int, len(cols)), flatten: cfg.Flatten, ignore: cfg.IgnoreNewFields,
		row: make([]any, len(cols)), set: make([]bool, len(cols)), cursor: -1, pageLabel: pageLabel}
	mem := memory.DefaultAllocator
	for i, c := range cols {
		b.index[c.Name] = i
		b.builders = append(b.builders, array.NewBuilder(mem, c.Type.arrowType()))
	}
	return b
}

func (b *pageBuilder) release() {
	for _, bl := range b.builders {
		bl.Release()
	}
}

// add appends one record (recNo counts from 1 within the page).
func (b *pageBuilder) add(rec any, recNo int) error {
	for i := range b.set {
		b.set[i] = false
		b.row[i] = nil
	}
	isLeaf := func(name string) bool { _, ok := b.index[name]; return ok }
	err := walkRecord(rec, b.flatten, isLeaf, func(name string, v any) error {
		i, ok := b.index[name]
		if !ok {
			if v == nil || b.ignore {
				return nil
			}
			return errclass.Permanentf("%s, record %d: field %q is not in the schema the first page fixed (the destination already has that schema); "+
				"list it under schema: to read it (e.g. schema: {%s: %s}), or set new_fields: ignore to drop fields the first page lacked",
				b.pageLabel, recNo, name, name, typeFromKinds(kindOf(v)))
		}
		if b.set[i] {
			return errclass.Permanentf("%s, record %d: field %q appears twice once nested objects are flattened with \"_\"; pin it in schema: as json, or set flatten_response: false",
				b.pageLabel, recNo, name)
		}
		b.set[i], b.row[i] = true, v
		return nil
	})
	if err != nil {
		return err
	}
	if b.cursor >= 0 {
		v := b.row[b.cursor]
		if v == nil {
			if b.after != nil {
				return nil // no cursor value: not newer than the stored one
			}
		} else {
			k, err := newCursorKey(v, b.cols[b.cursor].Type)
			if err != nil {
				return errclass.Permanentf("%s, record %d: cursor field %q: %v", b.pageLabel, recNo, b.cols[b.cursor].Name, err)
			}
			if b.after != nil && k.compare(*b.after) <= 0 {
				return nil
			}
			if b.max == nil || k.compare(*b.max) > 0 {
				b.max = &k
			}
		}
	}
	for i, v := range b.row {
		if err := b.appendValue(i, v); err != nil {
			return errclass.Permanentf("%s, record %d, field %q: %v", b.pageLabel, recNo, b.cols[i].Name, err)
		}
	}
	return nil
}

// finish returns the built batch.
func (b *pageBuilder) finish() arrow.RecordBatch {
	arrs := make([]arrow.Array, len(b.builders))
	for i, bl := range b.builders {
		arrs[i] = bl.NewArray()
	}
	n := int64(0)
	if len(arrs) > 0 {
		n = int64(arrs[0].Len())
	}
	rec := array.NewRecordBatch(arrowSchema(b.cols), arrs, n)
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func (b *pageBuilder) appendValue(i int, v any) error {
	bl := b.builders[i]
	if v == nil {
		bl.AppendNull()
		return nil
	}
	t := b.cols[i].Type
	misfit := func() error {
		return fmt.Errorf("value %s (%s) does not fit the column's type %s, which the first page fixed; pin the column with schema: {%s: string} to read any value as text",
			shortJSON(v), kindName(v), t, b.cols[i].Name)
	}
	if dt, ok := t.decimal(); ok {
		var text string
		switch x := v.(type) {
		case json.Number:
			text = string(x)
		case string:
			text = x
		default:
			return misfit()
		}
		d, err := coltype.ParseDecimal(text, dt.Precision, dt.Scale)
		if err != nil {
			return err
		}
		bl.(*array.Decimal128Builder).Append(d)
		return nil
	}
	switch t {
	case typeInt64:
		n, ok := v.(json.Number)
		if !ok {
			return misfit()
		}
		if x, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			bl.(*array.Int64Builder).Append(x)
			return nil
		}
		// A float with no fraction (3.0, 1e3) fits losslessly.
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f != math.Trunc(f) || f < -9.2e18 || f > 9.2e18 {
			return misfit()
		}
		bl.(*array.Int64Builder).Append(int64(f))
	case typeFloat64:
		n, ok := v.(json.Number)
		if !ok {
			return misfit()
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return misfit()
		}
		bl.(*array.Float64Builder).Append(f)
	case typeBool:
		x, ok := v.(bool)
		if s, isText := v.(string); isText {
			// "t", "f", "true", "false" as text (a pinned bool column).
			bv, err := coltype.Parse(coltype.Bool, s)
			if err != nil {
				return err
			}
			x, ok = bv.B, true
		}
		if !ok {
			return misfit()
		}
		bl.(*array.BooleanBuilder).Append(x)
	case typeString:
		sb := bl.(*array.StringBuilder)
		switch x := v.(type) {
		case string:
			sb.Append(x)
		case json.Number:
			sb.Append(string(x))
		case bool:
			sb.Append(strconv.FormatBool(x))
		default:
			b.buf = appendJSON(b.buf[:0], x)
			sb.BinaryBuilder.Append(b.buf)
		}
	case typeJSON:
		b.buf = appendJSON(b.buf[:0], v)
		bl.(*array.StringBuilder).BinaryBuilder.Append(b.buf)
	case typeTimestamp:
		s, ok := v.(string)
		if !ok {
			return misfit()
		}
		us, err := coltype.ParseTimestamp(s)
		if err != nil {
			return err
		}
		bl.(*array.TimestampBuilder).Append(arrow.Timestamp(us))
	case typeDate:
		s, ok := v.(string)
		if !ok {
			return misfit()
		}
		d, err := coltype.Parse(coltype.Date, s)
		if err != nil {
			return err
		}
		bl.(*array.Date32Builder).Append(arrow.Date32(d.I))
	default:
		return misfit()
	}
	return nil
}

// parseTimestamp reads a timestamp as coltype.ParseTimestamp does
// (RFC 3339 with T or a space, zones Z, +HH, +HHMM, +HH:MM, none for UTC).
func parseTimestamp(s string) (time.Time, bool) {
	us, err := coltype.ParseTimestamp(s)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(us).UTC(), true
}

func shortJSON(v any) string {
	b := appendJSON(nil, v)
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// cursorKey is a comparable incremental cursor value.
type cursorKey struct {
	kind int // kindInt, kindFloat, kindString; timestamps are kindNested
	i    int64
	f    float64
	s    string
	t    time.Time
	d    decimal128.Num  // kindDecimal: the unscaled value
	raw  json.RawMessage // as the API sent it
}

// newCursorKey reads a cursor value of a column of type t: numbers compare
// as numbers, timestamps (RFC 3339 strings, or any string of a timestamp
// column) as instants, other strings as text; values of a decimal
// column (numbers or strings) exactly, as decimals of its scale.
func newCursorKey(v any, t colType) (cursorKey, error) {
	if dt, ok := t.decimal(); ok {
		var text string
		switch x := v.(type) {
		case json.Number:
			text = string(x)
		case string:
			text = x
		default:
			return cursorKey{}, fmt.Errorf("value %s (%s) is not a decimal", shortJSON(v), kindName(v))
		}
		d, err := coltype.ParseDecimal(text, dt.Precision, dt.Scale)
		if err != nil {
			return cursorKey{}, err
		}
		raw, _ := json.Marshal(d.ToString(dt.Scale))
		return cursorKey{kind: kindDecimal, d: d, s: d.ToString(dt.Scale), raw: raw}, nil
	}
	switch x := v.(type) {
	case json.Number:
		k := cursorKey{raw: json.RawMessage(x)}
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			k.kind, k.i, k.f = kindInt, n, float64(n)
			return k, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return k, fmt.Errorf("value %s is not a number", x)
		}
		k.kind, k.f = kindFloat, f
		return k, nil
	case string:
		raw, _ := json.Marshal(x)
		k := cursorKey{kind: kindString, s: x, raw: raw}
		if ts, ok := parseTimestamp(x); ok {
			k.kind, k.t = kindNested, ts
		} else if t == typeTimestamp {
			return k, fmt.Errorf("value %q is not an RFC 3339 timestamp", x)
		}
		return k, nil
	}
	return cursorKey{}, fmt.Errorf("value %s (%s) cannot be a cursor: use a number, a string or a timestamp field", shortJSON(v), kindName(v))
}

// parseStoredCursor reads a stored cursor (JSON); nil for JSON null or
// nothing.
func parseStoredCursor(raw json.RawMessage, t colType) (*cursorKey, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	v, err := decodeBody(raw, false)
	if err != nil {
		return nil, fmt.Errorf("the stored cursor %s is not JSON: %v", s, err)
	}
	k, err := newCursorKey(v, t)
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// compare orders two cursor values: numerically when both are numbers, by
// instant when both are timestamps, else as text.
func (k cursorKey) compare(o cursorKey) int {
	switch {
	case k.kind == kindDecimal && o.kind == kindDecimal:
		return k.d.Cmp(o.d)
	case k.kind == kindInt && o.kind == kindInt:
		return cmp(k.i, o.i)
	case (k.kind == kindInt || k.kind == kindFloat) && (o.kind == kindInt || o.kind == kindFloat):
		return cmp(k.f, o.f)
	case k.kind == kindNested && o.kind == kindNested:
		return k.t.Compare(o.t)
	}
	return strings.Compare(k.text(), o.text())
}

func (k cursorKey) text() string {
	if k.kind == kindString || k.kind == kindNested {
		return k.s
	}
	return string(k.raw)
}

func cmp[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// paramText renders the stored cursor as a query parameter value.
func (k cursorKey) paramText() string { return k.text() }
