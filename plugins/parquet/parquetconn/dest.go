package parquetconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// writeState is an open staged write. A nil schema is a write that
// changes nothing (an append begun without a schema).
type writeState struct {
	area   *filestage.Area
	schema *arrow.Schema

	// mu serializes the write's WriteBatch, CommitWrite and AbortWrite
	// calls: the stream takes batches one at a time, in seq order.
	mu sync.Mutex
	// next is the seq the write takes next (batches 1..next-1 are staged);
	// 0 until this process has looked at the staged parts.
	next int64
	// stream is the Parquet file the batches are encoded into as they
	// arrive. It is nil when this process took the write over with batches
	// already staged (after a restart), or after a failed encode: the
	// write is then deferred, its batches only staged, and the commit
	// encodes every staged part, as a restart cannot reopen an unfinished
	// Parquet file and a rebuild inside WriteBatch would take time that
	// grows with the write.
	stream *stream
}

// BeginWrite opens (or reopens) the staging area of req.WriteID beside the
// target and removes staging left by earlier writes of the same flow. It
// first makes CheckWrite's checks (upsert is refused).
//
// Without a schema (an empty stream whose columns the source does not
// know), replace keeps the target's columns: the write takes the schema of
// the target file (or, when only files appended beside it are left, of
// the first of them) and its commit writes a Parquet file of that schema
// with no rows. A target that does not exist is then a PERMANENT error,
// and nothing is created. Append without a schema changes nothing.
func (c *Connector) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	target, err := checkWrite(cfg, req)
	if err != nil {
		return err
	}
	dir, name := target.Dir, target.File
	schema := req.Schema
	if schema == nil && req.Mode == sdk.ModeReplace {
		if schema, err = targetSchema(ctx, dir, name); err != nil {
			return err
		}
	}
	if schema != nil {
		if _, err := pqarrow.ToParquet(schema, nil, pqarrow.DefaultWriterProps()); err != nil {
			return errclass.Permanentf("flow %q: the schema cannot be written as Parquet: %v", req.Flow, err)
		}
	}
	encoded, err := arrowipc.EncodeSchema(schema)
	if err != nil {
		return errclass.Permanentf("begin write %q: %w", req.WriteID, err)
	}
	area, err := filestage.Begin(dir, filestage.Manifest{Flow: req.Flow, WriteID: req.WriteID, Target: name, Mode: string(req.Mode), Schema: encoded})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.writes[req.WriteID]; old != nil && old.area.Path == area.Path {
		// BeginWrite repeated in the process that holds the write: keep its
		// Parquet file going.
		return nil
	}
	c.writes[req.WriteID] = &writeState{area: area, schema: schema}
	return nil
}

// targetSchema returns the Arrow schema of an existing target for a
// replace without a schema: the target file's, or when it is gone but
// files appended beside it are left, the first of those's. A target that
// does not exist is a PERMANENT error.
func targetSchema(ctx context.Context, dir, name string) (*arrow.Schema, error) {
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		appended, _ := filepath.Glob(filepath.Join(dir, globEscape(stem)+".append-*.parquet"))
		if len(appended) == 0 {
			return nil, errclass.Permanentf("cannot replace %q without rows: the target does not exist and no schema is known (the stream was empty and its source names no columns); the target is not created", path)
		}
		sort.Strings(appended)
		path = appended[0]
	} else if err != nil {
		return nil, filestage.IOError(err, "stat "+path)
	}
	pf, err := openParquet(path)
	if err != nil {
		return nil, err
	}
	defer pf.close()
	_, schema, err := pf.projection(ctx, nil)
	return schema, err
}

// write finds the write writeID in memory or, after a restart, on disk;
// nil when there is none.
func (c *Connector) write(cfg config, writeID string) (*writeState, error) {
	c.mu.Lock()
	w := c.writes[writeID]
	c.mu.Unlock()
	if w != nil {
		return w, nil
	}
	area, err := filestage.Find(filestage.BaseDir(cfg.Path, ".parquet"), writeID)
	if err != nil || area == nil {
		return nil, err
	}
	schema, err := arrowipc.DecodeSchema(area.Manifest.Schema)
	if err != nil {
		return nil, errclass.Permanentf("write %q: staging %q has no readable schema", writeID, area.Path)
	}
	w = &writeState{area: area, schema: schema}
	c.mu.Lock()
	c.writes[writeID] = w
	c.mu.Unlock()
	return w, nil
}

// WriteBatch stores rec as the part file of seq (Arrow IPC, synced), the
// durable record of the batch, and encodes it into the write's Parquet
// file in the staging directory (see stream), the two at once. Batches
// must come in seq order from 1 without gaps; a seq already stored is
// skipped, so a batch replayed after a restart is stored and encoded once.
// A gap is a PERMANENT error naming the seq expected.
//
// A process that takes a write over with batches already staged (after a
// restart) only stages the rest; its commit encodes them all.
func (c *Connector) WriteBatch(ctx context.Context, writeID string, seq int64, rec arrow.RecordBatch) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	w, err := c.write(cfg, writeID)
	if err != nil {
		return err
	}
	if w == nil {
		return errclass.Permanentf("write batch %d: unknown write %q (call BeginWrite first)", seq, writeID)
	}
	if w.schema == nil {
		return errclass.Permanentf("write %q, batch %d: the write was begun without a schema (it changes nothing) and takes no batches", writeID, seq)
	}
	if err := sameTypes(w.schema, rec.Schema()); err != nil {
		return errclass.Permanentf("write %q, batch %d: %v", writeID, seq, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if st := w.area.Manifest.State; st != filestage.StateStaged {
		return errclass.Permanentf("write %q is %s; it takes no more batches (seq %d)", writeID, st, seq)
	}
	if seq < 1 {
		return errclass.Permanentf("write %q: invalid batch seq %d (seqs start at 1)", writeID, seq)
	}
	if w.next == 0 {
		if err := c.takeOver(w, cfg); err != nil {
			return err
		}
	}
	switch {
	case seq < w.next:
		return nil // stored (and encoded, or deferred) already: a replay
	case seq > w.next:
		return errclass.Permanentf("write %q: batch %d arrived, but batch %d is the next one (batches are numbered from 1 and sent in order; %d are staged)", writeID, seq, w.next, w.next-1)
	}
	store := func() error {
		_, err := w.area.WritePart(seq, func(out io.Writer) error {
			data, err := arrowipc.EncodeRecord(rec)
			if err != nil {
				return errclass.Permanentf("write %q, batch %d: %v", writeID, seq, err)
			}
			if _, err := out.Write(data); err != nil {
				return filestage.IOError(err, "write staging part")
			}
			return nil
		})
		return err
	}
	s := w.stream
	if s == nil { // deferred: the commit encodes the parts
		if err := store(); err != nil {
			return err
		}
		w.next = seq + 1
		return nil
	}
	// The part (IPC encode, write, fsync: mostly waiting on the disk) is
	// stored while this goroutine encodes the batch into the Parquet file:
	// the fsync overlaps the encode. Both read rec, neither changes it.
	stored := make(chan error, 1)
	go func() { stored <- store() }()
	encErr := s.write(rec)
	storeErr := <-stored
	if storeErr == nil {
		w.next = seq + 1
	}
	if storeErr != nil || encErr != nil {
		// The Parquet file holds a batch that is not durable, or the encode
		// failed: drop the file; the commit encodes the staged parts.
		s.discard()
		w.stream = nil
		if encErr != nil {
			c.logger.Warn("encoding a batch failed; the write's commit will encode its staged batches", "write_id", writeID, "seq", seq, "error", encErr)
		}
	}
	return storeErr // the batch is durable once its part is
}

// takeOver looks at what the write already staged, the first time this
// process writes to it: nothing (a new write) starts the Parquet file;
// staged batches (a restart) defer the encoding to the commit. The staged
// batches must be seqs 1..n.
func (c *Connector) takeOver(w *writeState, cfg config) error {
	parts, err := w.area.Parts()
	if err != nil {
		return err
	}
	if err := contiguous(w.area.Manifest.WriteID, parts); err != nil {
		return err
	}
	w.next = int64(len(parts)) + 1
	if len(parts) > 0 {
		return nil
	}
	s, err := newStream(w.area.Path, w.schema, cfg)
	if err != nil {
		return fmt.Errorf("write %q: %w", w.area.Manifest.WriteID, err)
	}
	w.stream = s
	return nil
}

func sameTypes(want, got *arrow.Schema) error {
	if want.NumFields() != got.NumFields() {
		return fmt.Errorf("the batch has %d columns, the write's schema %d", got.NumFields(), want.NumFields())
	}
	for i := 0; i < want.NumFields(); i++ {
		fw, fg := want.Field(i), got.Field(i)
		if fw.Name != fg.Name || !arrow.TypeEqual(fw.Type, fg.Type) {
			return fmt.Errorf("column %d is %s %s, the write's schema has %s %s", i+1, fg.Name, fg.Type, fw.Name, fw.Type)
		}
	}
	return nil
}

// CommitWrite finishes the write's Parquet file (the last row group and
// the footer; the other row groups were written as the batches arrived),
// syncs it and renames it into place: replace makes it the target file
// (and removes files earlier appends added beside it); append makes it the
// target when there is none yet, else a new file
// <stem>.append-<time>-<writeid>.parquet beside it. A replace of no
// batches writes a file of the write's schema and no rows; a write begun
// without a schema in append mode commits without touching the target.
// In a process that took the write over after a restart (or after a
// failed encode), the file is encoded here from the staged parts, as a
// whole. Repeating it after success returns nil.
func (c *Connector) CommitWrite(ctx context.Context, writeID string, state []byte) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	w, err := c.write(cfg, writeID)
	if err != nil {
		return err
	}
	if w == nil {
		return errclass.Permanentf("commit: unknown write %q (never begun, or aborted)", writeID)
	}
	if w.schema == nil {
		return w.area.CommitUnchanged()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.area.Manifest.State != filestage.StateStaged {
		// Committing or committed: finish from the recorded plan.
		return w.area.CommitFile("", filestage.Plan{})
	}
	s := w.stream
	w.stream = nil // finished or failed, it takes no more batches
	if s == nil {
		// A write taken over after a restart (or whose encode failed):
		// encode every staged part now.
		if s, err = rebuildStream(ctx, w, cfg); err != nil {
			return fmt.Errorf("commit %q: %w", writeID, err)
		}
	}
	rows, err := s.finish()
	if err != nil {
		return fmt.Errorf("commit %q: %w", writeID, err)
	}
	p, err := plan(w.area.Dir, w.area.Manifest, rows)
	if err != nil {
		os.Remove(s.path)
		return err
	}
	return w.area.CommitFile(s.path, p)
}

// plan decides the committed file's name and what it replaces.
func plan(dir string, m filestage.Manifest, rows int64) (filestage.Plan, error) {
	stem := strings.TrimSuffix(m.Target, filepath.Ext(m.Target))
	appended, err := filepath.Glob(filepath.Join(dir, globEscape(stem)+".append-*.parquet"))
	if err != nil {
		return filestage.Plan{}, errclass.Permanentf("list files beside %q: %v", m.Target, err)
	}
	if m.Mode == string(sdk.ModeReplace) {
		p := filestage.Plan{Final: m.Target, Rows: rows}
		for _, a := range appended {
			p.Remove = append(p.Remove, filepath.Base(a))
		}
		return p, nil
	}
	if _, err := os.Stat(filepath.Join(dir, m.Target)); errors.Is(err, fs.ErrNotExist) {
		return filestage.Plan{Final: m.Target, Rows: rows}, nil
	} else if err != nil {
		return filestage.Plan{}, filestage.FileError(err, "stat", filepath.Join(dir, m.Target))
	}
	name := fmt.Sprintf("%s.append-%s-%s.parquet", stem, time.Now().UTC().Format("20060102T150405.000000000Z"), safe(m.WriteID))
	return filestage.Plan{Final: name, Rows: rows}, nil
}

func globEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func safe(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			out[i] = '_'
		}
	}
	return string(out)
}

// AbortWrite removes the staging area; the target is left as it was.
func (c *Connector) AbortWrite(ctx context.Context, writeID string) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	w, err := c.write(cfg, writeID)
	if err != nil || w == nil {
		return err
	}
	c.mu.Lock()
	delete(c.writes, writeID)
	c.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stream != nil {
		w.stream.discard()
		w.stream = nil
	}
	return w.area.Abort()
}

// CommitReport names the committed file and its row count.
func (c *Connector) CommitReport(writeID string) map[string]string {
	c.mu.Lock()
	w := c.writes[writeID]
	c.mu.Unlock()
	if w == nil || w.area.Manifest.State != filestage.StateCommitted || w.area.Manifest.Final == "" {
		return nil // not committed, or committed without a change
	}
	return map[string]string{
		sdk.ReportLocation: absPath(filepath.Join(w.area.Dir, w.area.Manifest.Final)),
		sdk.ReportRows:     strconv.FormatInt(w.area.Manifest.Rows, 10),
	}
}

// absPath is p made absolute (a plugin runs in the pipeline file's
// directory), or p when the working directory is unknown.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
