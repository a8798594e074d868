package pgsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/classify/pgclass"
)

// Read-only transactions and read snapshots.
//
// Every page of a source is read in a transaction of its own, REPEATABLE
// READ READ ONLY, so a query that writes (a function that inserts, nextval)
// fails with SQLSTATE 25006 instead of writing, once per page or at all.
//
// The pages of one read share one snapshot, so they are consistent with
// each other: the read's first page opens a REPEATABLE READ READ ONLY
// transaction on a connection of its own (outside the pool: pool_size 1
// still reads) and exports its snapshot (pg_export_snapshot); every page's
// transaction imports it (SET TRANSACTION SNAPSHOT), on whichever pooled
// connection it runs, the prefetch's included. That holding transaction
// ends with the read's last page, or when the connector is configured
// again or closed.
//
// A snapshot lives only as long as the session that exported it. A page
// asked for with a checkpoint that no snapshot of this process belongs to
// (a restarted plugin) or whose snapshot was lost (its session ended)
// takes a new snapshot: the rest of the read is consistent with itself,
// but sees the database as it was then. A server that cannot export a
// snapshot reads each page in its own read-only snapshot (logged once).

// sqlstateReadOnly is read_only_sql_transaction: a write in a read-only
// transaction.
const sqlstateReadOnly = "25006"

// sqlstateInvalidSnapshot is invalid_parameter_value, which SET
// TRANSACTION SNAPSHOT answers for a snapshot whose exporting transaction
// ended ("invalid snapshot identifier").
const sqlstateInvalidSnapshot = "22023"

// sqlstateUndefinedObject is what a server may answer instead for a
// snapshot that no longer exists.
const sqlstateUndefinedObject = "42704"

// snapshotCloseTimeout bounds closing a snapshot's connection.
const snapshotCloseTimeout = 5 * time.Second

// snapshot is a read's exported snapshot and the connection whose open
// transaction keeps it alive. id is "" when the server could not export
// one.
type snapshot struct {
	conn *pgx.Conn
	id   string
}

// close ends the snapshot's transaction and connection.
func (s *snapshot) close() {
	if s == nil || s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), snapshotCloseTimeout)
	defer cancel()
	_ = s.conn.Close(ctx)
}

// readKey names the read a request belongs to: its stream and incremental
// cursor (the checkpoint moves along the read).
func readKey(req sdk.ReadRequest) string {
	return fmt.Sprintf("%s\x00%s\x00%s", req.Stream, req.CursorField, req.CursorValue)
}

// beginSQL starts a page's read-only transaction, in snapshot id when it
// is not "".
func beginSQL(id string) string {
	sql := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
	if id != "" {
		sql += "; SET TRANSACTION SNAPSHOT '" + strings.ReplaceAll(id, "'", "''") + "'"
	}
	return sql
}

// beginPage starts the transaction of one page of read key on pg: read
// only, in the read's snapshot. start is the read's first page, which
// takes a new snapshot; a snapshot that cannot be imported any more (its
// session ended) is replaced by a new one.
func (c *Connector) beginPage(ctx context.Context, cfg *config, pg *pgconn.PgConn, key string, start bool) error {
	snap, err := c.snapshotFor(ctx, cfg, key, start)
	if err != nil {
		return err
	}
	err = pg.Exec(ctx, beginSQL(snap.id)).Close()
	if st := pgclass.SQLState(err); err == nil || snap.id == "" || (st != sqlstateInvalidSnapshot && st != sqlstateUndefinedObject) {
		return err
	}
	endPage(ctx, pg)
	c.logger.Warn("the read's snapshot is gone (the session holding it ended): the rest of the read uses a new snapshot", "error", err.Error())
	if snap, err = c.snapshotFor(ctx, cfg, key, true); err != nil {
		return err
	}
	return pg.Exec(ctx, beginSQL(snap.id)).Close()
}

// endPage rolls back what is left of a page's transaction after an error.
// A connection still in a transaction after this is closed by the pool on
// release, never reused.
func endPage(ctx context.Context, pg *pgconn.PgConn) {
	if pg.IsClosed() || pg.TxStatus() == 'I' {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), snapshotCloseTimeout)
	defer cancel()
	_ = pg.Exec(rctx, "ROLLBACK").Close()
}

// snapshotFor returns the snapshot of read key: a new one when fresh or
// when there is none, else the one the read began with.
func (c *Connector) snapshotFor(ctx context.Context, cfg *config, key string, fresh bool) (*snapshot, error) {
	c.mu.Lock()
	old := c.snaps[key]
	if old != nil && !fresh {
		c.mu.Unlock()
		return old, nil
	}
	delete(c.snaps, key)
	c.mu.Unlock()
	old.close()
	s, err := c.exportSnapshot(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	prev := c.snaps[key]
	c.snaps[key] = s
	c.mu.Unlock()
	prev.close()
	return s, nil
}

// exportSnapshot opens a connection, begins a REPEATABLE READ READ ONLY
// transaction on it and exports its snapshot. A server that refuses to
// export one gets a snapshot without id (logged once); a failure to
// connect is the caller's error.
func (c *Connector) exportSnapshot(ctx context.Context, cfg *config) (*snapshot, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.poolConfig.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to hold the read's snapshot: %w", err)
	}
	res, err := conn.PgConn().Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot()").ReadAll()
	if err == nil && (len(res) != 2 || len(res[1].Rows) != 1 || len(res[1].Rows[0]) != 1) {
		err = errors.New("pg_export_snapshot() returned no snapshot")
	}
	if err != nil {
		(&snapshot{conn: conn}).close()
		if pgclass.SQLState(err) == "" && !strings.HasPrefix(err.Error(), "pg_export_snapshot") {
			return nil, fmt.Errorf("export the read's snapshot: %w", err)
		}
		c.warnOnce("snapshot", "the server cannot export a snapshot: each page of a read runs in its own read-only transaction, so pages may see different states of the database", "error", err.Error())
		return &snapshot{}, nil
	}
	return &snapshot{conn: conn, id: string(res[1].Rows[0][0])}, nil
}

// endRead closes the snapshot of read key (its last page was read).
func (c *Connector) endRead(key string) {
	c.mu.Lock()
	s := c.snaps[key]
	delete(c.snaps, key)
	c.mu.Unlock()
	s.close()
}

// closeSnapshots closes every snapshot in snaps.
func closeSnapshots(snaps map[string]*snapshot) {
	for _, s := range snaps {
		s.close()
	}
}
