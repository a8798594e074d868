// Command testplugin is the connector the conformance kit tests itself
// with: a generated source and a destination that keeps each target as an
// Arrow IPC file in a directory, staging batches as files. Its "broken"
// config key makes it break one rule of the protocol on purpose, so the
// kit's own tests can show that the kit notices:
//
//   - "dup_seq": WriteBatch stores a replayed seq again.
//   - "visible_before_commit": WriteBatch writes straight into the target.
//   - "unseen_checkpoint": ReadPage reads from the start when given a
//     checkpoint this process did not hand out.
//   - "abort_keeps": AbortWrite commits instead of dropping.
//   - "no_schema_keeps_rows": a replace without a schema changes nothing
//     and is accepted for a target that does not exist.
//   - "check_write_removes": CheckWrite deletes the target.
//   - "check_write_unstable": CheckWrite names another target each call.
//
// Unbroken, a replace without a schema (an empty stream) empties the
// target and keeps its schema, and fails PERMANENT when the target does
// not exist.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func main() {
	sdk.Serve(func(hclog.Logger) sdk.Connector { return &conn{handed: map[string]bool{}} })
}

// config is the connector's configuration.
type config struct {
	// Rows is how many rows the "numbers" stream has.
	Rows int64 `json:"rows"`
	// PayloadBytes, when > 0, adds a "payload" string column of that many
	// bytes per row.
	PayloadBytes int `json:"payload_bytes"`
	// Dir is where targets and staging live.
	Dir string `json:"dir"`
	// Broken names a rule to break on purpose.
	Broken string `json:"broken"`
}

var brokenModes = []string{"", "dup_seq", "visible_before_commit", "unseen_checkpoint", "abort_keeps", "no_schema_keeps_rows",
	"check_write_removes", "check_write_unstable", "schema_refuses"}

// configSchema lists every broken mode but schema_refuses, which Configure
// accepts: a published schema refusing a config Configure accepts.
const configSchema = `{"type":"object","properties":{"rows":{"type":"integer"},"payload_bytes":{"type":"integer"},"dir":{"type":"string"},` +
	`"broken":{"enum":["","dup_seq","visible_before_commit","unseen_checkpoint","abort_keeps","no_schema_keeps_rows","check_write_removes","check_write_unstable"]}},"additionalProperties":false}`

type conn struct {
	mu     sync.Mutex
	cfg    *config
	handed map[string]bool // checkpoints handed out by this process
	checks int             // CheckWrite calls, for check_write_unstable
}

func (c *conn) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "testplugin",
		Version:         "0.0.0",
		ConfigSchema:    json.RawMessage(configSchema),
		ResilienceClass: sdk.ResilienceFile,
		Discover:        true,
	}
}

func (c *conn) Configure(_ context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return []sdk.FieldError{{Message: "the config is not a JSON object: " + err.Error()}}, nil
	}
	var ferrs []sdk.FieldError
	for k := range keys {
		switch k {
		case "rows", "payload_bytes", "dir", "broken":
		default:
			ferrs = append(ferrs, sdk.FieldError{Field: k, Message: "unknown key"})
		}
	}
	var cfg config
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&cfg); err != nil {
		ferrs = append(ferrs, sdk.FieldError{Message: err.Error()})
	}
	if cfg.Rows < 0 {
		ferrs = append(ferrs, sdk.FieldError{Field: "rows", Message: "must be 0 or more"})
	}
	if cfg.Dir != "" && !filepath.IsAbs(cfg.Dir) {
		ferrs = append(ferrs, sdk.FieldError{Field: "dir", Message: "must be an absolute path"})
	}
	if !slices.Contains(brokenModes, cfg.Broken) {
		ferrs = append(ferrs, sdk.FieldError{Field: "broken", Message: "unknown mode"})
	}
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = &cfg
	return nil, nil
}

func (c *conn) config() (*config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == nil {
		return nil, errclass.Permanentf("not configured")
	}
	return c.cfg, nil
}

func (c *conn) Check(context.Context) error {
	_, err := c.config()
	return err
}

// ---- source ----

func (c *conn) schema(cfg *config) *arrow.Schema {
	fields := []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	if cfg.PayloadBytes > 0 {
		fields = append(fields, arrow.Field{Name: "payload", Type: arrow.BinaryTypes.String})
	}
	return arrow.NewSchema(fields, nil)
}

func (c *conn) Discover(context.Context) ([]sdk.Stream, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	return []sdk.Stream{{Name: "numbers", Schema: c.schema(cfg), PrimaryKey: []string{"id"}}}, nil
}

func (c *conn) ReadPage(_ context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	cfg, err := c.config()
	if err != nil {
		return sdk.Page{}, err
	}
	if req.Stream != "numbers" {
		return sdk.Page{}, errclass.Permanentf("no stream %q", req.Stream)
	}
	var offset int64
	if len(req.Checkpoint) > 0 {
		c.mu.Lock()
		seen := c.handed[string(req.Checkpoint)]
		c.mu.Unlock()
		if cfg.Broken != "unseen_checkpoint" || seen {
			offset, err = strconv.ParseInt(string(req.Checkpoint), 10, 64)
			if err != nil {
				return sdk.Page{}, errclass.Permanentf("bad checkpoint %q", req.Checkpoint)
			}
		}
	}
	n := req.MaxRows
	if n <= 0 {
		n = 100
	}
	if req.MaxBytes > 0 {
		perRow := int64(cfg.PayloadBytes + 32)
		n = min(n, max(1, req.MaxBytes/perRow))
	}
	n = max(0, min(n, cfg.Rows-offset))
	b := array.NewRecordBuilder(memory.DefaultAllocator, c.schema(cfg))
	defer b.Release()
	for id := offset; id < offset+n; id++ {
		b.Field(0).(*array.Int64Builder).Append(id)
		if id%3 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d", id))
		}
		if cfg.PayloadBytes > 0 {
			b.Field(2).(*array.StringBuilder).Append(strings.Repeat("p", cfg.PayloadBytes))
		}
	}
	next := strconv.FormatInt(offset+n, 10)
	c.mu.Lock()
	c.handed[next] = true
	c.mu.Unlock()
	return sdk.Page{Records: b.NewRecordBatch(), Checkpoint: []byte(next), Done: offset+n >= cfg.Rows}, nil
}

// ---- destination ----

func (c *conn) dirs(writeID string) (*config, string, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, "", err
	}
	if cfg.Dir == "" {
		return nil, "", errclass.Permanentf("dir is not set")
	}
	return cfg, filepath.Join(cfg.Dir, ".staging", writeID), nil
}

// writeMeta is what BeginWrite stores for CommitWrite.
type writeMeta struct {
	Target string        `json:"target"`
	Mode   sdk.WriteMode `json:"mode"`
	// NoChange is a write that leaves the target as it is (broken
	// no_schema_keeps_rows).
	NoChange bool `json:"no_change,omitempty"`
}

// CheckWrite accepts replace and append (and no mode: replace) and
// resolves the target to its file.
func (c *conn) CheckWrite(_ context.Context, req sdk.WriteRequest) (string, error) {
	cfg, _, err := c.dirs("")
	if err != nil {
		return "", err
	}
	switch req.Mode {
	case "", sdk.ModeReplace, sdk.ModeAppend:
	default:
		return "", errclass.Permanentf("mode %q: use replace or append", req.Mode)
	}
	target := filepath.Join(cfg.Dir, req.Target+".arrow")
	resolved := "file:" + target
	switch cfg.Broken {
	case "check_write_removes":
		os.Remove(target)
	case "check_write_unstable":
		c.mu.Lock()
		c.checks++
		resolved += "#" + strconv.Itoa(c.checks)
		c.mu.Unlock()
	}
	return resolved, nil
}

func (c *conn) BeginWrite(_ context.Context, req sdk.WriteRequest) error {
	cfg, staging, err := c.dirs(req.WriteID)
	if err != nil {
		return err
	}
	noChange := false
	if req.Schema == nil && req.Mode == sdk.ModeReplace {
		if cfg.Broken == "no_schema_keeps_rows" {
			noChange = true
		} else if _, err := os.Stat(filepath.Join(cfg.Dir, req.Target+".arrow")); err != nil {
			return errclass.Permanentf("cannot replace %q without rows: the target does not exist and no schema is known", req.Target)
		}
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return errclass.Permanentf("%w", err)
	}
	meta, _ := json.Marshal(writeMeta{Target: req.Target, Mode: req.Mode, NoChange: noChange})
	return atomicWrite(filepath.Join(staging, "meta.json"), meta)
}

func (c *conn) WriteBatch(_ context.Context, writeID string, seq int64, rec arrow.RecordBatch) error {
	cfg, staging, err := c.dirs(writeID)
	if err != nil {
		return err
	}
	name := filepath.Join(staging, fmt.Sprintf("%020d.arrow", seq))
	if _, err := os.Stat(name); err == nil {
		if cfg.Broken != "dup_seq" {
			return nil
		}
		name = filepath.Join(staging, fmt.Sprintf("%020d-again-%d.arrow", seq, os.Getpid()))
	}
	data, err := encode([]arrow.RecordBatch{rec}, rec.Schema())
	if err != nil {
		return errclass.Permanentf("%w", err)
	}
	if err := atomicWrite(name, data); err != nil {
		return err
	}
	if cfg.Broken == "visible_before_commit" {
		meta, err := readMeta(staging)
		if err != nil {
			return err
		}
		return appendTarget(filepath.Join(cfg.Dir, meta.Target+".arrow"), []string{name}, sdk.ModeAppend)
	}
	return nil
}

func (c *conn) CommitWrite(_ context.Context, writeID string, _ []byte) error {
	cfg, staging, err := c.dirs(writeID)
	if err != nil {
		return err
	}
	marker := filepath.Join(cfg.Dir, ".committed", writeID)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	meta, err := readMeta(staging)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(staging, "*.arrow"))
	if err != nil {
		return errclass.Permanentf("%w", err)
	}
	sort.Strings(files)
	mode := meta.Mode
	if mode == "" {
		mode = sdk.ModeReplace
	}
	if cfg.Broken == "visible_before_commit" || meta.NoChange {
		mode = "" // already appended, or nothing to do
		files = nil
	}
	if mode != "" {
		if err := appendTarget(filepath.Join(cfg.Dir, meta.Target+".arrow"), files, mode); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
		return errclass.Permanentf("%w", err)
	}
	if err := atomicWrite(marker, nil); err != nil {
		return err
	}
	return errclass.Wrap(errclass.Permanent, os.RemoveAll(staging))
}

func (c *conn) AbortWrite(ctx context.Context, writeID string) error {
	cfg, staging, err := c.dirs(writeID)
	if err != nil {
		return err
	}
	if cfg.Broken == "abort_keeps" {
		if _, err := os.Stat(staging); err == nil {
			return c.CommitWrite(ctx, writeID, nil)
		}
		return nil
	}
	return errclass.Wrap(errclass.Permanent, os.RemoveAll(staging))
}

func readMeta(staging string) (writeMeta, error) {
	var meta writeMeta
	data, err := os.ReadFile(filepath.Join(staging, "meta.json"))
	if err != nil {
		return meta, errclass.Permanentf("unknown write: %w", err)
	}
	return meta, json.Unmarshal(data, &meta)
}

// appendTarget rewrites target with (its old batches, unless replace) plus
// the batches of files. Without files, the target keeps its schema.
func appendTarget(target string, files []string, mode sdk.WriteMode) error {
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var schema *arrow.Schema
	paths := files
	if mode != sdk.ModeReplace {
		if _, err := os.Stat(target); err == nil {
			paths = append([]string{target}, files...)
		}
	}
	for _, f := range paths {
		rs, s, err := decodeFile(f)
		if err != nil {
			return errclass.Permanentf("%s: %w", f, err)
		}
		recs = append(recs, rs...)
		if schema == nil {
			schema = s
		}
	}
	if schema == nil {
		if _, old, err := decodeFile(target); err == nil {
			schema = old
		} else {
			schema = arrow.NewSchema(nil, nil)
		}
	}
	data, err := encode(recs, schema)
	if err != nil {
		return errclass.Permanentf("%w", err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return errclass.Permanentf("%w", err)
	}
	return atomicWrite(target, data)
}

func encode(recs []arrow.RecordBatch, schema *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeFile(path string) ([]arrow.RecordBatch, *arrow.Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	defer r.Release()
	var out []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		out = append(out, rec)
	}
	return out, r.Schema(), r.Err()
}

func atomicWrite(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return errclass.Permanentf("%w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errclass.Permanentf("%w", err)
	}
	return nil
}
