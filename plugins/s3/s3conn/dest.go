package s3conn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// The visibility convention (docs/connectors/s3.md): a dataset lives under
// <path_prefix>/<target>/; its current objects are exactly those its
// _SUCCESS manifest names, and the manifest is written last.
const (
	manifestName = "_SUCCESS"
	stagingDir   = ".sqlflow-staging"
	writeInfoObj = "write.json"
)

// manifest is the _SUCCESS object of a dataset.
type manifest struct {
	WriteID     string   `json:"write_id"`
	Format      string   `json:"format"`
	CommittedAt string   `json:"committed_at"`
	Files       []string `json:"files"`
}

// writeInfo is a staged write, stored as write.json in its staging prefix so
// that a fresh plugin process can continue or commit it.
type writeInfo struct {
	Flow      string `json:"flow"`
	WriteID   string `json:"write_id"`
	Target    string `json:"target"`
	Mode      string `json:"mode"`
	Format    string `json:"format"`
	Schema    []byte `json:"schema"`
	Committed bool   `json:"committed,omitempty"`

	staging string
	schema  *arrow.Schema
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// safe makes a host-chosen name usable as one key segment.
func safe(s string) string {
	return strings.NewReplacer("/", "_", "\\", "_").Replace(s)
}

func readManifest(ctx context.Context, cli *client, key string) (*manifest, error) {
	b, err := cli.readAll(ctx, key)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errclass.Permanentf("%s is not a sqlflow manifest: %v", cli.url(key), err)
	}
	return &m, nil
}

// destFormat is the format written: file_format, else the target's
// extension, else parquet.
func destFormat(cfg config, target string) string {
	if cfg.Format != "auto" {
		return cfg.Format
	}
	if f := formatOf(target); f != "" {
		return f
	}
	return "parquet"
}

// BeginWrite records the write in its staging prefix and deletes every
// other staging prefix of the same flow (writes a killed host left).
func (c *Connector) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	target := strings.Trim(req.Target, "/")
	if target == "" || strings.Contains("/"+target+"/", "/../") || hidden(target) {
		return errclass.Permanentf("target %q is not a usable dataset name under %s", req.Target, cli.url(cfg.Prefix))
	}
	if req.Mode != sdk.ModeReplace && req.Mode != sdk.ModeAppend {
		return errclass.Permanentf("write mode %q is not supported by the s3 connector: use replace or append", req.Mode)
	}
	format := destFormat(cfg, target)
	if format == "parquet" {
		if _, err := pqarrow.ToParquet(req.Schema, nil, pqarrow.DefaultWriterProps()); err != nil {
			return errclass.Permanentf("the schema cannot be written as Parquet: %v", err)
		}
	}
	schema, err := arrowipc.EncodeSchema(req.Schema)
	if err != nil {
		return errclass.Permanentf("encode the schema: %v", err)
	}
	flowDir := join(cfg.Prefix, stagingDir, safe(req.Flow)) + "/"
	w := &writeInfo{
		Flow: req.Flow, WriteID: req.WriteID, Target: target, Mode: string(req.Mode), Format: format, Schema: schema,
		staging: flowDir + safe(req.WriteID) + "/", schema: req.Schema,
	}
	old, err := cli.list(ctx, flowDir)
	if err != nil {
		return err
	}
	var stale []string
	for _, o := range old {
		if !strings.HasPrefix(o.Key, w.staging) {
			stale = append(stale, o.Key)
		}
	}
	if len(stale) > 0 {
		c.logger.Info("deleting staging objects of earlier writes of the flow", "flow", req.Flow, "objects", len(stale))
		if err := cli.deleteKeys(ctx, stale); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(w)
	if err := cli.put(ctx, w.staging+writeInfoObj, b); err != nil {
		return err
	}
	c.mu.Lock()
	c.writes[req.WriteID] = w
	c.mu.Unlock()
	return nil
}

// findWrite returns the staged write writeID, from memory or, in a fresh
// process, from its write.json; nil when there is none.
func (c *Connector) findWrite(ctx context.Context, cfg config, cli *client, writeID string) (*writeInfo, error) {
	c.mu.Lock()
	w := c.writes[writeID]
	c.mu.Unlock()
	if w != nil {
		return w, nil
	}
	objs, err := cli.list(ctx, join(cfg.Prefix, stagingDir)+"/")
	if err != nil {
		return nil, err
	}
	suffix := "/" + safe(writeID) + "/" + writeInfoObj
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, suffix) {
			continue
		}
		b, err := cli.readAll(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		w = &writeInfo{}
		if err := json.Unmarshal(b, w); err != nil {
			return nil, errclass.Permanentf("%s is not a sqlflow write record: %v", cli.url(o.Key), err)
		}
		if w.schema, err = arrowipc.DecodeSchema(w.Schema); err != nil {
			return nil, errclass.Permanentf("%s: %v", cli.url(o.Key), err)
		}
		w.staging = strings.TrimSuffix(o.Key, writeInfoObj)
		c.mu.Lock()
		c.writes[writeID] = w
		c.mu.Unlock()
		return w, nil
	}
	return nil, nil
}

func partName(seq int64, format string) string {
	return fmt.Sprintf("part-%020d%s", seq, extOf(format))
}

// WriteBatch stores the batch as one object, part-<seq>.<ext>, in the
// staging prefix; a retried seq overwrites itself with the same bytes.
func (c *Connector) WriteBatch(ctx context.Context, writeID string, seq int64, rec arrow.RecordBatch) error {
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	w, err := c.findWrite(ctx, cfg, cli, writeID)
	if err != nil {
		return err
	}
	if w == nil || w.Committed {
		return errclass.Permanentf("write %q is not open: BeginWrite first", writeID)
	}
	data, err := encode(cfg, w.Format, w.schema, rec)
	if err != nil {
		return err
	}
	return cli.put(ctx, w.staging+partName(seq, w.Format), data)
}

// encode writes rec as a whole csv, jsonl or parquet object.
func encode(cfg config, format string, schema *arrow.Schema, rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case "csv":
		w := arrowcsv.NewWriter(&buf, schema, arrowcsv.WithComma(cfg.Delimiter), arrowcsv.WithHeader(cfg.Header), arrowcsv.WithNullWriter(""))
		if err := w.Write(rec); err != nil {
			return nil, errclass.Permanentf("write csv: %v", err)
		}
		if err := w.Flush(); err != nil {
			return nil, errclass.Permanentf("write csv: %v", err)
		}
	case "jsonl":
		if err := array.RecordToJSON(rec, &buf); err != nil {
			return nil, errclass.Permanentf("write jsonl: %v", err)
		}
	default:
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(1<<20))
		fw, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			return nil, errclass.Permanentf("write parquet: %v", err)
		}
		if err := fw.Write(rec); err != nil {
			return nil, errclass.Permanentf("write parquet: %v", err)
		}
		if err := fw.Close(); err != nil {
			return nil, errclass.Permanentf("write parquet: %v", err)
		}
	}
	return buf.Bytes(), nil
}

// CommitWrite copies the staged parts into <prefix>/<target>/, writes the
// dataset's _SUCCESS manifest (the moment the write becomes visible), then
// deletes the objects no manifest names (replace: the old dataset) and the
// staged parts. Every step is idempotent, so a commit interrupted anywhere
// can be repeated, by this process or a fresh one.
func (c *Connector) CommitWrite(ctx context.Context, writeID string, _ []byte) error {
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	w, err := c.findWrite(ctx, cfg, cli, writeID)
	if err != nil {
		return err
	}
	if w == nil {
		return errclass.Permanentf("write %q is unknown: nothing was staged for it under %s", writeID, cli.url(join(cfg.Prefix, stagingDir)))
	}
	if w.Committed {
		return nil
	}
	dir := join(cfg.Prefix, w.Target) + "/"
	objs, err := cli.list(ctx, dir)
	if err != nil {
		return err
	}
	var cur *manifest
	for _, o := range objs {
		if o.Key == dir+manifestName {
			if cur, err = readManifest(ctx, cli, o.Key); err != nil {
				return err
			}
		}
	}
	if cur == nil || cur.WriteID != writeID {
		parts, err := cli.list(ctx, w.staging+"part-")
		if err != nil {
			return err
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i].Key < parts[j].Key })
		next := &manifest{WriteID: writeID, Format: w.Format, CommittedAt: time.Now().UTC().Format(time.RFC3339Nano)}
		if w.Mode == string(sdk.ModeAppend) && cur != nil {
			next.Files = append(next.Files, cur.Files...)
		}
		for _, p := range parts {
			name := "part-" + safe(writeID) + "-" + strings.TrimPrefix(path.Base(p.Key), "part-")
			if err := cli.copy(ctx, p.Key, dir+name); err != nil {
				return err
			}
			next.Files = append(next.Files, name)
		}
		b, _ := json.MarshalIndent(next, "", "  ")
		if err := cli.put(ctx, dir+manifestName, b); err != nil {
			return err
		}
		cur = next
	}
	// The new dataset is visible: delete what its manifest does not name.
	keep := map[string]bool{dir + manifestName: true}
	for _, f := range cur.Files {
		keep[dir+f] = true
	}
	var drop []string
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, dir)
		if !keep[o.Key] && !strings.Contains(rel, "/") {
			drop = append(drop, o.Key)
		}
	}
	if err := cli.deleteKeys(ctx, drop); err != nil {
		return err
	}
	w.Committed = true
	b, _ := json.Marshal(w)
	if err := cli.put(ctx, w.staging+writeInfoObj, b); err != nil {
		return err
	}
	return cli.deletePrefix(ctx, w.staging+"part-")
}

// AbortWrite deletes the write's staging prefix; the dataset is untouched.
func (c *Connector) AbortWrite(ctx context.Context, writeID string) error {
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	w, err := c.findWrite(ctx, cfg, cli, writeID)
	if err != nil || w == nil {
		return err
	}
	if w.Committed {
		return nil
	}
	if err := cli.deletePrefix(ctx, w.staging); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.writes, writeID)
	c.mu.Unlock()
	return nil
}
