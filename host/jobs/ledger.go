package jobs

import (
	"context"
	"fmt"
)

// Statuses of an attempt in the run ledger (sqlflow_runs).
const (
	statusRunning   = "running"
	statusCommitted = "committed"
	statusFailed    = "failed"
	statusReleased  = "released"
	statusAbandoned = "abandoned"
	statusCancelled = "cancelled"
)

type attempt struct {
	attempt        int
	worker, status string
}

// attempts returns the ledger's rows of a job, oldest first.
func (db *DB) attempts(ctx context.Context, jobID int64) ([]attempt, error) {
	rows, err := db.Pool.Query(ctx, `SELECT attempt, worker, status FROM `+db.table("sqlflow_runs")+` WHERE job_id = $1 ORDER BY attempt`, jobID)
	if err != nil {
		return nil, fmt.Errorf("read the run ledger of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []attempt
	for rows.Next() {
		var a attempt
		if err := rows.Scan(&a.attempt, &a.worker, &a.status); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (db *DB) startAttempt(ctx context.Context, jobID int64, n int, a FlowArgs, worker string) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO `+db.table("sqlflow_runs")+` (job_id, attempt, pipeline, flow, worker, status)
VALUES ($1, $2, $3, $4, $5, 'running')
ON CONFLICT (job_id, attempt) DO UPDATE SET worker = EXCLUDED.worker, status = 'running', started_at = now(), finished_at = NULL, error = NULL`,
		jobID, n, a.Pipeline, a.Flow, worker)
	if err != nil {
		return fmt.Errorf("record the run of job %d: %w", jobID, err)
	}
	return nil
}

// finishAttempt records an attempt's outcome; a failure to record is
// ignored (the ledger only guards against running a committed flow twice,
// and the job's own state is River's).
func (db *DB) finishAttempt(ctx context.Context, jobID int64, n int, status, msg string) {
	_, _ = db.Pool.Exec(ctx, `UPDATE `+db.table("sqlflow_runs")+` SET status = $3, error = NULLIF($4, ''), finished_at = now() WHERE job_id = $1 AND attempt = $2`,
		jobID, n, status, msg)
}
