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
		// S3 answers bursts with 503 SlowDown (about 3,500 writes and 5,500
		// reads per second per prefix). One call here is one page: up to
		// 8 MiB of rows, a handful of S3 requests (a multipart upload's
		// create, parts and completion; a few range GETs). 3,000 calls a
		// minute (50 a second, some 250 S3 requests a second) stays an
		// order of magnitude under S3's limits while never being what
		// bounds a flow's throughput (a ceiling of 100 a minute capped a
		// flow at about 13 MiB/s); SlowDown answers still pace it as rate
		// hints. Longer max delay and call timeout for large objects.
		Resilience: map[string]any{
			"retry.max_attempts":       3,
			"retry.initial_delay":      1,
			"retry.max_delay":          60,
			"retry.backoff_multiplier": 2.0,

			"circuit_breaker.enabled":           true,
			"circuit_breaker.failure_threshold": 3,
			"circuit_breaker.recovery_timeout":  30,
			"timeout":                           60,

			"rate_limit.enabled":                 true,
			"rate_limit.max_requests_per_minute": 3000.0,
			"rate_limit.burst_size":              50,
			"rate_limit.backpressure_strategy":   "wait",
		},
		HostKeys: []string{"endpoint_url", "uri"},
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
