package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/host/sharedlimit"
)

// openSharedLimits connects to the PostgreSQL database of --shared-limits
// and returns its shared limiter (the table is created in schema when
// missing) and a function closing the pool. A database that does not
// answer within 10 s is an error naming it (without its password).
func (a *app) openSharedLimits(ctx context.Context, dsn, schema string) (*sharedlimit.Store, func(), error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, &usageError{fmt.Errorf("--shared-limits: not a PostgreSQL connection string: %w", err)}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--shared-limits: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(octx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("--shared-limits: PostgreSQL at %s:%d does not answer: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	s, err := sharedlimit.Open(octx, pool, sharedlimit.Options{Schema: schema, Logger: a.logger.Named("sharedlimit")})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("--shared-limits: %w", err)
	}
	return s, pool.Close, nil
}
