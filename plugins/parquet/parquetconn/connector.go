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
	"context"
	"encoding/json"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// Defaults.
const (
	// defaultMaxRows and defaultMaxBytes cap a page when the host asks for
	// no limit: 65536 rows or about 8 MiB of Arrow data.
	defaultMaxRows  = 65536
	defaultMaxBytes = 8 << 20
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
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceFile,
		Discover:        true,
		WriteModes:      []sdk.WriteMode{sdk.ModeReplace, sdk.ModeAppend},
		LocationKeys:    []string{"path"},
		// Local or mounted files: a quick second try for a flaky mount
		// (0.1 s, at most 1 s), no breaker and no rate limit, and a
		// generous call timeout for a page of a large file on a slow mount.
		Resilience: map[string]any{
			"retry.max_attempts":                  2,
			"retry.initial_delay":                 0.1,
			"retry.max_delay":                     1,
			"timeout":                             60,
			"circuit_breaker.enabled":             false,
			"rate_limit.enabled":                  false,
			"recovery.enable_connection_recovery": true,
			"recovery.enable_credential_refresh":  false,
		},
		LocalDiscover: true,
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
