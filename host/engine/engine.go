// Package engine runs one pipeline file: it launches a plugin process per
// connector instance, configures each (turning the plugin's field errors
// into file:line:col errors), checks the flows against the plugins' specs,
// runs the flows with a concurrency limit and stops every process at the
// end.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/host/state"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// ConfigError marks an error in the pipeline's configuration (the file, or
// a connector's keys as its plugin judged them), as opposed to a failure
// while running. Test with errors.As.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Instance is one started connector instance.
type Instance struct {
	// Config is the instance's configuration.
	Config *config.Connector
	// Spec is what its plugin says of itself.
	Spec sdk.Spec
	// Conn calls it.
	Conn connector.Conn
	// Policy is its effective resilience policy, with where each value
	// came from.
	Policy resilience.Resolved

	proc *plugin.Process
}

// Starter starts the plugin of one connector instance; the default uses a
// plugin.Launcher. Tests replace it to run connectors in-process.
type Starter func(ctx context.Context, c *config.Connector) (connector.Conn, func(), error)

// Engine holds the started instances of one pipeline.
type Engine struct {
	// Pipeline is the decoded file.
	Pipeline *config.Pipeline
	// Logger receives engine and plugin logs.
	Logger hclog.Logger
	// Metrics, when set before Start, receives the connector and flow
	// metrics.
	Metrics *metrics.Metrics

	start     Starter
	mu        sync.Mutex
	instances map[string]*Instance
	// policies are the resolved resilience policies by key(role, name);
	// nil until Start resolved them.
	policies map[string]resilience.Resolved
	stops    []func()
	exec     executor
}

// New returns an engine that starts plugins with launcher.
func New(p *config.Pipeline, launcher *plugin.Launcher, logger hclog.Logger) *Engine {
	e := &Engine{Pipeline: p, Logger: logger, instances: map[string]*Instance{}}
	e.start = func(ctx context.Context, c *config.Connector) (connector.Conn, func(), error) {
		pol := e.startPolicy(c)
		sv := plugin.NewSupervisor(launcher, c.Type, c.Name, func() (json.RawMessage, error) { return e.freshConfig(c) },
			plugin.CrashLoop{MaxRestarts: pol.Recovery.MaxRestarts, Window: pol.Recovery.RestartWindow,
				RestartAtStart: pol.Enabled && pol.Recovery.ConnectionRecovery}, logger)
		if err := sv.Start(ctx); err != nil {
			return nil, nil, err
		}
		if pol.Enabled && pol.Recovery.ConnectionRecovery && pol.Recovery.CheckInterval > 0 {
			sv.WatchHealth(context.WithoutCancel(ctx), pol.Recovery.CheckInterval)
		}
		return sv, sv.Stop, nil
	}
	return e
}

// NewWithStarter returns an engine that starts connectors with start.
func NewWithStarter(p *config.Pipeline, start Starter, logger hclog.Logger) *Engine {
	return &Engine{Pipeline: p, Logger: logger, instances: map[string]*Instance{}, start: start}
}

func key(role config.Role, name string) string { return string(role) + ":" + name }

// Instance returns a started instance, or nil.
func (e *Engine) Instance(role config.Role, name string) *Instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.instances[key(role, name)]
}

// StartTimeout bounds starting and configuring one plugin.
const StartTimeout = 60 * time.Second

// Start launches and configures the given instances (all of the pipeline's
// when none are given). Before any plugin starts it resolves the
// resilience policy of every instance of the pipeline (CheckResilience):
// invalid settings come back as a *ConfigError holding a config.ErrorList
// and deprecation warnings are logged. Field errors of every instance are
// collected and returned together as a *ConfigError holding a
// config.ErrorList; a plugin that cannot start stops the start at once.
func (e *Engine) Start(ctx context.Context, conns ...*config.Connector) error {
	if err := e.resolvePolicies(); err != nil {
		return err
	}
	if len(conns) == 0 {
		for _, n := range e.Pipeline.SourceNames {
			conns = append(conns, e.Pipeline.Sources[n])
		}
		for _, n := range e.Pipeline.DestinationNames {
			conns = append(conns, e.Pipeline.Destinations[n])
		}
	}
	var ferrs config.ErrorList
	for _, c := range conns {
		if e.Instance(c.Role, c.Name) != nil {
			continue
		}
		inst, fe, err := e.startOne(ctx, c)
		if err != nil {
			return err
		}
		ferrs = append(ferrs, fe...)
		e.mu.Lock()
		e.instances[key(c.Role, c.Name)] = inst
		e.mu.Unlock()
	}
	if len(ferrs) > 0 {
		return &ConfigError{Err: ferrs}
	}
	return nil
}

func (e *Engine) startOne(ctx context.Context, c *config.Connector) (*Instance, config.ErrorList, error) {
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	conn, stop, err := e.start(ctx, c)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%s %q (type %s, %s): %w", c.Role, c.Name, c.Type, c.Pos, err)
	}
	e.mu.Lock()
	e.stops = append(e.stops, stop)
	e.mu.Unlock()
	raw := conn
	conn = &serialized{Conn: conn}
	spec, err := conn.Spec(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q: spec: %w", c.Role, c.Name, err)
	}
	if c.Role == config.RoleSource && !spec.Source {
		return nil, nil, &ConfigError{Err: fmt.Errorf("%s: sources.%s: connector type %q cannot be a source (it is a destination only)", c.Pos, c.Name, c.Type)}
	}
	if c.Role == config.RoleDestination && !spec.Destination {
		return nil, nil, &ConfigError{Err: fmt.Errorf("%s: destinations.%s: connector type %q cannot be a destination (it is a source only)", c.Pos, c.Name, c.Type)}
	}
	pol, err := e.policy(c, spec)
	if err != nil {
		return nil, nil, err
	}
	conn = e.wrap(c, raw, conn, pol.Policy)
	cfg, err := configJSON(c, pol)
	if err != nil {
		return nil, nil, &ConfigError{Err: fmt.Errorf("%s: %s %q: %w", c.Pos, c.Role, c.Name, err)}
	}
	fe, err := conn.Configure(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q: configure: %w", c.Role, c.Name, err)
	}
	var errs config.ErrorList
	for _, f := range fe {
		errs = append(errs, c.FieldError(f))
	}
	return &Instance{Config: c, Spec: spec, Conn: conn, Policy: pol}, errs, nil
}

// Close stops every started plugin process.
func (e *Engine) Close() {
	e.mu.Lock()
	stops := e.stops
	e.stops = nil
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range stops {
		wg.Add(1)
		go func() { defer wg.Done(); s() }()
	}
	wg.Wait()
}

// Validate starts every instance (Spec and Configure, no system is
// reached) and checks each flow's mode against its destination's spec.
func (e *Engine) Validate(ctx context.Context) error {
	if err := e.Start(ctx); err != nil {
		return err
	}
	specs := map[string]sdk.Spec{}
	for _, n := range e.Pipeline.DestinationNames {
		specs[n] = e.Instance(config.RoleDestination, n).Spec
	}
	if err := e.Pipeline.CheckModes(specs); err != nil {
		return &ConfigError{Err: err}
	}
	return nil
}

// RunOptions tune Run.
type RunOptions struct {
	// Concurrency is how many flows run at once; zero means 1.
	Concurrency int
	// Flow options (page caps, prefetch, progress).
	Flow pipeline.Options
	// State stores incremental flows' cursors; the zero value uses
	// state.DefaultDir.
	State state.Store
}

// FlowResult is one flow's outcome.
type FlowResult struct {
	pipeline.Result
	// Err is nil when the flow committed.
	Err error
	// Resilience is what the policies did for the flow's calls: retries,
	// time waited on rate limits, plugin restarts.
	Resilience resilience.Stats
}

// Run validates the pipeline, resolves each flow's stream and runs the
// flows. It returns every flow's result in file order, and an error when
// any flow failed (the failed flows' targets are left as they were).
func (e *Engine) Run(ctx context.Context, opts RunOptions) ([]FlowResult, error) {
	if err := e.Validate(ctx); err != nil {
		return nil, err
	}
	if opts.State.Dir == "" {
		opts.State.Dir = state.DefaultDir
	}
	flows := make([]pipeline.Flow, len(e.Pipeline.Flows))
	for i, f := range e.Pipeline.Flows {
		pf, err := e.resolveFlow(ctx, f)
		if err != nil {
			return nil, err
		}
		if pf.CursorField != "" {
			st, err := opts.State.Load(e.Pipeline.Path, pf.Name)
			if err != nil {
				return nil, err
			}
			if st != nil && st.CursorField == pf.CursorField {
				pf.CursorValue = st.Cursor
				e.Logger.Info("incremental flow resumes after the stored cursor", "flow", pf.Name, "cursor_field", pf.CursorField, "cursor", string(st.Cursor))
			} else if st != nil {
				e.Logger.Warn("stored cursor is on another column; reading from the start", "flow", pf.Name, "stored", st.CursorField, "now", pf.CursorField)
			}
		}
		flows[i] = pf
	}
	conc := opts.Concurrency
	if conc <= 0 {
		conc = 1
	}
	results := make([]FlowResult, len(flows))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = FlowResult{Result: pipeline.Result{Flow: flows[i].Name}, Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			fc := e.flowCounters(flows[i].Name)
			r, err := pipeline.Run(resilience.WithCounters(ctx, fc), flows[i], e.flowOptions(opts.Flow, flows[i].Name))
			if err == nil && flows[i].CursorField != "" && len(r.Cursor) > 0 {
				// The cursor advances only after the destination committed.
				err = opts.State.Save(e.Pipeline.Path, flows[i].Name, state.Flow{
					CursorField: flows[i].CursorField, Cursor: r.Cursor, Checkpoint: r.Checkpoint, UpdatedAt: time.Now().UTC(),
				})
				if err != nil {
					err = fmt.Errorf("flow %q committed, but its cursor was not saved (the next run reads these rows again): %w", flows[i].Name, err)
				}
			}
			if err != nil {
				e.flowFailed(flows[i].Name, err)
			}
			results[i] = FlowResult{Result: r, Err: err, Resilience: fc.Stats()}
		}()
	}
	wg.Wait()
	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Flow)
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return results, fmt.Errorf("%d of %d flows failed: %v", len(failed), len(results), failed)
	}
	return results, nil
}

func (e *Engine) resolveFlow(ctx context.Context, f *config.Flow) (pipeline.Flow, error) {
	src := e.Instance(config.RoleSource, f.From)
	dst := e.Instance(config.RoleDestination, f.To)
	streams, err := src.Conn.Discover(ctx)
	if err != nil {
		return pipeline.Flow{}, fmt.Errorf("flow %q: discover streams of source %q: %w", f.Name, f.From, err)
	}
	stream, err := pipeline.PickStream(streams, f.Stream)
	if err != nil {
		return pipeline.Flow{}, &ConfigError{Err: fmt.Errorf("%s: flows[%d].stream: source %q: %w", f.FieldPos("stream"), f.Index, f.From, err)}
	}
	target := f.Target
	if target == "" {
		target = stream.Name
	}
	pf := pipeline.Flow{
		Name: f.Name, SourceName: f.From, DestName: f.To,
		Source: src.Conn, Dest: dst.Conn,
		Stream: stream.Name, Schema: stream.Schema,
		Target: target, Mode: f.Mode, Key: f.Key,
	}
	if f.Incremental != nil {
		if !src.Spec.Incremental {
			return pipeline.Flow{}, &ConfigError{Err: fmt.Errorf("%s: flows[%d].incremental: source %q (%s) does not support incremental reads",
				f.Incremental.Pos, f.Index, f.From, src.Config.Type)}
		}
		pf.CursorField = f.Incremental.Cursor
	}
	return pf, nil
}

// serialized makes one connector's calls one at a time: the SDK promises
// connector authors no concurrent calls, and flows sharing an instance
// would otherwise make them.
type serialized struct {
	connector.Conn
	mu sync.Mutex
}

func (s *serialized) Spec(ctx context.Context) (sdk.Spec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.Spec(ctx)
}

func (s *serialized) Configure(ctx context.Context, cfg json.RawMessage) ([]sdk.FieldError, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.Configure(ctx, cfg)
}

func (s *serialized) Check(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.Check(ctx)
}

func (s *serialized) Discover(ctx context.Context) ([]sdk.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.Discover(ctx)
}

func (s *serialized) ReadPage(ctx context.Context, req sdk.ReadRequest) (connector.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.ReadPage(ctx, req)
}

func (s *serialized) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.BeginWrite(ctx, req)
}

func (s *serialized) WriteBatch(ctx context.Context, id string, seq int64, rec []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.WriteBatch(ctx, id, seq, rec)
}

func (s *serialized) CommitWrite(ctx context.Context, id string, state []byte) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.CommitWrite(ctx, id, state)
}

func (s *serialized) AbortWrite(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.AbortWrite(ctx, id)
}

func (s *serialized) LoadState(ctx context.Context, flow string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.LoadState(ctx, flow)
}

func (s *serialized) DeleteState(ctx context.Context, flow string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.DeleteState(ctx, flow)
}
