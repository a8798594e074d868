// Package csvconn is the csv connector: a source reading CSV files (one
// file, a directory or a glob, as one stream) page by page with resumable
// byte-offset checkpoints, typed columns and incremental reads, and a
// destination writing CSV files through staged, idempotent, atomic commits.
//
// Configuration keys, type inference, checkpoints and the staging
// convention are described in docs/connectors/csv.md.
package csvconn

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// Connector is the csv source and destination. Its methods may be called
// from several goroutines; a mutex guards its state.
type Connector struct {
	logger hclog.Logger

	mu         sync.Mutex
	cfg        config
	configured bool
	stream     *streamInfo
	writes     map[string]*writeState
}

// New returns an unconfigured csv connector logging to logger.
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

// Spec describes the csv connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "csv",
		Version:         "0.1.0",
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceFile,
		Incremental:     true,
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

// Configure validates and applies the configuration. Unknown keys and
// values of the wrong type come back as field errors; the connector then
// keeps its previous configuration.
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, ferrs := parseConfig(raw)
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg, c.configured, c.stream = cfg, true, nil
	return nil, nil
}

func (c *Connector) config() (config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return config{}, errclass.Permanentf("csv connector is not configured")
	}
	return c.cfg, nil
}

// Check verifies the path. The connector does not know whether it serves
// as a source or a destination, so it accepts a path usable as either:
// a glob must match at least one readable file, or none in a directory
// that exists (an empty stream); an existing file must be readable;
// an existing directory must be listable and, unless it holds .csv files
// to read, writable; a missing path is accepted when its nearest existing
// parent directory is writable (a destination creates it), and is
// otherwise a PERMANENT error naming the path.
func (c *Connector) Check(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if filestage.IsGlob(cfg.Path) {
		files, err := filestage.ExpandSource(cfg.Path, ".csv")
		if err != nil || len(files) == 0 {
			return err
		}
	}
	return filestage.CheckPath(cfg.Path, ".csv")
}
