package coltype

import "encoding/json"

// Cursor selects the rows of an incremental read by their cursor value:
// those greater than the stored bound (compared as type T, see Less), and
// it tracks the greatest value kept, the cursor to store after the page.
// Rows whose cursor is null are the caller's to skip before Keep.
type Cursor struct {
	// T is the cursor column's type.
	T Type

	bound, max      Value
	bounded, hasMax bool
}

// NewCursor returns a cursor of type t that keeps values past bound when
// bounded is true (else every value), having already seen max when hasMax
// is true (a read resumed from a checkpoint).
func NewCursor(t Type, bound Value, bounded bool, max Value, hasMax bool) *Cursor {
	return &Cursor{T: t, bound: bound, bounded: bounded, max: max, hasMax: hasMax}
}

// Keep reports whether a row whose cursor value is v is past the bound,
// and when it is records v if it is the greatest kept so far.
func (c *Cursor) Keep(v Value) bool {
	if c.bounded && !Less(c.T, c.bound, v) {
		return false
	}
	if !c.hasMax || Less(c.T, c.max, v) {
		c.max, c.hasMax = v, true
	}
	return true
}

// JSON renders the greatest value kept (or resumed with) as CursorJSON
// does, or nil when there is none.
func (c *Cursor) JSON() json.RawMessage {
	if !c.hasMax {
		return nil
	}
	return CursorJSON(c.T, c.max)
}
