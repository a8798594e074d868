package shopifyconn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// segment is one step of a column path.
type segment struct {
	text  string // as written, with arguments: sent in GraphQL selections
	name  string // without arguments: looked up in responses
	index int    // a list index, or -1
}

// splitPath parses a column path; parent reports a leading "^".
func splitPath(p string) (parent bool, segs []segment) {
	if p == "" {
		return false, nil
	}
	parts := strings.Split(p, ".")
	if parts[0] == "^" {
		parent, parts = true, parts[1:]
	}
	for _, s := range parts {
		seg := segment{text: s, name: s, index: -1}
		if i := strings.IndexByte(s, '('); i >= 0 {
			seg.name = s[:i]
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			seg.index = n
		}
		segs = append(segs, seg)
	}
	return parent, segs
}

// lookup follows p in rec (or in parent for a "^" path). A missing member,
// a null on the way or an index past a list's end gives nil.
func lookup(rec, parent any, p string) any {
	up, segs := splitPath(p)
	if segs == nil {
		return nil
	}
	cur := rec
	if up {
		cur = parent
	}
	for _, s := range segs {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[s.name]
		case []any:
			if s.index < 0 || s.index >= len(c) {
				return nil
			}
			cur = c[s.index]
		default:
			return nil
		}
	}
	return cur
}

// selection is a GraphQL selection set being built from paths, keeping the
// order fields were first named in.
type selection struct {
	order []string
	sub   map[string]*selection
}

func (s *selection) add(segs []segment) {
	for len(segs) > 0 && segs[0].index >= 0 {
		segs = segs[1:] // list indexes are not part of a selection
	}
	if len(segs) == 0 {
		return
	}
	if s.sub == nil {
		s.sub = map[string]*selection{}
	}
	k := segs[0].text
	child, ok := s.sub[k]
	if !ok {
		child = &selection{}
		s.sub[k] = child
		s.order = append(s.order, k)
	}
	child.add(segs[1:])
}

func (s *selection) render(b *strings.Builder) {
	for i, k := range s.order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		if c := s.sub[k]; len(c.order) > 0 {
			b.WriteString(" { ")
			c.render(b)
			b.WriteString(" }")
		}
	}
}

// cost is Shopify's estimate of one node of this selection: one point for
// each object (a field with a selection of its own); scalars are free.
func (s *selection) cost() int {
	n := 0
	for _, k := range s.order {
		if c := s.sub[k]; len(c.order) > 0 {
			n += 1 + c.cost()
		}
	}
	return n
}

// nodeSelection returns the selection of a stream's own node, from its
// columns' GraphQL paths (parent paths left out), and its cost estimate
// (including the node's own point).
func nodeSelection(o *object) (string, int) {
	if o.GQL.Node != "" {
		// A hand-written selection: one point for the node, one per
		// object field, counted from its braces.
		return o.GQL.Node, 1 + strings.Count(o.GQL.Node, "{")
	}
	var sel selection
	for _, c := range o.Columns {
		if up, segs := splitPath(c.GQL); !up && segs != nil {
			sel.add(segs)
		}
	}
	var b strings.Builder
	sel.render(&b)
	return b.String(), 1 + sel.cost()
}

// parentFields returns the selection of a parent node for a child stream:
// id, updatedAt and every field the child's "^" paths read.
func parentFields(o *object) string {
	var sel selection
	_, id := splitPath("id")
	_, upd := splitPath("updatedAt")
	sel.add(id)
	sel.add(upd)
	for _, c := range o.Columns {
		if up, segs := splitPath(c.GQL); up {
			sel.add(segs)
		}
	}
	var b strings.Builder
	sel.render(&b)
	return b.String()
}

// arrowType is the Arrow type of a column type.
func (t colType) arrowType() arrow.DataType {
	switch t {
	case tInt:
		return arrow.PrimitiveTypes.Int64
	case tFloat:
		return arrow.PrimitiveTypes.Float64
	case tBool:
		return arrow.FixedWidthTypes.Boolean
	case tTime:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	default:
		return arrow.BinaryTypes.String
	}
}

// schemaOf is the Arrow schema of a stream; every column is nullable.
func schemaOf(o *object) *arrow.Schema {
	fields := make([]arrow.Field, len(o.Columns))
	for i, c := range o.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.arrowType(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// row is one record to write: the object and, for a child, its parent.
type row struct {
	rec    any
	parent any
}

// value is a column's typed value of one row: int64, float64, bool,
// string, time.Time or nil.
func value(c column, r row, rest bool) (any, error) {
	p := c.GQL
	if rest {
		p = c.REST
	}
	v := lookup(r.rec, r.parent, p)
	if !rest {
		v = convert(c.Conv, v)
	}
	if v == nil {
		return nil, nil
	}
	bad := func(err error) error {
		b, _ := json.Marshal(v)
		s := string(b)
		if len(s) > 80 {
			s = s[:80] + "…"
		}
		return fmt.Errorf("column %q (%s): cannot read %s: %v", c.Name, c.Type, s, err)
	}
	switch c.Type {
	case tInt:
		n, err := toInt(v)
		if err != nil {
			return nil, bad(err)
		}
		return n, nil
	case tFloat:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = string(x)
		case string:
			s = x
		default:
			return nil, bad(fmt.Errorf("not a number"))
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, bad(err)
		}
		return f, nil
	case tBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad(fmt.Errorf("not a boolean"))
		}
		return b, nil
	case tTime:
		s, ok := v.(string)
		if !ok {
			return nil, bad(fmt.Errorf("not a date-time string"))
		}
		if s == "" {
			return nil, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, bad(err)
		}
		return t.UTC(), nil
	case tJSON:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, bad(err)
		}
		return string(b), nil
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return string(x), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, bad(err)
		}
		return string(b), nil
	}
}

// toInt reads an integer: a JSON number, a numeric string (GraphQL's
// UnsignedInt64) or a global id ("gid://shopify/Order/12" or
// "gid://shopify/InventoryLevel/3?inventory_item_id=4": the number after
// the last slash).
func toInt(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = x
		if strings.HasPrefix(s, "gid://") {
			s = s[strings.LastIndexByte(s, '/')+1:]
			if i := strings.IndexByte(s, '?'); i >= 0 {
				s = s[:i]
			}
		}
	default:
		return 0, fmt.Errorf("not a number or a global id")
	}
	return strconv.ParseInt(s, 10, 64)
}

func convert(c conv, v any) any {
	switch c {
	case convLower:
		if s, ok := v.(string); ok {
			return strings.ToLower(s)
		}
	case convJoin:
		if l, ok := v.([]any); ok {
			parts := make([]string, 0, len(l))
			for _, x := range l {
				if s, ok := x.(string); ok {
					parts = append(parts, s)
				}
			}
			return strings.Join(parts, ", ")
		}
	case convSmart:
		if v == nil {
			return "custom"
		}
		return "smart"
	}
	return v
}

// buildBatch turns rows into a record batch of the stream's schema.
func buildBatch(o *object, rows []row, rest bool) (arrow.RecordBatch, error) {
	schema := schemaOf(o)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for ri, r := range rows {
		for i, c := range o.Columns {
			v, err := value(c, r, rest)
			if err != nil {
				return nil, errclass.Permanentf("stream %q, record %d of the page: %v", o.Name, ri+1, err)
			}
			appendValue(b.Field(i), v)
		}
	}
	return b.NewRecordBatch(), nil
}

func appendValue(fb array.Builder, v any) {
	if v == nil {
		fb.AppendNull()
		return
	}
	switch x := v.(type) {
	case int64:
		fb.(*array.Int64Builder).Append(x)
	case float64:
		fb.(*array.Float64Builder).Append(x)
	case bool:
		fb.(*array.BooleanBuilder).Append(x)
	case string:
		fb.(*array.StringBuilder).Append(x)
	case time.Time:
		fb.(*array.TimestampBuilder).Append(arrow.Timestamp(x.UnixMicro()))
	}
}
