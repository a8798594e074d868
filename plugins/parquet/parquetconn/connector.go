// Package parquetconn is the parquet connector: a source reading Parquet
// files (one file, a directory or a glob, as one stream) with column
// projection, row group by row group, with (file, row group, row)
// checkpoints; and a destination writing one Parquet file per committed
// write through staged, idempotent, atomic commits.
//
// Configuration keys, type mapping, checkpoints and the file layout of
// replace and append writes are described in docs/connectors/parquet.md.
package parquetconn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// Defaults.
const (
	// defaultMaxRows and defaultMaxBytes cap a page when the host asks for
	// no limit: 65536 rows or about 8 MiB of Arrow data.
	defaultMaxRows  = 65536
	defaultMaxBytes = 8 << 20
	// defaultRowGroupSize is the rows per row group written, the common
	// choice of Parquet writers (Spark, pyarrow use about 1M rows).
	defaultRowGroupSize = 1_000_000
	// defaultRowGroupBytes closes a row group early when its Arrow data
	// passes 128 MiB, so a wide table cannot make one row group, which the
	// writer keeps in memory (encoded) until it is complete, unbounded.
	defaultRowGroupBytes = 128 << 20
)

type config struct {
	Path         string
	Columns      []string
	Compression  compress.Compression
	CompName     string
	RowGroupSize int64
	// RowGroupBytes closes a row group once about this many bytes of
	// Arrow data went into it: defaultRowGroupBytes (not a configuration
	// key; tests set it).
	RowGroupBytes int64
}

var allowedKeys = []string{"path", "columns", "compression", "row_group_size", "partition_cols"}

var compressions = map[string]compress.Compression{
	"zstd":         compress.Codecs.Zstd,
	"snappy":       compress.Codecs.Snappy,
	"gzip":         compress.Codecs.Gzip,
	"brotli":       compress.Codecs.Brotli,
	"lz4":          compress.Codecs.Lz4Raw,
	"lz4_raw":      compress.Codecs.Lz4Raw,
	"none":         compress.Codecs.Uncompressed,
	"uncompressed": compress.Codecs.Uncompressed,
}

const compressionNames = "zstd, snappy, gzip, brotli, lz4 (lz4_raw), none (uncompressed)"

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "parquet connector",
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"type": "string", "description": "Source: a .parquet file, a directory of them or a glob. Destination: a directory (the flow's target names the file) or a single .parquet file."},
    "columns": {"type": "array", "items": {"type": "string"}, "description": "Source: read only these columns (kept in the file's order). Default: all."},
    "compression": {"type": "string", "default": "zstd", "enum": ["zstd", "snappy", "gzip", "brotli", "lz4", "lz4_raw", "none", "uncompressed"]},
    "row_group_size": {"type": "integer", "minimum": 1, "default": 1000000, "description": "Destination: rows per row group (a row group also closes at 128 MiB of data)."},
    "partition_cols": {"type": "array", "items": {"type": "string"}, "maxItems": 0, "description": "Hive-style partitioning: not supported yet; a non-empty list is refused."}
  }
}`

func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	cfg := config{Compression: compress.Codecs.Zstd, CompName: "zstd", RowGroupSize: defaultRowGroupSize, RowGroupBytes: defaultRowGroupBytes}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return cfg, []sdk.FieldError{{Message: "the parquet configuration must be a JSON object with at least \"path\""}}
	}
	var errs []sdk.FieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: key, Message: fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fields[k]
		switch k {
		case "path":
			if !decode(v, &cfg.Path) || cfg.Path == "" {
				bad(k, "must be a non-empty string (a file, directory or glob)")
			}
		case "columns":
			if !decode(v, &cfg.Columns) {
				bad(k, "must be a list of column names, got %s", v)
			}
			seen := map[string]bool{}
			for _, c := range cfg.Columns {
				if c == "" || seen[c] {
					bad(k, "column names must be non-empty and unique, got %q", c)
				}
				seen[c] = true
			}
		case "compression":
			var s string
			if !decode(v, &s) {
				bad(k, "must be a string, got %s", v)
				break
			}
			c, ok := compressions[strings.ToLower(s)]
			if !ok {
				bad(k, "unsupported compression %q; allowed: %s", s, compressionNames)
				break
			}
			cfg.Compression, cfg.CompName = c, strings.ToLower(s)
		case "row_group_size":
			var n int64
			if !decode(v, &n) || n < 1 {
				bad(k, "must be a positive integer (rows), got %s", v)
			} else {
				cfg.RowGroupSize = n
			}
		case "partition_cols":
			var cols []string
			if !decode(v, &cols) {
				bad(k, "must be a list of column names, got %s", v)
			} else if len(cols) > 0 {
				bad(k, "hive-style partitioning is not supported by this version of the parquet connector; remove partition_cols (got %s)", strings.Join(cols, ", "))
			}
		default:
			bad(k, "%s", configkey.Unknown(k, allowedKeys))
		}
	}
	if _, ok := fields["path"]; !ok {
		bad("path", "is required: a file, directory or glob for a source, a directory for a destination")
	}
	return cfg, errs
}

func decode(v json.RawMessage, dst any) bool {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return false
	}
	return json.Unmarshal(v, dst) == nil
}

// Connector is the parquet source and destination. Its methods may be
// called from several goroutines; a mutex guards its state.
type Connector struct {
	logger hclog.Logger

	mu         sync.Mutex
	cfg        config
	configured bool
	writes     map[string]*writeState
}

// New returns an unconfigured parquet connector logging to logger.
func New(logger hclog.Logger) *Connector {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Connector{logger: logger, writes: map[string]*writeState{}}
}

var (
	_ sdk.Source      = (*Connector)(nil)
	_ sdk.Destination = (*Connector)(nil)
)

// Spec describes the parquet connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "parquet",
		Version:         "0.1.0",
		ConfigSchema:    json.RawMessage(configSchema),
		ResilienceClass: sdk.ResilienceFile,
		Discover:        true,
		WriteModes:      []sdk.WriteMode{sdk.ModeReplace, sdk.ModeAppend},
		LocationKeys:    []string{"path"},
		LocalDiscover:   true,
	}
}

// Configure validates and applies the configuration; problems come back
// as field errors and the previous configuration stays.
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, ferrs := parseConfig(raw)
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg, c.configured = cfg, true
	return nil, nil
}

func (c *Connector) config() (config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return config{}, errclass.Permanentf("parquet connector is not configured")
	}
	return c.cfg, nil
}

// Check verifies the path with filestage.CheckPath (usable as a source or a
// destination); when it names existing files, the first one must also be
// a Parquet file.
func (c *Connector) Check(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if err := filestage.CheckPath(cfg.Path, ".parquet"); err != nil {
		return err
	}
	files, err := filestage.Expand(cfg.Path, ".parquet")
	if err != nil {
		return nil // a destination that does not exist yet
	}
	pf, err := openParquet(files[0])
	if err != nil {
		return err
	}
	pf.close()
	return nil
}
