package csvconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

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
	// rows are the rows of each batch this process was sent, by seq (a
	// replayed seq carries the same rows); guarded by Connector.mu. After
	// a restart some are unknown, and the report then omits the count.
	rows map[int64]int64
	// committedRows is the rows of the committed parts, -1 when unknown.
	committedRows int64
}

// BeginWrite opens (or reopens) the staging area of req.WriteID in the
// target's directory and removes staging left by earlier writes of the
// same flow. It first makes CheckWrite's checks (upsert is refused).
//
// Without a schema (an empty stream whose columns the source does not
// know), replace keeps the target's columns: the write takes them from the
// target's header (none without has_header) and its commit leaves the
// header line alone. A target that does not exist is then a PERMANENT
// error, and nothing is created. Append without a schema changes nothing.
func (c *Connector) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	target, err := checkWrite(cfg, req)
	if err != nil {
		return err
	}
	dir, file := target.Dir, target.File
	schema := req.Schema
	if schema == nil && req.Mode == sdk.ModeReplace {
		if schema, err = targetSchema(cfg, filepath.Join(dir, file)); err != nil {
			return err
		}
	}
	encoded, err := arrowipc.EncodeSchema(schema)
	if err != nil {
		return errclass.Permanentf("begin write %q: %w", req.WriteID, err)
	}
	area, err := filestage.Begin(dir, filestage.Manifest{Flow: req.Flow, WriteID: req.WriteID, Target: file, Mode: string(req.Mode), Schema: encoded})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.writes[req.WriteID] = &writeState{area: area, schema: schema, committedRows: -1}
	c.mu.Unlock()
	return nil
}

// targetSchema returns the columns of an existing target for a replace
// without a schema: its header's names, as strings (the types do not
// matter to a header), or no columns for a file without a header line
// (has_header false, or an empty file). A target that does not exist is a
// PERMANENT error.
func targetSchema(cfg config, target string) (*arrow.Schema, error) {
	f, err := os.Open(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errclass.Permanentf("cannot replace %q without rows: the target does not exist and no schema is known (the stream was empty and its source names no columns); the target is not created", target)
	}
	if err != nil {
		return nil, filestage.IOError(err, "open "+target)
	}
	defer f.Close()
	var header []string
	if cfg.HasHeader {
		if header, err = readHeader(cfg, f, target); err != nil {
			return nil, err
		}
	}
	fields := make([]arrow.Field, len(header))
	for i, name := range header {
		fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// readHeader reads the header line of a CSV file at its start; nil for an
// empty file.
func readHeader(cfg config, f *os.File, name string) ([]string, error) {
	p := newRecordReader(f, cfg, 0, 1)
	if !cfg.Latin1 {
		p.skipBOM()
	}
	header, _, _, err := p.read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, dataError(name, err)
	}
	return append([]string(nil), header...), nil
}

// write finds the open write writeID: in memory, or on disk after a
// restart. It returns nil when there is none.
func (c *Connector) write(cfg config, writeID string) (*writeState, error) {
	c.mu.Lock()
	w := c.writes[writeID]
	c.mu.Unlock()
	if w != nil {
		return w, nil
	}
	area, err := filestage.Find(filestage.BaseDir(cfg.Path, ".csv"), writeID)
	if err != nil || area == nil {
		return nil, err
	}
	schema, err := arrowipc.DecodeSchema(area.Manifest.Schema)
	if err != nil {
		return nil, errclass.Permanentf("write %q: staging %q has no readable schema", writeID, area.Path)
	}
	w = &writeState{area: area, schema: schema, committedRows: -1}
	c.mu.Lock()
	c.writes[writeID] = w
	c.mu.Unlock()
	return w, nil
}

// WriteBatch stores rec as the part file of seq, as CSV rows without a
// header. A seq whose part already exists is skipped.
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
	if err := sameColumns(w.schema, rec.Schema()); err != nil {
		return errclass.Permanentf("write %q, batch %d: %v", writeID, seq, err)
	}
	_, err = w.area.WritePart(seq, func(out io.Writer) error {
		bw := bufio.NewWriterSize(out, 256<<10)
		if err := writeRows(ctx, cfg, bw, rec); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return filestage.IOError(err, "write staging part")
		}
		return nil
	})
	if err == nil {
		c.mu.Lock()
		if w.rows == nil {
			w.rows = map[int64]int64{}
		}
		w.rows[seq] = rec.NumRows()
		c.mu.Unlock()
	}
	return err
}

func sameColumns(want, got *arrow.Schema) error {
	if want.NumFields() != got.NumFields() {
		return fmt.Errorf("the batch has %d columns, the write's schema %d", got.NumFields(), want.NumFields())
	}
	for i := 0; i < want.NumFields(); i++ {
		if want.Field(i).Name != got.Field(i).Name {
			return fmt.Errorf("column %d is %q, the write's schema has %q", i+1, got.Field(i).Name, want.Field(i).Name)
		}
	}
	return nil
}

// CommitWrite builds the final file in staging (replace: header and the
// parts in seq order; append: the existing file, then the parts) and
// renames it over the target; a write begun without a schema in append
// mode commits without touching the target. Repeating it after success
// returns nil.
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
	m := w.area.Manifest
	return w.area.Commit(func(out io.Writer) (filestage.Plan, error) {
		bw := bufio.NewWriterSize(out, 256<<10)
		target := filepath.Join(w.area.Dir, m.Target)
		// A replace of a target without a header line (kept by a replace
		// without a schema) writes none.
		needHeader := cfg.HasHeader && w.schema.NumFields() > 0
		if m.Mode == string(sdk.ModeAppend) {
			copied, err := copyExisting(cfg, target, w.schema, bw)
			if err != nil {
				return filestage.Plan{}, err
			}
			needHeader = needHeader && !copied
		}
		if needHeader {
			if err := writeHeader(cfg, bw, w.schema); err != nil {
				return filestage.Plan{}, err
			}
		}
		parts, err := w.area.Parts()
		if err != nil {
			return filestage.Plan{}, err
		}
		c.mu.Lock()
		w.committedRows = 0
		for _, p := range parts {
			n, ok := w.rows[p.Seq]
			if !ok || w.committedRows < 0 {
				w.committedRows = -1
				continue
			}
			w.committedRows += n
		}
		c.mu.Unlock()
		for _, p := range parts {
			if err := ctx.Err(); err != nil {
				return filestage.Plan{}, errclass.Transientf("commit %q: %w", writeID, err)
			}
			f, err := os.Open(p.Path)
			if err != nil {
				return filestage.Plan{}, filestage.IOError(err, "open staging part")
			}
			_, err = io.Copy(bw, f)
			f.Close()
			if err != nil {
				return filestage.Plan{}, filestage.IOError(err, "copy staging part")
			}
		}
		if err := bw.Flush(); err != nil {
			return filestage.Plan{}, filestage.FileError(err, "write", target)
		}
		return filestage.Plan{Final: m.Target}, nil
	})
}

// copyExisting copies the target (if it exists and is not empty) to out,
// ending it with a line break, and reports whether it did. With
// has_header, the existing header must name the write's columns.
func copyExisting(cfg config, target string, schema *arrow.Schema, out *bufio.Writer) (bool, error) {
	f, err := os.Open(target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, filestage.FileError(err, "open", target)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, filestage.FileError(err, "stat", target)
	}
	if st.Size() == 0 {
		return false, nil
	}
	if cfg.HasHeader {
		header, err := readHeader(cfg, f, target)
		if err != nil {
			return false, err
		}
		want := make([]string, schema.NumFields())
		for i := range want {
			want[i] = schema.Field(i).Name
		}
		if !equalStrings(header, want) {
			return false, errclass.Permanentf("cannot append to %q: its header is [%s], the written columns are [%s]",
				target, strings.Join(header, ", "), strings.Join(want, ", "))
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return false, filestage.FileError(err, "seek in", target)
		}
	}
	if _, err := io.Copy(out, f); err != nil {
		return false, filestage.FileError(err, "copy", target)
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
		out.WriteByte('\n')
	}
	return true, nil
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
	return w.area.Abort()
}

// CommitReport names the committed file and, when this process saw every
// batch of the write, the rows it committed.
func (c *Connector) CommitReport(writeID string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writes[writeID]
	if w == nil || w.area.Manifest.Final == "" {
		return nil // not committed, or committed without a change
	}
	out := map[string]string{sdk.ReportLocation: absPath(filepath.Join(w.area.Dir, w.area.Manifest.Final))}
	if w.committedRows >= 0 {
		out[sdk.ReportRows] = strconv.FormatInt(w.committedRows, 10)
	}
	return out
}

func writeHeader(cfg config, w *bufio.Writer, schema *arrow.Schema) error {
	fields := make([]string, schema.NumFields())
	for i := range fields {
		fields[i] = schema.Field(i).Name
	}
	return writeRecord(cfg, w, fields, nil, "header")
}

// writeRows writes the rows of rec as CSV lines.
func writeRows(ctx context.Context, cfg config, w *bufio.Writer, rec arrow.RecordBatch) error {
	cols := rec.Columns()
	fields := make([]string, len(cols))
	isNull := make([]bool, len(cols))
	for r := 0; r < int(rec.NumRows()); r++ {
		if r%4096 == 0 && ctx.Err() != nil {
			return errclass.Transientf("write batch: %w", ctx.Err())
		}
		for i, col := range cols {
			isNull[i] = col.IsNull(r)
			if !isNull[i] {
				fields[i] = formatValue(col, r)
			}
		}
		if err := writeRecord(cfg, w, fields, isNull, fmt.Sprintf("row %d", r+1)); err != nil {
			return err
		}
	}
	return nil
}

// formatValue renders one non-null value: integers and floats in Go's
// shortest form, decimal128 with all its scale's digits (12.50), bools as
// true/false, dates as YYYY-MM-DD, timestamps as
// RFC 3339 (UTC when the type has no zone), binary as hex; other types
// through Arrow's own text form.
func formatValue(col arrow.Array, r int) string {
	switch a := col.(type) {
	case *array.String:
		return a.Value(r)
	case *array.LargeString:
		return a.Value(r)
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(r)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(r)), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(r)), 10)
	case *array.Int64:
		return strconv.FormatInt(a.Value(r), 10)
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(r)), 10)
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(r)), 10)
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(r)), 10)
	case *array.Uint64:
		return strconv.FormatUint(a.Value(r), 10)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(r)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(r), 'g', -1, 64)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(r))
	case *array.Decimal128:
		return a.Value(r).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Date32:
		return a.Value(r).ToTime().Format(time.DateOnly)
	case *array.Date64:
		return a.Value(r).ToTime().Format(time.DateOnly)
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		t := a.Value(r).ToTime(tt.Unit)
		if loc, err := time.LoadLocation(tt.TimeZone); tt.TimeZone != "" && err == nil {
			t = t.In(loc)
		}
		return t.Format(time.RFC3339Nano)
	default:
		return col.ValueStr(r)
	}
}

// writeRecord writes one CSV line. A null is the first null_values string;
// a value is quoted when it holds the delimiter, the quote character or a
// line break, has surrounding spaces, or equals a null string (so it is
// not read back as null).
func writeRecord(cfg config, w *bufio.Writer, fields []string, isNull []bool, what string) error {
	nullStr := ""
	if len(cfg.NullValues) > 0 {
		nullStr = cfg.NullValues[0]
	}
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(cfg.Delimiter)
		}
		if isNull != nil && isNull[i] {
			w.WriteString(nullStr)
			continue
		}
		if cfg.Latin1 {
			enc, ok := utf8ToLatin1(f)
			if !ok {
				return errclass.Permanentf("%s, column %d: value %q cannot be written in latin-1", what, i+1, f)
			}
			f = enc
		}
		if needsQuote(cfg, f) {
			w.WriteByte(cfg.Quote)
			q := string(cfg.Quote)
			w.WriteString(strings.ReplaceAll(f, q, q+q))
			w.WriteByte(cfg.Quote)
		} else {
			w.WriteString(f)
		}
	}
	return w.WriteByte('\n')
}

func needsQuote(cfg config, f string) bool {
	if strings.IndexByte(f, cfg.Delimiter) >= 0 || strings.IndexByte(f, cfg.Quote) >= 0 || strings.ContainsAny(f, "\r\n") {
		return true
	}
	if f != strings.TrimSpace(f) {
		return true
	}
	for _, n := range cfg.NullValues {
		if f == n {
			return true
		}
	}
	return false
}

// utf8ToLatin1 returns s as Latin-1 bytes (in a string), or false when s
// holds a character Latin-1 lacks.
func utf8ToLatin1(s string) (string, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s, true
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return "", false
		}
		out = append(out, byte(r))
	}
	return string(out), true
}

// absPath is p made absolute (a plugin runs in the pipeline file's
// directory), or p when the working directory is unknown.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
