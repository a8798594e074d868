package parquetconn

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// checkpoint is the position after a page, encoded as JSON.
type checkpoint struct {
	// File is the index in the sorted file list, Name its path (used to
	// find it again when the list changed).
	File int    `json:"file"`
	Name string `json:"name,omitempty"`
	// RowGroup and Row are the next row group and the row inside it.
	RowGroup int   `json:"row_group"`
	Row      int64 `json:"row"`
}

// parquetFile is one open source file.
type parquetFile struct {
	path string
	f    *os.File
	rdr  *file.Reader
	fr   *pqarrow.FileReader
}

func (p *parquetFile) close() {
	p.rdr.Close()
	p.f.Close()
}

// openParquet opens path as Parquet. A missing file and a file that is not
// Parquet are PERMANENT errors naming the file.
func openParquet(path string) (*parquetFile, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errclass.Permanentf("file %s does not exist", filestage.Show(path))
		}
		return nil, filestage.FileError(err, "open", path)
	}
	rdr, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, errclass.Permanentf("file %s is not a Parquet file: %v", filestage.Show(path), err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		rdr.Close()
		f.Close()
		return nil, errclass.Permanentf("file %s: cannot map its Parquet schema to Arrow: %v", filestage.Show(path), err)
	}
	return &parquetFile{path: path, f: f, rdr: rdr, fr: fr}, nil
}

// projection returns the leaf column indices and the Arrow schema of the
// configured columns (all when none), in the file's column order.
func (p *parquetFile) projection(ctx context.Context, columns []string) ([]int, *arrow.Schema, error) {
	full, err := p.fr.Schema()
	if err != nil {
		return nil, nil, errclass.Permanentf("file %q: %v", p.path, err)
	}
	var fields []int
	if len(columns) == 0 {
		for i := range full.Fields() {
			fields = append(fields, i)
		}
	} else {
		for _, name := range columns {
			idx := full.FieldIndices(name)
			if len(idx) == 0 {
				names := make([]string, full.NumFields())
				for i, f := range full.Fields() {
					names[i] = f.Name
				}
				return nil, nil, errclass.Permanentf("file %q has no column %q (columns: %s)", p.path, name, strings.Join(names, ", "))
			}
			fields = append(fields, idx[0])
		}
		sort.Ints(fields)
	}
	leaves, err := p.fr.Manifest.GetFieldIndices(fields)
	if err != nil {
		return nil, nil, errclass.Permanentf("file %q: %v", p.path, err)
	}
	_, schema, err := p.fr.GetFieldReaders(ctx, leaves, nil)
	if err != nil {
		return nil, nil, errclass.Permanentf("file %q: %v", p.path, err)
	}
	return leaves, withoutNoiseMetadata(schema), nil
}

// withoutNoiseMetadata drops the "PARQUET:field_id": "-1" metadata pqarrow
// puts on fields that have no field id, so a stream's schema equals the
// schema that was written. Real field ids are kept.
func withoutNoiseMetadata(schema *arrow.Schema) *arrow.Schema {
	fields := schema.Fields()
	for i, f := range fields {
		if id, ok := f.Metadata.GetValue("PARQUET:field_id"); ok && id == "-1" && f.Metadata.Len() == 1 {
			fields[i].Metadata = arrow.Metadata{}
		}
	}
	md := schema.Metadata()
	return arrow.NewSchema(fields, &md)
}

// streamInfo is the source's one stream.
type streamInfo struct {
	name   string
	files  []string
	schema *arrow.Schema
}

func (c *Connector) loadStream(ctx context.Context) (config, *streamInfo, error) {
	cfg, err := c.config()
	if err != nil {
		return cfg, nil, err
	}
	files, err := filestage.Expand(cfg.Path, ".parquet")
	if err != nil {
		return cfg, nil, err
	}
	pf, err := openParquet(files[0])
	if err != nil {
		return cfg, nil, err
	}
	defer pf.close()
	_, schema, err := pf.projection(ctx, cfg.Columns)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, &streamInfo{name: filestage.StreamName(cfg.Path), files: files, schema: schema}, nil
}

// Discover returns the source's one stream with the Arrow schema of its
// first file (projected on columns) and, as EstimatedRows, the exact row
// count: the sum of the files' footer row counts.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	_, st, err := c.loadStream(ctx)
	if err != nil {
		return nil, err
	}
	return []sdk.Stream{{Name: st.name, Schema: st.schema, EstimatedRows: footerRows(ctx, st.files)}}, nil
}

// footerRows is the sum of the row counts in the footers of files (only
// the footers are read), or 0 (unknown) when a file cannot be read: the
// read reports that file's error, an estimate does not.
func footerRows(ctx context.Context, files []string) int64 {
	var n int64
	for _, path := range files {
		if ctx.Err() != nil {
			return 0
		}
		rdr, err := file.OpenParquetFile(path, false)
		if err != nil {
			return 0
		}
		n += rdr.NumRows()
		rdr.Close()
	}
	return n
}

// ReadPage returns the page at req.Checkpoint: up to req.MaxRows rows and
// about req.MaxBytes Arrow bytes (0: 65536 rows, 8 MiB), read with pqarrow
// from the checkpoint's file, row group and row. A page may span row
// groups and files.
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	cfg, st, err := c.loadStream(ctx)
	if err != nil {
		return sdk.Page{}, err
	}
	if req.Stream != "" && req.Stream != st.name {
		return sdk.Page{}, errclass.Permanentf("parquet source has no stream %q; its stream is %q", req.Stream, st.name)
	}
	if req.CursorField != "" {
		return sdk.Page{}, errclass.Permanentf("the parquet source does not support incremental reads (cursor %q); read the stream in full", req.CursorField)
	}
	var cp checkpoint
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil {
			return sdk.Page{}, errclass.Permanentf("stream %q: checkpoint %q is not a parquet checkpoint: %v", st.name, req.Checkpoint, err)
		}
		if cp.File < len(st.files) && cp.Name != "" && st.files[cp.File] != cp.Name {
			idx := -1
			for i, f := range st.files {
				if f == cp.Name {
					idx = i
				}
			}
			if idx < 0 {
				return sdk.Page{}, errclass.Permanentf("stream %q: the checkpoint is in file %s, which the path %s no longer matches", st.name, filestage.Show(cp.Name), filestage.Show(cfg.Path))
			}
			cp.File = idx
		}
	}
	maxRows, maxBytes := req.MaxRows, req.MaxBytes
	if maxRows <= 0 {
		maxRows = defaultMaxRows
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	var rows, size int64
	for cp.File < len(st.files) && rows < maxRows && size < maxBytes {
		if err := ctx.Err(); err != nil {
			return sdk.Page{}, errclass.Transientf("read %q: %w", st.files[cp.File], err)
		}
		got, err := readFile(ctx, cfg, st, &cp, maxRows-rows, maxBytes-size)
		if err != nil {
			return sdk.Page{}, err
		}
		for _, b := range got {
			rows += b.NumRows()
			size += arrowipc.BufferSize(b)
		}
		batches = append(batches, got...)
	}
	rec, err := concat(st.schema, batches)
	if err != nil {
		return sdk.Page{}, errclass.Permanentf("stream %q: %v", st.name, err)
	}
	page := sdk.Page{Records: rec, Done: cp.File >= len(st.files)}
	page.Checkpoint, _ = json.Marshal(cp)
	return page, nil
}

// readFile reads from file cp.File at (cp.RowGroup, cp.Row) up to the
// caps and moves cp past what it read (to the next file at its end).
func readFile(ctx context.Context, cfg config, st *streamInfo, cp *checkpoint, maxRows, maxBytes int64) ([]arrow.RecordBatch, error) {
	path := st.files[cp.File]
	cp.Name = path
	pf, err := openParquet(path)
	if err != nil {
		return nil, err
	}
	defer pf.close()
	leaves, schema, err := pf.projection(ctx, cfg.Columns)
	if err != nil {
		return nil, err
	}
	if !sameSchema(schema, st.schema) {
		return nil, errclass.Permanentf("file %q has the schema %s, but the stream's first file %q has %s; files of one glob must share their schema",
			path, schema, st.files[0], st.schema)
	}
	var out []arrow.RecordBatch
	release := func() {
		for _, b := range out {
			b.Release()
		}
	}
	var rows, size int64
	meta := pf.rdr.MetaData()
	for cp.RowGroup < pf.rdr.NumRowGroups() && rows < maxRows && size < maxBytes {
		rg := meta.RowGroup(cp.RowGroup)
		rgRows := rg.NumRows()
		if cp.Row >= rgRows {
			cp.RowGroup, cp.Row = cp.RowGroup+1, 0
			continue
		}
		// Size batches from the row group's uncompressed bytes per row, so
		// a page of wide rows does not overshoot MaxBytes by much.
		batch := maxRows - rows
		if perRow := rg.TotalByteSize() / max(rgRows, 1); perRow > 0 {
			batch = min(batch, max((maxBytes-size)/perRow, 1))
		}
		batch = min(batch, rgRows-cp.Row, 64<<10)
		pf.fr.Props.BatchSize = batch
		rr, err := pf.fr.GetRecordReader(ctx, leaves, []int{cp.RowGroup})
		if err != nil {
			release()
			return nil, errclass.Permanentf("file %q, row group %d: %v", path, cp.RowGroup, err)
		}
		if cp.Row > 0 {
			if err := rr.SeekToRow(cp.Row); err != nil {
				rr.Release()
				release()
				return nil, errclass.Permanentf("file %q, row group %d: seek to row %d: %v", path, cp.RowGroup, cp.Row, err)
			}
		}
		for rows < maxRows && size < maxBytes && cp.Row < rgRows {
			if !rr.Next() {
				break
			}
			rec := rr.RecordBatch()
			n := min(rec.NumRows(), maxRows-rows)
			part := rec.NewSlice(0, n)
			out = append(out, part)
			rows += n
			size += arrowipc.BufferSize(part)
			cp.Row += n
		}
		err = rr.Err()
		rr.Release()
		if err != nil {
			release()
			return nil, errclass.Permanentf("file %q, row group %d: %v", path, cp.RowGroup, err)
		}
		if cp.Row >= rgRows {
			cp.RowGroup, cp.Row = cp.RowGroup+1, 0
		}
	}
	if cp.RowGroup >= pf.rdr.NumRowGroups() {
		cp.File++
		cp.RowGroup, cp.Row, cp.Name = 0, 0, ""
		if cp.File < len(st.files) {
			cp.Name = st.files[cp.File]
		}
	}
	return out, nil
}

// sameSchema compares names, types and nullability, not metadata.
func sameSchema(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := 0; i < a.NumFields(); i++ {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || !arrow.TypeEqual(fa.Type, fb.Type) || fa.Nullable != fb.Nullable {
			return false
		}
	}
	return true
}

// concat joins batches into one record of schema.
func concat(schema *arrow.Schema, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(batches) == 1 {
		return array.NewRecordBatch(schema, batches[0].Columns(), batches[0].NumRows()), nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, b := range batches {
		rows += b.NumRows()
	}
	for i := range cols {
		if len(batches) == 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(i).Type, 0)
			continue
		}
		parts := make([]arrow.Array, len(batches))
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			for _, c := range cols[:i] {
				c.Release()
			}
			return nil, err
		}
		cols[i] = a
	}
	rec := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}
