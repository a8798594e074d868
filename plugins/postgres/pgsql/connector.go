// Package pgsql is the postgres connector: a source reading tables, views
// and queries page by page (keyset pagination on the primary key, binary
// protocol, pages built straight into Arrow builders) with restart-safe
// checkpoints and incremental reads, and a destination loading an UNLOGGED
// staging table with COPY under a batch ledger and committing in one
// transaction (replace, append, upsert).
//
// Configuration keys, the type mapping, the guarantees and the fallbacks
// are documented in docs/connectors/postgres.md.
//
// # Connections
//
// The connector keeps one pgxpool per configuration; Configure builds a new
// one (re-reading password_file) and closes the old one. Every session runs
// with TimeZone UTC and DateStyle ISO so the text forms the connector binds
// (cursor values) mean the same on any server.
//
// # Errors
//
// Every error is classified by package pgclass (SQLSTATE, network) and
// carries what was being done to which table. Passwords never appear in
// an error: the configured password (and a DSN's) is scrubbed from every
// message. An authentication failure (28P01) with password_file set is
// AUTH_EXPIRED, so the host configures the plugin again (which re-reads the
// file) and retries once; without password_file it is PERMANENT.
package pgsql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/classify/pgclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Version is the connector's version, reported in Spec.
const Version = "0.1.0"

// Connector is the postgres source and destination. The host does not
// call it concurrently, but a mutex guards its state anyway.
type Connector struct {
	logger hclog.Logger

	mu      sync.Mutex
	cfg     *config
	pool    *pgxpool.Pool
	streams map[string]*streamPlan
	writes  map[string]*writeInfo
	warned  map[string]bool
	// prefetched is the next page being read ahead, if any.
	prefetched *prefetch
	// snaps are the snapshots of the reads under way, by readKey.
	snaps map[string]*snapshot
}

// New returns an unconfigured postgres connector logging to logger.
func New(logger hclog.Logger) *Connector {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Connector{logger: logger, streams: map[string]*streamPlan{}, writes: map[string]*writeInfo{}, warned: map[string]bool{}, snaps: map[string]*snapshot{}}
}

var (
	_ sdk.Source      = (*Connector)(nil)
	_ sdk.Destination = (*Connector)(nil)
)

// Spec describes the postgres connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "postgres",
		Version:         Version,
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceNetwork,
		Incremental:     true,
		Upsert:          true,
		Discover:        true,
		StoresState:     true,
		WriteModes:      []sdk.WriteMode{sdk.ModeReplace, sdk.ModeAppend, sdk.ModeUpsert},
		LocationKeys:    []string{"host", "port", "database", "dbname", "schema", "table", "table_name", "query"},
		// A database answers in milliseconds or not at all: retry soon
		// (0.5 s, at most 10 s), open the breaker after three failures,
		// and ping the connection every 15 s. No rate limit: the pool size
		// is the limit. Credentials are not refreshed by default
		// (passwords rarely rotate mid-run).
		Resilience: map[string]any{
			"retry.max_attempts":                3,
			"retry.initial_delay":               0.5,
			"retry.max_delay":                   10,
			"circuit_breaker.enabled":           true,
			"circuit_breaker.failure_threshold": 3,
			"circuit_breaker.recovery_timeout":  30,
			"timeout":                           30,

			"recovery.enable_connection_recovery": true,
			"recovery.enable_credential_refresh":  false,
			"recovery.recovery_check_interval":    15,
		},
		HostKeys: []string{"dsn", "host"},
		// libpq's connection variables, which pgx reads when the dsn
		// leaves a part out (PGHOST, PGPORT, PGPASSWORD, PGSSLMODE...).
		Env: []string{"PG*"},
	}
}

// Configure validates and applies the configuration. It does not connect
// (validate must work without the server); Check does. It may be called
// again at any time: the new configuration (and a re-read password_file)
// replaces the old one and the old pool is closed.
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, ferrs := parseConfig(raw)
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	c.mu.Lock()
	old, pf := c.pool, c.prefetched
	c.cfg, c.pool, c.prefetched = cfg, nil, nil
	c.streams = map[string]*streamPlan{}
	c.mu.Unlock()
	if pf != nil {
		pf.discard()
	}
	c.mu.Lock()
	snaps := c.snaps
	c.snaps = map[string]*snapshot{}
	c.mu.Unlock()
	closeSnapshots(snaps)
	if old != nil {
		go old.Close() // waits for connections in use; never blocks Configure
	}
	return nil, nil
}

// Close closes the connection pool and the reads' snapshots.
func (c *Connector) Close() {
	c.mu.Lock()
	p, pf := c.pool, c.prefetched
	c.pool, c.prefetched = nil, nil
	c.mu.Unlock()
	if pf != nil {
		pf.discard()
	}
	c.mu.Lock()
	snaps := c.snaps
	c.snaps = map[string]*snapshot{}
	c.mu.Unlock()
	closeSnapshots(snaps)
	if p != nil {
		p.Close()
	}
}

// conn returns the configuration and the pool, creating the pool on first
// use.
func (c *Connector) conn() (*config, *pgxpool.Pool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == nil {
		return nil, nil, errclass.Permanentf("the postgres connector is not configured")
	}
	if c.pool == nil {
		p, err := pgxpool.NewWithConfig(context.WithoutCancel(context.Background()), c.cfg.poolConfig.Copy())
		if err != nil {
			return nil, nil, errclass.Permanentf("postgres: %s", redact(err.Error(), c.cfg.password, ""))
		}
		c.pool = p
	}
	return c.cfg, c.pool, nil
}

// Check connects and runs a trivial query; with table or query set it also
// checks that the table exists or that the query is valid.
func (c *Connector) Check(ctx context.Context) error {
	cfg, pool, err := c.conn()
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		return c.fail(ctx, err, "connect to %s", c.where(cfg))
	}
	if cfg.Table != "" || cfg.Query != "" {
		streams, err := c.Discover(ctx)
		if err != nil {
			return err
		}
		if len(streams) == 0 {
			return errclass.Permanentf("postgres: no table or view %q in schema %q", cfg.Table, cfg.Schema)
		}
	}
	return nil
}

// where names the server and database for messages, never the password.
func (c *Connector) where(cfg *config) string {
	cc := cfg.poolConfig.ConnConfig
	return fmt.Sprintf("postgres database %q on %s:%d as %q", cc.Database, cc.Host, cc.Port, cc.User)
}

// fail classifies err (see the package doc), prefixes it with what was
// being done, and scrubs the password from its text.
func (c *Connector) fail(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	c.mu.Lock()
	cfg := c.cfg
	c.mu.Unlock()
	class := pgclass.Class(ctx, err)
	if class == errclass.Unknown {
		class = errclass.Permanent
	}
	if cfg != nil && cfg.passwordFile != "" && pgclass.SQLState(err) == "28P01" {
		class = errclass.AuthExpired
	}
	msg := fmt.Sprintf(format, args...) + ": " + err.Error()
	if cfg != nil {
		msg = redact(msg, cfg.password, "")
	}
	return &errclass.Error{Class: class, Err: &scrubbed{msg: msg, err: err}}
}

// scrubbed is an error whose message has been redacted; it still unwraps
// to the cause so its SQLSTATE and type can be tested.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// warnOnce logs a warning once per key and configuration.
func (c *Connector) warnOnce(key, msg string, args ...any) {
	c.mu.Lock()
	seen := c.warned[key]
	c.warned[key] = true
	c.mu.Unlock()
	if !seen {
		c.logger.Warn(msg, args...)
	}
}

// splitName splits "schema.table" (or "table", in the configured schema).
func splitName(name, defaultSchema string) (string, string) {
	if i := strings.IndexByte(name, '.'); i > 0 && i < len(name)-1 {
		return name[:i], name[i+1:]
	}
	return defaultSchema, name
}
