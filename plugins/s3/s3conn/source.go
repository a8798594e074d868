package s3conn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

const (
	defaultMaxRows  = 10_000
	defaultMaxBytes = 8 << 20
	// rangeWindow is the size of one range request for csv and jsonl.
	rangeWindow = 8 << 20
)

// checkpoint is the position after a page: in object Key (whose ETag was
// ETag) at byte Off (csv, jsonl) or row Row of row group RowGroup
// (parquet); Done means the object was read to its end.
type checkpoint struct {
	Key      string `json:"key"`
	ETag     string `json:"etag"`
	Off      int64  `json:"off,omitempty"`
	RowGroup int    `json:"row_group,omitempty"`
	Row      int64  `json:"row,omitempty"`
	Done     bool   `json:"done,omitempty"`
}

// streamInfo is the configured dataset: its objects in key order, their
// format and the stream's schema.
type streamInfo struct {
	name    string
	format  string
	objects []object
	schema  *arrow.Schema
}

// streamName names the configured dataset: the key's base name without its
// extension, else the prefix's last segment, else the bucket.
func streamName(cfg config) string {
	if cfg.Key != "" {
		b := path.Base(cfg.Key)
		return strings.TrimSuffix(b, path.Ext(b))
	}
	if p := strings.Trim(cfg.Prefix, "/"); p != "" {
		return path.Base(p)
	}
	return cfg.Bucket
}

// hidden reports whether key, relative to the prefix, has a segment
// starting with "." or "_" (staging, _SUCCESS and similar markers).
func hidden(rel string) bool {
	for _, s := range strings.Split(rel, "/") {
		if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "_") {
			return true
		}
	}
	return false
}

// Discover returns the one stream of the configured dataset.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	st, err := c.stream(ctx)
	if err != nil {
		return nil, err
	}
	return []sdk.Stream{{Name: st.name, Schema: st.schema}}, nil
}

// stream lists the dataset's objects and reads its schema, once per
// configuration.
func (c *Connector) stream(ctx context.Context) (*streamInfo, error) {
	cfg, cli, err := c.state()
	if err != nil {
		return nil, err
	}
	name := streamName(cfg)
	c.mu.Lock()
	st := c.streams[name]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st = &streamInfo{name: name}
	if cfg.Key != "" {
		o, err := cli.head(ctx, cfg.Key)
		if err != nil {
			return nil, err
		}
		st.objects = []object{o}
	} else {
		objs, err := listDataset(ctx, cli, cfg.Prefix)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if cfg.Format != "auto" || formatOf(o.Key) != "" {
				st.objects = append(st.objects, o)
			}
		}
		if cfg.MaxFiles > 0 && len(st.objects) > cfg.MaxFiles {
			st.objects = st.objects[:cfg.MaxFiles]
		}
	}
	if len(st.objects) == 0 {
		return nil, errclass.Permanentf("no csv, jsonl or parquet objects under %s: check path_prefix and file_format", cli.url(cfg.Prefix))
	}
	st.format = cfg.Format
	if st.format == "auto" {
		st.format = formatOf(st.objects[0].Key)
		if st.format == "" {
			return nil, errclass.Permanentf("cannot tell the format of %s from its extension: set file_format", cli.url(st.objects[0].Key))
		}
		for _, o := range st.objects {
			if f := formatOf(o.Key); f != st.format {
				return nil, errclass.Permanentf("%s is %s but %s is %s: objects of one stream share a format (set path_prefix or file_format)",
					cli.url(o.Key), f, cli.url(st.objects[0].Key), st.format)
			}
		}
	}
	if st.schema, err = readSchema(ctx, cfg, cli, st.format, st.objects[0]); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.streams[name] = st
	c.mu.Unlock()
	return st, nil
}

// listDataset lists the data objects under prefix in key order. When the
// prefix holds a _SUCCESS manifest (a dataset this connector wrote), only
// the objects it names are read.
func listDataset(ctx context.Context, cli *client, prefix string) ([]object, error) {
	objs, err := cli.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	dir := prefix
	if dir != "" && !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	var named map[string]bool
	for _, o := range objs {
		if o.Key == dir+manifestName {
			m, err := readManifest(ctx, cli, o.Key)
			if err != nil {
				return nil, err
			}
			named = map[string]bool{}
			for _, f := range m.Files {
				named[dir+f] = true
			}
		}
	}
	var out []object
	for _, o := range objs {
		rel := strings.TrimPrefix(strings.TrimPrefix(o.Key, prefix), "/")
		if strings.HasSuffix(o.Key, "/") || hidden(rel) || (named != nil && !named[o.Key]) {
			continue
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// readSchema reads the stream's schema from its first object: a csv
// header (all columns strings), a jsonl first line, a parquet footer.
func readSchema(ctx context.Context, cfg config, cli *client, format string, o object) (*arrow.Schema, error) {
	switch format {
	case "parquet":
		pf, err := openParquet(ctx, cli, o)
		if err != nil {
			return nil, err
		}
		defer pf.rdr.Close()
		return pf.fr.Schema()
	case "csv":
		rr := &rangeReader{ctx: ctx, c: cli, key: o.Key, etag: o.ETag, size: o.Size, window: 1 << 20}
		defer rr.Close()
		r := newCSVReader(rr, cfg)
		rec, err := r.Read()
		if err == io.EOF {
			return nil, errclass.Permanentf("%s is empty: a csv stream needs at least a header", cli.url(o.Key))
		}
		if err != nil {
			return nil, csvErr(err, cli, o.Key)
		}
		fields := make([]arrow.Field, len(rec))
		for i, h := range rec {
			name := h
			if !cfg.Header {
				name = fmt.Sprintf("column_%d", i+1)
			}
			fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
		}
		return arrow.NewSchema(fields, nil), nil
	default:
		rr := &rangeReader{ctx: ctx, c: cli, key: o.Key, etag: o.ETag, size: o.Size, window: 1 << 20}
		defer rr.Close()
		br := bufio.NewReader(rr)
		for {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				return jsonSchema(line, cli.url(o.Key))
			}
			if err == io.EOF {
				return nil, errclass.Permanentf("%s holds no JSON lines", cli.url(o.Key))
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

func newCSVReader(r io.Reader, cfg config) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = cfg.Delimiter
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	return cr
}

func csvErr(err error, cli *client, key string) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errclass.Permanentf("%s: not valid CSV: %v", cli.url(key), pe)
	}
	if errclass.Of(err) != errclass.Unknown {
		return err
	}
	return errclass.Transientf("read %s: %v", cli.url(key), err)
}

// jsonSchema infers a schema from one JSON object, in its key order:
// numbers are float64, booleans bool, everything else a string (objects
// and arrays as their JSON text).
func jsonSchema(line []byte, where string) (*arrow.Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errclass.Permanentf("%s: the first line is not a JSON object", where)
	}
	var fields []arrow.Field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errclass.Permanentf("%s: the first line is not valid JSON: %v", where, err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, errclass.Permanentf("%s: the first line is not valid JSON: %v", where, err)
		}
		typ := arrow.DataType(arrow.BinaryTypes.String)
		switch v.(type) {
		case json.Number:
			typ = arrow.PrimitiveTypes.Float64
		case bool:
			typ = arrow.FixedWidthTypes.Boolean
		}
		fields = append(fields, arrow.Field{Name: t.(string), Type: typ, Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

// ReadPage reads one bounded page from the checkpoint's object.
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	cfg, cli, err := c.state()
	if err != nil {
		return sdk.Page{}, err
	}
	st, err := c.stream(ctx)
	if err != nil {
		return sdk.Page{}, err
	}
	if req.Stream != st.name {
		return sdk.Page{}, errclass.Permanentf("unknown stream %q: this source offers %q", req.Stream, st.name)
	}
	if req.CursorField != "" {
		return sdk.Page{}, errclass.Permanentf("incremental reads are not supported by the s3 connector yet")
	}
	var cp checkpoint
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil {
			return sdk.Page{}, errclass.Permanentf("invalid checkpoint %q: %v", req.Checkpoint, err)
		}
	}
	// Find the object to read.
	i := 0
	if cp.Key != "" {
		i = sort.Search(len(st.objects), func(i int) bool { return st.objects[i].Key >= cp.Key })
		if cp.Done {
			if i < len(st.objects) && st.objects[i].Key == cp.Key {
				i++
			}
			cp = checkpoint{}
		} else {
			if i >= len(st.objects) || st.objects[i].Key != cp.Key {
				return sdk.Page{}, errclass.Permanentf("%s, where the stream's checkpoint is, no longer exists: reset the flow's checkpoint to read the stream again", cli.url(cp.Key))
			}
			if st.objects[i].ETag != cp.ETag {
				return sdk.Page{}, errclass.Permanentf("%s changed since the checkpoint was taken (ETag %s, now %s): reset the flow's checkpoint to read it again", cli.url(cp.Key), cp.ETag, st.objects[i].ETag)
			}
		}
	}
	if i >= len(st.objects) {
		return sdk.Page{Records: emptyRecord(st.schema), Done: true}, nil
	}
	o := st.objects[i]
	if cp.Key != o.Key {
		cp = checkpoint{Key: o.Key, ETag: o.ETag}
	}
	maxRows, maxBytes := req.MaxRows, req.MaxBytes
	if maxRows <= 0 {
		maxRows = defaultMaxRows
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	var rec arrow.RecordBatch
	switch st.format {
	case "parquet":
		rec, err = readParquet(ctx, cli, st, o, &cp, maxRows, maxBytes)
	case "csv":
		rec, err = readCSV(ctx, cfg, cli, st, o, &cp, maxRows, maxBytes)
	default:
		rec, err = readJSONL(ctx, cli, st, o, &cp, maxRows, maxBytes)
	}
	if err != nil {
		return sdk.Page{}, err
	}
	page := sdk.Page{Records: rec}
	if cp.Done && i == len(st.objects)-1 {
		page.Done = true
	}
	page.Checkpoint, _ = json.Marshal(cp)
	return page, nil
}

func emptyRecord(schema *arrow.Schema) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	return b.NewRecordBatch()
}

// readCSV reads rows from cp.Off (after the header at 0) up to the caps.
func readCSV(ctx context.Context, cfg config, cli *client, st *streamInfo, o object, cp *checkpoint, maxRows, maxBytes int64) (arrow.RecordBatch, error) {
	rr := &rangeReader{ctx: ctx, c: cli, key: o.Key, etag: o.ETag, off: cp.Off, size: o.Size, window: rangeWindow}
	defer rr.Close()
	r := newCSVReader(rr, cfg)
	start := cp.Off
	b := array.NewRecordBuilder(memory.DefaultAllocator, st.schema)
	defer b.Release()
	ncol := len(st.schema.Fields())
	if start == 0 && cfg.Header {
		header, err := r.Read()
		if err != nil && err != io.EOF {
			return nil, csvErr(err, cli, o.Key)
		}
		for j, f := range st.schema.Fields() {
			if err == nil && (len(header) != ncol || header[j] != f.Name) {
				return nil, errclass.Permanentf("%s has the header %q, but the stream's first object has %q: objects of one stream share their header",
					cli.url(o.Key), header, fieldNames(st.schema))
			}
		}
		cp.Off = r.InputOffset()
	}
	var rows, size int64
	for rows < maxRows && size < maxBytes {
		rec, err := r.Read()
		if err == io.EOF {
			cp.Done = true
			break
		}
		if err != nil {
			return nil, csvErr(err, cli, o.Key)
		}
		if len(rec) != ncol {
			line, _ := r.FieldPos(0)
			return nil, errclass.Permanentf("%s, record at line %d (counted from byte %d): %d fields, the stream has %d columns", cli.url(o.Key), line, start, len(rec), ncol)
		}
		for j, v := range rec {
			sb := b.Field(j).(*array.StringBuilder)
			if v == "" {
				sb.AppendNull()
			} else {
				sb.Append(v)
			}
			size += int64(len(v))
		}
		rows++
		cp.Off = start + r.InputOffset()
	}
	if !cp.Done && cp.Off >= o.Size {
		cp.Done = true
	}
	return b.NewRecordBatch(), nil
}

// readJSONL reads lines from cp.Off up to the caps.
func readJSONL(ctx context.Context, cli *client, st *streamInfo, o object, cp *checkpoint, maxRows, maxBytes int64) (arrow.RecordBatch, error) {
	rr := &rangeReader{ctx: ctx, c: cli, key: o.Key, etag: o.ETag, off: cp.Off, size: o.Size, window: rangeWindow}
	defer rr.Close()
	br := bufio.NewReaderSize(rr, 1<<20)
	b := array.NewRecordBuilder(memory.DefaultAllocator, st.schema)
	defer b.Release()
	index := map[string]int{}
	for i, f := range st.schema.Fields() {
		index[f.Name] = i
	}
	var rows, size int64
	for rows < maxRows && size < maxBytes {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if err := appendJSON(b, index, line); err != nil {
				return nil, errclass.Permanentf("%s, line at byte %d: %v", cli.url(o.Key), cp.Off, err)
			}
			rows++
			size += int64(len(line))
		}
		cp.Off += int64(len(line))
		if err == io.EOF || cp.Off >= o.Size {
			cp.Done = true
			break
		}
	}
	return b.NewRecordBatch(), nil
}

func appendJSON(b *array.RecordBuilder, index map[string]int, line []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	set := make([]bool, len(index))
	for k, raw := range m {
		j, ok := index[k]
		if !ok {
			continue
		}
		set[j] = true
		if string(raw) == "null" {
			b.Field(j).AppendNull()
			continue
		}
		switch fb := b.Field(j).(type) {
		case *array.Float64Builder:
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil {
				return fmt.Errorf("field %q: %s is not a number (the first line made it one)", k, raw)
			}
			fb.Append(f)
		case *array.BooleanBuilder:
			var v bool
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("field %q: %s is not a boolean (the first line made it one)", k, raw)
			}
			fb.Append(v)
		case *array.StringBuilder:
			var s string
			if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
				fb.Append(s)
			} else {
				fb.Append(string(raw))
			}
		}
	}
	for j, ok := range set {
		if !ok {
			b.Field(j).AppendNull()
		}
	}
	return nil
}

type parquetObject struct {
	rdr *file.Reader
	fr  *pqarrow.FileReader
}

func openParquet(ctx context.Context, cli *client, o object) (*parquetObject, error) {
	ra := &readerAt{ctx: ctx, c: cli, key: o.Key, etag: o.ETag, size: o.Size}
	rdr, err := file.NewParquetReader(ra)
	if err != nil {
		if errclass.Of(err) != errclass.Unknown {
			return nil, err
		}
		return nil, errclass.Permanentf("%s is not a Parquet file: %v", cli.url(o.Key), err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		rdr.Close()
		return nil, errclass.Permanentf("%s: %v", cli.url(o.Key), err)
	}
	return &parquetObject{rdr: rdr, fr: fr}, nil
}

// readParquet reads up to the caps from row cp.Row of row group
// cp.RowGroup (never across row groups).
func readParquet(ctx context.Context, cli *client, st *streamInfo, o object, cp *checkpoint, maxRows, maxBytes int64) (arrow.RecordBatch, error) {
	pf, err := openParquet(ctx, cli, o)
	if err != nil {
		return nil, err
	}
	defer pf.rdr.Close()
	schema, err := pf.fr.Schema()
	if err != nil {
		return nil, errclass.Permanentf("%s: %v", cli.url(o.Key), err)
	}
	if !schema.Equal(st.schema) {
		return nil, errclass.Permanentf("%s has the schema %s, but the stream's first object has %s: objects of one stream share their schema", cli.url(o.Key), schema, st.schema)
	}
	meta := pf.rdr.MetaData()
	for cp.RowGroup < pf.rdr.NumRowGroups() && cp.Row >= meta.RowGroup(cp.RowGroup).NumRows() {
		cp.RowGroup, cp.Row = cp.RowGroup+1, 0
	}
	if cp.RowGroup >= pf.rdr.NumRowGroups() {
		cp.Done = true
		return emptyRecord(st.schema), nil
	}
	rg := meta.RowGroup(cp.RowGroup)
	rgRows := rg.NumRows()
	batch := min(maxRows, rgRows-cp.Row)
	if perRow := rg.TotalByteSize() / max(rgRows, 1); perRow > 0 {
		batch = min(batch, max(maxBytes/perRow, 1))
	}
	pf.fr.Props.BatchSize = batch
	rr, err := pf.fr.GetRecordReader(ctx, nil, []int{cp.RowGroup})
	if err != nil {
		return nil, parquetErr(err, cli, o.Key, cp.RowGroup)
	}
	defer rr.Release()
	if cp.Row > 0 {
		if err := rr.SeekToRow(cp.Row); err != nil {
			return nil, parquetErr(err, cli, o.Key, cp.RowGroup)
		}
	}
	if !rr.Next() {
		if err := rr.Err(); err != nil {
			return nil, parquetErr(err, cli, o.Key, cp.RowGroup)
		}
		return nil, errclass.Permanentf("%s, row group %d: no rows at row %d", cli.url(o.Key), cp.RowGroup, cp.Row)
	}
	rec := rr.RecordBatch()
	n := min(rec.NumRows(), batch)
	out := rec.NewSlice(0, n)
	cp.Row += n
	if cp.Row >= rgRows {
		cp.RowGroup, cp.Row = cp.RowGroup+1, 0
	}
	if cp.RowGroup >= pf.rdr.NumRowGroups() {
		cp.Done = true
	}
	return out, nil
}

func parquetErr(err error, cli *client, key string, rg int) error {
	if errclass.Of(err) != errclass.Unknown {
		return err
	}
	return errclass.Permanentf("%s, row group %d: %v", cli.url(key), rg, err)
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}
