package s3conn

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

const (
	defaultMaxRows  = 10_000
	defaultMaxBytes = 8 << 20
	// rangeWindow is the size of one range request for csv and jsonl.
	rangeWindow = 8 << 20
)

// checkpoint is the position after a page: in object Key (whose ETag was
// ETag) at byte Off (csv, jsonl; for gzip'd objects the offset in the
// uncompressed data), which is line Line, or at row Row of row group
// RowGroup (parquet); Done means the object was read to its end. Cursor
// is the incremental cursor so far (see cursor.go); Files counts the
// objects finished in this read (max_files_per_run with _last_modified).
type checkpoint struct {
	Key      string          `json:"key"`
	ETag     string          `json:"etag"`
	Off      int64           `json:"off,omitempty"`
	Line     int64           `json:"line,omitempty"`
	RowGroup int             `json:"row_group,omitempty"`
	Row      int64           `json:"row,omitempty"`
	Done     bool            `json:"done,omitempty"`
	Cursor   json.RawMessage `json:"cursor,omitempty"`
	Files    int             `json:"files,omitempty"`
}

// streamInfo is the configured dataset: its objects in key order, their
// format, the stream's schema and (csv) the columns' types, and the object
// read that the last page left open.
type streamInfo struct {
	name    string
	format  string
	objects []object // the objects a full read reads (max_files_per_run applied)
	all     []object // every data object, in key order
	schema  *arrow.Schema
	types   []coltype.Type // csv only
	open    *openRead
	// modOrder is all sorted by (LastModified, key), for incremental reads
	// by _last_modified (byModified).
	modOrder []object
	// sampleRows and sampleBytes are the rows the schema was inferred
	// from and the bytes they took (csv and jsonl), or the first parquet
	// object's rows and its size: what estimatedRows scales up.
	sampleRows, sampleBytes int64
	// estimate is estimatedRows of the stream, for Discover.
	estimate int64
}

// estimatedRows estimates the rows of a full read for progress: the
// sampled rows per byte times the objects' total size, 0 when nothing was
// sampled or an object is gzip'd (its size says little of its rows).
func estimatedRows(cfg config, st *streamInfo) int64 {
	if st.sampleRows <= 0 || st.sampleBytes <= 0 {
		return 0
	}
	var total int64
	for _, o := range st.objects {
		if st.format != "parquet" && compressed(cfg, o.Key) {
			return 0
		}
		total += o.Size
	}
	return int64(float64(total) * float64(st.sampleRows) / float64(st.sampleBytes))
}

// streamName names the configured dataset: the key's base name without its
// extensions (.gz and the format's), else the prefix's last segment, else
// the bucket.
func streamName(cfg config) string {
	if cfg.Key != "" {
		b := path.Base(cfg.Key)
		if strings.HasSuffix(strings.ToLower(b), ".gz") {
			b = b[:len(b)-3]
		}
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

// Discover returns the one stream of the configured dataset. Its cursor
// fields are _last_modified (the objects' LastModified) and every column of
// a comparable type. A prefix with no data object, or whose csv and jsonl
// objects hold no line, is an empty stream without a schema.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	st, err := c.stream(ctx)
	if err != nil {
		return nil, err
	}
	cursors := []string{lastModifiedField}
	if st.schema == nil {
		return []sdk.Stream{{Name: st.name, CursorFields: cursors}}, nil
	}
	for _, f := range st.schema.Fields() {
		if t, ok := cursorType(f.Type); ok && t != coltype.Bool && f.Name != lastModifiedField {
			cursors = append(cursors, f.Name)
		}
	}
	return []sdk.Stream{{Name: st.name, Schema: st.schema, CursorFields: cursors, EstimatedRows: st.estimate}}, nil
}

// closeReads ends the object read the last page left open (Configure calls
// it: a new configuration reads anew).
func (c *Connector) closeReads() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.streams {
		st.open.close()
		st.open = nil
	}
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
		st.all = st.objects
	} else {
		objs, err := listDataset(ctx, cli, cfg.Prefix)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if cfg.Format != "auto" || sourceFormatOf(o.Key) != "" {
				st.objects = append(st.objects, o)
			}
		}
		st.all = st.objects
		if cfg.MaxFiles > 0 && len(st.objects) > cfg.MaxFiles {
			st.objects = st.objects[:cfg.MaxFiles]
		}
	}
	if len(st.objects) == 0 {
		// An empty stream: the prefix may fill later (and a typo in it
		// would show here, hence the warning).
		c.logger.Warn("no csv, jsonl or parquet objects under the prefix: the stream is empty; check path_prefix and file_format if it should not be",
			"prefix", cli.url(cfg.Prefix), "stream", name)
		c.mu.Lock()
		c.streams[name] = st
		c.mu.Unlock()
		return st, nil
	}
	st.format = cfg.Format
	if st.format == "auto" {
		st.format = sourceFormatOf(st.objects[0].Key)
		if st.format == "" {
			return nil, errclass.Permanentf("cannot tell the format of %s from its extension: set file_format", cli.url(st.objects[0].Key))
		}
		for _, o := range st.objects {
			if f := sourceFormatOf(o.Key); f != st.format {
				return nil, errclass.Permanentf("%s is %s but %s is %s: objects of one stream share a format (set path_prefix or file_format)",
					cli.url(o.Key), f, cli.url(st.objects[0].Key), st.format)
			}
		}
	}
	if st.format == "parquet" {
		for _, o := range st.objects {
			if compressed(cfg, o.Key) {
				return nil, errclass.Permanentf("%s: gzip'd parquet objects are not supported (parquet compresses its own column chunks); set compression: none if the object is plain parquet", cli.url(o.Key))
			}
		}
	}
	if err := readSchema(ctx, cfg, cli, st); err != nil {
		return nil, err
	}
	st.estimate = estimatedRows(cfg, st)
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
// header and a sample of rows (types), a jsonl first line, a parquet
// footer. Empty csv and jsonl objects are passed over; when every one is
// empty the stream has no schema (and no rows).
func readSchema(ctx context.Context, cfg config, cli *client, st *streamInfo) error {
	if st.format == "parquet" {
		o := st.objects[0]
		pf, err := openParquet(ctx, cli, o)
		if err != nil {
			return err
		}
		defer pf.rdr.Close()
		st.schema, err = pf.fr.Schema()
		if err != nil {
			return errclass.Permanentf("%s: %v", cli.url(o.Key), err)
		}
		st.sampleRows, st.sampleBytes = pf.rdr.NumRows(), o.Size
		return nil
	}
	for _, o := range st.objects {
		var err error
		if st.format == "csv" {
			err = csvSchema(ctx, cfg, cli, st, o)
		} else {
			err = jsonlSchema(ctx, cfg, cli, st, o)
		}
		if !errors.Is(err, errNoData) {
			return err
		}
	}
	return nil
}

// ReadPage reads one bounded page from the checkpoint's object. A page
// never spans two objects. With req.CursorField it reads incrementally:
// _last_modified selects objects, a column selects rows (cursor.go).
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
	if st.schema == nil {
		// No object, or none with a line: an empty stream, and no cursor
		// to move (the stored one stays).
		return sdk.Page{Done: true, Checkpoint: []byte("{}")}, nil
	}
	var cp checkpoint
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil {
			return sdk.Page{}, errclass.Permanentf("invalid checkpoint %q: %v", req.Checkpoint, err)
		}
	}
	maxRows, maxBytes := req.MaxRows, req.MaxBytes
	if maxRows <= 0 {
		maxRows = defaultMaxRows
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}

	// The objects to read, in reading order, and where the checkpoint is.
	var objs []object
	var lm *modifiedCursor
	var col *columnCursor
	i := 0
	if req.CursorField == lastModifiedField {
		if lm, err = newModifiedCursor(st, req, cp); err != nil {
			return sdk.Page{}, err
		}
		objs = lm.remaining(st.byModified(), cfg.MaxFiles, cp.Files)
		if cp.Key != "" && !cp.Done {
			if len(objs) == 0 || objs[0].Key != cp.Key {
				return sdk.Page{}, errclass.Permanentf("%s, where the stream's checkpoint is, is no longer listed or changed its LastModified: reset the flow's checkpoint to read the stream again", cli.url(cp.Key))
			}
			if objs[0].ETag != cp.ETag {
				return sdk.Page{}, changedErr(cli, cp, objs[0])
			}
		} else {
			cp = checkpoint{Cursor: cp.Cursor, Files: cp.Files}
		}
	} else {
		if req.CursorField != "" {
			if col, err = newColumnCursor(st, req, cp); err != nil {
				return sdk.Page{}, err
			}
		}
		objs = st.objects
		if cp.Key != "" {
			i = sort.Search(len(objs), func(i int) bool { return objs[i].Key >= cp.Key })
			if cp.Done {
				if i < len(objs) && objs[i].Key == cp.Key {
					i++
				}
				cp = checkpoint{Cursor: cp.Cursor}
			} else {
				if i >= len(objs) || objs[i].Key != cp.Key {
					return sdk.Page{}, errclass.Permanentf("%s, where the stream's checkpoint is, no longer exists: reset the flow's checkpoint to read the stream again", cli.url(cp.Key))
				}
				if objs[i].ETag != cp.ETag {
					return sdk.Page{}, changedErr(cli, cp, objs[i])
				}
			}
		}
	}
	if i >= len(objs) {
		page := sdk.Page{Records: emptyRecord(st.schema), Done: true}
		if lm != nil {
			page.CursorValue = lm.json()
		} else if col != nil {
			page.CursorValue = col.json()
		}
		return page, nil
	}
	o := objs[i]
	if cp.Key != o.Key {
		cp = checkpoint{Key: o.Key, ETag: o.ETag, Cursor: cp.Cursor, Files: cp.Files}
	}
	var rec arrow.RecordBatch
	switch st.format {
	case "parquet":
		rec, err = readParquet(ctx, cli, st, o, &cp, maxRows, maxBytes)
	case "csv":
		rec, err = readCSV(ctx, cfg, cli, st, o, &cp, maxRows, maxBytes)
	default:
		rec, err = readJSONL(ctx, cfg, cli, st, o, &cp, maxRows, maxBytes)
	}
	if err != nil {
		st.open.close()
		st.open = nil
		return sdk.Page{}, err
	}
	page := sdk.Page{Records: rec}
	if col != nil {
		if page.Records, err = col.filter(rec); err != nil {
			rec.Release()
			return sdk.Page{}, errclass.Permanentf("%s: %v", cli.url(o.Key), err)
		}
		cp.Cursor = col.json()
		page.CursorValue = cp.Cursor
	}
	if cp.Done {
		st.open.close()
		st.open = nil
		cp.Files++
		if lm != nil {
			lm.add(o)
			page.Done = len(lm.remaining(st.byModified(), cfg.MaxFiles, cp.Files)) == 0
		} else {
			page.Done = i == len(objs)-1
		}
	}
	if lm != nil {
		cp.Cursor = lm.json()
		page.CursorValue = cp.Cursor
	}
	page.Checkpoint, _ = json.Marshal(cp)
	return page, nil
}

func changedErr(cli *client, cp checkpoint, now object) error {
	return errclass.Permanentf("%s changed since the checkpoint was taken (ETag %s, now %s): reset the flow's checkpoint to read it again", cli.url(cp.Key), cp.ETag, now.ETag)
}

func emptyRecord(schema *arrow.Schema) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	return b.NewRecordBatch()
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}
