package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a worker's Prometheus collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	running  prometheus.Gauge
	outcomes *prometheus.CounterVec
	leases   prometheus.Counter
	depth    *prometheus.GaugeVec
	dbErrors prometheus.Counter
}

// NewMetrics registers a worker's collectors with reg:
//
//	sqlflow_worker_jobs_running            flows this worker runs now
//	sqlflow_worker_jobs_total{outcome}     attempts it finished: completed, failed (retried), cancelled (PERMANENT), released (stopped)
//	sqlflow_worker_lease_expiries_total    jobs it took over from a worker that stopped renewing its lease (killed, cut off)
//	sqlflow_queue_jobs{state}              flow jobs in the queue by River state (all workers), polled every 5 s
//	sqlflow_worker_db_errors_total         failed polls of the job database
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sqlflow_worker_jobs_running", Help: "Flow jobs this worker is running now."}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sqlflow_worker_jobs_total",
			Help: "Flow job attempts this worker finished, by outcome (completed, failed, cancelled, released)."}, []string{"outcome"}),
		leases: prometheus.NewCounter(prometheus.CounterOpts{Name: "sqlflow_worker_lease_expiries_total",
			Help: "Jobs this worker took over after their worker stopped renewing its lease."}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sqlflow_queue_jobs",
			Help: "Flow jobs in the queue by state (every worker's), polled every 5 s."}, []string{"state"}),
		dbErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "sqlflow_worker_db_errors_total",
			Help: "Failed polls of the job database by this worker."}),
	}
	reg.MustRegister(m.running, m.outcomes, m.leases, m.depth, m.dbErrors)
	return m
}

func (m *Metrics) started() {
	if m != nil {
		m.running.Inc()
	}
}

func (m *Metrics) finished() {
	if m != nil {
		m.running.Dec()
	}
}

func (m *Metrics) outcome(o string) {
	if m != nil {
		m.outcomes.WithLabelValues(o).Inc()
	}
}

func (m *Metrics) leaseExpired() {
	if m != nil {
		m.leases.Inc()
	}
}

// queueStates are the River job states the depth gauge reports.
var queueStates = []string{"available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded"}

// pollQueue refreshes the queue depth gauge every 5 s; a failed poll is
// logged and retried with backoff (up to a minute).
func (w *Worker) pollQueue(ctx context.Context) {
	m := w.opts.Metrics
	wait := 5 * time.Second
	for {
		counts, err := w.db.Counts(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.dbErrors.Inc()
			wait = min(wait*2, time.Minute)
			w.log.Warn("job database unreachable; retrying", "in", wait, "error", err)
		} else {
			wait = 5 * time.Second
			for _, s := range queueStates {
				m.depth.WithLabelValues(s).Set(float64(counts[s]))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Counts returns how many flow jobs are in each River state.
func (db *DB) Counts(ctx context.Context) (map[string]int64, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rows, err := db.Pool.Query(cctx, `SELECT state::text, count(*) FROM `+db.table("river_job")+` WHERE kind = $1 GROUP BY state`, Kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
