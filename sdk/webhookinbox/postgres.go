package webhookinbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the PostgreSQL inbox: tables <prefix> (events),
// <prefix>_gaps and <prefix>_meta, created when missing.
type Postgres struct {
	pool               *pgxpool.Pool
	events, gaps, meta string
	lockKey            int64
}

var tableRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

// OpenPostgres connects to dsn and creates the inbox's tables (prefix
// table) when missing.
func OpenPostgres(ctx context.Context, dsn, table string) (*Postgres, error) {
	if !tableRe.MatchString(table) {
		return nil, fmt.Errorf("webhook inbox table %q: use lower-case letters, digits and _ (at most 41, starting with a letter or _)", table)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("webhook inbox dsn: %w", err)
	}
	p := &Postgres{pool: pool, events: pgx.Identifier{table}.Sanitize(), gaps: pgx.Identifier{table + "_gaps"}.Sanitize(),
		meta: pgx.Identifier{table + "_meta"}.Sanitize(), lockKey: lockKey(table)}
	ddl := `CREATE TABLE IF NOT EXISTS ` + p.events + ` (
  position bigint PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  webhook_id text NOT NULL DEFAULT '',
  topic text NOT NULL,
  shop_domain text NOT NULL DEFAULT '',
  triggered_at timestamptz,
  api_version text NOT NULL DEFAULT '',
  received_at timestamptz NOT NULL,
  reconciled boolean NOT NULL DEFAULT false,
  payload bytea);
CREATE TABLE IF NOT EXISTS ` + p.gaps + ` (
  id bigserial PRIMARY KEY, from_at timestamptz NOT NULL, to_at timestamptz NOT NULL,
  reason text NOT NULL, reconciled_at timestamptz);
CREATE TABLE IF NOT EXISTS ` + p.meta + ` (key text PRIMARY KEY, at timestamptz NOT NULL)`
	// Two receivers starting together may both create: serialise that too.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, p.lockKey); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("create webhook inbox tables %s: %w", table, err)
	}
	return p, nil
}

// lockKey derives the advisory lock key from the table name (FNV-1a).
func lockKey(table string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(table); i++ {
		h ^= uint64(table[i])
		h *= 1099511628211
	}
	return int64(h)
}

// Append implements Inbox. A transaction-level advisory lock serialises
// appends so positions commit in order.
func (p *Postgres) Append(ctx context.Context, ev Event) (int64, bool, error) {
	if ev.EventID == "" {
		return 0, false, errors.New("an event needs an event id")
	}
	var pos int64
	dup := false
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, p.lockKey); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT position FROM `+p.events+` WHERE event_id = $1`, ev.EventID).Scan(&pos)
		if err == nil {
			dup = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var trig *time.Time
		if !ev.TriggeredAt.IsZero() {
			t := ev.TriggeredAt.UTC()
			trig = &t
		}
		return tx.QueryRow(ctx, `INSERT INTO `+p.events+` (position, event_id, webhook_id, topic, shop_domain, triggered_at,
  api_version, received_at, reconciled, payload)
SELECT coalesce(max(position), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM `+p.events+` RETURNING position`,
			ev.EventID, ev.WebhookID, ev.Topic, ev.ShopDomain, trig, ev.APIVersion, ev.ReceivedAt.UTC(), ev.Reconciled, ev.Payload).Scan(&pos)
	})
	if err != nil {
		return 0, false, fmt.Errorf("store webhook event: %w", err)
	}
	return pos, dup, nil
}

// Read implements Inbox.
func (p *Postgres) Read(ctx context.Context, after, until int64, limit int) ([]Event, error) {
	q := `SELECT position, event_id, webhook_id, topic, shop_domain, triggered_at, api_version, received_at, reconciled, payload
FROM ` + p.events + ` WHERE position > $1 AND ($2 = 0 OR position <= $2) AND payload IS NOT NULL ORDER BY position LIMIT $3`
	rows, err := p.pool.Query(ctx, q, after, until, limit)
	if err != nil {
		return nil, fmt.Errorf("read webhook inbox: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var trig *time.Time
		if err := rows.Scan(&ev.Position, &ev.EventID, &ev.WebhookID, &ev.Topic, &ev.ShopDomain, &trig, &ev.APIVersion,
			&ev.ReceivedAt, &ev.Reconciled, &ev.Payload); err != nil {
			return nil, fmt.Errorf("read webhook inbox: %w", err)
		}
		if trig != nil {
			ev.TriggeredAt = trig.UTC()
		}
		ev.ReceivedAt = ev.ReceivedAt.UTC()
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read webhook inbox: %w", err)
	}
	return out, nil
}

// Last implements Inbox.
func (p *Postgres) Last(ctx context.Context) (int64, error) {
	var last int64
	if err := p.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM `+p.events).Scan(&last); err != nil {
		return 0, fmt.Errorf("read webhook inbox: %w", err)
	}
	return last, nil
}

// RecordGap implements Inbox.
func (p *Postgres) RecordGap(ctx context.Context, g Gap) error {
	if err := validGap(g); err != nil {
		return err
	}
	if !g.To.After(g.From) {
		return nil
	}
	_, err := p.pool.Exec(ctx, `INSERT INTO `+p.gaps+` (from_at, to_at, reason) VALUES ($1, $2, $3)`, g.From.UTC(), g.To.UTC(), g.Reason)
	if err != nil {
		return fmt.Errorf("record webhook gap: %w", err)
	}
	return nil
}

// Gaps implements Inbox.
func (p *Postgres) Gaps(ctx context.Context) ([]Gap, error) {
	rows, err := p.pool.Query(ctx, `SELECT id, from_at, to_at, reason FROM `+p.gaps+` WHERE reconciled_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read webhook gaps: %w", err)
	}
	defer rows.Close()
	var out []Gap
	for rows.Next() {
		var g Gap
		if err := rows.Scan(&g.ID, &g.From, &g.To, &g.Reason); err != nil {
			return nil, fmt.Errorf("read webhook gaps: %w", err)
		}
		g.From, g.To = g.From.UTC(), g.To.UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// MarkReconciled implements Inbox.
func (p *Postgres) MarkReconciled(ctx context.Context, id int64, at time.Time) error {
	tag, err := p.pool.Exec(ctx, `UPDATE `+p.gaps+` SET reconciled_at = $2 WHERE id = $1`, id, at.UTC())
	if err != nil {
		return fmt.Errorf("mark webhook gap %d reconciled: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook inbox: no gap %d", id)
	}
	return nil
}

// Alive implements Inbox.
func (p *Postgres) Alive(ctx context.Context, t time.Time) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO `+p.meta+` (key, at) VALUES ('alive', $1)
ON CONFLICT (key) DO UPDATE SET at = greatest(`+p.meta+`.at, excluded.at)`, t.UTC())
	if err != nil {
		return fmt.Errorf("record receiver heartbeat: %w", err)
	}
	return nil
}

// LastAlive implements Inbox.
func (p *Postgres) LastAlive(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := p.pool.QueryRow(ctx, `SELECT at FROM `+p.meta+` WHERE key = 'alive'`).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read receiver heartbeat: %w", err)
	}
	return t.UTC(), nil
}

// Compact implements Inbox: payloads go, rows (positions and event ids)
// stay.
func (p *Postgres) Compact(ctx context.Context, upTo int64) (int, error) {
	tag, err := p.pool.Exec(ctx, `UPDATE `+p.events+` SET payload = NULL WHERE position <= $1 AND payload IS NOT NULL`, upTo)
	if err != nil {
		return 0, fmt.Errorf("compact webhook inbox: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Close implements Inbox.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}
