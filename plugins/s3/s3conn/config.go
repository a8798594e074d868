package s3conn

import (
	"encoding/json"
	"net/url"
	"path"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
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

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	Bucket          string                 `config:"bucket" doc:"The bucket (or give uri)."`
	URI             string                 `config:"uri" doc:"s3://bucket/prefix-or-key."`
	Key             string                 `config:"key" doc:"Source: one object key."`
	Prefix          string                 `config:"path_prefix" doc:"Source: read the objects under it. Destination: datasets are written under <path_prefix>/<target>/."`
	Region          string                 `config:"region" default:"us-east-1"`
	AccessKeyID     string                 `config:"access_key_id"`
	SecretAccessKey sdkconfig.Secret       `config:"secret_access_key"`
	SessionToken    sdkconfig.Secret       `config:"session_token"`
	EndpointURL     string                 `config:"endpoint_url" doc:"For S3-compatible servers, e.g. http://127.0.0.1:9000."`
	PathStyle       *bool                  `config:"path_style" doc:"Path-style addressing; default true when endpoint_url is set."`
	Format          string                 `config:"file_format" alias:"format" default:"auto" enum:"csv,json,jsonl,parquet,auto"`
	Delimiter       string                 `config:"csv_delimiter" default:","`
	Header          bool                   `config:"csv_header" default:"true"`
	MaxFiles        int                    `config:"max_files_per_run" min:"1"`
	Compression     string                 `config:"compression" default:"auto" doc:"Source: gzip'd csv/jsonl objects; auto: by the .gz extension."`
	InferTypes      bool                   `config:"csv_infer_types" default:"true" doc:"Source: infer csv column types (int64, decimal, float64, bool, date, timestamp, string) from a sample of the first object; false reads every column as a string."`
	Columns         coltype.Columns        `config:"csv_columns"`
	SampleRows      int                    `config:"csv_sample_rows" default:"1000" min:"1" doc:"Source: rows of the first csv object sampled to infer types."`
	InferDecimals   bool                   `config:"infer_decimals" default:"true" doc:"Source: infer decimal(38,s) for a csv column, or a jsonl number field, whose values all have s fraction digits (12.50); false infers float64. See docs/types.md."`
	NullValues      []string               `config:"csv_null_values" default:"[\"\"]" doc:"Source: csv fields read as null, e.g. [\"\\N\", \"\"] for psql exports." msg:"must be a list of strings (the fields read as null, e.g. [\"\\N\", \"\"])"`
	SubMicro        coltype.SubMicrosecond `config:"sub_microsecond" default:"error"`
	MaxRecord       recordsize.Bytes       `config:"max_record_bytes" default:"67108864"`
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
var configSchema = sdkconfig.Schema(keys{})

// parseConfig validates raw; problems are field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	var k keys
	errs := sdkconfig.Errors(sdkconfig.Decode(raw, &k))
	bad := errs.Addf
	cfg := config{
		Bucket: k.Bucket, Key: k.Key, Prefix: strings.TrimPrefix(k.Prefix, "/"), Region: k.Region,
		AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey.Value(), SessionToken: k.SessionToken.Value(),
		EndpointURL: k.EndpointURL, Format: k.Format, Delimiter: ',', Header: k.Header, MaxFiles: k.MaxFiles,
		Compression: k.Compression, InferTypes: k.InferTypes, Types: k.Columns, SampleRows: k.SampleRows,
		InferDecimals: k.InferDecimals, NullValues: k.NullValues,
		Parse: coltype.ParseOptions{TruncateTimestamps: bool(k.SubMicro)}, MaxRecordBytes: int64(k.MaxRecord),
	}
	switch c := strings.ToLower(k.Compression); c {
	case "auto", "gzip", "none":
		cfg.Compression = c
	default:
		bad("compression", "must be auto (gzip when the key ends in .gz), gzip or none, got %q", k.Compression)
	}
	if cfg.Format == "json" {
		cfg.Format = "jsonl"
	}
	if u := k.URI; u != "" {
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
		if k.URI == "" {
			bad("bucket", "is required: give bucket (with path_prefix or key) or uri (s3://bucket/prefix)")
		} else if len(errs) == 0 {
			bad("uri", "names no bucket")
		}
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		bad("secret_access_key", "access_key_id and secret_access_key go together: give both or neither (then the default AWS credential chain is used)")
	}
	if e := cfg.EndpointURL; e != "" {
		pu, err := url.Parse(e)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("endpoint_url", "must be an http(s) URL such as http://127.0.0.1:9000, got %q", e)
		}
		cfg.PathStyle = true
	}
	if k.PathStyle != nil {
		cfg.PathStyle = *k.PathStyle
	}
	if d := []rune(k.Delimiter); len(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r' {
		bad("csv_delimiter", "must be one character other than a quote or a line break")
	} else {
		cfg.Delimiter = d[0]
	}
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
