package config

import (
	"sort"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// Position is a place in a pipeline file. Line and Col are 1-based; zero
// means unknown.
type Position struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", leaving out the parts that are unknown.
func (p Position) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	return b.String()
}

// Error is one problem in a pipeline file.
type Error struct {
	// Pos is where the problem is: the offending value, or for a missing
	// key the mapping that lacks it.
	Pos Position
	// Path is the field path, e.g. "flows[2].mode" or
	// "sources.orders_csv.type". Empty for the file as a whole.
	Path string
	// Msg says what is wrong and what is allowed. It never quotes a
	// connector's configuration values.
	Msg string
	// Err is the underlying cause, if any (e.g. the error of reading the
	// file, so that errors.Is(err, fs.ErrNotExist) works).
	Err error
}

// Error returns "file:line:col: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	if e.Path != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		path := e.Path
		if len(path) > 2*configkey.MaxQuoted {
			// A path holds the names written in the file; a hostile one
			// is shown cut, like a quoted value.
			path = path[:2*configkey.MaxQuoted] + "..."
		}
		b.WriteString(path)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	// Quoted values are cut (a hostile 100,000-character one included,
	// whoever quoted it: the host or a connector's field error).
	b.WriteString(configkey.CutQuoted(e.Msg))
	return b.String()
}

// Unwrap returns the underlying cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in a pipeline file, in file order. Load,
// Parse, Connector.Resolve and Pipeline.CheckModes return their problems as
// an ErrorList (never an empty one); errors.As also finds each *Error.
type ErrorList []*Error

// Error returns one line per problem.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// err returns l sorted by position, or nil when l is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l.Sorted()
}

// Sorted returns l in file order (by line, then column; problems at one
// place keep their order), without a problem repeated word for word. It
// reuses l's storage.
func (l ErrorList) Sorted() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := l[:0]
	seen := map[string]bool{}
	for _, e := range l {
		if s := e.Error(); !seen[s] {
			seen[s] = true
			out = append(out, e)
		}
	}
	return out
}
