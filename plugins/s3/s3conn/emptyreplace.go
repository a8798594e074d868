package s3conn

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// A replace without a schema (an empty stream whose columns the source
// does not know) keeps the dataset's columns: BeginWrite takes them from
// the dataset (datasetSchema) and CommitWrite writes one data object of
// that schema and no rows (emptyObject), named by the new manifest like
// any batch's object.

// datasetSchema returns the schema of the dataset target for a replace
// without a schema: the one its _SUCCESS manifest records, else that of
// its first data object (the manifest's, or without a manifest the first
// object directly under the dataset's prefix): a Parquet footer, a csv
// header (string columns; none without csv_header), a jsonl first line
// (none when the object holds no line). A dataset of no data object has no
// columns (an empty schema). A dataset that does not exist (no manifest,
// no data object) is a PERMANENT error.
func datasetSchema(ctx context.Context, cfg config, cli *client, target, format string) (*arrow.Schema, error) {
	dir := join(cfg.Prefix, target) + "/"
	objs, err := cli.list(ctx, dir)
	if err != nil {
		return nil, err
	}
	var cur *manifest
	var data []object
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, dir)
		switch {
		case rel == manifestName:
			if cur, err = readManifest(ctx, cli, o.Key); err != nil {
				return nil, err
			}
		case !strings.Contains(rel, "/") && !hidden(rel) && sourceFormatOf(rel) != "":
			data = append(data, o)
		}
	}
	if cur == nil && len(data) == 0 {
		return nil, errclass.Permanentf("cannot replace %s without rows: the target does not exist and no schema is known (the stream was empty and its source names no columns); the target is not created",
			cli.url(dir))
	}
	if cur != nil {
		if len(cur.Schema) > 0 {
			s, err := arrowipc.DecodeSchema(cur.Schema)
			if err != nil {
				return nil, errclass.Permanentf("%s: the recorded schema: %v", cli.url(dir+manifestName), err)
			}
			return s, nil
		}
		named := map[string]bool{}
		for _, f := range cur.Files {
			named[dir+f] = true
		}
		kept := data[:0]
		for _, o := range data {
			if named[o.Key] {
				kept = append(kept, o)
			}
		}
		data = kept
	}
	if len(data) == 0 {
		return arrow.NewSchema(nil, nil), nil
	}
	o := data[0]
	f := sourceFormatOf(o.Key)
	if f == "" {
		f = format
		if cur != nil && cur.Format != "" {
			f = cur.Format
		}
	}
	switch f {
	case "parquet":
		pf, err := openParquet(ctx, cli, o)
		if err != nil {
			return nil, err
		}
		defer pf.rdr.Close()
		s, err := pf.fr.Schema()
		if err != nil {
			return nil, errclass.Permanentf("%s: %v", cli.url(o.Key), err)
		}
		return withoutFieldIDs(s), nil
	case "csv":
		if !cfg.Header {
			return arrow.NewSchema(nil, nil), nil
		}
		r, err := openText(ctx, cfg, cli, o, 0, 1)
		if err != nil {
			return nil, err
		}
		defer r.close()
		header, err := newCSVReader(r.reader(), cfg, 1).Read()
		if err == io.EOF {
			return arrow.NewSchema(nil, nil), nil
		}
		if err != nil {
			return nil, textErr(ctx, err, cli, o.Key, "")
		}
		fields := make([]arrow.Field, len(header))
		for i, h := range header {
			fields[i] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true}
		}
		return arrow.NewSchema(fields, nil), nil
	default:
		r, err := openText(ctx, cfg, cli, o, 0, 1)
		if err != nil {
			return nil, err
		}
		defer r.close()
		br := bufio.NewReader(r.reader())
		var long []byte
		for n := int64(1); ; n++ {
			var line []byte
			line, long, err = readLine(br, cfg.MaxRecordBytes, n, long)
			if len(bytes.TrimSpace(line)) > 0 {
				return jsonSchema(line, cli.url(o.Key), cfg.InferDecimals)
			}
			if err == io.EOF {
				return arrow.NewSchema(nil, nil), nil
			}
			if err != nil {
				return nil, textErr(ctx, err, cli, o.Key, "")
			}
		}
	}
}

// withoutFieldIDs drops the "PARQUET:field_id": "-1" metadata pqarrow puts
// on fields that have no field id, so that a schema read from a footer
// equals the schema that was written.
func withoutFieldIDs(s *arrow.Schema) *arrow.Schema {
	fields := s.Fields()
	for i, f := range fields {
		if id, ok := f.Metadata.GetValue("PARQUET:field_id"); ok && id == "-1" && f.Metadata.Len() == 1 {
			fields[i].Metadata = arrow.Metadata{}
		}
	}
	md := s.Metadata()
	return arrow.NewSchema(fields, &md)
}

// emptyObject encodes a data object of schema and no rows in format: a
// Parquet file with the schema, a csv header (with csv_header), an empty
// jsonl object.
func emptyObject(cfg config, format string, schema *arrow.Schema) ([]byte, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	var buf bytes.Buffer
	if err := encodeTo(&buf, cfg, format, schema, rec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
