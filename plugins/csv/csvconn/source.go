package csvconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/csvscan"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// streamInfo is the source's one stream: its files and inferred schema.
// A nil schema is a stream of no rows: no file, or only empty ones.
type streamInfo struct {
	name  string
	files []string
	// header is the header line of headerFile, the first file that is not
	// empty (whose rows decided the types), when has_header.
	header     []string
	headerFile string
	types      []coltype.Type
	schema     *arrow.Schema
	// headerBytes is the size of headerFile's header (with a BOM);
	// sampledRows and sampledBytes are the rows read to infer the types
	// and their size: what EstimatedRows is estimated from.
	headerBytes, sampledRows, sampledBytes int64
}

// checkpoint is the position after a page, encoded as JSON.
type checkpoint struct {
	// File is the index of the file in the sorted file list, Name its
	// path (used to find it again if the list changed).
	File int    `json:"file"`
	Name string `json:"name,omitempty"`
	// Offset is the byte offset of the next record in the file; 0 means
	// the file's start (before its header).
	Offset int64 `json:"offset"`
	// Line is the line number at Offset; Row the data rows read before it.
	Line int64 `json:"line"`
	Row  int64 `json:"row"`
	// Cursor is the greatest cursor value seen so far (incremental reads).
	Cursor json.RawMessage `json:"cursor,omitempty"`
}

// Discover returns the source's one stream with its inferred schema; a
// path that names no file yet (a glob matching none, a directory without
// .csv files) or only empty files is a stream without a schema and rows.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	st, err := c.loadStream(ctx)
	if err != nil {
		return nil, err
	}
	cursorFields := make([]string, 0, len(st.types))
	for i, t := range st.types {
		if t != coltype.Bool {
			cursorFields = append(cursorFields, st.schema.Field(i).Name)
		}
	}
	return []sdk.Stream{{Name: st.name, Schema: st.schema, CursorFields: cursorFields, EstimatedRows: st.estimatedRows()}}, nil
}

// estimatedRows estimates the stream's rows: the matched files' bytes
// (less a header per file) over the average size of the rows sampled for
// inference. 0 (unknown) when no row was sampled or a file cannot be
// stat'ed. Only the files' sizes are read, never their rows.
func (st *streamInfo) estimatedRows() int64 {
	if st.sampledRows <= 0 || st.sampledBytes <= 0 {
		return 0
	}
	var total int64
	for _, name := range st.files {
		fi, err := os.Stat(name)
		if err != nil {
			return 0
		}
		if fi.Size() > 0 {
			total += max(fi.Size()-st.headerBytes, 0)
		}
	}
	return max((total*st.sampledRows+st.sampledBytes/2)/st.sampledBytes, 1)
}

// loadStream expands the path and infers the schema from the first file
// that is not empty, once per configuration (until one has a schema).
func (c *Connector) loadStream(ctx context.Context) (*streamInfo, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	files, err := filestage.ExpandSource(cfg.Path, ".csv")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	cached := c.stream
	c.mu.Unlock()
	if cached != nil {
		st := *cached
		st.files = files
		return &st, nil
	}
	st, err := inferStream(ctx, cfg, files)
	if err != nil {
		return nil, err
	}
	if st.schema != nil {
		c.mu.Lock()
		c.stream = st
		c.mu.Unlock()
	}
	return st, nil
}

// openFile opens a source file, classifying the failure.
func openFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errclass.Permanentf("file %s does not exist", filestage.Show(path))
		}
		return nil, filestage.FileError(err, "open", path)
	}
	return f, nil
}

// dataError makes a PERMANENT error about bad data in a file.
func dataError(file string, err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return errclass.Permanentf("file %q, %s", file, se.Error())
	}
	var tl *tooLargeError
	if errors.As(err, &tl) {
		where := fmt.Sprintf("file %q, line %d", file, tl.line)
		if tl.fields {
			return recordsize.FieldsError(where)
		}
		return recordsize.Error(where, tl.max)
	}
	return filestage.FileError(err, "read", file)
}

// inferStream reads the header and up to sample_rows rows of the first
// file that is not empty and decides each column's name and type. Without
// such a file the stream has no schema.
func inferStream(ctx context.Context, cfg config, files []string) (*streamInfo, error) {
	for _, name := range files {
		st, err := inferFile(ctx, cfg, name)
		if err != nil || st != nil {
			if st != nil {
				st.files = files
			}
			return st, err
		}
	}
	return &streamInfo{name: filestage.StreamName(cfg.Path), files: files}, nil
}

// inferFile is inferStream's work on one file; nil for an empty file.
func inferFile(ctx context.Context, cfg config, file string) (*streamInfo, error) {
	f, err := openFile(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := newRecordReader(f, cfg, 0, 1)
	if !cfg.Latin1 {
		p.skipBOM()
	}
	var header []string
	var samples [][]string
	ncols := -1
	if cfg.HasHeader {
		fields, _, _, err := p.read()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, dataError(file, err)
		}
		header = append([]string(nil), fields...)
		ncols = len(header)
		samples = make([][]string, ncols)
	}
	headerEnd := p.offset
	sampled := int64(0)
	for n := 0; n < cfg.SampleRows; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, errclass.Transientf("infer schema of %q: %w", file, ctx.Err())
		}
		fields, quoted, line, err := p.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, dataError(file, err)
		}
		if ncols < 0 {
			ncols = len(fields)
			samples = make([][]string, ncols)
		}
		if len(fields) != ncols {
			return nil, raggedError(file, line, len(fields), ncols)
		}
		sampled++
		for i, v := range fields {
			if !isNull(cfg, v, quoted[i]) {
				samples[i] = append(samples[i], v)
			}
		}
	}
	if ncols < 0 {
		return nil, nil // no header and no row
	}
	names := columnNames(header, ncols)
	types := make([]coltype.Type, ncols)
	fields := make([]arrow.Field, ncols)
	for i := range types {
		if t, ok := cfg.Types[names[i]]; ok {
			types[i] = t
		} else {
			types[i] = coltype.Infer(samples[i], coltype.InferOptions{Decimals: cfg.InferDecimals})
		}
		fields[i] = arrow.Field{Name: names[i], Type: types[i].Arrow(), Nullable: true}
	}
	for name := range cfg.Types {
		found := false
		for _, n := range names {
			found = found || n == name
		}
		if !found {
			return nil, errclass.Permanentf("columns names %q, which is not a column of %q (columns: %s)", name, file, strings.Join(names, ", "))
		}
	}
	return &streamInfo{
		name:       filestage.StreamName(cfg.Path),
		header:     header,
		headerFile: file,
		types:      types,
		schema:     arrow.NewSchema(fields, nil),

		headerBytes:  headerEnd,
		sampledRows:  sampled,
		sampledBytes: p.offset - headerEnd,
	}, nil
}

// columnNames returns unique, non-empty column names: a header's names
// ("" becomes column_<n>, a repeated name gets _2, _3 ...), or column_1 ...
// column_<n> without a header.
func columnNames(header []string, n int) []string {
	names := make([]string, n)
	seen := map[string]bool{}
	for i := range names {
		name := ""
		if header != nil {
			name = strings.TrimSpace(header[i])
		}
		if name == "" {
			name = "column_" + strconv.Itoa(i+1)
		}
		base := name
		for k := 2; seen[name]; k++ {
			name = base + "_" + strconv.Itoa(k)
		}
		seen[name] = true
		names[i] = name
	}
	return names
}

func isNull(cfg config, v string, quoted bool) bool {
	if quoted {
		return false
	}
	for _, n := range cfg.NullValues {
		if v == n {
			return true
		}
	}
	return false
}

// isNullBytes is isNull for a field as bytes.
func isNullBytes(cfg config, v []byte, quoted bool) bool {
	if quoted {
		return false
	}
	for _, n := range cfg.NullValues {
		if string(v) == n {
			return true
		}
	}
	return false
}

// cellError is a value of column i that does not parse as its type.
func cellError(file string, line int64, st *streamInfo, i int, err error) error {
	cell := &coltype.CellError{Where: fmt.Sprintf("file %q", file), Line: line, Column: st.schema.Field(i).Name, Type: st.types[i], Err: err}
	return errclass.Permanentf("%w", cell)
}

func raggedError(file string, line int64, got, want int) error {
	return errclass.Permanentf("file %q, line %d: the row has %d fields, but the file has %d columns", file, line, got, want)
}

// cursorFilter selects rows whose cursor column (col) is past the stored
// bound and tracks the greatest value seen.
type cursorFilter struct {
	col int
	*coltype.Cursor
}

// ReadPage returns the page at req.Checkpoint: up to req.MaxRows rows and
// about req.MaxBytes Arrow bytes (0 means 65536 rows, 8 MiB), starting at
// the checkpoint's file and byte offset. A page may span files. A stream
// without a schema (no file, or only empty ones) answers one done page
// without records, also for an incremental read (its cursor stays).
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	cfg, err := c.config()
	if err != nil {
		return sdk.Page{}, err
	}
	st, err := c.loadStream(ctx)
	if err != nil {
		return sdk.Page{}, err
	}
	if req.Stream != "" && req.Stream != st.name {
		return sdk.Page{}, errclass.Permanentf("csv source has no stream %q; its stream is %q", req.Stream, st.name)
	}
	if st.schema == nil {
		done, _ := json.Marshal(checkpoint{File: len(st.files), Line: 1})
		return sdk.Page{Done: true, Checkpoint: done}, nil
	}
	var cp checkpoint
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil {
			return sdk.Page{}, errclass.Permanentf("stream %q: checkpoint %q is not a csv checkpoint: %v", st.name, req.Checkpoint, err)
		}
		if cp.File < len(st.files) && cp.Name != "" && st.files[cp.File] != cp.Name {
			idx := -1
			for i, f := range st.files {
				if f == cp.Name {
					idx = i
				}
			}
			if idx < 0 {
				return sdk.Page{}, errclass.Permanentf("stream %q: the checkpoint is in file %q, which the path %q no longer matches", st.name, cp.Name, cfg.Path)
			}
			cp.File = idx
		}
	}
	if cp.Line == 0 {
		cp.Line = 1
	}
	maxRows, maxBytes := req.MaxRows, req.MaxBytes
	if maxRows <= 0 {
		maxRows = defaultMaxRows
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}

	var filter *cursorFilter
	if req.CursorField != "" {
		col := -1
		for i, f := range st.schema.Fields() {
			if f.Name == req.CursorField {
				col = i
			}
		}
		if col < 0 {
			return sdk.Page{}, errclass.Permanentf("stream %q has no cursor column %q", st.name, req.CursorField)
		}
		t := st.types[col]
		bound, bounded, err := coltype.ParseCursor(t, req.CursorValue)
		if err != nil {
			return sdk.Page{}, errclass.Permanentf("stream %q, cursor %q: %v", st.name, req.CursorField, err)
		}
		max, hasMax, err := coltype.ParseCursor(t, cp.Cursor)
		if err != nil {
			return sdk.Page{}, errclass.Permanentf("stream %q: bad cursor in checkpoint: %v", st.name, err)
		}
		filter = &cursorFilter{col: col, Cursor: coltype.NewCursor(t, bound, bounded, max, hasMax)}
	}

	b := array.NewRecordBuilder(memory.DefaultAllocator, st.schema)
	defer b.Release()
	var rows, size int64
	full := false
	for cp.File < len(st.files) && !full {
		full, err = c.readFile(ctx, cfg, st, &cp, b, filter, maxRows, maxBytes, &rows, &size)
		if err != nil {
			return sdk.Page{}, err
		}
	}
	page := sdk.Page{Records: b.NewRecordBatch(), Done: cp.File >= len(st.files)}
	if filter != nil {
		if j := filter.JSON(); j != nil {
			cp.Cursor, page.CursorValue = j, j
		}
	}
	if page.Done {
		cp.Name, cp.Offset, cp.Line, cp.Row = "", 0, 1, 0
	}
	page.Checkpoint, _ = json.Marshal(cp)
	return page, nil
}

// readFile reads rows of file cp.File from cp.Offset into b until the page
// is full (it reports true) or the file ends (cp then points at the next
// file's start).
func (c *Connector) readFile(ctx context.Context, cfg config, st *streamInfo, cp *checkpoint, b *array.RecordBuilder,
	filter *cursorFilter, maxRows, maxBytes int64, rows, size *int64) (bool, error) {
	name := st.files[cp.File]
	f, err := openFile(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if cp.Offset > 0 {
		if _, err := f.Seek(cp.Offset, io.SeekStart); err != nil {
			return false, filestage.FileError(err, "seek in", name)
		}
	}
	if cp.Offset == 0 {
		cp.Line, cp.Row = 1, 0
	}
	sc := csvscan.New(f, scanOptions(cfg), cp.Offset, cp.Line)
	if cp.Offset == 0 {
		if !cfg.Latin1 {
			sc.SkipBOM()
		}
		if cfg.HasHeader {
			rec, err := sc.Next()
			if err == io.EOF {
				// An empty file holds no rows.
				cp.File++
				cp.Name, cp.Offset, cp.Line, cp.Row = "", 0, 1, 0
				if cp.File < len(st.files) {
					cp.Name = st.files[cp.File]
				}
				return false, nil
			}
			if err != nil {
				return false, dataError(name, scanError(err))
			}
			if fields := rec.Strings(); !equalStrings(fields, st.header) {
				return false, errclass.Permanentf("file %q has the header [%s], but the stream's first file %q has [%s]; files of one glob must share their columns",
					name, strings.Join(fields, ", "), st.headerFile, strings.Join(st.header, ", "))
			}
		}
	}
	ncols := len(st.types)
	builders := make([]array.Builder, ncols)
	for i := range builders {
		builders[i] = b.Field(i)
	}
	var cols []coltype.Value
	var nulls []bool
	if filter != nil {
		cols, nulls = make([]coltype.Value, ncols), make([]bool, ncols)
	}
	for {
		if *rows >= maxRows || *size >= maxBytes {
			cp.Offset, cp.Line, cp.Name = sc.Offset(), sc.Line(), name
			if sc.AtEOF() {
				break
			}
			return true, nil
		}
		if *rows%1024 == 0 && ctx.Err() != nil {
			return false, errclass.Transientf("read %q: %w", name, ctx.Err())
		}
		rec, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, dataError(name, scanError(err))
		}
		if len(rec.Fields) != ncols {
			return false, raggedError(name, rec.Line, len(rec.Fields), ncols)
		}
		cp.Row++
		var rowSize int64
		if filter == nil {
			// Parse each field where it lies, straight into its column; an
			// error fails the page, so a half-appended row is never seen.
			for i, field := range rec.Fields {
				if isNullBytes(cfg, field, rec.Quoted[i]) {
					builders[i].AppendNull()
					rowSize++
					continue
				}
				n, err := coltype.AppendText(builders[i], st.types[i], field, cfg.Parse)
				if err != nil {
					return false, cellError(name, rec.Line, st, i, err)
				}
				rowSize += n + 1
			}
			*rows++
			*size += rowSize
			continue
		}
		for i, field := range rec.Fields {
			nulls[i] = isNullBytes(cfg, field, rec.Quoted[i])
			if nulls[i] {
				rowSize++
				continue
			}
			v, err := coltype.ParseText(st.types[i], field, cfg.Parse)
			if err != nil {
				return false, cellError(name, rec.Line, st, i, err)
			}
			cols[i] = v
			rowSize += coltype.Size(st.types[i], v) + 1
		}
		if nulls[filter.col] {
			continue
		}
		if !filter.Keep(cols[filter.col]) {
			continue
		}
		for i := range cols {
			if nulls[i] {
				builders[i].AppendNull()
			} else {
				coltype.Append(builders[i], st.types[i], cols[i])
			}
		}
		*rows++
		*size += rowSize
	}
	cp.File++
	cp.Name, cp.Offset, cp.Line, cp.Row = "", 0, 1, 0
	if cp.File < len(st.files) {
		cp.Name = st.files[cp.File]
	}
	return false, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
