package memconn

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// table is one committed table: a schema and the record batches holding
// its rows (possibly zero-copy slices). The table owns one reference to
// each batch.
type table struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	// rowSum is the rowhash of recs, kept with them so an append does not
	// hash the rows already there again.
	rowSum rowhash.Sum
}

func (t *table) release() {
	for _, r := range t.recs {
		r.Release()
	}
	t.recs = nil
}

func (t *table) sum() rowhash.Sum {
	var s rowhash.Sum
	for _, r := range t.recs {
		s.Add(r)
	}
	return s
}

// batchSum is the rowhash of one staged batch, computed in the background
// from WriteBatch so that the commit does not hash every row at the end
// (the checksum cost more CPU than everything else the destination does).
type batchSum struct {
	done chan struct{}
	sum  rowhash.Sum
}

// hashBatch starts hashing rec (retaining it until done).
func hashBatch(rec arrow.RecordBatch) *batchSum {
	b := &batchSum{done: make(chan struct{})}
	rec.Retain()
	go func() {
		defer close(b.done)
		defer rec.Release()
		b.sum.Add(rec)
	}()
	return b
}

// write is the staging area of one write id.
type write struct {
	req       sdk.WriteRequest
	target    string
	batches   map[int64]arrow.RecordBatch // by seq; each retained
	sums      map[int64]*batchSum         // by seq: each batch's rowhash
	committed bool
	report    map[string]string
	dir       string // durable staging directory; empty without staging_dir
}

func (w *write) release() {
	for _, r := range w.batches {
		r.Release()
	}
	w.batches = nil
}

// Table returns the committed rows of the named table as record batches,
// each retained for the caller (who releases them), and whether the table
// exists. It is for tests in the same process.
func (c *Connector) Table(name string) (*arrow.Schema, []arrow.RecordBatch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tables[name]
	if !ok {
		return nil, nil, false
	}
	out := make([]arrow.RecordBatch, len(t.recs))
	for i, r := range t.recs {
		r.Retain()
		out[i] = r
	}
	return t.schema, out, true
}

// BeginWrite makes CheckWrite's checks (and that upsert's key columns are
// in the schema), then opens a staging area for req.WriteID. Repeating it
// is harmless. Staging left by uncommitted writes of the same flow is
// dropped.
//
// A write without a schema takes the schema of its first batch. When no
// batch comes (an empty stream whose columns the source does not know), a
// replace empties the table and keeps its schema, and an append or upsert
// changes nothing. A replace without a schema into a table that does not
// exist is a PERMANENT error.
func (c *Connector) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if req.WriteID == "" {
		return errclass.Permanentf("begin write: the write id is empty")
	}
	target, err := checkWrite(cfg, req)
	if err != nil {
		return err
	}
	if req.Mode == sdk.ModeUpsert && req.Schema != nil {
		for _, k := range req.Key {
			if len(req.Schema.FieldIndices(k)) == 0 {
				return errclass.Permanentf("upsert into memory table %q: key column %q is not in the written schema (columns: %s)", target, k, fieldNames(req.Schema))
			}
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.writes[req.WriteID]; ok {
		return nil
	}
	if req.Flow != "" {
		for id, w := range c.writes {
			if w.req.Flow == req.Flow && !w.committed {
				w.release()
				delete(c.writes, id)
			}
		}
	}
	w := &write{req: req, target: target, batches: map[int64]arrow.RecordBatch{}, sums: map[int64]*batchSum{}}
	if cfg.stagingDir != "" {
		w.dir = stageDir(cfg.stagingDir, req.Flow, req.WriteID)
		cleanFlow(cfg.stagingDir, req.Flow, w.dir)
		batches, committed, err := loadStage(w.dir)
		if err != nil {
			return err
		}
		w.batches, w.committed = batches, committed
		for seq, rec := range batches {
			w.sums[seq] = hashBatch(rec)
			if w.req.Schema == nil {
				w.req.Schema = rec.Schema() // as WriteBatch took it
			}
		}
		if committed {
			w.report = map[string]string{sdk.ReportLocation: "memory:" + target, "committed": "by an earlier plugin process"}
		}
	}
	if _, ok := c.tables[target]; !ok && req.Schema == nil && req.Mode == sdk.ModeReplace && !w.committed && len(w.batches) == 0 {
		w.release()
		return errclass.Permanentf("cannot replace memory table %q without rows: the table does not exist and no schema is known (the stream was empty and its source names no columns); the table is not created", target)
	}
	c.writes[req.WriteID] = w
	return nil
}

// WriteBatch stages rec under seq. A seq already staged is skipped.
func (c *Connector) WriteBatch(ctx context.Context, writeID string, seq int64, rec arrow.RecordBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, err := c.openWrite(writeID)
	if err != nil {
		return err
	}
	if w.committed {
		return errclass.Permanentf("write %q to memory table %q was already committed; batch %d cannot be added", writeID, w.target, seq)
	}
	if _, dup := w.batches[seq]; dup {
		return nil
	}
	if _, prev := w.batches[seq-1]; seq > 1 && !prev {
		// Seqs arrive in order: a missing predecessor was acknowledged to
		// the host by an earlier plugin process and lost with it.
		return errclass.Permanentf("batch %d of write %q to memory table %q arrived, but batch %d is not staged: the batches before it were lost when "+
			"the plugin restarted (staging lives in process memory; set staging_dir to keep it across restarts)", seq, writeID, w.target, seq-1)
	}
	if w.req.Schema == nil {
		w.req.Schema = rec.Schema()
	} else if !rec.Schema().Equal(w.req.Schema) {
		return errclass.Permanentf("batch %d of write %q to memory table %q has schema %s, but the write was begun with %s",
			seq, writeID, w.target, rec.Schema(), w.req.Schema)
	}
	if w.dir != "" {
		if err := spill(w.dir, seq, rec); err != nil {
			return err
		}
	}
	rec.Retain()
	w.batches[seq] = rec
	w.sums[seq] = hashBatch(rec)
	return nil
}

func (c *Connector) openWrite(writeID string) (*write, error) {
	w, ok := c.writes[writeID]
	if !ok {
		return nil, errclass.Permanentf("write %q is unknown to the memory destination: it was never begun, was aborted, or its staging was lost when the plugin restarted (staging lives in process memory)", writeID)
	}
	return w, nil
}

// CommitWrite applies the staged batches in seq order to the target table.
// A commit repeated after success returns nil. With dump_path set, the
// committed table is also written to an Arrow IPC file before it becomes
// visible; a failed dump fails the commit and leaves the table as it was.
// state is ignored (the memory destination does not store state).
func (c *Connector) CommitWrite(ctx context.Context, writeID string, state []byte) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w, err := c.openWrite(writeID)
	if err != nil {
		return err
	}
	if w.committed {
		return nil
	}
	seqs := make([]int64, 0, len(w.batches))
	for s := range w.batches {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	staged := make([]arrow.RecordBatch, len(seqs))
	var stagedSum rowhash.Sum
	for i, s := range seqs {
		staged[i] = w.batches[s]
		bs := w.sums[s]
		select {
		case <-bs.done:
		case <-ctx.Done():
			return errclass.Transientf("commit write %q to memory table %q: %v", writeID, w.target, ctx.Err())
		}
		stagedSum.Merge(bs.sum)
	}

	old := c.tables[w.target]
	schema := w.req.Schema
	if schema == nil {
		// Begun without a schema and no batch came: nothing to apply but
		// an empty replace, which keeps the table's schema.
		if w.req.Mode != sdk.ModeReplace {
			return c.commitUnchanged(w, old)
		}
		if old == nil {
			return errclass.Permanentf("cannot replace memory table %q without rows: the table does not exist and no schema is known", w.target)
		}
		schema = old.schema
	}
	var base []arrow.RecordBatch // rows kept from the current table
	if old != nil && w.req.Mode != sdk.ModeReplace {
		if !old.schema.Equal(schema) {
			return errclass.Permanentf("cannot %s into memory table %q: its schema %s differs from the written schema %s",
				w.req.Mode, w.target, old.schema, schema)
		}
		base = old.recs
	}
	next := &table{schema: schema}
	if w.req.Mode == sdk.ModeUpsert {
		next.recs, err = upsert(base, staged, schema, w.req.Key)
		if err == nil {
			next.rowSum = next.sum()
		}
	} else {
		next.recs = append(retainAll(base), retainAll(staged)...)
		next.rowSum = stagedSum
		if base != nil {
			next.rowSum.Merge(old.rowSum)
		}
	}
	if err != nil {
		next.release()
		return err
	}
	if cfg.dumpPath != "" {
		if err := dumpTable(dumpFile(cfg.dumpPath, w.target), next); err != nil {
			next.release()
			return err
		}
	}
	if w.dir != "" {
		if err := markCommitted(w.dir); err != nil {
			next.release()
			return err
		}
	}
	if old != nil {
		old.release()
	}
	c.tables[w.target] = next
	w.release()
	w.committed = true
	sum := next.rowSum
	w.report = map[string]string{
		sdk.ReportLocation: "memory:" + w.target,
		"rows":             strconv.FormatInt(sum.Rows, 10),
		"checksum":         fmt.Sprintf("%016x", sum.Hash),
	}
	return nil
}

// commitUnchanged commits a write that changes nothing (an append or
// upsert begun without a schema that got no batch); it reports the table
// as it is. c.mu is held.
func (c *Connector) commitUnchanged(w *write, t *table) error {
	if w.dir != "" {
		if err := markCommitted(w.dir); err != nil {
			return err
		}
	}
	w.release()
	w.committed = true
	var sum rowhash.Sum
	if t != nil {
		sum = t.rowSum
	}
	w.report = map[string]string{
		sdk.ReportLocation: "memory:" + w.target,
		"rows":             strconv.FormatInt(sum.Rows, 10),
		"checksum":         fmt.Sprintf("%016x", sum.Hash),
	}
	return nil
}

// CommitReport returns the facts of a committed write: "location" (memory:TABLE), "rows" (the
// table's row count after the commit) and "checksum" (the table's rowhash,
// 16 hex digits). It returns nil for a write that is not committed.
func (c *Connector) CommitReport(writeID string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.writes[writeID]
	if !ok || w.report == nil {
		return nil
	}
	out := make(map[string]string, len(w.report))
	for k, v := range w.report {
		out[k] = v
	}
	return out
}

// AbortWrite drops the staging of writeID. Unknown or already aborted
// writes are fine; a committed write is not undone.
func (c *Connector) AbortWrite(ctx context.Context, writeID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.writes[writeID]
	if !ok {
		// A write this process never saw may have staging on disk.
		if cfg, err := c.config(); err == nil && cfg.stagingDir != "" {
			dirs, _ := filepath.Glob(filepath.Join(cfg.stagingDir, "*--"+unsafeName.ReplaceAllString(writeID, "_")))
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(d, committedMarker)); err != nil {
					os.RemoveAll(d)
				}
			}
		}
		return nil
	}
	if w.committed {
		return nil
	}
	w.release()
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
	delete(c.writes, writeID)
	return nil
}

func retainAll(recs []arrow.RecordBatch) []arrow.RecordBatch {
	out := make([]arrow.RecordBatch, len(recs))
	for i, r := range recs {
		r.Retain()
		out[i] = r
	}
	return out
}

// upsert returns the rows of old followed by those of staged, keeping only
// the last row of each key, as zero-copy slices (each owned by the caller).
func upsert(old, staged []arrow.RecordBatch, schema *arrow.Schema, key []string) ([]arrow.RecordBatch, error) {
	idx := make([]int, len(key))
	for i, k := range key {
		f := schema.FieldIndices(k)
		if len(f) == 0 {
			return nil, errclass.Permanentf("upsert: key column %q is not in the schema (columns: %s)", k, fieldNames(schema))
		}
		idx[i] = f[0]
	}
	all := append(append([]arrow.RecordBatch{}, old...), staged...)
	type pos struct{ rec, row int }
	last := map[string]pos{}
	var buf []byte
	keyOf := func(r arrow.RecordBatch, row int) string {
		buf = buf[:0]
		for j, c := range idx {
			if j > 0 {
				buf = append(buf, 0x1f)
			}
			buf = rowhash.AppendValue(buf, r.Column(c), row)
		}
		return string(buf)
	}
	for ri, r := range all {
		for row := 0; row < int(r.NumRows()); row++ {
			last[keyOf(r, row)] = pos{ri, row}
		}
	}
	var out []arrow.RecordBatch
	for ri, r := range all {
		runStart := -1
		for row := 0; row <= int(r.NumRows()); row++ {
			keep := row < int(r.NumRows()) && last[keyOf(r, row)] == pos{ri, row}
			switch {
			case keep && runStart < 0:
				runStart = row
			case !keep && runStart >= 0:
				out = append(out, r.NewSlice(int64(runStart), int64(row)))
				runStart = -1
			}
		}
	}
	return out, nil
}

// dumpFile is dump_path with "{table}" replaced by the table name.
func dumpFile(path, table string) string { return strings.ReplaceAll(path, "{table}", table) }

// dumpTable writes t as an Arrow IPC file at path, atomically (a temp file
// in the same directory, then a rename).
func dumpTable(path string, t *table) error {
	fail := func(err error) error {
		return errclass.Permanentf("memory destination: writing dump_path %s: %w", filestage.Show(path), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fail(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name())              // no-op after the rename
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp's 0600 would hide the dump from other users
		tmp.Close()
		return fail(err)
	}
	w, err := ipc.NewFileWriter(tmp, ipc.WithSchema(t.schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		tmp.Close()
		return fail(err)
	}
	for _, r := range t.recs {
		if err := w.Write(r); err != nil {
			tmp.Close()
			return fail(err)
		}
	}
	if err := w.Close(); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	return nil
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
