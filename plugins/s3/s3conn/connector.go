// Package s3conn is the s3 connector: a source reading csv, jsonl and
// parquet objects under a prefix (or one object) page by page with
// resumable (key, ETag, position) checkpoints, and a destination writing
// datasets of such objects, staged under a hidden prefix and made visible by
// a _SUCCESS manifest written last. See docs/connectors/s3.md.
package s3conn

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Connector is the s3 source and destination. A mutex guards its state.
type Connector struct {
	logger hclog.Logger

	mu      sync.Mutex
	cfg     config
	cli     *client
	streams map[string]*streamInfo
	writes  map[string]*writeInfo
}

// New returns an unconfigured s3 connector logging to logger.
func New(logger hclog.Logger) *Connector {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Connector{logger: logger, streams: map[string]*streamInfo{}, writes: map[string]*writeInfo{}}
}

var (
	_ sdk.Source      = (*Connector)(nil)
	_ sdk.Destination = (*Connector)(nil)
)

// Spec describes the s3 connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "s3",
		Version:         "0.1.0",
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceNetwork,
		Discover:        true,
		Incremental:     true,
		WriteModes:      []sdk.WriteMode{sdk.ModeReplace, sdk.ModeAppend},
		LocationKeys:    []string{"endpoint_url", "bucket", "uri", "key", "path_prefix"},
		// The AWS SDK's default credential chain and settings (keys,
		// profile, region, web identity, container credentials).
		Env: []string{"AWS_*"},
	}
}

// Configure validates and applies the configuration.
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, errs := parseConfig(raw)
	if len(errs) > 0 {
		return errs, nil
	}
	cli, err := newClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.closeReads()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg, c.cli = cfg, cli
	c.streams = map[string]*streamInfo{}
	return nil, nil
}

func (c *Connector) state() (config, *client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cli == nil {
		return config{}, nil, errclass.Permanentf("the s3 connector is not configured")
	}
	return c.cfg, c.cli, nil
}

// Check lists one object under the prefix (or heads the key): it proves the
// endpoint, the credentials and the bucket.
func (c *Connector) Check(ctx context.Context) error {
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	if cfg.Key != "" {
		_, err := cli.head(ctx, cfg.Key)
		return err
	}
	return cli.probe(ctx, cfg.Prefix)
}
