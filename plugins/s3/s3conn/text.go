package s3conn

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk/classify/awsclass"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// openRead is an object read kept open between pages, so that the next
// page continues where the last one ended instead of opening the object
// again (for gzip'd objects, instead of decompressing from the start
// again). It is used only when a page's checkpoint is exactly where it
// stopped; any other checkpoint (a retry, another process's checkpoint)
// opens the object anew. Its requests run under its own context, so they
// outlive the call that opened it; each call's context cancels it when that
// call ends early.
type openRead struct {
	key, etag string
	ctx       context.Context
	cancel    context.CancelFunc

	// csv and jsonl: off and line are where the next record starts.
	off, line int64
	rr        *rangeReader
	gz        *gzip.Reader
	cr        *csv.Reader
	base      int64 // csv: off = base + cr.InputOffset()
	baseLine  int64 // csv: the line at base
	br        *bufio.Reader
	long      []byte // jsonl: the buffer of lines longer than br's

	// parquet: the file, and the record reader of row group rg, whose next
	// row is row, reading batch rows at a time.
	pf    *parquetObject
	prr   pqarrow.RecordReader
	rg    int
	row   int64
	batch int64
}

func (o *openRead) close() {
	if o == nil {
		return
	}
	if o.prr != nil {
		o.prr.Release()
	}
	if o.pf != nil {
		o.pf.rdr.Close()
	}
	if o.rr != nil {
		o.rr.Close()
	}
	o.cancel()
}

// watch cancels the read when the call's ctx ends before the call does; it
// returns the function that stops watching, which reports false when the
// read was cancelled.
func (o *openRead) watch(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, o.cancel)
}

// openText opens object ob for csv or jsonl reading at byte off (of the
// uncompressed data), which is line line. A plain object is read by range
// requests from off; a gzip'd one from its first byte, decompressed and
// skipped up to off: resuming in the middle of a gzip'd object costs
// reading it again up to the checkpoint.
func openText(ctx context.Context, cfg config, cli *client, ob object, off, line int64) (*openRead, error) {
	o := &openRead{key: ob.Key, etag: ob.ETag, off: off, line: line}
	o.ctx, o.cancel = context.WithCancel(context.WithoutCancel(ctx))
	stop := o.watch(ctx)
	defer stop()
	if !compressed(cfg, ob.Key) {
		o.rr = &rangeReader{ctx: o.ctx, c: cli, key: ob.Key, etag: ob.ETag, off: off, size: ob.Size, window: rangeWindow}
		return o, nil
	}
	o.rr = &rangeReader{ctx: o.ctx, c: cli, key: ob.Key, etag: ob.ETag, size: ob.Size, window: rangeWindow}
	gz, err := gzip.NewReader(bufio.NewReaderSize(o.rr, 64<<10))
	if err != nil {
		o.close()
		return nil, textErr(ctx, err, cli, ob.Key, "")
	}
	o.gz = gz
	if off > 0 {
		n, err := io.CopyN(io.Discard, gz, off)
		if err == io.EOF {
			o.close()
			return nil, errclass.Permanentf("%s: the checkpoint is at byte %d of the uncompressed data, but it holds %d bytes: reset the flow's checkpoint", cli.url(ob.Key), off, n)
		}
		if err != nil {
			o.close()
			return nil, textErr(ctx, err, cli, ob.Key, "")
		}
	}
	return o, nil
}

// reader is what records are parsed from.
func (o *openRead) reader() io.Reader {
	if o.gz != nil {
		return o.gz
	}
	return o.rr
}

// textErr classifies a failure while reading csv or jsonl bytes: S3
// failures keep their class, bad gzip or csv data is PERMANENT, a cancelled
// call is the call's context error, anything else TRANSIENT.
func textErr(ctx context.Context, err error, cli *client, key, where string) error {
	if ctx.Err() != nil {
		return errclass.Transientf("read %s: %w", cli.url(key), ctx.Err())
	}
	if errclass.Of(err) != errclass.Unknown {
		return err
	}
	var pe *csv.ParseError
	var ce flate.CorruptInputError
	var tl *tooLargeError
	switch {
	case errors.As(err, &tl):
		at := fmt.Sprintf("%s, line %d", cli.url(key), tl.line)
		if tl.fields {
			return recordsize.FieldsError(at)
		}
		return recordsize.Error(at, tl.max)
	case errors.As(err, &pe):
		return errclass.Permanentf("%s%s: not valid CSV: %v", cli.url(key), where, pe)
	case errors.Is(err, gzip.ErrHeader):
		return errclass.Permanentf("%s is not gzip data: set compression: none (or auto, which goes by the .gz extension) if the objects are not compressed", cli.url(key))
	case errors.Is(err, gzip.ErrChecksum), errors.As(err, &ce), errors.Is(err, io.ErrUnexpectedEOF):
		return errclass.Permanentf("%s: corrupt or truncated gzip data: %v", cli.url(key), err)
	}
	return awsclass.Classify(ctx, err, "read "+cli.url(key))
}

// resume returns the open read of ob at off, reusing the stream's open one
// when it stopped exactly there, else opening ob anew.
func resume(ctx context.Context, cfg config, cli *client, st *streamInfo, ob object, off, line int64) (*openRead, error) {
	if o := st.open; o != nil && o.key == ob.Key && o.etag == ob.ETag && o.off == off && o.pf == nil && o.ctx.Err() == nil {
		return o, nil
	}
	st.open.close()
	st.open = nil
	o, err := openText(ctx, cfg, cli, ob, off, line)
	if err != nil {
		return nil, err
	}
	st.open = o
	return o, nil
}

// newCSVReader reads csv records from r, which starts at a record on line
// line, through a csvGuard enforcing max_record_bytes.
func newCSVReader(r io.Reader, cfg config, line int64) *csv.Reader {
	cr := csv.NewReader(bufio.NewReaderSize(newCSVGuard(r, cfg.Delimiter, cfg.MaxRecordBytes, line), 256<<10))
	cr.Comma = cfg.Delimiter
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// errNoData is returned by csvSchema and jsonlSchema for an object that
// holds no line to take a schema from. Test with errors.Is.
var errNoData = errors.New("the object holds no data")

// csvSchema reads object ob's header and up to csv_sample_rows rows and
// decides each column's name and type: csv_columns first, else inferred
// from the sample's non-empty values (csv_infer_types), else string. An
// empty object is errNoData.
func csvSchema(ctx context.Context, cfg config, cli *client, st *streamInfo, ob object) error {
	o, err := openText(ctx, cfg, cli, ob, 0, 1)
	if err != nil {
		return err
	}
	defer o.close()
	r := newCSVReader(o.reader(), cfg, 1)
	r.ReuseRecord = false
	first, err := r.Read()
	if err == io.EOF {
		return errNoData
	}
	if err != nil {
		return textErr(ctx, err, cli, ob.Key, "")
	}
	names := make([]string, len(first))
	for i, h := range first {
		names[i] = h
		if !cfg.Header {
			names[i] = fmt.Sprintf("column_%d", i+1)
		}
	}
	samples := make([][]string, len(names))
	start, sampled := r.InputOffset(), int64(0)
	if !cfg.Header {
		for i, v := range first {
			if !isNull(cfg, v) {
				samples[i] = append(samples[i], v)
			}
		}
	}
	if cfg.InferTypes {
		for n := 0; n < cfg.SampleRows; n++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return textErr(ctx, err, cli, ob.Key, "")
			}
			if len(rec) != len(names) {
				line, _ := r.FieldPos(0)
				return errclass.Permanentf("%s, line %d: %d fields, but the header has %d columns", cli.url(ob.Key), line, len(rec), len(names))
			}
			for i, v := range rec {
				if !isNull(cfg, v) {
					samples[i] = append(samples[i], v)
				}
			}
			sampled++
		}
	}
	st.sampleRows, st.sampleBytes = sampled, r.InputOffset()-start
	for name := range cfg.Types {
		found := false
		for _, n := range names {
			found = found || n == name
		}
		if !found {
			return errclass.Permanentf("csv_columns names %q, which is not a column of %s (columns: %s)", name, cli.url(ob.Key), strings.Join(names, ", "))
		}
	}
	st.types = make([]coltype.Type, len(names))
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		switch t, ok := cfg.Types[n]; {
		case ok:
			st.types[i] = t
		case cfg.InferTypes:
			st.types[i] = coltype.Infer(samples[i], coltype.InferOptions{Decimals: cfg.InferDecimals})
		default:
			st.types[i] = coltype.String
		}
		fields[i] = arrow.Field{Name: n, Type: st.types[i].Arrow(), Nullable: true}
	}
	st.schema = arrow.NewSchema(fields, nil)
	return nil
}

// readCSV reads rows from cp.Off (the object's start is before its header)
// up to the caps, converting each field to its column's type (a field of
// csv_null_values is null).
func readCSV(ctx context.Context, cfg config, cli *client, st *streamInfo, ob object, cp *checkpoint, maxRows, maxBytes int64) (arrow.RecordBatch, error) {
	if cp.Line == 0 {
		cp.Line = 1
	}
	o, err := resume(ctx, cfg, cli, st, ob, cp.Off, cp.Line)
	if err != nil {
		return nil, err
	}
	stop := o.watch(ctx)
	defer stop()
	if o.cr == nil {
		o.cr = newCSVReader(o.reader(), cfg, o.line)
		o.base, o.baseLine = o.off, o.line
	}
	r := o.cr
	b := array.NewRecordBuilder(memory.DefaultAllocator, st.schema)
	defer b.Release()
	ncol := len(st.types)
	// nextLine is the line after a record whose last field starts on
	// relative line rel.
	advance := func(rec []string) {
		rel, _ := r.FieldPos(len(rec) - 1)
		o.off = o.base + r.InputOffset()
		o.line = o.baseLine + int64(rel) - 1 + int64(strings.Count(rec[len(rec)-1], "\n")) + 1
		cp.Off, cp.Line = o.off, o.line
	}
	if o.off == 0 && cfg.Header {
		header, err := r.Read()
		if err != nil && err != io.EOF {
			return nil, textErr(ctx, err, cli, ob.Key, "")
		}
		if err == nil {
			if len(header) != ncol || !equalNames(header, st.schema) {
				return nil, errclass.Permanentf("%s has the header %q, but the stream's first object has %q: objects of one stream share their header",
					cli.url(ob.Key), header, fieldNames(st.schema))
			}
			advance(header)
		}
	}
	var rows, size int64
	for rows < maxRows && size < maxBytes {
		rec, err := r.Read()
		if err == io.EOF {
			cp.Done = true
			break
		}
		if err != nil {
			return nil, textErr(ctx, err, cli, ob.Key, "")
		}
		rel, _ := r.FieldPos(0)
		line := o.baseLine + int64(rel) - 1
		if len(rec) != ncol {
			return nil, errclass.Permanentf("%s, line %d: %d fields, the stream has %d columns", cli.url(ob.Key), line, len(rec), ncol)
		}
		for j, v := range rec {
			if isNull(cfg, v) {
				b.Field(j).AppendNull()
				size++
				continue
			}
			t := st.types[j]
			if t == coltype.String {
				b.Field(j).(*array.StringBuilder).Append(v)
				size += int64(len(v)) + 4
				continue
			}
			val, err := coltype.ParseWith(t, v, cfg.Parse)
			if err != nil {
				fl, _ := r.FieldPos(j)
				err = &coltype.CellError{Where: cli.url(ob.Key), Line: o.baseLine + int64(fl) - 1, Column: st.schema.Field(j).Name, Type: t, Err: err}
				return nil, errclass.Permanentf("%w; the types are inferred from the first object's first rows: set csv_columns to type the column, or csv_infer_types: false", err)
			}
			coltype.Append(b.Field(j), t, val)
			size += coltype.Size(t, val)
		}
		rows++
		advance(rec)
	}
	if !cp.Done && o.gz == nil && cp.Off >= ob.Size {
		cp.Done = true
	}
	return b.NewRecordBatch(), nil
}

func equalNames(header []string, s *arrow.Schema) bool {
	for j, f := range s.Fields() {
		if header[j] != f.Name {
			return false
		}
	}
	return true
}

// jsonlSchema infers the schema from the first lines of object ob (up
// to csv_sample_rows of them; see [jsonSchemaOf]); an object without a
// JSON line is errNoData.
func jsonlSchema(ctx context.Context, cfg config, cli *client, st *streamInfo, ob object) error {
	o, err := openText(ctx, cfg, cli, ob, 0, 1)
	if err != nil {
		return err
	}
	defer o.close()
	br := bufio.NewReader(o.reader())
	sample := max(cfg.SampleRows, 1)
	var lines [][]byte
	var long []byte
	for n := int64(1); len(lines) < sample; n++ {
		var line []byte
		line, long, err = readLine(br, cfg.MaxRecordBytes, n, long)
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, bytes.Clone(line))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return textErr(ctx, err, cli, ob.Key, "")
		}
	}
	if len(lines) == 0 {
		return errNoData
	}
	st.schema, err = jsonSchemaOf(lines, cli.url(ob.Key), cfg.InferDecimals)
	st.sampleRows, st.sampleBytes = int64(len(lines)), 0
	for _, l := range lines {
		st.sampleBytes += int64(len(l))
	}
	return err
}

// jsonSchema infers a schema from one JSON object; see [jsonSchemaOf].
func jsonSchema(line []byte, where string, decimals bool) (*arrow.Schema, error) {
	return jsonSchemaOf([][]byte{line}, where, decimals)
}

// jsonKind is what the sampled values of a JSON key have been so far.
type jsonKind int

const (
	jsonNone   jsonKind = iota // only nulls
	jsonInt                    // integers that fit in 64 bits
	jsonNumber                 // numbers, some not such integers
	jsonBool
	jsonText // strings, objects, arrays, or a mix of kinds
)

// jsonSchemaOf infers a schema from sampled JSON objects: the columns are
// the first object's keys, in its order; a column whose sampled non-null
// values are all integers that fit in 64 bits is int64 (so ids and counts
// keep every digit); with decimals, one whose values are all numbers
// written with the same number s >= 1 of fraction digits and no exponent
// (12.50) is decimal(38,s); other numbers float64, all booleans bool,
// and anything else (strings, objects and arrays as their JSON text, a
// mix, or only nulls) a string.
func jsonSchemaOf(lines [][]byte, where string, decimals bool) (*arrow.Schema, error) {
	var names []string
	kinds := map[string]jsonKind{}
	// scales holds the fraction digits every number of a key has had, -1
	// when they differ or one is an integer or has an exponent.
	scales := map[string]int32{}
	noteScale := func(name string, raw json.RawMessage) {
		k := rawKind(raw)
		if k != jsonInt && k != jsonNumber {
			return
		}
		scale := int32(-1)
		if k == jsonNumber {
			if ct := coltype.Infer([]string{string(bytes.TrimSpace(raw))}, coltype.InferOptions{Decimals: true}); ct.Kind == coltype.KindDecimal {
				scale = ct.Scale
			}
		}
		if old, ok := scales[name]; ok && old != scale {
			scale = -1
		}
		scales[name] = scale
	}
	for i, line := range lines {
		var m map[string]json.RawMessage
		if i > 0 {
			if json.Unmarshal(line, &m) != nil {
				break // the read reports it, with its line
			}
			for k, raw := range m {
				if old, ok := kinds[k]; ok {
					kinds[k] = mergeKind(old, rawKind(raw))
					noteScale(k, raw)
				}
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return nil, errclass.Permanentf("%s: the first line is not a JSON object", where)
		}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, errclass.Permanentf("%s: the first line is not valid JSON: %v", where, err)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, errclass.Permanentf("%s: the first line is not valid JSON: %v", where, err)
			}
			name := t.(string)
			if _, dup := kinds[name]; !dup {
				names = append(names, name)
			}
			kinds[name] = rawKind(raw)
			noteScale(name, raw)
		}
	}
	fields := make([]arrow.Field, len(names))
	for i, name := range names {
		typ := arrow.DataType(arrow.BinaryTypes.String)
		switch kinds[name] {
		case jsonInt:
			typ = arrow.PrimitiveTypes.Int64
		case jsonNumber:
			typ = arrow.PrimitiveTypes.Float64
			if s, ok := scales[name]; decimals && ok && s >= 1 {
				typ = coltype.Decimal(coltype.InferredPrecision, s).Arrow()
			}
		case jsonBool:
			typ = arrow.FixedWidthTypes.Boolean
		}
		fields[i] = arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// rawKind is the kind of one JSON value.
func rawKind(raw json.RawMessage) jsonKind {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return jsonNone
	case string(raw) == "true" || string(raw) == "false":
		return jsonBool
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return jsonInt
		}
		return jsonNumber
	}
	return jsonText
}

// mergeKind is the kind of a column holding values of kinds a and b.
func mergeKind(a, b jsonKind) jsonKind {
	switch {
	case a == b || b == jsonNone:
		return a
	case a == jsonNone:
		return b
	case (a == jsonInt && b == jsonNumber) || (a == jsonNumber && b == jsonInt):
		return jsonNumber
	}
	return jsonText
}

// readJSONL reads lines from cp.Off up to the caps.
func readJSONL(ctx context.Context, cfg config, cli *client, st *streamInfo, ob object, cp *checkpoint, maxRows, maxBytes int64) (arrow.RecordBatch, error) {
	if cp.Line == 0 {
		cp.Line = 1
	}
	o, err := resume(ctx, cfg, cli, st, ob, cp.Off, cp.Line)
	if err != nil {
		return nil, err
	}
	stop := o.watch(ctx)
	defer stop()
	if o.br == nil {
		o.br = bufio.NewReaderSize(o.reader(), 1<<20)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, st.schema)
	defer b.Release()
	index := map[string]int{}
	for i, f := range st.schema.Fields() {
		index[f.Name] = i
	}
	var rows, size int64
	for rows < maxRows && size < maxBytes {
		var line []byte
		line, o.long, err = readLine(o.br, cfg.MaxRecordBytes, o.line, o.long)
		if err != nil && err != io.EOF {
			return nil, textErr(ctx, err, cli, ob.Key, "")
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if err := appendJSON(b, index, line); err != nil {
				return nil, errclass.Permanentf("%s, line %d: %w", cli.url(ob.Key), o.line, err)
			}
			rows++
			size += int64(len(line))
		}
		o.off += int64(len(line))
		if len(line) > 0 && line[len(line)-1] == '\n' {
			o.line++
		}
		cp.Off, cp.Line = o.off, o.line
		if err == io.EOF {
			cp.Done = true
			break
		}
	}
	if !cp.Done {
		if _, err := o.br.Peek(1); err == io.EOF {
			cp.Done = true
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
		case *array.Int64Builder:
			n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
			if err != nil {
				return fmt.Errorf("field %q: %s is not an integer of 64 bits (the sampled lines made the column int64; a column with fractions among its sampled values is float64)", k, configkey.Quote(string(raw)))
			}
			fb.Append(n)
		case *array.Float64Builder:
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil {
				return fmt.Errorf("field %q: %s is not a number (the first line made it one)", k, raw)
			}
			fb.Append(f)
		case *array.Decimal128Builder:
			dt := fb.Type().(*arrow.Decimal128Type)
			var text string
			if raw[0] == '"' {
				if err := json.Unmarshal(raw, &text); err != nil {
					return fmt.Errorf("field %q: %s is not a decimal", k, raw)
				}
			} else {
				text = string(bytes.TrimSpace(raw))
			}
			d, err := coltype.ParseDecimal(text, dt.Precision, dt.Scale)
			if err != nil {
				return fmt.Errorf("field %q: %w (the sampled lines made it %s; set infer_decimals: false for float64)", k, err, coltype.Decimal(dt.Precision, dt.Scale))
			}
			fb.Append(d)
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
