package s3conn

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// lastModifiedField is the cursor field that reads incrementally by
// object: `incremental: {cursor: _last_modified}` reads the objects
// modified after the stored cursor, not a column.
const lastModifiedField = "_last_modified"

// modifiedCursor is the cursor of an incremental read by LastModified: the
// greatest LastModified read (at, to the second) and the keys read with
// exactly that LastModified. An object is new when its LastModified is
// after at, or equal to it and its key is not in keys: a second can hold
// objects written before and after a run listed the bucket, and keys keeps
// ties from being read twice or skipped.
type modifiedCursor struct {
	at   time.Time
	keys map[string]bool
}

// modifiedJSON is the cursor's JSON form.
type modifiedJSON struct {
	LastModified string   `json:"last_modified"`
	Keys         []string `json:"keys,omitempty"`
}

// newModifiedCursor reads the cursor so far: the checkpoint's (a read in
// progress), else the stored one the host sent.
func newModifiedCursor(st *streamInfo, req sdk.ReadRequest, cp checkpoint) (*modifiedCursor, error) {
	raw := req.CursorValue
	if len(req.Checkpoint) > 0 && len(cp.Cursor) > 0 {
		raw = cp.Cursor
	}
	m, err := parseModifiedCursor(raw)
	if err != nil {
		return nil, errclass.Permanentf("stream %q, cursor %s: %v", st.name, lastModifiedField, err)
	}
	return m, nil
}

// parseModifiedCursor accepts null (read every object), an RFC 3339 time
// (objects modified after it) or the object this connector stores:
// {"last_modified": time, "keys": [keys read at that time]}.
func parseModifiedCursor(raw json.RawMessage) (*modifiedCursor, error) {
	m := &modifiedCursor{keys: map[string]bool{}}
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return m, nil
	}
	var j modifiedJSON
	if strings.HasPrefix(s, "\"") {
		if err := json.Unmarshal(raw, &j.LastModified); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON", s)
		}
	} else if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("%s must be a time (RFC 3339) or {\"last_modified\": time, \"keys\": [...]}", s)
	}
	t, err := time.Parse(time.RFC3339Nano, j.LastModified)
	if err != nil {
		return nil, fmt.Errorf("last_modified %q is not an RFC 3339 time such as 2026-11-26T12:00:00Z", j.LastModified)
	}
	// LastModified is compared to the second: a stored 12:00:00.7 means
	// every object of 12:00:00 with a key in keys was read.
	m.at = t.UTC().Truncate(time.Second)
	for _, k := range j.Keys {
		m.keys[k] = true
	}
	return m, nil
}

// covers reports whether o was read by an earlier run or page.
func (m *modifiedCursor) covers(o object) bool {
	if m.at.IsZero() {
		return false
	}
	return o.Modified.Before(m.at) || (o.Modified.Equal(m.at) && m.keys[o.Key])
}

// add records that o was read to its end. Objects are read in
// (LastModified, key) order, so o is never older than the cursor.
func (m *modifiedCursor) add(o object) {
	switch {
	case m.at.IsZero() || o.Modified.After(m.at):
		m.at = o.Modified
		m.keys = map[string]bool{o.Key: true}
	case o.Modified.Equal(m.at):
		m.keys[o.Key] = true
	}
}

// byModified returns the stream's objects oldest first (by LastModified,
// then key), sorted once.
func (st *streamInfo) byModified() []object {
	if st.modOrder == nil {
		st.modOrder = append([]object(nil), st.all...)
		sort.SliceStable(st.modOrder, func(i, j int) bool {
			a, b := st.modOrder[i], st.modOrder[j]
			if !a.Modified.Equal(b.Modified) {
				return a.Modified.Before(b.Modified)
			}
			return a.Key < b.Key
		})
	}
	return st.modOrder
}

// remaining returns the objects of sorted (oldest first) not yet covered,
// at most maxFiles-files of them when maxFiles is set (files objects were
// already read in this read).
func (m *modifiedCursor) remaining(sorted []object, maxFiles, files int) []object {
	var out []object
	for _, o := range sorted {
		if !m.covers(o) {
			out = append(out, o)
		}
	}
	if maxFiles > 0 {
		out = out[:max(0, min(len(out), maxFiles-files))]
	}
	return out
}

// json renders the cursor, nil when nothing was ever read.
func (m *modifiedCursor) json() json.RawMessage {
	if m.at.IsZero() {
		return nil
	}
	j := modifiedJSON{LastModified: m.at.Format(time.RFC3339)}
	for k := range m.keys {
		j.Keys = append(j.Keys, k)
	}
	sort.Strings(j.Keys)
	b, _ := json.Marshal(j)
	return b
}

// columnCursor selects the rows whose cursor column is greater than the
// stored bound (compared by the column's type) and tracks the greatest
// value read.
type columnCursor struct {
	name string
	col  int
	*coltype.Cursor
}

func newColumnCursor(st *streamInfo, req sdk.ReadRequest, cp checkpoint) (*columnCursor, error) {
	idx := st.schema.FieldIndices(req.CursorField)
	if len(idx) == 0 {
		return nil, errclass.Permanentf("stream %q has no column %q to use as the incremental cursor; use %s (the objects' LastModified) or one of its columns: %s",
			st.name, req.CursorField, lastModifiedField, strings.Join(fieldNames(st.schema), ", "))
	}
	f := st.schema.Field(idx[0])
	t, ok := cursorType(f.Type)
	if !ok {
		return nil, errclass.Permanentf("stream %q: column %q is of type %s, which cannot be an incremental cursor (allowed: integers, floats, strings, dates, timestamps)", st.name, f.Name, f.Type)
	}
	bound, bounded, err := coltype.ParseCursor(t, req.CursorValue)
	if err != nil {
		return nil, errclass.Permanentf("stream %q, cursor %q: %v", st.name, f.Name, err)
	}
	max, hasMax, err := coltype.ParseCursor(t, cp.Cursor)
	if err != nil {
		return nil, errclass.Permanentf("stream %q: bad cursor in the checkpoint: %v", st.name, err)
	}
	return &columnCursor{name: f.Name, col: idx[0], Cursor: coltype.NewCursor(t, bound, bounded, max, hasMax)}, nil
}

// cursorType maps an Arrow type to the type its values compare as.
func cursorType(dt arrow.DataType) (coltype.Type, bool) {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return coltype.Int64, true
	case arrow.FLOAT32, arrow.FLOAT64:
		return coltype.Float64, true
	case arrow.STRING, arrow.LARGE_STRING:
		return coltype.String, true
	case arrow.DATE32, arrow.DATE64:
		return coltype.Date, true
	case arrow.TIMESTAMP:
		return coltype.Timestamp, true
	case arrow.BOOL:
		return coltype.Bool, true
	case arrow.DECIMAL128:
		d := dt.(*arrow.Decimal128Type)
		if d.Precision >= 1 && d.Precision <= coltype.MaxPrecision && d.Scale >= 0 && d.Scale <= d.Precision {
			return coltype.Decimal(d.Precision, d.Scale), true
		}
	}
	return coltype.Type{}, false
}

// cursorValue reads row i of a column cursorType accepts. Timestamps
// become microseconds (finer units are floored), dates days.
func cursorValue(a arrow.Array, i int) coltype.Value {
	switch a := a.(type) {
	case *array.Int8:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Int16:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Int32:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Int64:
		return coltype.Value{I: a.Value(i)}
	case *array.Uint8:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Uint16:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Uint32:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Uint64:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Decimal128:
		return coltype.Value{D: a.Value(i)}
	case *array.Float32:
		return coltype.Value{F: float64(a.Value(i))}
	case *array.Float64:
		return coltype.Value{F: a.Value(i)}
	case *array.String:
		return coltype.Value{S: a.Value(i)}
	case *array.LargeString:
		return coltype.Value{S: a.Value(i)}
	case *array.Date32:
		return coltype.Value{I: int64(a.Value(i))}
	case *array.Date64:
		ms := int64(a.Value(i))
		return coltype.Value{I: floorDiv(ms, 86_400_000)}
	case *array.Timestamp:
		v := int64(a.Value(i))
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			v *= 1_000_000
		case arrow.Millisecond:
			v *= 1_000
		case arrow.Nanosecond:
			v = floorDiv(v, 1_000)
		}
		return coltype.Value{I: v}
	case *array.Boolean:
		return coltype.Value{B: a.Value(i)}
	}
	return coltype.Value{}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// filter returns the rows of rec past the bound (rows whose cursor is null
// are dropped) and raises the greatest value seen. It releases rec when it
// returns a new record.
func (c *columnCursor) filter(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	a := rec.Column(c.col)
	n := int(rec.NumRows())
	var runs [][2]int
	kept := 0
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			continue
		}
		if !c.Keep(cursorValue(a, i)) {
			continue
		}
		if len(runs) > 0 && runs[len(runs)-1][1] == i {
			runs[len(runs)-1][1] = i + 1
		} else {
			runs = append(runs, [2]int{i, i + 1})
		}
		kept++
	}
	if kept == n {
		return rec, nil
	}
	defer rec.Release()
	if kept == 0 {
		return emptyRecord(rec.Schema()), nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	for j := range cols {
		parts := make([]arrow.Array, len(runs))
		for k, r := range runs {
			parts[k] = array.NewSlice(rec.Column(j), int64(r[0]), int64(r[1]))
		}
		out, err := array.Concatenate(parts, memory.DefaultAllocator)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			for _, c := range cols[:j] {
				c.Release()
			}
			return nil, fmt.Errorf("select the rows past the cursor: %v", err)
		}
		cols[j] = out
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(kept))
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// json renders the greatest cursor value read so far, nil when none.
func (c *columnCursor) json() json.RawMessage { return c.JSON() }
