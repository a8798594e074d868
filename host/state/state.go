// Package state stores each incremental flow's cursor between runs: one
// small JSON file per pipeline and flow under a state directory, replaced
// atomically (temp file, fsync, rename, fsync of the directory) so a crash
// leaves either the old state or the new one, never a torn file.
//
// Each stored cursor records its Owner: the pipeline and flow, the source's
// type, stream and location, the destination's type, target and location
// and the cursor column. A cursor whose owner no longer matches the flow
// is not to be applied (Owner.Diff says what changed). The same JSON is the
// state blob a destination that stores state commits with the data
// (Encode, Decode).
package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// DirName is the state directory's path inside a pipeline file's
// directory when neither --state-dir nor state_dir says otherwise.
const DirName = ".sqlflow/state"

// FormatVersion is the version of the state format this host writes. It
// reads versions up to it, and files of the first format (no version).
const FormatVersion = 2

// Endpoint is one end of a flow, as a stored cursor records it.
type Endpoint struct {
	// Type is the connector type.
	Type string `json:"type"`
	// Stream is the source's stream; Target the destination's target.
	Stream string `json:"stream,omitempty"`
	Target string `json:"target,omitempty"`
	// Location holds the values of the connector's location keys (path,
	// url, table, bucket...) as written in the pipeline file; a value that
	// came from the environment is kept as a fingerprint ("env:" and a
	// hash), never as itself.
	Location map[string]string `json:"location,omitempty"`
}

// Owner is what a stored cursor belongs to.
type Owner struct {
	// Pipeline and Flow name the pipeline and the flow.
	Pipeline string `json:"pipeline"`
	Flow     string `json:"flow"`
	// Source and Destination are the flow's ends.
	Source      Endpoint `json:"source"`
	Destination Endpoint `json:"destination"`
	// CursorField is the cursor column.
	CursorField string `json:"cursor_field"`
}

// Diff lists what differs between the owner a cursor was stored with
// (o) and the flow's owner now (now), one phrase per difference such as
// `source path: was "a.csv", now "b.csv"`. The pipeline and flow names
// are not compared (the state's place says them).
func (o Owner) Diff(now Owner) []string {
	var out []string
	if o.CursorField != now.CursorField {
		out = append(out, fmt.Sprintf("cursor column: was %q, now %q", o.CursorField, now.CursorField))
	}
	out = append(out, o.Source.diff("source", now.Source)...)
	out = append(out, o.Destination.diff("destination", now.Destination)...)
	return out
}

func (e Endpoint) diff(role string, now Endpoint) []string {
	var out []string
	if e.Type != now.Type {
		out = append(out, fmt.Sprintf("%s type: was %q, now %q", role, e.Type, now.Type))
	}
	if e.Stream != now.Stream {
		out = append(out, fmt.Sprintf("%s stream: was %q, now %q", role, e.Stream, now.Stream))
	}
	if e.Target != now.Target {
		out = append(out, fmt.Sprintf("%s target: was %q, now %q", role, e.Target, now.Target))
	}
	keys := map[string]bool{}
	for k := range e.Location {
		keys[k] = true
	}
	for k := range now.Location {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		was, had := e.Location[k]
		is, has := now.Location[k]
		switch {
		case had && has && was == is:
		case !had:
			out = append(out, fmt.Sprintf("%s %s: was not set, now %s", role, k, showValue(is)))
		case !has:
			out = append(out, fmt.Sprintf("%s %s: was %s, now not set", role, k, showValue(was)))
		case isFingerprint(was) || isFingerprint(is):
			out = append(out, fmt.Sprintf("%s %s: changed (the value comes from the environment)", role, k))
		default:
			out = append(out, fmt.Sprintf("%s %s: was %s, now %s", role, k, showValue(was), showValue(is)))
		}
	}
	return out
}

// fingerprintPrefix starts a location value kept as a fingerprint.
const fingerprintPrefix = "env:"

func isFingerprint(s string) bool { return strings.HasPrefix(s, fingerprintPrefix) }

func showValue(s string) string {
	if isFingerprint(s) {
		return "a value from the environment"
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// Fingerprint is how a location value that came from the environment is
// stored: "env:" and the first 16 bytes of its SHA-256, hex. It tells a
// changed value from an unchanged one without keeping the value.
func Fingerprint(value string) string {
	return fingerprintPrefix + hashHex(value)
}

// Flow is the stored state of one flow.
type Flow struct {
	// Version is the format version (FormatVersion when written by this
	// host; 0 for a file of the first format, which had no owner).
	Version int `json:"version"`
	// Owner is what the cursor belongs to.
	Owner Owner `json:"owner"`
	// Cursor is the greatest cursor value committed so far (JSON).
	Cursor json.RawMessage `json:"cursor"`
	// Checkpoint is the source's last checkpoint of the committed run.
	Checkpoint []byte `json:"checkpoint,omitempty"`
	// WriteID is the id of the write that committed the cursor.
	WriteID string `json:"write_id,omitempty"`
	// UpdatedAt is when the state was written.
	UpdatedAt time.Time `json:"updated_at"`
}

// legacy is the first format's file: no version, no owner.
type legacy struct {
	CursorField string          `json:"cursor_field"`
	Cursor      json.RawMessage `json:"cursor"`
	Checkpoint  []byte          `json:"checkpoint,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Error is a stored state that cannot be used: not JSON, truncated, of a
// newer format, or unreadable. Where names the file or the destination
// holding it. Test with errors.As.
type Error struct {
	// Where is the state file's path, or "destination NAME" for a blob a
	// destination stored.
	Where string
	// Err says what is wrong.
	Err error
}

func (e *Error) Error() string { return "state " + e.Where + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Encode returns f as the JSON a state file and a state blob hold.
func Encode(f Flow) ([]byte, error) {
	if f.Version == 0 {
		f.Version = FormatVersion
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Decode reads state JSON (a state file's contents or a state blob);
// where names its origin in errors. A file of the first format comes back
// with Version 0 and only Owner.CursorField set.
func Decode(data []byte, where string) (*Flow, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &Error{Where: where, Err: errors.New("is empty (a truncated write?)")}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		what := "is not valid JSON"
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset >= int64(len(trimmed)) || strings.Contains(err.Error(), "unexpected end") {
			what = "is truncated (not complete JSON)"
		}
		return nil, &Error{Where: where, Err: fmt.Errorf("%s: %v", what, err)}
	}
	if _, ok := probe["version"]; !ok {
		var l legacy
		if err := json.Unmarshal(trimmed, &l); err != nil {
			return nil, &Error{Where: where, Err: fmt.Errorf("is not a state file: %v", err)}
		}
		if l.CursorField == "" {
			return nil, &Error{Where: where, Err: errors.New("is not a state file: it has neither version nor cursor_field")}
		}
		return &Flow{Owner: Owner{CursorField: l.CursorField}, Cursor: l.Cursor, Checkpoint: l.Checkpoint, UpdatedAt: l.UpdatedAt}, nil
	}
	var f Flow
	if err := json.Unmarshal(trimmed, &f); err != nil {
		return nil, &Error{Where: where, Err: fmt.Errorf("is not a state file: %v", err)}
	}
	switch {
	case f.Version > FormatVersion:
		return nil, &Error{Where: where, Err: fmt.Errorf("was written by a newer sqlflow-host (state format %d; this host reads up to %d): upgrade the host, or reset the flow's state", f.Version, FormatVersion)}
	case f.Version < 1:
		return nil, &Error{Where: where, Err: fmt.Errorf("has an invalid version %d", f.Version)}
	case f.Owner.CursorField == "":
		return nil, &Error{Where: where, Err: errors.New("is not a state file: its owner has no cursor_field")}
	}
	return &f, nil
}

// Store is a state directory: <Dir>/<pipeline name>/<flow>.json.
type Store struct {
	// Dir is the state directory.
	Dir string
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// safe makes a pipeline or flow name usable as one file name: characters
// outside [A-Za-z0-9_-] become '_' (so no name can climb out of the
// directory), and an empty name becomes "_".
func safe(s string) string {
	s = unsafe.ReplaceAllString(s, "_")
	if s == "" {
		return "_"
	}
	return s
}

// Path returns the file holding a flow's state.
func (s Store) Path(pipeline, flow string) string {
	return filepath.Join(s.Dir, safe(pipeline), safe(flow)+".json")
}

// Load returns a flow's stored state, or nil when there is none. A file
// that cannot be used is an *Error naming it.
func (s Store) Load(pipeline, flow string) (*Flow, error) {
	p := s.Path(pipeline, flow)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Where: "file " + p, Err: err}
	}
	return Decode(data, "file "+p)
}

// Save replaces a flow's stored state atomically.
func (s Store) Save(pipeline, flow string, f Flow) error {
	p := s.Path(pipeline, flow)
	data, err := Encode(f)
	if err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	syncDir(filepath.Dir(p))
	return nil
}

// Delete removes a flow's state file; it reports whether there was one.
func (s Store) Delete(pipeline, flow string) (bool, error) {
	p := s.Path(pipeline, flow)
	err := os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete state of flow %q: %w", flow, err)
	}
	syncDir(filepath.Dir(p))
	return true, nil
}

// Flows lists the flows a pipeline has state files for, sorted.
func (s Store) Flows(pipeline string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, safe(pipeline)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list state of pipeline %q: %w", pipeline, err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			out = append(out, strings.TrimSuffix(n, ".json"))
		}
	}
	sort.Strings(out)
	return out, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// Backend is where flow state is kept: a state directory (Store, the
// default of run) or a PostgreSQL table (package pgstate, for workers
// sharing one database). Every method is safe for concurrent use by the
// flows of one run.
type Backend interface {
	// Load returns a flow's stored state, or nil when there is none.
	Load(pipeline, flow string) (*Flow, error)
	// Save replaces a flow's stored state atomically.
	Save(pipeline, flow string, f Flow) error
	// Delete removes a flow's state; it reports whether there was one.
	Delete(pipeline, flow string) (bool, error)
	// Flows lists the flows a pipeline has state for, sorted.
	Flows(pipeline string) ([]string, error)
	// Path says where a flow's state lives, for messages: a file's path,
	// or a table and key.
	Path(pipeline, flow string) string
}

var _ Backend = Store{}
