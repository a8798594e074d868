package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/state"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// RunFunc runs one flow of a decoded pipeline with its state in st. The
// worker's caller supplies it (it starts the plugins: see engine.New).
// Its error classes decide the job's fate: a *engine.FlowsError of
// configuration, a PERMANENT error or a missing plugin cancel the job;
// anything else is retried by River with backoff.
type RunFunc func(ctx context.Context, p *config.Pipeline, flow string, st state.Backend) error

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// Name identifies the worker in jobs and logs; default
	// "<hostname>-<pid>".
	Name string
	// Concurrency is how many flows the worker runs at once; zero means 1.
	Concurrency int
	// Run runs a flow. Required.
	Run RunFunc
	// Env expands ${VAR} in submitted pipelines; nil means the process
	// environment.
	Env func(string) (string, bool)
	// Logger receives the worker's log; nil discards it.
	Logger hclog.Logger
	// Metrics, when set, receives the worker's metrics.
	Metrics *Metrics
	// Lease is how long a running job may go without its worker renewing
	// it before another worker takes it over (River's
	// RescueStuckJobsAfter). The worker renews its jobs every Lease/4.
	// Zero means DefaultLease.
	Lease time.Duration
	// StopTimeout is how long a stopping worker (SIGTERM) lets its flows
	// finish before it aborts them and releases their jobs to other
	// workers. Zero means DefaultStopTimeout.
	StopTimeout time.Duration
	// MaxAttempts is how many times a failing flow is tried; zero means
	// River's default (25).
	MaxAttempts int
	// NoSchedules turns off this worker's part in enqueuing scheduled
	// flows.
	NoSchedules bool
}

// DefaultLease is the default WorkerOptions.Lease: a worker killed without
// a chance to release its jobs holds them this long (plus up to River's
// 30 s rescue interval).
const DefaultLease = 5 * time.Minute

// DefaultStopTimeout is the default WorkerOptions.StopTimeout.
const DefaultStopTimeout = 30 * time.Second

// Worker works flow jobs until its context is cancelled.
type Worker struct {
	db     *DB
	opts   WorkerOptions
	log    hclog.Logger
	client *river.Client[pgx.Tx]
}

// NewWorker returns a worker of db's jobs.
func (db *DB) NewWorker(opts WorkerOptions) (*Worker, error) {
	if opts.Run == nil {
		return nil, errors.New("jobs: WorkerOptions.Run is required")
	}
	if opts.Name == "" {
		host, _ := os.Hostname()
		opts.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	opts.Concurrency = max(opts.Concurrency, 1)
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	w := &Worker{db: db, opts: opts, log: log}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &flowWorker{w: w}); err != nil {
		return nil, err
	}
	client, err := river.NewClient(riverpgxv5.New(db.Pool), &river.Config{
		ID:      sanitizeID(opts.Name),
		Schema:  db.Schema,
		Queues:  map[string]river.QueueConfig{Queue: {MaxWorkers: opts.Concurrency}},
		Workers: workers,
		// River's rescuer leaves a running job alone while its
		// attempted_at is younger than JobTimeout, and takes it over once
		// older than RescueStuckJobsAfter; workers renew attempted_at
		// (renewLease), so both are the lease. River's deadline of
		// JobTimeout on a job's context is ignored by Work: a flow takes as
		// long as it takes.
		JobTimeout: opts.Lease,
		// River calls a job "stuck" once it runs past JobTimeout plus this
		// threshold; a flow longer than the lease is not stuck (its lease
		// is renewed), so that warning is pushed out of reach.
		JobStuckThreshold:    10 * 365 * 24 * time.Hour,
		RescueStuckJobsAfter: opts.Lease,
		SoftStopTimeout:      opts.StopTimeout,
		MaxAttempts:          opts.MaxAttempts,
		Logger:               slog.New(slog.NewTextHandler(log.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	w.client = client
	return w, nil
}

// sanitizeID makes a River client id of a worker name (River allows
// letters, digits, '-', '_' and '.').
func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// Name is the worker's name.
func (w *Worker) Name() string { return w.opts.Name }

// Run works jobs until ctx is cancelled, then stops gracefully: it fetches
// no more jobs, lets running flows finish for StopTimeout, then aborts
// the rest (their writes are aborted, their jobs released to other
// workers without using up an attempt). A database lost while running is
// retried with backoff by River and by the worker's loops, each logged.
func (w *Worker) Run(ctx context.Context) error {
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	if err := w.client.Start(runCtx); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	w.log.Info("worker started", "worker", w.opts.Name, "concurrency", w.opts.Concurrency, "lease", w.opts.Lease)
	done := make(chan struct{})
	loops := 0
	if w.opts.Metrics != nil {
		loops++
		go func() { defer func() { done <- struct{}{} }(); w.pollQueue(runCtx) }()
	}
	if !w.opts.NoSchedules {
		loops++
		go func() {
			defer func() { done <- struct{}{} }()
			(&Scheduler{db: w.db, client: w.db.Client, log: w.log.Named("schedule")}).Run(runCtx)
		}()
	}
	<-ctx.Done()
	w.log.Info("worker stopping: no new jobs; waiting for running flows", "timeout", w.opts.StopTimeout)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.StopTimeout+30*time.Second)
	defer cancel()
	err := w.client.Stop(stopCtx)
	cancelRun()
	for range loops {
		<-done
	}
	if err != nil {
		return fmt.Errorf("stop worker: %w", err)
	}
	w.log.Info("worker stopped")
	return nil
}

// flowWorker is River's worker of flow jobs.
type flowWorker struct {
	river.WorkerDefaults[FlowArgs]
	w *Worker
}

// Work runs one attempt of a flow job.
func (fw *flowWorker) Work(ctx context.Context, job *river.Job[FlowArgs]) error {
	// Keep River's cancellations (a stopping worker, jobs cancel) but not
	// its deadline: the lease, renewed while the flow runs, is what tells
	// a live worker from a dead one.
	wctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel(context.Cause(ctx))
		}
	})
	defer stop()
	return fw.w.work(wctx, job)
}

func (w *Worker) work(ctx context.Context, job *river.Job[FlowArgs]) error {
	a := job.Args
	log := w.log.With("job", job.ID, "pipeline", a.Pipeline, "flow", a.Flow, "attempt", job.Attempt)
	m := w.opts.Metrics
	m.started()
	defer m.finished()

	// The run ledger: what earlier attempts of this job left behind.
	prev, err := w.db.attempts(ctx, job.ID)
	if err != nil {
		return err // River retries: the database is not answering
	}
	for _, p := range prev {
		switch p.status {
		case statusCommitted:
			if !rescuedAfter(job, p.attempt) {
				continue // an earlier run of a job run again (jobs retry)
			}
			// A worker committed the flow and died before River heard of
			// it: running it again would write it twice.
			log.Info("flow already committed by an earlier attempt; completing the job without running it again", "by", p.worker, "attempt", p.attempt)
			return nil
		case statusRunning:
			m.leaseExpired()
			log.Warn("taking over a flow whose worker stopped renewing its lease (killed or cut off); its staged write is dropped before this run writes",
				"dead_worker", p.worker, "dead_attempt", p.attempt)
			w.db.finishAttempt(context.WithoutCancel(ctx), job.ID, p.attempt, statusAbandoned, "worker "+p.worker+" stopped renewing its lease")
		}
	}
	if err := w.db.startAttempt(ctx, job.ID, job.Attempt, a, w.opts.Name); err != nil {
		return err
	}
	leaseCtx, stopLease := context.WithCancel(ctx)
	go w.renewLease(leaseCtx, job.ID)
	err = w.runFlow(ctx, a, log)
	stopLease()

	fctx := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		w.db.finishAttempt(fctx, job.ID, job.Attempt, statusCommitted, "")
		m.outcome("completed")
		log.Info("flow done")
		return nil
	case errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely):
		w.db.finishAttempt(fctx, job.ID, job.Attempt, statusCancelled, err.Error())
		m.outcome("cancelled")
		log.Warn("flow cancelled (jobs cancel); its write was aborted", "error", err)
		return river.JobCancel(err)
	case ctx.Err() != nil:
		// Stopped (SIGTERM past the stop timeout): the write was aborted;
		// release the job to another worker without using an attempt.
		w.db.finishAttempt(fctx, job.ID, job.Attempt, statusReleased, err.Error())
		m.outcome("released")
		log.Warn("flow aborted: the worker is stopping; the job is released to another worker", "error", err)
		return river.JobSnooze(0)
	case isPermanent(err):
		w.db.finishAttempt(fctx, job.ID, job.Attempt, statusFailed, err.Error())
		m.outcome("cancelled")
		log.Error("flow failed PERMANENT; not retried", "error", err)
		return river.JobCancel(err)
	default:
		w.db.finishAttempt(fctx, job.ID, job.Attempt, statusFailed, err.Error())
		m.outcome("failed")
		log.Warn("flow failed; River retries it with backoff", "error", err)
		return err
	}
}

// runFlow decodes the submitted pipeline and runs the flow.
func (w *Worker) runFlow(ctx context.Context, a FlowArgs, log hclog.Logger) error {
	p, err := a.decode(w.opts.Env)
	if err != nil {
		return &engine.ConfigError{Err: fmt.Errorf("the submitted pipeline %s: %w", a.File, err)}
	}
	err = w.opts.Run(ctx, p, a.Flow, w.db.State)
	if err != nil && errors.Is(err, plugin.ErrUnknownType) {
		host, _ := os.Hostname()
		return &engine.ConfigError{Err: fmt.Errorf("worker %s (host %s) lacks a plugin the flow needs: %w", w.opts.Name, host, err)}
	}
	return err
}

// rescuedAfter reports whether River's rescuer took the job over after
// attempt (its worker stopped renewing the lease), rather than the job
// being run again on purpose.
func rescuedAfter(job *river.Job[FlowArgs], attempt int) bool {
	n := len(job.Errors)
	return n > 0 && job.Errors[n-1].Attempt == attempt && strings.Contains(job.Errors[n-1].Error, "rescued")
}

// isPermanent reports whether err is not worth retrying: a problem of the
// pipeline's configuration, a missing plugin, or a PERMANENT class.
func isPermanent(err error) bool {
	var ce *engine.ConfigError
	var fe *engine.FlowsError
	var se *state.Error
	switch {
	case errors.As(err, &fe) && fe.Configuration,
		errors.As(err, &ce), errors.As(err, &se),
		errors.Is(err, plugin.ErrUnknownType),
		errclass.Is(err, errclass.Permanent):
		return true
	}
	return false
}

// renewLease moves the job's attempted_at forward every Lease/4 while its
// flow runs, so River's rescuer (which takes a running job whose
// attempted_at is older than the lease) leaves it alone; a killed worker
// stops renewing, and its job is rescued once the lease has passed.
func (w *Worker) renewLease(ctx context.Context, id int64) {
	t := time.NewTicker(w.opts.Lease / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, w.opts.Lease/4)
		_, err := w.db.Pool.Exec(cctx, `UPDATE `+w.db.table("river_job")+` SET attempted_at = now() WHERE id = $1 AND state = 'running'`, id)
		cancel()
		if err != nil && ctx.Err() == nil {
			w.log.Warn("could not renew the lease of a running job; retrying", "job", id, "error", err)
		}
	}
}
