// Package pipeline runs flows: for each flow it opens a staged write on the
// destination, pages through the source, forwards each page's Arrow IPC
// bytes as a batch, and commits, or aborts on any failure so the target is
// left as it was.
//
// Reading the next page overlaps writing the previous one: a reader
// goroutine keeps at most Options.Prefetch pages ahead of the writer, so
// memory is bounded by the pages in flight, never by the size of the data.
package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Default page caps asked of sources: about 8 MiB of Arrow data, and a row
// cap high enough that narrow rows still make large pages.
const (
	DefaultMaxBytes = 8 << 20
	DefaultMaxRows  = 1 << 20
)

// Flow is one source stream copied to one destination target.
type Flow struct {
	// Name names the flow in logs, progress and staging areas.
	Name string
	// SourceName and DestName are the connector instances' names.
	SourceName, DestName string
	// SourceType and DestType are their connector types, named in
	// protocol errors.
	SourceType, DestType string
	// Key is the flow's key in staging and stored state:
	// "<pipeline>/<flow>". Empty means Name.
	StateKey string
	// Source and Dest are the connectors.
	Source, Dest connector.Conn
	// Stream is the source stream to read.
	Stream string
	// Schema is the stream's schema from Discover, used when the stream
	// yields no data page; may be nil.
	Schema *arrow.Schema
	// Target, Mode and Key describe the write.
	Target string
	Mode   sdk.WriteMode
	Key    []string
	// DefaultTarget reports that the flow names no target (Target is the
	// stream's name).
	DefaultTarget bool
	// CursorField and CursorValue ask for an incremental read from a
	// stored cursor (JSON); empty CursorField means a full read.
	CursorField string
	CursorValue json.RawMessage
	// State, when not nil, is passed to CommitWrite (the flow's state blob).
	State func(cursor json.RawMessage) []byte
}

// Options tune a run.
type Options struct {
	// MaxRows and MaxBytes cap each page; zero means the defaults.
	MaxRows, MaxBytes int64
	// Prefetch is how many pages the reader may hold ahead of the writer;
	// zero means 1.
	Prefetch int
	// Logger receives flow events; nil discards them.
	Logger hclog.Logger
	// Progress, when set, is called when the flow starts reading, after
	// every page written, when the commit starts and when an abort starts,
	// from the writer goroutine.
	Progress func(Progress)
	// AbortTimeout bounds the AbortWrite of a failed flow; zero means 30 s.
	AbortTimeout time.Duration
}

// Phase is what a running flow does now, as far as the paging loop
// knows (the resilience policies know more: a call of the flow may be
// waiting out a retry's backoff, a rate limit or a plugin's restart).
type Phase string

// The phases of a flow's paging loop.
const (
	// PhaseReading: reading pages and writing them to the staging area.
	PhaseReading Phase = "reading"
	// PhaseCommitting: the destination is making the write visible.
	PhaseCommitting Phase = "committing"
	// PhaseAborting: the flow failed; the destination drops the staging.
	PhaseAborting Phase = "aborting"
)

// Progress is a flow's state while it runs.
type Progress struct {
	Flow    string
	Phase   Phase
	Rows    int64
	Bytes   int64
	Pages   int64
	Elapsed time.Duration
}

// Result is what a finished flow did.
type Result struct {
	Flow string
	// Rows, Bytes (Arrow IPC bytes) and Pages moved.
	Rows, Bytes, Pages int64
	// Elapsed is the flow's wall time.
	Elapsed time.Duration
	// Cursor is the greatest cursor value read (incremental flows).
	Cursor json.RawMessage
	// Checkpoint is the source's last checkpoint.
	Checkpoint []byte
	// Report is what the destination reported at commit.
	Report map[string]string
	// Committed is false when the flow wrote nothing because the stream
	// was empty: an append or upsert, or a replace whose target could not
	// be emptied (Warning says why).
	Committed bool
	// Warning, when set, is why an empty stream left a replace target as
	// it was.
	Warning string
	// WriteID is the write's id.
	WriteID string
}

// RowsPerSecond is Rows over Elapsed.
func (r Result) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}

// NewWriteID returns a fresh write id: 16 random hex digits.
func NewWriteID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type readResult struct {
	page connector.Page
	err  error
}

// Run copies one flow and returns what it moved. On any failure it aborts
// the write (with a fresh deadline, so a cancelled ctx still aborts) and
// returns the first error, wrapped with the flow's name.
func Run(ctx context.Context, f Flow, opts Options) (res Result, err error) {
	start := time.Now()
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	maxRows, maxBytes := opts.MaxRows, opts.MaxBytes
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	prefetch := opts.Prefetch
	if prefetch <= 0 {
		prefetch = 1
	}
	res = Result{Flow: f.Name, WriteID: NewWriteID()}
	report := func(ph Phase) {
		if opts.Progress != nil {
			opts.Progress(Progress{Flow: f.Name, Phase: ph, Rows: res.Rows, Bytes: res.Bytes, Pages: res.Pages, Elapsed: time.Since(start)})
		}
	}
	report(PhaseReading)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pages := make(chan readResult, prefetch)
	var reading atomic.Int64
	go func() {
		defer close(pages)
		var cp []byte
		for {
			reading.Add(1)
			p, err := f.Source.ReadPage(ctx, sdk.ReadRequest{
				Stream: f.Stream, Checkpoint: cp, MaxRows: maxRows, MaxBytes: maxBytes,
				CursorField: f.CursorField, CursorValue: f.CursorValue,
			})
			if err != nil {
				err = fmt.Errorf("read page %d of stream %q from source %q: %w", reading.Load(), f.Stream, f.SourceName, err)
			}
			select {
			case pages <- readResult{page: p, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || p.Done {
				return
			}
			if len(p.Checkpoint) == 0 {
				select {
				case pages <- readResult{err: errclass.Permanentf("source %q returned page %d of stream %q without a checkpoint and not done", f.SourceName, reading.Load(), f.Stream)}:
				case <-ctx.Done():
				}
				return
			}
			cp = p.Checkpoint
		}
	}()

	// began: BeginWrite was called; opened: it succeeded. A failed
	// BeginWrite may still have left a staging area (it timed out after
	// making it), so it is aborted too, but quietly: most often there is
	// nothing to abort, and the destination says so.
	began, opened := false, false
	defer func() {
		if err == nil {
			return
		}
		cancel()
		for range pages { // let the reader finish
		}
		if began {
			report(PhaseAborting)
			abortTimeout := opts.AbortTimeout
			if abortTimeout <= 0 {
				abortTimeout = 30 * time.Second
			}
			actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer acancel()
			aerr := f.Dest.AbortWrite(actx, res.WriteID)
			switch {
			case !opened:
				logger.Debug("dropped what the failed begin-write may have staged", "flow", f.Name, "destination", f.DestName, "abort_error", aerr)
			case aerr != nil:
				logger.Error("abort write failed; staging may be left for the next run to clean",
					"flow", f.Name, "destination", f.DestName, "error", aerr)
			default:
				logger.Info("aborted write; target unchanged", "flow", f.Name, "destination", f.DestName)
			}
		}
		err = fmt.Errorf("flow %q: %w", f.Name, err)
	}()

	key := f.StateKey
	if key == "" {
		key = f.Name
	}
	begin := func(schema *arrow.Schema) error {
		began = true
		if err := f.Dest.BeginWrite(ctx, sdk.WriteRequest{
			WriteID: res.WriteID, Flow: key, Target: f.Target, DefaultTarget: f.DefaultTarget,
			Schema: schema, Mode: f.Mode, Key: f.Key,
		}); err != nil {
			return fmt.Errorf("begin write to %q of destination %q: %w", f.Target, f.DestName, err)
		}
		opened = true
		return nil
	}

	var (
		seq       int64
		schemaMsg []byte // the schema message of the first page with rows
	)
	for r := range pages {
		if r.err != nil {
			return res, r.err
		}
		p := r.page
		n := res.Pages + 1
		layout, err := f.checkPage(p, n)
		if err != nil {
			return res, err
		}
		if layout.Rows > 0 {
			if !began {
				schema, err := arrowipc.DecodeSchema(p.Records)
				if err != nil {
					return res, f.protocolError(n, "its Arrow schema cannot be read: %v", err)
				}
				if err := begin(schema); err != nil {
					return res, err
				}
				schemaMsg = append([]byte(nil), p.Records[:layout.SchemaEnd]...)
			} else if !bytes.Equal(schemaMsg, p.Records[:layout.SchemaEnd]) {
				if err := f.sameSchema(schemaMsg, p.Records, n); err != nil {
					return res, err
				}
			}
			seq++
			if err := f.Dest.WriteBatch(ctx, res.WriteID, seq, p.Records); err != nil {
				return res, fmt.Errorf("write batch %d to %q of destination %q: %w", seq, f.Target, f.DestName, err)
			}
			res.Rows += p.Rows
			res.Bytes += int64(len(p.Records))
		}
		if p.Release != nil {
			p.Release() // the destination has the batch, or there was none
		}
		res.Pages++
		if len(p.CursorValue) > 0 {
			res.Cursor = p.CursorValue
		}
		if len(p.Checkpoint) > 0 {
			res.Checkpoint = p.Checkpoint
		}
		report(PhaseReading)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if !began {
		// An empty stream: append and upsert have nothing to add, and
		// replace empties the target, with the stream's schema when the
		// source knows it, else keeping the target's own columns.
		if f.Mode != sdk.ModeReplace {
			res.Elapsed = time.Since(start)
			logger.Info("the stream was empty; target left as it was", "flow", f.Name, "mode", f.Mode)
			return res, nil
		}
		if err := begin(f.Schema); err != nil {
			if f.Schema != nil || !errclass.Is(err, errclass.Permanent) {
				return res, err
			}
			// The destination cannot empty a target without a schema (it has
			// no such target, or does not keep columns of its own): there is
			// nothing to replace with, so the target stays as it was.
			began = false
			res.Elapsed = time.Since(start)
			res.Warning = fmt.Sprintf("the stream was empty and its schema is unknown, so target %q was left as it was (%v)", f.Target, err)
			logger.Warn("empty stream: target left as it was", "flow", f.Name, "destination", f.DestName, "target", f.Target, "reason", err.Error())
			return res, nil
		}
	}
	var state []byte
	if f.State != nil {
		state = f.State(res.Cursor)
	}
	report(PhaseCommitting)
	committed, err := f.Dest.CommitWrite(ctx, res.WriteID, state)
	if err != nil {
		return res, fmt.Errorf("commit write to %q of destination %q: %w", f.Target, f.DestName, err)
	}
	res.Report = committed
	res.Committed = true
	res.Elapsed = time.Since(start)
	logger.Info("flow committed", "flow", f.Name, "rows", res.Rows, "bytes", res.Bytes, "pages", res.Pages, "seconds", res.Elapsed.Seconds())
	return res, nil
}

// checkPage checks page n against what its Arrow bytes say: the row count
// of the record batch header must be the page's num_rows, and a page with
// rows must carry Arrow data. The host never trusts a count it can check.
func (f Flow) checkPage(p connector.Page, n int64) (arrowipc.Layout, error) {
	if len(p.Records) == 0 {
		if p.Rows != 0 {
			return arrowipc.Layout{}, f.protocolError(n, "num_rows is %d but the page holds no Arrow data", p.Rows)
		}
		return arrowipc.Layout{}, nil
	}
	l, err := arrowipc.Inspect(p.Records)
	if err != nil {
		return l, f.protocolError(n, "its Arrow data is damaged: %v", err)
	}
	if l.Batches > 1 {
		return l, f.protocolError(n, "its Arrow data holds %d record batches; a page holds one", l.Batches)
	}
	if l.Rows != p.Rows {
		hint := ""
		if p.Rows == 0 {
			hint = " (num_rows left unset?)"
		}
		return l, f.protocolError(n, "num_rows is %d%s but its Arrow record batch holds %d rows", p.Rows, hint, l.Rows)
	}
	return l, nil
}

// sameSchema checks that page n's schema is the one the write began with
// (first holds that schema's IPC message): a stream's schema must not
// change between pages.
func (f Flow) sameSchema(first, records []byte, n int64) error {
	was, err := arrowipc.DecodeSchema(first)
	if err != nil {
		return f.protocolError(n, "%v", err)
	}
	now, err := arrowipc.DecodeSchema(records)
	if err != nil {
		return f.protocolError(n, "its Arrow schema cannot be read: %v", err)
	}
	if !was.Equal(now) {
		return f.protocolError(n, "its schema differs from the stream's first page with rows: was %s, now %s", compact(was), compact(now))
	}
	return nil
}

// protocolError is a PERMANENT error about page n breaking the protocol,
// naming the source, its plugin and the stream.
func (f Flow) protocolError(n int64, format string, args ...any) error {
	plugin := ""
	if f.SourceType != "" {
		plugin = fmt.Sprintf(" (plugin sqlflow-plugin-%s)", f.SourceType)
	}
	return errclass.Permanentf("protocol error: source %q%s sent page %d of stream %q that the host refuses: %s; nothing of this flow was committed",
		f.SourceName, plugin, n, f.Stream, fmt.Sprintf(format, args...))
}

// compact renders a schema on one line: "(a int64, b utf8?)".
func compact(s *arrow.Schema) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, fl := range s.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(fl.Name + " " + fl.Type.String())
		if fl.Nullable {
			b.WriteByte('?')
		}
	}
	b.WriteByte(')')
	return b.String()
}

// ErrNoStream is returned by PickStream when a source has several streams
// and the flow names none. Test with errors.Is.
var ErrNoStream = errors.New("the source has several streams; name one with stream:")

// PickStream chooses the flow's stream among a source's streams: the named
// one; when name is empty, the only one, or else the one the source marks
// as its default.
func PickStream(streams []sdk.Stream, name string) (sdk.Stream, error) {
	names := make([]string, len(streams))
	for i, s := range streams {
		names[i] = s.Name
		if name != "" && s.Name == name {
			return s, nil
		}
	}
	if name == "" {
		if len(streams) == 1 {
			return streams[0], nil
		}
		var defaults []sdk.Stream
		for _, s := range streams {
			if s.Default {
				defaults = append(defaults, s)
			}
		}
		if len(defaults) == 1 {
			return defaults[0], nil
		}
		if len(streams) == 0 {
			return sdk.Stream{}, errors.New("the source offers no stream")
		}
		return sdk.Stream{}, fmt.Errorf("%w (its streams are %s)", ErrNoStream, strings.Join(names, ", "))
	}
	if len(names) == 0 {
		return sdk.Stream{}, fmt.Errorf("the source has no stream %q; it offers none", name)
	}
	return sdk.Stream{}, fmt.Errorf("the source has no stream %q%s; its streams are %s", name, configkey.Suggest(name, names), strings.Join(names, ", "))
}
