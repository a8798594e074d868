package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/state"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// defaultLocationKeys are the location keys of a connector whose Spec
// names none (see sdk.Spec.LocationKeys).
var defaultLocationKeys = []string{"path", "url", "base_url", "endpoint", "table", "query", "bucket", "prefix",
	"host", "port", "database", "schema", "table_name"}

// location returns the values of an instance's location keys as a stored
// cursor records them: as written, or as a fingerprint when the value came
// from the environment; secret-looking keys never.
func location(in *Instance) map[string]string {
	keys := in.Spec.LocationKeys
	if len(keys) == 0 {
		keys = defaultLocationKeys
	}
	out := map[string]string{}
	for _, k := range keys {
		v, ok := in.Config.Config[k]
		if !ok || v == nil || config.IsSecretKey(k) {
			continue
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				continue
			}
			s = string(b)
		}
		if _, env := in.Config.EnvFields[k]; env {
			s = state.Fingerprint(s)
		}
		out[k] = s
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// owner is what a flow's stored cursor must belong to.
func (e *Engine) owner(f *config.Flow, pf *pipeline.Flow, src, dst *Instance) state.Owner {
	return state.Owner{
		Pipeline: e.Pipeline.Name, Flow: f.Name, CursorField: f.Incremental.Cursor,
		Source:      state.Endpoint{Type: src.Config.Type, Stream: pf.Stream, Location: location(src)},
		Destination: state.Endpoint{Type: dst.Config.Type, Target: pf.Target, Location: location(dst)},
	}
}

// cursor is an incremental flow's state during a run.
type cursor struct {
	store          state.Backend
	pipeline, flow string
	owner          state.Owner
	// inDest is true when the destination stores the cursor with its
	// commit: it is then the authority.
	inDest bool
}

// next is the state to store after a commit that read up to value.
func (c *cursor) next(value json.RawMessage, r *pipeline.Result) state.Flow {
	f := state.Flow{Version: state.FormatVersion, Owner: c.owner, Cursor: value, UpdatedAt: time.Now().UTC()}
	if r != nil {
		f.Checkpoint, f.WriteID = r.Checkpoint, r.WriteID
	}
	return f
}

// save writes the state file after a commit.
func (c *cursor) save(r pipeline.Result) error {
	return c.store.Save(c.pipeline, c.flow, c.next(r.Cursor, &r))
}

// loadCursor finds an incremental flow's stored cursor and sets it on pf:
// the one the destination committed with its data when it stores state,
// else the state file's. A cursor stored for another configuration (see
// state.Owner) is refused with a *ConfigError naming what changed and the
// command that resets it; an unusable state is a *state.Error. With
// full, the stored cursor is not applied (but is still checked to be
// readable). When the destination stores state, pf.State gives it the
// new cursor to commit.
func (e *Engine) loadCursor(ctx context.Context, f *config.Flow, pf *pipeline.Flow, src, dst *Instance, store state.Backend, full bool) (*cursor, error) {
	c := &cursor{store: store, pipeline: e.Pipeline.Name, flow: f.Name, owner: e.owner(f, pf, src, dst)}
	pf.CursorField = f.Incremental.Cursor
	stored, err := store.Load(e.Pipeline.Name, f.Name)
	if err != nil {
		return nil, err
	}
	where := "in " + store.Path(e.Pipeline.Name, f.Name)
	if dst.Spec.StoresState {
		blob, found, err := dst.Conn.LoadState(ctx, pf.StateKey)
		switch {
		case errors.Is(err, rpcclient.ErrNotImplemented):
		case err != nil:
			return nil, fmt.Errorf("read the flow's stored cursor from destination %q: %w", f.To, err)
		default:
			c.inDest = true
			if found {
				d, err := state.Decode(blob, fmt.Sprintf("stored in destination %q", f.To))
				if err != nil {
					return nil, err
				}
				if stored != nil && string(stored.Cursor) != string(d.Cursor) {
					e.Logger.Info("the cursor the destination committed with the data differs from the state file's; the destination's is used",
						"flow", f.Name, "destination", f.To, "destination_cursor", string(d.Cursor), "file_cursor", string(stored.Cursor))
				}
				stored, where = d, fmt.Sprintf("committed in destination %q", f.To)
			}
		}
	}
	if c.inDest {
		pf.State = func(value json.RawMessage) []byte {
			if len(value) == 0 {
				return nil
			}
			blob, err := state.Encode(c.next(value, nil))
			if err != nil {
				return nil
			}
			return blob
		}
	}
	if stored == nil {
		return c, nil
	}
	var diffs []string
	if stored.Version == 0 {
		if stored.Owner.CursorField != c.owner.CursorField {
			diffs = []string{fmt.Sprintf("cursor column: was %q, now %q", stored.Owner.CursorField, c.owner.CursorField)}
		}
	} else {
		diffs = stored.Owner.Diff(c.owner)
	}
	if len(diffs) > 0 {
		return nil, &ConfigError{Err: fmt.Errorf("its stored cursor (%s) belongs to another configuration: %s; the flow was not run. "+
			"To read it from the start, run: sqlflow-host state reset %s %s", where, strings.Join(diffs, "; "), e.Pipeline.Path, f.Name)}
	}
	if full {
		e.Logger.Info("full refresh: the stored cursor is not applied; every row is read", "flow", f.Name, "stored_cursor", string(stored.Cursor))
		return c, nil
	}
	if stored.Version == 0 {
		e.Logger.Info("using a state file of the first format; the cursor's owner is recorded at the next commit", "flow", f.Name, "file", store.Path(e.Pipeline.Name, f.Name))
	}
	pf.CursorValue = stored.Cursor
	e.Logger.Info("incremental flow resumes after the stored cursor", "flow", f.Name, "cursor_field", pf.CursorField, "cursor", string(stored.Cursor))
	return c, nil
}

// FlowState is a flow's stored state, as `sqlflow-host state` shows it.
type FlowState struct {
	// Flow is the flow's name.
	Flow string
	// File is the state file's path (it may not exist).
	File string
	// Local is the state file's content; nil when there is none.
	Local *state.Flow
	// LocalErr is why the state file could not be read.
	LocalErr error
	// Destination names the flow's destination when it stores state.
	Destination string
	// Committed is the state the destination holds; nil when none.
	Committed *state.Flow
	// DestErr is why the destination's state could not be read.
	DestErr error
}

// Current is the state a run would use: the destination's when it holds
// one, else the file's.
func (s FlowState) Current() *state.Flow {
	if s.Committed != nil {
		return s.Committed
	}
	return s.Local
}

// storesState starts f's destination and reports whether it stores
// state it can give back.
func (e *Engine) storesState(ctx context.Context, f *config.Flow) (*Instance, error) {
	c, ok := e.Pipeline.Destinations[f.To]
	if !ok {
		return nil, nil
	}
	dst, err := e.instance(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("destination %q: %w", f.To, err)
	}
	if !dst.Spec.StoresState {
		return nil, nil
	}
	return dst, nil
}

// ReadState returns what is stored for flow: its state file and, when
// its destination stores state, what the destination holds (the
// destination's plugin is started for it).
func (e *Engine) ReadState(ctx context.Context, store state.Backend, f *config.Flow) FlowState {
	fs := FlowState{Flow: f.Name, File: store.Path(e.Pipeline.Name, f.Name)}
	fs.Local, fs.LocalErr = store.Load(e.Pipeline.Name, f.Name)
	if f.Incremental == nil {
		return fs
	}
	dst, err := e.storesState(ctx, f)
	if err != nil {
		fs.Destination, fs.DestErr = f.To, err
		return fs
	}
	if dst == nil {
		return fs
	}
	blob, found, err := dst.Conn.LoadState(ctx, e.StateKey(f))
	switch {
	case errors.Is(err, rpcclient.ErrNotImplemented):
		return fs
	case err != nil:
		fs.Destination, fs.DestErr = f.To, err
	case found:
		fs.Destination = f.To
		fs.Committed, fs.DestErr = state.Decode(blob, fmt.Sprintf("stored in destination %q", f.To))
	default:
		fs.Destination = f.To
	}
	return fs
}

// ResetState forgets what is stored for flow (its state file, and what
// its destination holds when it stores state), so that its next run reads
// from the start. It returns a line per thing removed.
func (e *Engine) ResetState(ctx context.Context, store state.Backend, f *config.Flow) ([]string, error) {
	var removed []string
	if ok, err := store.Delete(e.Pipeline.Name, f.Name); err != nil {
		return removed, err
	} else if ok {
		removed = append(removed, "state file "+store.Path(e.Pipeline.Name, f.Name))
	}
	dst, err := e.storesState(ctx, f)
	if err != nil || dst == nil {
		return removed, err
	}
	ok, err := dst.Conn.DeleteState(ctx, e.StateKey(f))
	switch {
	case errors.Is(err, rpcclient.ErrNotImplemented):
	case err != nil:
		return removed, fmt.Errorf("delete the cursor destination %q stores: %w", f.To, err)
	case ok:
		removed = append(removed, fmt.Sprintf("the cursor destination %q stores", f.To))
	}
	return removed, nil
}

// OrphanStates lists state files of this pipeline for flows that are no
// longer in the file, sorted.
func (e *Engine) OrphanStates(store state.Backend) ([]string, error) {
	names, err := store.Flows(e.Pipeline.Name)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, f := range e.Pipeline.Flows {
		known[f.Name] = true
	}
	var out []string
	for _, n := range names {
		if !known[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
