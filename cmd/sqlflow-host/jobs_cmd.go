package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/jobs"
	"github.com/sqlflow/sqlflow-host/host/jobsui"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/host/sharedlimit"
	"github.com/sqlflow/sqlflow-host/host/state"
)

// dbFlags are the job database flags of worker, submit, schedule and jobs.
type dbFlags struct{ dsn, schema string }

func (f *dbFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dsn, "db", "", "PostgreSQL connection string of the job database (default: $SQLFLOW_DB)")
	cmd.Flags().StringVar(&f.schema, "db-schema", "", "schema of the job tables (default: $SQLFLOW_DB_SCHEMA, else the connection's search_path, normally public)")
}

// open connects to the job database, migrating it on first use.
func (f *dbFlags) open(ctx context.Context) (*jobs.DB, error) {
	dsn, schema := f.dsn, f.schema
	if dsn == "" {
		dsn = os.Getenv("SQLFLOW_DB")
	}
	if schema == "" {
		schema = os.Getenv("SQLFLOW_DB_SCHEMA")
	}
	if dsn == "" {
		return nil, &usageError{errors.New("--db is required (or set $SQLFLOW_DB): the PostgreSQL database holding the job queue, e.g. postgres://user@host:5432/sqlflow")}
	}
	return jobs.Open(ctx, dsn, schema)
}

func (a *app) workerCommand() *cobra.Command {
	var db dbFlags
	var concurrency int
	var metricsAddr, name, uiAddr, sharedSchema string
	var metricsPublic, noSchedules, uiPublic bool
	var lease, stopTimeout time.Duration
	var pageRows int64
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run flow jobs from the job database (PostgreSQL, River) until stopped",
		Long: "worker takes flow jobs that submit and schedule put in the job database and runs them, at most\n" +
			"--concurrency at once, with its own plugins (from --plugins-dir) and the secrets of its own\n" +
			"environment. Run one on each machine, as many as wanted. Flow cursors live in the job database.\n" +
			"SIGTERM or SIGINT: no new jobs; running flows get --stop-timeout to finish, then are aborted and\n" +
			"their jobs released to other workers; exit 0. An unreachable database at start: exit 1.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if concurrency < 1 {
				return &usageError{fmt.Errorf("--concurrency %d: must be at least 1", concurrency)}
			}
			if metricsAddr != "" {
				if err := metrics.CheckAddr(metricsAddr, metricsPublic); err != nil {
					return &usageError{fmt.Errorf("--metrics-addr: %w", err)}
				}
			}
			if uiAddr != "" {
				if err := metrics.CheckAddr(uiAddr, uiPublic); err != nil {
					return &usageError{fmt.Errorf("--ui-addr: %w", err)}
				}
			}
			if lease == 0 {
				if v := os.Getenv("SQLFLOW_WORKER_LEASE"); v != "" {
					d, err := time.ParseDuration(v)
					if err != nil || d <= 0 {
						return &usageError{fmt.Errorf("SQLFLOW_WORKER_LEASE %q: use a positive duration such as 30s or 5m", v)}
					}
					lease = d
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			jdb, err := db.open(ctx)
			if err != nil {
				return err
			}
			defer jdb.Close()
			// One shared-limit store per worker process, on the job
			// database, for every job's engine: rate limits marked shared
			// draw from the buckets every worker (and run --shared-limits
			// on the same database and schema) draws from.
			shared, err := sharedlimit.Open(ctx, jdb.Pool, sharedlimit.Options{Schema: sharedSchema, Logger: a.logger.Named("sharedlimit")})
			if err != nil {
				return fmt.Errorf("shared rate limits: %w", err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			w, err := jdb.NewWorker(jobs.WorkerOptions{
				Name: name, Concurrency: concurrency, Logger: a.logger.Named("worker"),
				Metrics: jobs.NewMetrics(reg), Lease: lease, StopTimeout: stopTimeout, NoSchedules: noSchedules,
				Run: a.workerRun(pipeline.Options{MaxRows: pageRows}, shared),
			})
			if err != nil {
				return err
			}
			if metricsAddr != "" {
				mux := http.NewServeMux()
				mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
				srv, err := metrics.Serve(metricsAddr, mux)
				if err != nil {
					return fmt.Errorf("--metrics-addr: %w", err)
				}
				a.logger.Info("serving metrics", "addr", "http://"+srv.Addr()+"/metrics")
				defer srv.Close(context.WithoutCancel(ctx))
			}
			if uiAddr != "" {
				h, err := jobsui.New(ctx, jdb.Client, jobsui.Options{Logger: slog.New(slog.NewTextHandler(
					a.logger.Named("ui").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}),
					&slog.HandlerOptions{Level: slog.LevelWarn}))})
				if err != nil {
					return err
				}
				ln, err := net.Listen("tcp", uiAddr)
				if err != nil {
					return fmt.Errorf("--ui-addr: %w", err)
				}
				go func() {
					if err := jobsui.Serve(ctx, ln, h); err != nil {
						a.logger.Error("jobs UI stopped", "error", err)
					}
				}()
				a.logger.Info("serving the jobs UI", "addr", "http://"+ln.Addr().String()+"/")
			}
			return w.Run(ctx)
		},
	}
	db.add(cmd)
	cmd.Flags().IntVar(&concurrency, "concurrency", 4, "how many flows this worker runs at once")
	cmd.Flags().StringVar(&name, "name", "", "the worker's name in jobs and logs (default: <hostname>-<pid>)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (loopback unless --metrics-public)")
	cmd.Flags().BoolVar(&metricsPublic, "metrics-public", false, "allow --metrics-addr on a non-loopback address")
	cmd.Flags().DurationVar(&lease, "lease", 0, "how long a job of a worker that died (SIGKILL, lost machine) stays held before another worker takes it over; River checks every 30 s (default: $SQLFLOW_WORKER_LEASE, else 5m)")
	cmd.Flags().DurationVar(&stopTimeout, "stop-timeout", jobs.DefaultStopTimeout, "on SIGTERM, how long running flows may finish before they are aborted and their jobs released")
	cmd.Flags().Int64Var(&pageRows, "page-rows", 0, "at most this many rows per page (default: the host's, about 1M rows or 8 MiB)")
	cmd.Flags().BoolVar(&noSchedules, "no-schedules", false, "take no part in enqueuing scheduled flows (jobs are still worked)")
	cmd.Flags().StringVar(&uiAddr, "ui-addr", "", "serve River's web UI (jobs, queues; it can cancel and retry jobs, and has no login) at http://ADDR/ (loopback unless --ui-public)")
	cmd.Flags().BoolVar(&uiPublic, "ui-public", false, "allow --ui-addr on a non-loopback address (put an authenticating proxy in front)")
	cmd.Flags().StringVar(&sharedSchema, "shared-limits-schema", sharedlimit.DefaultSchema, "schema of the shared rate-limit table in the job database (the same as run --shared-limits-schema)")
	return cmd
}

// workerRun returns the function a worker runs each flow job with: the
// submitted pipeline's plugins from this host's plugins directory, in the
// file's directory, its state in the job database.
func (a *app) workerRun(flow pipeline.Options, shared resilience.SharedLimiter) jobs.RunFunc {
	var mu sync.Mutex
	var secrets []string
	opts := flow
	return func(ctx context.Context, p *config.Pipeline, flow string, st state.Backend) error {
		mu.Lock()
		secrets = append(secrets, p.Secrets()...)
		a.red.set(secrets)
		mu.Unlock()
		l, err := plugin.NewLauncher(a.dir(p), a.logger.Named("plugin"), plugin.WithPerms(a.perms()))
		if err != nil {
			return err
		}
		defer l.Close()
		l.StructuredPluginLogs = a.logFormat == "json"
		l.WorkDir = p.Dir
		e := engine.New(p, l, a.logger.Named("flow").With("pipeline", p.Name, "flow", flow))
		defer e.Close()
		e.SharedLimiter = shared
		_, err = e.Run(ctx, engine.RunOptions{Select: []string{flow}, State: st, Flow: opts})
		return err
	}
}

func (a *app) submitCommand() *cobra.Command {
	var db dbFlags
	var selected []string
	cmd := &cobra.Command{
		Use:   "submit FILE",
		Short: "Enqueue the flows of a pipeline file as jobs for workers",
		Long: "submit puts one job per flow (or per --select flow) in the job database. The job holds the file as it\n" +
			"is now (a later edit does not change it), with ${VAR} references unexpanded: each worker expands them\n" +
			"from its own environment. A flow that already has a job waiting or running is not enqueued twice.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			jargs, p, err := jobs.NewArgs(argv[0], selected)
			if p != nil {
				a.red.set(p.Secrets())
			}
			if err != nil {
				return &usageError{err}
			}
			jdb, err := db.open(cmd.Context())
			if err != nil {
				return err
			}
			defer jdb.Close()
			subs, err := jdb.Submit(cmd.Context(), jargs)
			if err != nil {
				return err
			}
			doc := submitJSON{Version: jsonVersion, Command: "submit", Pipeline: p.Name, Jobs: []submittedJSON{}}
			w := tabwriter.NewWriter(a.textOut(), 0, 0, 2, ' ', 0)
			for _, s := range subs {
				status := "enqueued"
				if s.Duplicate {
					status = "already queued or running"
				}
				doc.Jobs = append(doc.Jobs, submittedJSON{Flow: s.Flow, JobID: s.JobID, Duplicate: s.Duplicate})
				fmt.Fprintf(w, "%s\t%s\tjob %d\t%s\n", p.Name, s.Flow, s.JobID, status)
			}
			w.Flush()
			if a.jsonOutput() {
				return a.writeJSON(doc)
			}
			return nil
		},
	}
	db.add(cmd)
	cmd.Flags().StringSliceVar(&selected, "select", nil, "enqueue only these flows (comma-separated names)")
	return cmd
}

func (a *app) scheduleCommand() *cobra.Command {
	var db dbFlags
	var remove, list bool
	cmd := &cobra.Command{
		Use:   "schedule [FILE]",
		Short: "Register the schedules of a pipeline file's flows (schedule: key) with the workers",
		Long: "schedule stores, in the job database, the flows of FILE that carry a schedule (a cron expression); the\n" +
			"workers then enqueue each once per tick, never while its previous run is still queued or running\n" +
			"(such a tick is logged as skipped). Registering a file again updates its schedules and removes those\n" +
			"of flows that no longer have one; --remove removes all of the file's. --list shows what is registered.",
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if list {
				if len(argv) > 0 {
					return &usageError{errors.New("schedule --list takes no FILE")}
				}
				jdb, err := db.open(cmd.Context())
				if err != nil {
					return err
				}
				defer jdb.Close()
				scheds, err := jdb.Schedules(cmd.Context())
				if err != nil {
					return err
				}
				doc := scheduleListJSON{Version: jsonVersion, Command: "schedule", Schedules: []scheduleJSON{}}
				w := tabwriter.NewWriter(a.textOut(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "PIPELINE\tFLOW\tSCHEDULE\tLAST TICK\tSKIPPED")
				for _, s := range scheds {
					doc.Schedules = append(doc.Schedules, scheduleJSON{Pipeline: s.Pipeline, Flow: s.Flow, Schedule: s.Expr, LastTick: s.LastTick, Skipped: s.Skipped})
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", s.Pipeline, s.Flow, s.Expr, s.LastTick.UTC().Format(time.RFC3339), s.Skipped)
				}
				w.Flush()
				if a.jsonOutput() {
					return a.writeJSON(doc)
				}
				return nil
			}
			if len(argv) != 1 {
				return &usageError{errors.New("schedule FILE: name the pipeline file (or use --list)")}
			}
			jargs, p, err := jobs.NewArgs(argv[0], nil)
			if p != nil {
				a.red.set(p.Secrets())
			}
			if err != nil {
				return &usageError{err}
			}
			if remove {
				jdb, err := db.open(cmd.Context())
				if err != nil {
					return err
				}
				defer jdb.Close()
				gone, err := jdb.Unregister(cmd.Context(), p.Name)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.textOut(), "removed %s of pipeline %s\n", plural(len(gone), "schedule"), p.Name)
				if a.jsonOutput() {
					return a.writeJSON(scheduleRegisterJSON{Version: jsonVersion, Command: "schedule", Pipeline: p.Name, Registered: []scheduleJSON{}, Removed: nonNil(gone)})
				}
				return nil
			}
			var sargs []jobs.FlowArgs
			var exprs []string
			doc := scheduleRegisterJSON{Version: jsonVersion, Command: "schedule", Pipeline: p.Name, Registered: []scheduleJSON{}}
			for i, f := range p.Flows {
				if f.Schedule != "" {
					sargs = append(sargs, jargs[i])
					exprs = append(exprs, f.Schedule)
					doc.Registered = append(doc.Registered, scheduleJSON{Pipeline: p.Name, Flow: f.Name, Schedule: f.Schedule})
				}
			}
			if len(sargs) == 0 {
				return &usageError{fmt.Errorf("%s: %w; add schedule: \"*/15 * * * *\" (a cron expression) to a flow", argv[0], jobs.ErrNoSchedule)}
			}
			jdb, err := db.open(cmd.Context())
			if err != nil {
				return err
			}
			defer jdb.Close()
			gone, err := jdb.Register(cmd.Context(), sargs, exprs)
			if err != nil {
				return err
			}
			doc.Removed = nonNil(gone)
			w := tabwriter.NewWriter(a.textOut(), 0, 0, 2, ' ', 0)
			for _, s := range doc.Registered {
				fmt.Fprintf(w, "%s\t%s\t%s\tregistered\n", s.Pipeline, s.Flow, s.Schedule)
			}
			for _, g := range gone {
				fmt.Fprintf(w, "%s\t%s\t\tremoved (no schedule in the file any more)\n", p.Name, g)
			}
			w.Flush()
			if a.jsonOutput() {
				return a.writeJSON(doc)
			}
			return nil
		},
	}
	db.add(cmd)
	cmd.Flags().BoolVar(&remove, "remove", false, "remove every schedule of FILE's pipeline")
	cmd.Flags().BoolVar(&list, "list", false, "list the registered schedules")
	return cmd
}

func (a *app) jobsCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "jobs",
		Short: "List, show, cancel and retry flow jobs in the job database",
		Args:  args(cobra.NoArgs),
	}
	var db dbFlags
	var states []string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List flow jobs, newest first: state, flow, attempts, worker, last error",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			jdb, err := db.open(cmd.Context())
			if err != nil {
				return err
			}
			defer jdb.Close()
			params := river.NewJobListParams().Kinds(jobs.Kind).First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
			if len(states) > 0 {
				var ss []rivertype.JobState
				for _, s := range states {
					st := rivertype.JobState(strings.TrimSpace(s))
					if !validState(st) {
						return &usageError{fmt.Errorf("--state %q: use available, scheduled, running, retryable, completed, cancelled or discarded", s)}
					}
					ss = append(ss, st)
				}
				params = params.States(ss...)
			}
			res, err := jdb.Client.JobList(cmd.Context(), params)
			if err != nil {
				return fmt.Errorf("list jobs: %w", err)
			}
			doc := jobListJSON{Version: jsonVersion, Command: "jobs list", Jobs: []jobJSON{}}
			w := tabwriter.NewWriter(a.textOut(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tSTATE\tPIPELINE\tFLOW\tATTEMPT\tWORKER\tERROR")
			for _, j := range res.Jobs {
				jj := newJobJSON(j)
				doc.Jobs = append(doc.Jobs, jj)
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", j.ID, j.State, jj.Pipeline, jj.Flow, j.Attempt, j.MaxAttempts, jj.Worker, firstLine(jj.LastError))
			}
			w.Flush()
			if a.jsonOutput() {
				return a.writeJSON(doc)
			}
			return nil
		},
	}
	list.Flags().StringSliceVar(&states, "state", nil, "only jobs in these states (comma-separated)")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many jobs")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one job: its flow, state, attempts with their workers and errors",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.jobAction(cmd, &db, argv[0], "show", func(ctx context.Context, jdb *jobs.DB, id int64) (*rivertype.JobRow, error) {
				return jdb.Client.JobGet(ctx, id)
			})
		},
	}
	cancel := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a job: a waiting job never runs; a running one is told to stop (its write is aborted)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.jobAction(cmd, &db, argv[0], "cancel", func(ctx context.Context, jdb *jobs.DB, id int64) (*rivertype.JobRow, error) {
				return jdb.Client.JobCancel(ctx, id)
			})
		},
	}
	retry := &cobra.Command{
		Use:   "retry ID",
		Short: "Run a failed, cancelled or finished job again now",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.jobAction(cmd, &db, argv[0], "retry", func(ctx context.Context, jdb *jobs.DB, id int64) (*rivertype.JobRow, error) {
				return jdb.Client.JobRetry(ctx, id)
			})
		},
	}
	for _, c := range []*cobra.Command{list, show, cancel, retry} {
		db.add(c)
		root.AddCommand(c)
	}
	return root
}

func validState(s rivertype.JobState) bool {
	for _, v := range rivertype.JobStates() {
		if v == s {
			return true
		}
	}
	return false
}

// jobAction runs show, cancel or retry on one job and prints it.
func (a *app) jobAction(cmd *cobra.Command, db *dbFlags, arg, verb string, do func(context.Context, *jobs.DB, int64) (*rivertype.JobRow, error)) error {
	var id int64
	if _, err := fmt.Sscan(arg, &id); err != nil || id <= 0 {
		return &usageError{fmt.Errorf("jobs %s %q: a job id is a positive number (see jobs list)", verb, arg)}
	}
	jdb, err := db.open(cmd.Context())
	if err != nil {
		return err
	}
	defer jdb.Close()
	j, err := do(cmd.Context(), jdb, id)
	if errors.Is(err, river.ErrNotFound) {
		return fmt.Errorf("jobs %s: no job %d", verb, id)
	}
	if err != nil {
		return fmt.Errorf("jobs %s %d: %w", verb, id, err)
	}
	if j.Kind != jobs.Kind {
		return fmt.Errorf("jobs %s: job %d is a %q job, not a flow run", verb, id, j.Kind)
	}
	jj := newJobJSON(j)
	if a.jsonOutput() {
		return a.writeJSON(jobDocJSON{Version: jsonVersion, Command: "jobs " + verb, Job: jj})
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "job\t%d\nstate\t%s\npipeline\t%s\nflow\t%s\nfile\t%s\nattempt\t%d of %d\ncreated\t%s\n",
		j.ID, j.State, jj.Pipeline, jj.Flow, jj.File, j.Attempt, j.MaxAttempts, j.CreatedAt.UTC().Format(time.RFC3339))
	if jj.Tick != "" {
		fmt.Fprintf(w, "tick\t%s\n", jj.Tick)
	}
	if len(j.AttemptedBy) > 0 {
		fmt.Fprintf(w, "workers\t%s\n", strings.Join(j.AttemptedBy, ", "))
	}
	if j.FinalizedAt != nil {
		fmt.Fprintf(w, "finished\t%s\n", j.FinalizedAt.UTC().Format(time.RFC3339))
	}
	for _, e := range j.Errors {
		fmt.Fprintf(w, "error (attempt %d, %s)\t%s\n", e.Attempt, e.At.UTC().Format(time.RFC3339), strings.ReplaceAll(e.Error, "\n", "; "))
	}
	return w.Flush()
}
