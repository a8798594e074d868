package s3conn

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// config is the validated configuration.
type config struct {
	Bucket          string
	Key             string // one object (source only)
	Prefix          string // path_prefix, without a leading slash
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	EndpointURL     string
	PathStyle       bool
	Format          string // csv, jsonl, parquet, auto
	Delimiter       rune
	Header          bool
	MaxFiles        int
	// Source keys of source.go: compression (auto, gzip, none), csv
	// type inference, explicit csv column types and the sample size.
	Compression string
	InferTypes  bool
	Types       map[string]coltype.Type
	SampleRows  int
	// InferDecimals types csv columns of plain decimals with one number
	// of fraction digits as decimal (infer_decimals; default true).
	InferDecimals bool
	// NullValues are the unquoted csv fields read as null
	// (csv_null_values; default: the empty field).
	NullValues []string
	// Parse holds sub_microsecond (truncate csv timestamps or refuse them).
	Parse coltype.ParseOptions
	// MaxRecordBytes caps one csv record or jsonl line
	// (max_record_bytes); a source fails on a longer one.
	MaxRecordBytes int64
}

var allowedKeys = []string{
	"bucket", "uri", "key", "path_prefix", "region", "access_key_id", "secret_access_key",
	"session_token", "endpoint_url", "path_style", "file_format", "format", "csv_delimiter",
	"csv_header", "max_files_per_run",
	"compression", "csv_infer_types", "csv_columns", "csv_sample_rows", "infer_decimals", "csv_null_values", "sub_microsecond", "max_record_bytes",
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "bucket": {"type": "string", "description": "The bucket (or give uri)."},
    "uri": {"type": "string", "description": "s3://bucket/prefix-or-key."},
    "key": {"type": "string", "description": "Source: one object key."},
    "path_prefix": {"type": "string", "description": "Source: read the objects under it. Destination: datasets are written under <path_prefix>/<target>/."},
    "region": {"type": "string", "default": "us-east-1"},
    "access_key_id": {"type": "string"},
    "secret_access_key": {"type": "string"},
    "session_token": {"type": "string"},
    "endpoint_url": {"type": "string", "description": "For S3-compatible servers, e.g. http://127.0.0.1:9000."},
    "path_style": {"type": "boolean", "description": "Path-style addressing; default true when endpoint_url is set."},
    "file_format": {"enum": ["csv", "json", "jsonl", "parquet", "auto"], "default": "auto"},
    "format": {"enum": ["csv", "json", "jsonl", "parquet", "auto"], "description": "Alias of file_format."},
    "csv_delimiter": {"type": "string", "default": ","},
    "csv_header": {"type": "boolean", "default": true},
    "max_files_per_run": {"type": "integer", "minimum": 1},
    "compression": {"enum": ["auto", "gzip", "none"], "default": "auto", "description": "Source: gzip'd csv/jsonl objects; auto: by the .gz extension."},
    "csv_infer_types": {"type": "boolean", "default": true, "description": "Source: infer csv column types (int64, decimal, float64, bool, date, timestamp, string) from a sample of the first object; false reads every column as a string."},
    "csv_columns": {"description": "Source: explicit csv column types overriding inference, a map of column name to type (decimal(p,s) included) or a list of {name, type}.", "oneOf": [{"type": "object", "additionalProperties": ` + coltype.TypeSchema + `}, {"type": "array"}]},
    "infer_decimals": {"type": "boolean", "default": true, "description": "Source: infer decimal(38,s) for a csv column, or a jsonl number field, whose values all have s fraction digits (12.50); false infers float64. See docs/types.md."},
    "sub_microsecond": {"type": "string", "enum": ["error", "truncate"], "default": "error", "description": "Source: a csv timestamp with non-zero digits below the microsecond: error (naming its line and column) or truncate (drop them)."},
    "csv_null_values": {"type": "array", "items": {"type": "string"}, "default": [""], "description": "Source: csv fields read as null, e.g. [\"\\N\", \"\"] for psql exports."},
    "csv_sample_rows": {"type": "integer", "minimum": 1, "default": 1000, "description": "Source: rows of the first csv object sampled to infer types."},
    "max_record_bytes": {"type": "integer", "minimum": 1024, "maximum": 1073741824, "default": 67108864, "description": "Source: the most bytes one csv record or jsonl line may take; a longer one fails the read, naming the object and line."}
  }
}`

// parseConfig validates raw; problems are field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	cfg := config{Region: "us-east-1", Format: "auto", Delimiter: ',', Header: true, Compression: "auto", InferTypes: true, InferDecimals: true, NullValues: []string{""}, SampleRows: defaultSampleRows, MaxRecordBytes: recordsize.Default}
	var errs []sdk.FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var m map[string]json.RawMessage
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return cfg, []sdk.FieldError{{Message: "the configuration must be a JSON object: " + err.Error()}}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	str := func(k string) string {
		var s string
		if v, ok := m[k]; ok {
			if err := json.Unmarshal(v, &s); err != nil {
				bad(k, "must be a string")
			}
		}
		return s
	}
	allowed := map[string]bool{}
	for _, k := range allowedKeys {
		allowed[k] = true
	}
	for _, k := range keys {
		if !allowed[k] {
			bad(k, "%s", configkey.Unknown(k, allowedKeys))
		}
	}
	cfg.Bucket = str("bucket")
	cfg.Key = str("key")
	cfg.Prefix = strings.TrimPrefix(str("path_prefix"), "/")
	if u := str("uri"); u != "" {
		pu, err := url.Parse(u)
		switch {
		case err != nil || pu.Scheme != "s3" || pu.Host == "":
			bad("uri", "must look like s3://bucket/prefix or s3://bucket/key, got %q", u)
		case cfg.Bucket != "" && cfg.Bucket != pu.Host:
			bad("uri", "names bucket %q but bucket is %q; give one of them", pu.Host, cfg.Bucket)
		default:
			cfg.Bucket = pu.Host
			p := strings.TrimPrefix(pu.Path, "/")
			// A path with a known file extension is one object, else a prefix.
			if p != "" && formatOf(strings.TrimSuffix(strings.ToLower(p), ".gz")) != "" && cfg.Key == "" && cfg.Prefix == "" {
				cfg.Key = p
			} else if p != "" && cfg.Prefix == "" {
				cfg.Prefix = p
			}
		}
	}
	if cfg.Bucket == "" {
		if _, ok := m["uri"]; !ok {
			bad("bucket", "is required: give bucket (with path_prefix or key) or uri (s3://bucket/prefix)")
		} else if len(errs) == 0 {
			bad("uri", "names no bucket")
		}
	}
	if r := str("region"); r != "" {
		cfg.Region = r
	}
	cfg.AccessKeyID = str("access_key_id")
	cfg.SecretAccessKey = str("secret_access_key")
	cfg.SessionToken = str("session_token")
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		bad("secret_access_key", "access_key_id and secret_access_key go together: give both or neither (then the default AWS credential chain is used)")
	}
	if e := str("endpoint_url"); e != "" {
		pu, err := url.Parse(e)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("endpoint_url", "must be an http(s) URL such as http://127.0.0.1:9000, got %q", e)
		}
		cfg.EndpointURL = e
		cfg.PathStyle = true
	}
	if v, ok := m["path_style"]; ok {
		if err := json.Unmarshal(v, &cfg.PathStyle); err != nil {
			bad("path_style", "must be true or false")
		}
	}
	for _, k := range []string{"format", "file_format"} {
		if f := str(k); f != "" {
			switch f {
			case "csv", "jsonl", "parquet", "auto":
				cfg.Format = f
			case "json":
				cfg.Format = "jsonl"
			default:
				bad(k, "must be csv, json, jsonl, parquet or auto, got %q", f)
			}
		}
	}
	if _, ok := m["csv_delimiter"]; ok {
		d := []rune(str("csv_delimiter"))
		if len(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r' {
			bad("csv_delimiter", "must be one character other than a quote or a line break")
		} else {
			cfg.Delimiter = d[0]
		}
	}
	if v, ok := m["csv_header"]; ok {
		if err := json.Unmarshal(v, &cfg.Header); err != nil {
			bad("csv_header", "must be true or false")
		}
	}
	if v, ok := m["max_files_per_run"]; ok {
		if err := json.Unmarshal(v, &cfg.MaxFiles); err != nil || cfg.MaxFiles < 1 {
			bad("max_files_per_run", "must be a positive integer")
		}
	}
	parseSourceConfig(m, &cfg, bad)
	return cfg, errs
}

// formatOf returns the format a key's extension names, or "".
func formatOf(key string) string {
	k := strings.ToLower(key)
	switch path.Ext(k) {
	case ".csv", ".tsv":
		return "csv"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	case ".parquet", ".pq":
		return "parquet"
	}
	return ""
}

// extOf is the extension written for a format.
func extOf(format string) string {
	switch format {
	case "jsonl":
		return ".jsonl"
	case "parquet":
		return ".parquet"
	}
	return ".csv"
}
