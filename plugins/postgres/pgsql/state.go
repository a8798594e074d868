package pgsql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/sdk"
)

var _ sdk.StateStore = (*Connector)(nil)

// LoadState returns the state blob the flow's last commit stored in
// sqlflow_state (in the connector's schema), and false when there is none
// (also when the connector's tables do not exist yet).
func (c *Connector) LoadState(ctx context.Context, flow string) ([]byte, bool, error) {
	cfg, pool, err := c.conn()
	if err != nil {
		return nil, false, err
	}
	var blob []byte
	err = pool.QueryRow(ctx, "SELECT state FROM "+internal(cfg, stateTable)+" WHERE flow = $1", flow).Scan(&blob)
	if errors.Is(err, pgx.ErrNoRows) || pgStateIs(err, "42P01") {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.fail(ctx, err, "read the stored state of flow %q", flow)
	}
	return blob, blob != nil, nil
}

// DeleteState removes the flow's row from sqlflow_state.
func (c *Connector) DeleteState(ctx context.Context, flow string) (bool, error) {
	cfg, pool, err := c.conn()
	if err != nil {
		return false, err
	}
	tag, err := pool.Exec(ctx, "DELETE FROM "+internal(cfg, stateTable)+" WHERE flow = $1", flow)
	if pgStateIs(err, "42P01") {
		return false, nil
	}
	if err != nil {
		return false, c.fail(ctx, err, "delete the stored state of flow %q", flow)
	}
	return tag.RowsAffected() > 0, nil
}
