package memconn

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// dataset is the source's data: a fixed sequence of rows, any of which can
// be built directly from its index.
type dataset interface {
	schema() *arrow.Schema
	numRows() int64
	// rowBytes estimates the Arrow data bytes of one row, for MaxBytes.
	rowBytes() int64
	// buildRange returns a record holding rows [lo, hi).
	buildRange(lo, hi int64) arrow.RecordBatch
	// buildRows returns a record holding the given rows, in order.
	buildRows(rows []int64) arrow.RecordBatch
	// cursor returns the column usable as an incremental cursor.
	cursor(name string) (*cursorColumn, error)
	primaryKey() []string
	cursorFields() []string
}

// valueKind is how cursor values compare.
type valueKind int

const (
	kindInt valueKind = iota
	kindFloat
	kindString
	kindTime // microseconds since the Unix epoch, UTC
)

// cval is one cursor value of a known kind.
type cval struct {
	i int64 // kindInt, kindTime
	f float64
	s string
}

// cursorColumn reads one column's values as cursor values.
type cursorColumn struct {
	name string
	kind valueKind
	// monotonic reports that values never decrease with the row index, so
	// the first row above a cursor can be found by binary search.
	monotonic bool
	// at returns row i's value; ok is false for a null.
	at func(i int64) (v cval, ok bool)
}

func compare(k valueKind, a, b cval) int {
	switch k {
	case kindInt, kindTime:
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	case kindFloat:
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		}
		return 0
	default:
		return strings.Compare(a.s, b.s)
	}
}

// parseCursor reads a stored cursor value (JSON) for a column of kind k.
// Integers compare numerically with any JSON number (n > 10.5 iff
// n > 10); timestamps take RFC 3339 strings.
func parseCursor(k valueKind, raw json.RawMessage) (cval, error) {
	switch jsonKind(raw) {
	case "a number":
		s := strings.TrimSpace(string(raw))
		switch k {
		case kindInt:
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return cval{i: n}, nil
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return cval{}, err
			}
			f = math.Floor(f)
			switch {
			case f >= math.MaxInt64:
				return cval{i: math.MaxInt64}, nil
			case f < math.MinInt64:
				return cval{i: math.MinInt64}, nil
			}
			return cval{i: int64(f)}, nil
		case kindFloat:
			f, err := strconv.ParseFloat(s, 64)
			return cval{f: f}, err
		case kindString:
			return cval{s: s}, nil
		default:
			return cval{}, fmt.Errorf("a timestamp cursor must be an RFC 3339 string, got the number %s", s)
		}
	case "a string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return cval{}, err
		}
		switch k {
		case kindString:
			return cval{s: s}, nil
		case kindTime:
			t, err := parseTime(s)
			if err != nil {
				return cval{}, err
			}
			return cval{i: t.UnixMicro()}, nil
		default:
			// a number stored as a string: accept it.
			return parseCursor(k, json.RawMessage(s))
		}
	default:
		return cval{}, fmt.Errorf("a cursor value must be a number or a string, got %s", jsonKind(raw))
	}
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", s)
}

// encodeCursor renders a cursor value as JSON: numbers as numbers,
// timestamps as RFC 3339 strings in UTC, strings as strings.
func encodeCursor(k valueKind, v cval) json.RawMessage {
	switch k {
	case kindInt:
		return json.RawMessage(strconv.FormatInt(v.i, 10))
	case kindFloat:
		if math.IsInf(v.f, 0) || math.IsNaN(v.f) {
			b, _ := json.Marshal(strconv.FormatFloat(v.f, 'g', -1, 64))
			return b
		}
		return json.RawMessage(strconv.FormatFloat(v.f, 'g', -1, 64))
	case kindTime:
		b, _ := json.Marshal(time.UnixMicro(v.i).UTC().Format(time.RFC3339Nano))
		return b
	default:
		b, _ := json.Marshal(v.s)
		return b
	}
}
