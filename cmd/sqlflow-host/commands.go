package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/scaffold"
	"github.com/sqlflow/sqlflow-host/host/sharedlimit"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
)

const protocolVersion = sdk.ProtocolVersion

func (a *app) runCommand() *cobra.Command {
	var concurrency int
	var stateDir, metricsAddr, sharedLimits, sharedSchema string
	var pageRows, pageBytes int64
	var selected []string
	var fullRefresh, metricsPublic, reconcileWebhooks bool
	var progress progressFlags
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run the flows of a pipeline file",
		Long: "run starts the plugins the flows need, runs the flows (at most --concurrency at once) and prints a\n" +
			"summary line per flow. A connector that fails fails only the flows that use it. Exit 0 when every flow\n" +
			"succeeded; 1 when a flow failed (its target is left as it was); 2 for a configuration error (a bad file,\n" +
			"a key a connector refuses, a stored cursor of another configuration), also when it failed only some flows.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if concurrency < 1 {
				return &usageError{fmt.Errorf("--concurrency %d: must be at least 1", concurrency)}
			}
			if err := progress.check(); err != nil {
				return err
			}
			if pageRows < 0 || pageBytes < 0 {
				return &usageError{fmt.Errorf("--page-rows and --page-bytes must be positive (0 means the default)")}
			}
			if metricsAddr != "" {
				if err := metrics.CheckAddr(metricsAddr, metricsPublic); err != nil {
					return &usageError{fmt.Errorf("--metrics-addr: %w", err)}
				}
			}
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			if sharedLimits != "" {
				s, closePool, err := a.openSharedLimits(cmd.Context(), sharedLimits, sharedSchema)
				if err != nil {
					return err
				}
				defer closePool()
				e.SharedLimiter = s
			}
			flows, err := e.SelectFlows(selected)
			if err != nil {
				return err
			}
			if metricsAddr != "" {
				stop, err := a.serveMetrics(cmd.Context(), e, metricsAddr)
				if err != nil {
					return &usageError{err}
				}
				defer stop()
			}
			if reconcileWebhooks {
				if err := a.reconcileAll(cmd.Context(), e); err != nil {
					return err
				}
			}
			opts := engine.RunOptions{Concurrency: concurrency, Flow: pipeline.Options{Logger: a.logger, MaxRows: pageRows, MaxBytes: pageBytes},
				StateDir: stateDir, Select: selected, FullRefresh: fullRefresh}
			stopProgress := a.startProgress(e, flows, progress)
			defer stopProgress()
			results, err := e.Run(cmd.Context(), opts)
			stopProgress()
			if results != nil {
				a.summary(results)
			}
			if err != nil && cmd.Context().Err() != nil {
				err = fmt.Errorf("interrupted: open writes were aborted, targets are unchanged: %w", err)
			}
			if a.jsonOutput() {
				if jerr := a.writeJSON(runDoc(e.Pipeline.Path, results, err)); jerr != nil {
					return errors.Join(err, jerr)
				}
			}
			return err
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 4, "how many flows run at once")
	cmd.Flags().Int64Var(&pageRows, "page-rows", 0, "most rows asked for per page (default 1048576)")
	cmd.Flags().Int64Var(&pageBytes, "page-bytes", 0, "most Arrow bytes asked for per page (default 8388608, 8 MiB)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "state directory (incremental flows' cursors); default: state_dir in the file, else .sqlflow/state beside the pipeline file")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics and a JSON health report at /healthz on this address while the run lasts (e.g. 127.0.0.1:9464); it has no authentication: an address other machines can reach needs --metrics-public")
	cmd.Flags().BoolVar(&metricsPublic, "metrics-public", false, "allow --metrics-addr on an address other machines can reach (the endpoint has no authentication)")
	cmd.Flags().StringVar(&sharedLimits, "shared-limits", "", "enforce the rate limits marked shared (rate_limit.shared, the default of rest, gsheets and shopify) across every process given the same PostgreSQL database (DSN); without it they stay local to this run")
	cmd.Flags().StringVar(&sharedSchema, "shared-limits-schema", sharedlimit.DefaultSchema, "the schema of --shared-limits' table (created when missing)")
	cmd.Flags().StringSliceVar(&selected, "select", nil, "run only these flows (FLOW[,FLOW...]); plugins no selected flow uses are not started")
	progress.register(cmd.Flags())
	cmd.Flags().BoolVar(&reconcileWebhooks, "reconcile-webhooks", false, "before the flows, fill the webhook inboxes' recorded gaps from the Admin API, as `webhooks reconcile` does (without its subscription check)")
	cmd.Flags().BoolVar(&fullRefresh, "full-refresh", false, "read incremental flows from the start, ignoring their stored cursors (the new greatest value is stored after the commit)")
	return cmd
}

// summary prints one line per flow: rows, bytes, seconds, rows/s, status,
// where the data went, and a failed flow's first error line. With
// --output json it prints nothing: run prints the JSON document.
func (a *app) summary(results []engine.FlowResult) {
	if a.jsonOutput() {
		return
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "FLOW\tROWS\tBYTES\tSECONDS\tROWS/S\tRESULT")
	for _, r := range results {
		outcome := resultText(r)
		fmt.Fprintf(w, "%s\t%d\t%s\t%.2f\t%.0f\t%s\n", r.Flow, r.Rows, humanBytes(r.Bytes), r.Elapsed.Seconds(), r.RowsPerSecond(), outcome)
	}
	w.Flush()
	for _, r := range results {
		if s := resilienceSummary(r.Resilience); s != "" {
			fmt.Fprintf(a.stdout, "flow %s: %s\n", r.Flow, s)
		}
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(a.stdout, "\nflow %s failed:\n%s\n", r.Flow, indent(r.Err.Error(), "  "))
		}
	}
}

// errorSummary is a flow's error without the leading `flow "NAME": ` the
// summary line already says.
func errorSummary(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "flow \"") {
		if i := strings.Index(s, "\": "); i > 0 {
			s = s[i+3:]
		}
	}
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a pipeline file and each connector's keys without moving data",
		Long: "validate decodes the file, starts each connector's plugin and has it check its keys, and checks\n" +
			"every flow as run would before moving data: the mode, incremental support, the stream (asking only\n" +
			"sources that can list their streams without reaching a system), the cursor column, the target, and\n" +
			"that no two flows write the same object. No system is reached. Every problem is reported at once, in\n" +
			"file order. Exit 0 when valid, 2 otherwise.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			p, loadErr := config.Load(argv[0])
			if p == nil {
				return &usageError{loadErr}
			}
			a.red.set(p.Secrets())
			l, err := a.launcher(a.dir(p))
			if err != nil {
				return err
			}
			l.WorkDir = p.Dir
			e := engine.New(p, l, a.logger)
			defer e.Close()
			var errs config.ErrorList
			if loadErr != nil {
				errs = append(errs, loadErr.(config.ErrorList)...)
			}
			if err := e.Validate(cmd.Context()); err != nil {
				var list config.ErrorList
				if !errors.As(err, &list) {
					return err
				}
				errs = append(errs, list...)
			}
			if a.jsonOutput() {
				if err := a.writeJSON(newValidateJSON(p, errs.Sorted())); err != nil {
					return err
				}
			}
			if len(errs) > 0 {
				return &usageError{errs.Sorted()}
			}
			if a.jsonOutput() {
				return nil
			}
			fmt.Fprintf(a.stdout, "%s is valid: %s, %s, %s\n", p.Path,
				plural(len(p.SourceNames), "source"), plural(len(p.DestinationNames), "destination"), plural(len(p.Flows), "flow"))
			return nil
		},
	}
}

func (a *app) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE [NAME]",
		Short: "Reach each connector's system (or the named one's) and check the flows",
		Long: "check starts each connector (or only the named one), has it reach its system, and has each source\n" +
			"list its streams; then it checks every flow (or those of the named connector) as run would before\n" +
			"reading: the stream exists, the incremental cursor is one of its columns, the destination accepts the\n" +
			"write. Exit 0 when all is well, 1 when a check failed, 2 for a configuration error.",
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			p := e.Pipeline
			var conns []*config.Connector
			for _, n := range p.SourceNames {
				conns = append(conns, p.Sources[n])
			}
			for _, n := range p.DestinationNames {
				conns = append(conns, p.Destinations[n])
			}
			only := ""
			if len(argv) == 2 {
				only = argv[1]
				var picked []*config.Connector
				for _, c := range conns {
					if c.Name == argv[1] {
						picked = append(picked, c)
					}
				}
				if len(picked) == 0 {
					return &usageError{fmt.Errorf("%s has no source or destination named %q; it has %s", p.Path, argv[1], strings.Join(append(p.SourceNames, p.DestinationNames...), ", "))}
				}
				conns = picked
			}
			if err := e.Start(cmd.Context(), conns...); err != nil {
				return err
			}
			failed, cfgErr := 0, false
			doc := checkJSON{Version: jsonVersion, Command: "check", Pipeline: p.Path, Status: "ok", Connectors: []checkConnectorJSON{}, Flows: []checkFlowJSON{}}
			w := tabwriter.NewWriter(a.textOut(), 0, 0, 2, ' ', 0)
			for _, c := range conns {
				inst := e.Instance(c.Role, c.Name)
				ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
				err := inst.Conn.Check(ctx)
				if err == nil && c.Role == config.RoleSource {
					// A connector's Check cannot tell which role it plays; a
					// source must also be able to list its streams (a
					// missing input file fails here).
					_, err = inst.Conn.Discover(ctx)
				}
				cancel()
				status := "ok"
				if err != nil {
					failed++
					status = "FAILED: " + err.Error()
				}
				doc.Connectors = append(doc.Connectors, checkConnectorJSON{Role: string(c.Role), Name: c.Name, Type: c.Type, Status: statusOf(err), Error: newErrorJSON(err)})
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Role, c.Name, c.Type, status)
			}
			if failed == 0 {
				ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
				for _, fc := range e.CheckFlows(ctx, only) {
					status := "ok"
					if fc.Err != nil {
						failed++
						var ce *engine.ConfigError
						cfgErr = cfgErr || errors.As(fc.Err, &ce)
						status = "FAILED: " + strings.ReplaceAll(fc.Err.Error(), "\n", "; ")
					}
					doc.Flows = append(doc.Flows, checkFlowJSON{Name: fc.Flow, Status: statusOf(fc.Err), Error: newErrorJSON(fc.Err)})
					fmt.Fprintf(w, "flow\t%s\t\t%s\n", fc.Flow, status)
				}
				cancel()
			}
			w.Flush()
			if a.jsonOutput() {
				if failed > 0 {
					doc.Status = "failed"
				}
				if err := a.writeJSON(doc); err != nil {
					return err
				}
			}
			if failed > 0 {
				err := fmt.Errorf("%s failed", plural(failed, "check"))
				if cfgErr {
					return &usageError{err}
				}
				return err
			}
			return nil
		},
	}
}

// source starts one named source of a pipeline.
func (a *app) source(ctx context.Context, e *engine.Engine, name string) (*engine.Instance, error) {
	p := e.Pipeline
	c, ok := p.Sources[name]
	if !ok {
		return nil, &usageError{fmt.Errorf("%s has no source named %q; its sources are %s", p.Path, name, strings.Join(p.SourceNames, ", "))}
	}
	if err := e.Start(ctx, c); err != nil {
		return nil, err
	}
	return e.Instance(config.RoleSource, name), nil
}

func (a *app) discoverCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "discover FILE SOURCE",
		Short: "List a source's streams with their schemas, keys and cursor fields",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			inst, err := a.source(cmd.Context(), e, argv[1])
			if err != nil {
				return err
			}
			streams, err := inst.Conn.Discover(cmd.Context())
			if err != nil {
				return fmt.Errorf("discover source %q: %w", argv[1], err)
			}
			if a.jsonOutput() {
				return a.writeJSON(newDiscoverJSON(e.Pipeline.Path, argv[1], streams))
			}
			for i, s := range streams {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				if s.Default && len(streams) > 1 {
					fmt.Fprintf(a.stdout, "stream %s (default: read by flows that name no stream)\n", s.Name)
				} else {
					fmt.Fprintf(a.stdout, "stream %s\n", s.Name)
				}
				if len(s.PrimaryKey) > 0 {
					fmt.Fprintf(a.stdout, "  primary key: %s\n", strings.Join(s.PrimaryKey, ", "))
				}
				if len(s.CursorFields) > 0 {
					fmt.Fprintf(a.stdout, "  cursor fields: %s\n", strings.Join(s.CursorFields, ", "))
				}
				if s.Schema == nil {
					fmt.Fprintln(a.stdout, "  schema: known after the first page")
					continue
				}
				w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				for _, f := range s.Schema.Fields() {
					null := "not null"
					if f.Nullable {
						null = "nullable"
					}
					fmt.Fprintf(w, "  %s\t%s\t%s\n", f.Name, f.Type, null)
				}
				w.Flush()
			}
			return nil
		},
	}
}

func (a *app) previewCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "preview FILE SOURCE [STREAM]",
		Short: "Print the first rows of a source's stream",
		Long: "preview prints the first rows (--limit, default 10) of a source's stream. STREAM may be left out\n" +
			"when the source has one stream, or marks one as its default (as a flow without stream: reads).",
		Args: args(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if limit < 1 {
				return &usageError{fmt.Errorf("--limit %d: must be at least 1", limit)}
			}
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			inst, err := a.source(cmd.Context(), e, argv[1])
			if err != nil {
				return err
			}
			streams, err := inst.Conn.Discover(cmd.Context())
			if err != nil {
				return fmt.Errorf("discover source %q: %w", argv[1], err)
			}
			name := ""
			if len(argv) == 3 {
				name = argv[2]
			}
			stream, err := pipeline.PickStream(streams, name)
			if err != nil {
				if errors.Is(err, pipeline.ErrNoStream) {
					return &usageError{fmt.Errorf("source %q: %w; name one: %s preview %s %s STREAM", argv[1], err, cmd.Root().Name(), argv[0], argv[1])}
				}
				return &usageError{fmt.Errorf("source %q: %w", argv[1], err)}
			}
			return a.preview(cmd.Context(), inst, stream.Name, limit)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 10, "how many rows to print")
	return cmd
}

func (a *app) preview(ctx context.Context, inst *engine.Instance, stream string, limit int) error {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	defer w.Flush()
	var cp []byte
	printed := 0
	header := false
	for printed < limit {
		page, err := inst.Conn.ReadPage(ctx, sdk.ReadRequest{Stream: stream, Checkpoint: cp, MaxRows: int64(limit - printed)})
		if err != nil {
			return fmt.Errorf("read stream %q: %w", stream, err)
		}
		if len(page.Records) > 0 {
			rec, err := arrowipc.DecodeRecord(page.Records)
			if err != nil {
				return err
			}
			if !header {
				names := make([]string, rec.NumCols())
				for i, f := range rec.Schema().Fields() {
					names[i] = f.Name
				}
				fmt.Fprintln(w, strings.Join(names, "\t"))
				header = true
			}
			for r := 0; r < int(rec.NumRows()) && printed < limit; r++ {
				fmt.Fprintln(w, rowString(rec, r))
				printed++
			}
			rec.Release()
		}
		if page.Done {
			break
		}
		cp = page.Checkpoint
	}
	if !header {
		fmt.Fprintln(w, "(no rows)")
	}
	return nil
}

func rowString(rec arrow.RecordBatch, r int) string {
	vals := make([]string, rec.NumCols())
	for i, c := range rec.Columns() {
		if c.IsNull(r) {
			vals[i] = "NULL"
			continue
		}
		v := c.ValueStr(r)
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		vals[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(v)
	}
	return strings.Join(vals, "\t")
}

func (a *app) pluginsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List or lock the plugins of the plugins directory, or write a new one",
	}
	cmd.AddCommand(a.pluginsNewCommand())
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the plugins found, with version, roles and lock status",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := a.dir(nil)
			bins, err := plugin.List(dir)
			if err != nil {
				return err
			}
			// The launcher reads (and checks) the lock file.
			l, err := a.launcher(dir)
			if err != nil {
				return err
			}
			lock := l.Lock
			out := a.textOut()
			doc := pluginsJSON{Version: jsonVersion, Command: "plugins list", PluginsDir: dir.Path, Plugins: []pluginJSON{}}
			fmt.Fprintf(out, "plugins directory: %s\n", dir)
			if lock == nil {
				fmt.Fprintf(out, "lock: none (run `sqlflow-host plugins lock` to pin the binaries)\n")
			} else {
				lockPath := dir.Path + "/" + plugin.LockFileName
				doc.Lock = &lockPath
				fmt.Fprintf(out, "lock: %s\n", lockPath)
			}
			w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "TYPE\tVERSION\tROLES\tRESILIENCE\tSTATUS")
			bad := 0
			for _, b := range bins {
				spec, err := specOf(cmd.Context(), l, b)
				if err != nil {
					bad++
					doc.Plugins = append(doc.Plugins, pluginJSON{Type: b.Type, Roles: []string{}, Status: "error", Locked: lock != nil, Error: newErrorJSON(err)})
					fmt.Fprintf(w, "%s\t-\t-\t-\tERROR: %s\n", b.Type, firstLine(err.Error()))
					continue
				}
				var roles []string
				if spec.Source {
					roles = append(roles, "source")
				}
				if spec.Destination {
					roles = append(roles, "destination")
				}
				status := "ok"
				if lock != nil {
					status = "ok, locked"
				}
				doc.Plugins = append(doc.Plugins, pluginJSON{Type: b.Type, Version: spec.Version, Roles: nonNil(roles),
					ResilienceClass: string(spec.ResilienceClass), Status: "ok", Locked: lock != nil})
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", b.Type, spec.Version, strings.Join(roles, ","), spec.ResilienceClass, status)
			}
			w.Flush()
			if len(bins) == 0 {
				fmt.Fprintln(out, "(no sqlflow-plugin-* executables)")
			}
			if a.jsonOutput() {
				if err := a.writeJSON(doc); err != nil {
					return err
				}
			}
			if bad > 0 {
				return fmt.Errorf("%s could not be started", plural(bad, "plugin"))
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "lock",
		Short: "Pin each plugin binary's SHA-256 in plugins.lock",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := a.dir(nil)
			lock, err := plugin.WriteLock(dir, a.perms())
			if err != nil {
				return err
			}
			names := make([]string, 0, len(lock))
			for n := range lock {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(a.stdout, "%x  %s\n", lock[n], n)
			}
			fmt.Fprintf(a.stdout, "wrote %s/%s (%s)\n", dir.Path, plugin.LockFileName, plural(len(names), "plugin"))
			return nil
		},
	})
	return cmd
}

// pluginsNewCommand is `plugins new NAME`: a new plugin module that passes
// the conformance kit as written (package scaffold).
func (a *app) pluginsNewCommand() *cobra.Command {
	var o scaffold.Options
	cmd := &cobra.Command{
		Use:   "new NAME [--source] [--destination]",
		Short: "Write a new connector plugin module (main.go, connector, conformance test, README)",
		Long: "new writes a Go module for a connector plugin named NAME into ./sqlflow-plugin-NAME (or --dir):\n" +
			"main.go, a connector whose configuration is declared with sdk/config, a test that runs the SDK's\n" +
			"conformance kit on it, and a README. It passes the kit as written: `go mod tidy && go test ./...`.\n" +
			"--source (the default) writes a source, --destination a destination, both flags a connector that is both.\n" +
			"go.mod requires the SDK module; run from a sqlflow-host checkout (or give --sdk DIR) it also points a\n" +
			"replace directive at that checkout's sdk directory.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			o.Name = argv[0]
			if o.Dir == "" {
				o.Dir = "sqlflow-plugin-" + o.Name
			}
			if o.SDKDir == "" {
				o.SDKDir = scaffold.FindSDK(".")
			}
			wrote, err := scaffold.Write(o)
			if err != nil {
				return &usageError{err}
			}
			for _, p := range wrote {
				fmt.Fprintf(a.stdout, "wrote %s\n", p)
			}
			if o.SDKDir != "" {
				fmt.Fprintf(a.stdout, "go.mod uses the SDK in %s (a replace directive)\n", o.SDKDir)
			} else {
				fmt.Fprintf(a.stdout, "go.mod requires %s %s; no sqlflow-host checkout was found to replace it with (--sdk DIR)\n", scaffold.SDKModule, scaffold.SDKVersion)
			}
			fmt.Fprintf(a.stdout, "next: cd %s && go mod tidy && go test ./...\n", o.Dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Source, "source", false, "write a source (the default when neither role is given)")
	f.BoolVar(&o.Destination, "destination", false, "write a destination")
	f.StringVar(&o.Dir, "dir", "", "directory to create (default ./sqlflow-plugin-NAME); must not hold files")
	f.StringVar(&o.Module, "module", "", "module path of the new module (default example.com/sqlflow-plugin-NAME)")
	f.StringVar(&o.SDKDir, "sdk", "", "the sdk directory of a sqlflow-host checkout to use instead of the released SDK (default: found above the current directory)")
	return cmd
}

func specOf(ctx context.Context, l *plugin.Launcher, b plugin.Binary) (sdk.Spec, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	spec, err := l.Spec(ctx, b.Type)
	if err != nil {
		return sdk.Spec{}, err
	}
	if spec.Name != b.Type {
		return spec, errors.New("its spec names it " + spec.Name + ", its file name says " + b.Type)
	}
	return spec, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
