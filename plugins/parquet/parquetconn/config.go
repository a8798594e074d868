package parquetconn

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/sqlflow/sqlflow-host/sdk"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
)

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

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	Path        string      `config:"path,required,nonempty" msg:"must be a non-empty string (a file, directory or glob)" doc:"a file, directory or glob for a source, a directory for a destination"`
	Columns     []string    `config:"columns" msg:"must be a list of column names" doc:"Source: read only these columns (kept in the file's order). Default: all."`
	Compression compression `config:"compression" default:"zstd"`
	// row_group_size's default, 1M rows, is the common choice of Parquet
	// writers (Spark and pyarrow use about that).
	RowGroupSize  int64    `config:"row_group_size" default:"1000000" min:"1" msg:"must be a positive integer (rows)" doc:"Destination: rows per row group (a row group also closes at 128 MiB of data)."`
	PartitionCols []string `config:"partition_cols" msg:"must be a list of column names" doc:"Hive-style partitioning: not supported yet; a non-empty list is refused."`
}

// ValidateConfig checks the column lists.
func (k *keys) ValidateConfig() []sdk.FieldError {
	var errs []sdk.FieldError
	seen := map[string]bool{}
	for _, c := range k.Columns {
		if c == "" || seen[c] {
			errs = append(errs, sdk.FieldError{Field: "columns", Message: fmt.Sprintf("column names must be non-empty and unique, got %q", c)})
		}
		seen[c] = true
	}
	if len(k.PartitionCols) > 0 {
		errs = append(errs, sdk.FieldError{Field: "partition_cols", Message: fmt.Sprintf("hive-style partitioning is not supported by this version of the parquet connector; remove partition_cols (got %s)", strings.Join(k.PartitionCols, ", "))})
	}
	return errs
}

// compression is a codec's name, in any case.
type compression string

// UnmarshalConfig reads a codec's name.
func (c *compression) UnmarshalConfig(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return fmt.Errorf("must be a string, got %s", raw)
	}
	if _, ok := compressions[strings.ToLower(s)]; !ok {
		return fmt.Errorf("unsupported compression %q; allowed: %s", s, compressionNames)
	}
	*c = compression(strings.ToLower(s))
	return nil
}

// ConfigSchema describes the codec.
func (compression) ConfigSchema() map[string]any {
	return map[string]any{"type": "string", "enum": []string{"zstd", "snappy", "gzip", "brotli", "lz4", "lz4_raw", "none", "uncompressed"}}
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
var configSchema = sdkconfig.Schema(keys{})

// parseConfig validates raw. Problems come back as field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	var k keys
	if errs := (sdkconfig.Decoder{Name: "parquet"}).Decode(raw, &k); len(errs) > 0 {
		return config{}, errs
	}
	return config{Path: k.Path, Columns: k.Columns, Compression: compressions[string(k.Compression)], CompName: string(k.Compression),
		RowGroupSize: k.RowGroupSize, RowGroupBytes: defaultRowGroupBytes}, nil
}
