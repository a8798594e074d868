package memconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// DefaultTableName is the stream name of the source and the default target
// of the destination when table_name is not set.
const DefaultTableName = "memory"

// config is one validated configuration. It is immutable once built, so a
// ReadPage running while Configure replaces it keeps a consistent view.
type config struct {
	tableName string
	data      dataset // nil when neither rows nor generate is set
	faults    *faultConfig
	dumpPath  string
	// stagingDir, when set, keeps staged batches on disk so a restarted
	// plugin process finds them (see staging.go).
	stagingDir string
}

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	DumpPath   string     `config:"dump_path,nonempty" doc:"Testing aid: after each commit, write the committed table as an Arrow IPC file here ({table} is replaced by the table name)."`
	Faults     *faultKeys `config:"faults" doc:"Fault injection on ReadPage, to try a pipeline's resilience settings."`
	Generate   *genKeys   `config:"generate" doc:"Seeded generator with a fixed schema (see docs/connectors/memory.md)."`
	Rows       rowsKey    `config:"rows" doc:"Inline source rows; the schema is inferred (int64, float64, bool, string)."`
	StagingDir string     `config:"staging_dir,nonempty" doc:"Keep staged batches in this directory (one Arrow IPC file per seq) so a restarted plugin process finds the batches written before it died."`
	TableName  string     `config:"table_name,nonempty" default:"memory" doc:"Stream name of the source; default target of the destination."`
}

// genKeys is the generate block.
type genKeys struct {
	Rows int64 `config:"rows,required" min:"0" doc:"the number of rows to generate (an integer ≥ 0)"`
	Seed int64 `config:"seed"`
}

// faultKeys is the faults block.
type faultKeys struct {
	AuthFile        string  `config:"auth_file,nonempty" doc:"A credential file read at every Configure."`
	Latency         float64 `config:"latency" min:"0" max:"3600" msg:"must be a number of seconds between 0 and 3600"`
	PermanentAtPage int64   `config:"permanent_at_page" min:"0"`
	RateLimited     float64 `config:"rate_limited" min:"0" max:"1" msg:"must be a share of ReadPage calls between 0 and 1"`
	RetryAfter      float64 `config:"retry_after" min:"0" max:"3600" msg:"must be a number of seconds between 0 and 3600"`
	RevokedFile     string  `config:"revoked_file,nonempty" doc:"Read at every page: while it names the credential read from auth_file at Configure, page reads fail AUTH_EXPIRED."`
	Seed            int64   `config:"seed"`
	Transient       float64 `config:"transient" min:"0" max:"1" msg:"must be a share of ReadPage calls between 0 and 1"`
}

// ValidateConfig checks the keys that go together.
func (k *keys) ValidateConfig() []sdk.FieldError {
	if k.Rows.d != nil && k.Generate != nil {
		return []sdk.FieldError{{Field: "generate", Message: "rows and generate are mutually exclusive; set one of them"}}
	}
	return nil
}

// ValidateConfig checks the fault keys that go together.
func (f *faultKeys) ValidateConfig() []sdk.FieldError {
	var errs []sdk.FieldError
	if f.RevokedFile != "" && f.AuthFile == "" {
		errs = append(errs, sdk.FieldError{Field: "revoked_file", Message: "needs faults.auth_file, the credential file whose value it revokes"})
	}
	if f.Transient <= 1 && f.RateLimited <= 1 && f.Transient+f.RateLimited > 1 {
		errs = append(errs, sdk.FieldError{Field: "rate_limited", Message: fmt.Sprintf("faults.transient (%s) + faults.rate_limited (%s) is more than 1; together they are a share of ReadPage calls",
			fmtNum(f.Transient), fmtNum(f.RateLimited))})
	}
	return errs
}

// configSchema is the JSON Schema (draft 2020-12) of the connector's config.
var configSchema = sdkconfig.Schema(keys{})

// parseConfig validates raw and returns the config, or the field errors.
func parseConfig(raw json.RawMessage) (*config, []sdk.FieldError) {
	var k keys
	errs := (sdkconfig.Decoder{Name: "memory"}).Decode(raw, &k)
	cfg := &config{tableName: k.TableName, dumpPath: k.DumpPath, stagingDir: k.StagingDir}
	if k.Rows.d != nil {
		cfg.data = k.Rows.d
	} else if k.Generate != nil {
		cfg.data = newGenerator(k.Generate.Rows, k.Generate.Seed)
	}
	if f := k.Faults; f != nil {
		cfg.faults = &faultConfig{seed: f.Seed, transient: f.Transient, rateLimited: f.RateLimited, retryAfter: f.RetryAfter,
			latency: f.Latency, permanentAtPage: f.PermanentAtPage, revokedFile: f.RevokedFile}
		if f.AuthFile != "" && len(errs) == 0 {
			// Read at every Configure, so a refreshed credential is seen.
			data, err := os.ReadFile(f.AuthFile)
			if err != nil {
				errs = append(errs, sdk.FieldError{Field: "faults.auth_file", Message: filestage.FileError(err, "cannot read", f.AuthFile).Error()})
			}
			cfg.faults.authFile, cfg.faults.credential = f.AuthFile, strings.TrimSpace(string(data))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// jsonKind names the JSON type of raw for messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
