package memconn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
)

// colType is the inferred type of an inline column.
type colType int

const (
	typeNull   colType = iota // only nulls so far; becomes string
	typeInt                   // int64
	typeFloat                 // float64
	typeBool                  // bool
	typeString                // string (objects and lists are kept as JSON text)
)

func (t colType) String() string {
	return [...]string{"null", "integer", "float", "boolean", "string"}[t]
}

// inlineColumn holds one column of the inline rows; valid[i] is false for
// a null (a JSON null or a missing key).
type inlineColumn struct {
	name   string
	typ    colType
	ints   []int64
	floats []float64
	bools  []bool
	strs   []string
	valid  []bool
	raw    []any // values while inferring
}

// inlineRows is the data set of the `rows` key.
type inlineRows struct {
	cols   []*inlineColumn
	n      int64
	sch    *arrow.Schema
	bytesR int64
}

// rowsKey is the rows key: nil when absent (or null).
type rowsKey struct{ d *inlineRows }

// UnmarshalConfig decodes the rows list; problems name the row, and the
// column, relative to the key.
func (k *rowsKey) UnmarshalConfig(raw json.RawMessage) error {
	if jsonKind(raw) == "null" {
		return nil
	}
	d, errs := parseInlineRows(raw)
	if len(errs) > 0 {
		return errs
	}
	k.d = d
	return nil
}

// ConfigSchema describes the rows key.
func (rowsKey) ConfigSchema() map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "object"}}
}

// parseInlineRows decodes the rows list, keeping column order as first
// seen, and infers each column's type. The errors' fields are relative to
// the rows key ("[1].a").
func parseInlineRows(raw json.RawMessage) (*inlineRows, sdkconfig.Errors) {
	var errs sdkconfig.Errors
	add := func(field, msg string) { errs = append(errs, sdk.FieldError{Field: field, Message: msg}) }
	if jsonKind(raw) != "a list" {
		add("", "must be a list of objects (one per row), got "+jsonKind(raw))
		return nil, errs
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		add("", "is not a valid JSON list: "+err.Error())
		return nil, errs
	}
	d := &inlineRows{n: int64(len(items))}
	byName := map[string]*inlineColumn{}
	for r, item := range items {
		field := fmt.Sprintf("[%d]", r)
		if jsonKind(item) != "an object" {
			add(field, "must be an object mapping column names to values, got "+jsonKind(item))
			continue
		}
		keys, vals, err := decodeOrdered(item)
		if err != nil {
			add(field, "is not a valid object: "+err.Error())
			continue
		}
		for j, k := range keys {
			c := byName[k]
			if c == nil {
				c = &inlineColumn{name: k, raw: make([]any, len(items))}
				byName[k] = c
				d.cols = append(d.cols, c)
			}
			if c.raw[r] != nil {
				add(field+"."+k, "appears twice in the row")
				continue
			}
			v, t := normalize(vals[j])
			if t == typeNull {
				continue
			}
			switch {
			case c.typ == typeNull || c.typ == t:
				c.typ = t
			case (c.typ == typeInt && t == typeFloat) || (c.typ == typeFloat && t == typeInt):
				c.typ = typeFloat
			default:
				add(field+"."+k, fmt.Sprintf("is %s, but earlier rows hold %s values in column %q; a column holds one type (integers and floats mix as float64, nulls mix with anything)", t.withArticle(), c.typ, k))
				continue
			}
			c.raw[r] = v
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	fields := make([]arrow.Field, len(d.cols))
	var bytesPerRow float64
	for i, c := range d.cols {
		c.valid = make([]bool, len(items))
		var strBytes int
		switch c.typ {
		case typeInt:
			c.ints = make([]int64, len(items))
		case typeFloat:
			c.floats = make([]float64, len(items))
		case typeBool:
			c.bools = make([]bool, len(items))
		default:
			c.typ = typeString
			c.strs = make([]string, len(items))
		}
		for r, v := range c.raw {
			if v == nil {
				continue
			}
			c.valid[r] = true
			switch c.typ {
			case typeInt:
				c.ints[r] = v.(int64)
			case typeFloat:
				switch x := v.(type) {
				case int64:
					c.floats[r] = float64(x)
				case float64:
					c.floats[r] = x
				}
			case typeBool:
				c.bools[r] = v.(bool)
			default:
				c.strs[r] = v.(string)
				strBytes += len(c.strs[r])
			}
		}
		c.raw = nil
		fields[i] = arrow.Field{Name: c.name, Type: c.typ.arrowType(), Nullable: true}
		switch c.typ {
		case typeString:
			bytesPerRow += 4 + float64(strBytes)/float64(max(1, len(items)))
		case typeBool:
			bytesPerRow += 0.125
		default:
			bytesPerRow += 8
		}
		bytesPerRow += 0.125 // validity bit
	}
	d.sch = arrow.NewSchema(fields, nil)
	d.bytesR = int64(bytesPerRow) + 1
	return d, nil
}

// withArticle returns the type's name with "a" or "an", for messages.
func (t colType) withArticle() string {
	if t == typeInt {
		return "an integer"
	}
	return "a " + t.String()
}

func (t colType) arrowType() arrow.DataType {
	switch t {
	case typeInt:
		return arrow.PrimitiveTypes.Int64
	case typeFloat:
		return arrow.PrimitiveTypes.Float64
	case typeBool:
		return arrow.FixedWidthTypes.Boolean
	default:
		return arrow.BinaryTypes.String
	}
}

// decodeOrdered decodes a JSON object keeping its key order. Numbers stay
// json.Number.
func decodeOrdered(raw json.RawMessage) ([]string, []any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, nil, err
	}
	var keys []string
	var vals []any
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, ok := t.(string)
		if !ok {
			return nil, nil, errors.New("object key is not a string")
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	if _, err := dec.Token(); err != nil && err != io.EOF { // '}'
		return nil, nil, err
	}
	return keys, vals, nil
}

// normalize maps a decoded JSON value to its Go column value and type:
// integers to int64, other numbers to float64, objects and lists to their
// compact JSON text.
func normalize(v any) (any, colType) {
	switch x := v.(type) {
	case nil:
		return nil, typeNull
	case bool:
		return x, typeBool
	case string:
		return x, typeString
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, typeInt
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f, typeFloat
	default:
		b, _ := json.Marshal(x)
		return string(b), typeString
	}
}

func (d *inlineRows) schema() *arrow.Schema { return d.sch }
func (d *inlineRows) numRows() int64        { return d.n }
func (d *inlineRows) rowBytes() int64       { return d.bytesR }
func (d *inlineRows) primaryKey() []string  { return nil }
func (d *inlineRows) cursorFields() []string {
	var out []string
	for _, c := range d.cols {
		if c.typ != typeBool {
			out = append(out, c.name)
		}
	}
	return out
}

func (d *inlineRows) appendRow(b *array.RecordBuilder, r int64) {
	for j, c := range d.cols {
		fb := b.Field(j)
		if !c.valid[r] {
			fb.AppendNull()
			continue
		}
		switch c.typ {
		case typeInt:
			fb.(*array.Int64Builder).Append(c.ints[r])
		case typeFloat:
			fb.(*array.Float64Builder).Append(c.floats[r])
		case typeBool:
			fb.(*array.BooleanBuilder).Append(c.bools[r])
		default:
			fb.(*array.StringBuilder).Append(c.strs[r])
		}
	}
}

func (d *inlineRows) buildRange(lo, hi int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, d.sch)
	defer b.Release()
	b.Reserve(int(hi - lo))
	for r := lo; r < hi; r++ {
		d.appendRow(b, r)
	}
	return b.NewRecordBatch()
}

func (d *inlineRows) buildRows(rows []int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, d.sch)
	defer b.Release()
	b.Reserve(len(rows))
	for _, r := range rows {
		d.appendRow(b, r)
	}
	return b.NewRecordBatch()
}

func (d *inlineRows) cursor(name string) (*cursorColumn, error) {
	var names []string
	for _, c := range d.cols {
		names = append(names, c.name)
		if c.name != name {
			continue
		}
		cc := &cursorColumn{name: name}
		switch c.typ {
		case typeInt:
			cc.kind = kindInt
			cc.at = func(i int64) (cval, bool) { return cval{i: c.ints[i]}, c.valid[i] }
		case typeFloat:
			cc.kind = kindFloat
			cc.at = func(i int64) (cval, bool) { return cval{f: c.floats[i]}, c.valid[i] }
		case typeString:
			cc.kind = kindString
			cc.at = func(i int64) (cval, bool) { return cval{s: c.strs[i]}, c.valid[i] }
		default:
			return nil, fmt.Errorf("column %q is a bool and cannot be an incremental cursor", name)
		}
		return cc, nil
	}
	return nil, fmt.Errorf("no column %q; the inline rows have columns %s", name, strings.Join(names, ", "))
}
