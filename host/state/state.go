// Package state stores each incremental flow's cursor between runs: one
// small JSON file per pipeline and flow under a state directory, replaced
// atomically (temp file, fsync, rename, fsync of the directory) so a crash
// leaves either the old state or the new one, never a torn file.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// DefaultDir is the state directory when --state-dir is not given.
const DefaultDir = ".sqlflow/state"

// Flow is the stored state of one flow.
type Flow struct {
	// CursorField is the column the cursor is on.
	CursorField string `json:"cursor_field"`
	// Cursor is the greatest cursor value committed so far (JSON).
	Cursor json.RawMessage `json:"cursor"`
	// Checkpoint is the source's last checkpoint of the committed run.
	Checkpoint []byte `json:"checkpoint,omitempty"`
	// UpdatedAt is when the state was written.
	UpdatedAt time.Time `json:"updated_at"`
}

// Store is a state directory.
type Store struct {
	// Dir is the state directory.
	Dir string
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Path returns the file holding flow's state for the pipeline file at
// pipelinePath: <dir>/<pipeline file stem>/<flow>.json.
func (s Store) Path(pipelinePath, flow string) string {
	stem := strings.TrimSuffix(filepath.Base(pipelinePath), filepath.Ext(pipelinePath))
	return filepath.Join(s.Dir, unsafe.ReplaceAllString(stem, "_"), unsafe.ReplaceAllString(flow, "_")+".json")
}

// Load returns a flow's stored state, or nil when there is none.
func (s Store) Load(pipelinePath, flow string) (*Flow, error) {
	p := s.Path(pipelinePath, flow)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state of flow %q: %w", flow, err)
	}
	var f Flow
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt (%v); delete it to read flow %q from the start", p, err, flow)
	}
	return &f, nil
}

// Save replaces a flow's stored state atomically.
func (s Store) Save(pipelinePath, flow string, f Flow) error {
	p := s.Path(pipelinePath, flow)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
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
	if d, err := os.Open(filepath.Dir(p)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
