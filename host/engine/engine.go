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
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
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
	// StartTime is how long starting and configuring its plugin took.
	StartTime time.Duration
}

// Starter starts the plugin of one connector instance; the default uses a
// plugin.Launcher. Tests replace it to run connectors in-process.
type Starter func(ctx context.Context, c *config.Connector) (connector.Conn, func(), error)

// Engine holds the started instances of one pipeline. Instances start
// lazily, the first time a flow or a command needs them, each once.
type Engine struct {
	// Pipeline is the decoded file.
	Pipeline *config.Pipeline
	// Logger receives engine and plugin logs.
	Logger hclog.Logger
	// Metrics, when set before Start, receives the connector and flow
	// metrics.
	Metrics *metrics.Metrics
	// SharedLimiter, when set before Start, enforces the rate limits whose
	// policy says rate_limit.shared across processes (host/sharedlimit);
	// nil keeps every limit local to this process.
	SharedLimiter resilience.SharedLimiter

	start Starter
	// specs returns the Specs of plugin types known without starting
	// anything; nil when the Starter is not a launcher's.
	specs SpecLookup
	// fetchSpec learns a type's Spec ahead of the start of the named
	// instance (plugin.Launcher.Prestart); nil when the Starter is not a
	// launcher's.
	fetchSpec func(ctx context.Context, typ, instance string) (sdk.Spec, error)
	// stopSpares stops the processes fetchSpec started that no instance
	// took; nil when the Starter is not a launcher's.
	stopSpares func()
	// named reports whether a plugin binary is named after a type (not
	// found through an alias); nil when the Starter is not a launcher's.
	named func(typ string) bool
	mu    sync.Mutex
	slots map[string]*slot
	// policies are the resolved resilience policies by key(role, name);
	// nil until resolvePolicies ran.
	policies map[string]resilience.Resolved
	// badPolicy holds the instances whose resilience settings are invalid.
	badPolicy map[string]bool
	policyErr error
	// claims maps the objects this run's flows write (resolved targets)
	// to the flow writing each.
	claims map[string]string
	stops  []func()
	exec   executor
	live   liveFlows
}

// slot is one instance's start, done once.
type slot struct {
	done chan struct{}
	inst *Instance // set when the plugin started, even with field errors
	err  error     // a *ConfigError for field errors
}

// New returns an engine that starts plugins with launcher.
func New(p *config.Pipeline, launcher *plugin.Launcher, logger hclog.Logger) *Engine {
	e := NewWithStarter(p, nil, logger)
	e.specs = launcher.CachedSpec
	e.fetchSpec = launcher.Prestart
	e.stopSpares = launcher.StopSpares
	e.named = func(typ string) bool {
		_, err := plugin.Find(launcher.Dir, typ)
		return err == nil
	}
	e.start = func(ctx context.Context, c *config.Connector) (connector.Conn, func(), error) {
		pol := e.startPolicy(c)
		// Restarting a crashed or hung plugin is the host's job whatever
		// the connector's profile: only resilience: false or
		// recovery: false turn it off.
		sv := plugin.NewSupervisor(launcher, c.Type, c.Name, func() (json.RawMessage, error) { return e.freshConfig(c) },
			crashLoop(pol), logger)
		if err := sv.Start(ctx); err != nil {
			return nil, nil, err
		}
		// The plugin's Spec is known now (the launcher learnt it at the
		// start): its profile sizes the crash-loop limit and the health
		// checks.
		pol = e.startPolicy(c)
		sv.SetCrashLoop(crashLoop(pol))
		if pol.Enabled && pol.Recovery.ConnectionRecovery && pol.Recovery.CheckInterval > 0 {
			sv.WatchHealth(context.WithoutCancel(ctx), pol.Recovery.CheckInterval)
		}
		return sv, sv.Stop, nil
	}
	return e
}

// crashLoop is the supervisor's crash-loop limit under pol.
func crashLoop(pol resilience.Policy) plugin.CrashLoop {
	return plugin.CrashLoop{MaxRestarts: pol.Recovery.MaxRestarts, Window: pol.Recovery.RestartWindow,
		RestartAtStart: pol.Enabled && pol.Recovery.ConnectionRecovery}
}

// NewWithStarter returns an engine that starts connectors with start.
func NewWithStarter(p *config.Pipeline, start Starter, logger hclog.Logger) *Engine {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Engine{Pipeline: p, Logger: logger, slots: map[string]*slot{}, start: start}
}

func key(role config.Role, name string) string { return string(role) + ":" + name }

// Instance returns an instance whose plugin started and accepted its
// configuration, or nil.
func (e *Engine) Instance(role config.Role, name string) *Instance {
	e.mu.Lock()
	s := e.slots[key(role, name)]
	e.mu.Unlock()
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
		if s.err == nil {
			return s.inst
		}
	default:
	}
	return nil
}

// StartTimeout bounds starting and configuring one plugin.
const StartTimeout = 60 * time.Second

// Start launches and configures the given instances (all of the
// pipeline's when none are given), at once. Before any instance starts
// it learns the Spec of every plugin type the pipeline uses and resolves
// the resilience policy of every instance (CheckResilience): invalid
// settings come back as a *ConfigError holding a config.ErrorList, and
// deprecation warnings are logged. An instance
// already started is not started again. When every problem is a field
// error, they come back together as a *ConfigError holding a
// config.ErrorList in file order; otherwise the first other error (a
// plugin that cannot start) in file order.
func (e *Engine) Start(ctx context.Context, conns ...*config.Connector) error {
	if err := e.resolvePolicies(ctx); err != nil {
		return err
	}
	if len(conns) == 0 {
		conns = e.connectors()
	}
	var ferrs config.ErrorList
	for _, err := range e.startAll(ctx, conns) {
		var ce *ConfigError
		var list config.ErrorList
		switch {
		case err == nil:
		case errors.As(err, &ce) && errors.As(ce.Err, &list):
			ferrs = append(ferrs, list...)
		default:
			return err
		}
	}
	if len(ferrs) > 0 {
		return &ConfigError{Err: ferrs.Sorted()}
	}
	return nil
}

// startAll starts conns at once and returns each one's start error.
func (e *Engine) startAll(ctx context.Context, conns []*config.Connector) []error {
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.instance(ctx, c)
		}()
	}
	wg.Wait()
	return errs
}

// connectors returns every instance of the pipeline: sources, then
// destinations, each in file order.
func (e *Engine) connectors() []*config.Connector {
	var out []*config.Connector
	for _, n := range e.Pipeline.SourceNames {
		out = append(out, e.Pipeline.Sources[n])
	}
	for _, n := range e.Pipeline.DestinationNames {
		out = append(out, e.Pipeline.Destinations[n])
	}
	return out
}

// instance starts c's plugin the first time it is asked for, and returns
// it (every caller waits for the one start). A plugin whose Configure
// answered field errors comes back with a *ConfigError holding them.
func (e *Engine) instance(ctx context.Context, c *config.Connector) (*Instance, error) {
	k := key(c.Role, c.Name)
	e.mu.Lock()
	s, started := e.slots[k]
	if !started {
		s = &slot{done: make(chan struct{})}
		e.slots[k] = s
	}
	e.mu.Unlock()
	if !started {
		t0 := time.Now()
		inst, fe, err := e.startOne(ctx, c)
		switch {
		case err != nil:
			s.err = err
		case len(fe) > 0:
			s.inst, s.err = inst, &ConfigError{Err: fe}
		default:
			inst.StartTime = time.Since(t0)
			s.inst = inst
			e.Logger.Debug("plugin started", "connector", c.Name, "type", c.Type, "role", string(c.Role), "took", inst.StartTime.Round(time.Millisecond))
		}
		close(s.done)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.inst, s.err
}

func (e *Engine) startOne(ctx context.Context, c *config.Connector) (*Instance, config.ErrorList, error) {
	if e.badPolicy[key(c.Role, c.Name)] {
		return nil, nil, &ConfigError{Err: fmt.Errorf("%s %q: its resilience settings are invalid", c.Role, c.Name)}
	}
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
	// The policy (and its crash recovery) wraps the connection once the
	// spec is known; a plugin that dies before answering its first call
	// is restarted here, as the policy would, within the crash-loop limit.
	rec, canRecover := raw.(interface{ Recover(context.Context) error })
	sp := e.startPolicy(c)
	canRecover = canRecover && sp.Enabled && sp.Recovery.ConnectionRecovery
	for i := 0; err != nil && canRecover && rpcclient.IsTransport(err) && i < max(sp.Recovery.MaxRestarts, 1); i++ {
		if rerr := rec.Recover(ctx); rerr != nil {
			if errclass.Is(rerr, errclass.Permanent) || ctx.Err() != nil {
				err = fmt.Errorf("%w (restarting it failed: %w)", err, rerr)
				break
			}
			// Killed again while restarting: the supervisor's crash-loop
			// limit decides when to give up.
			err = rerr
			continue
		}
		spec, err = conn.Spec(ctx)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q: spec: %w", c.Role, c.Name, err)
	}
	if c.Role == config.RoleSource && !spec.Source {
		return nil, nil, &ConfigError{Err: config.ErrorList{{Pos: c.Pos, Path: "sources." + c.Name,
			Msg: fmt.Sprintf("connector type %q cannot be a source (it is a destination only)", c.Type)}}}
	}
	if c.Role == config.RoleDestination && !spec.Destination {
		return nil, nil, &ConfigError{Err: config.ErrorList{{Pos: c.Pos, Path: "destinations." + c.Name,
			Msg: fmt.Sprintf("connector type %q cannot be a destination (it is a source only)", c.Type)}}}
	}
	pol, err := e.policy(c, spec)
	if err != nil {
		return nil, nil, err
	}
	conn = e.wrap(c, spec, raw, conn, pol.Policy)
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

// Close stops every started plugin process, and those started only to
// learn their Specs.
func (e *Engine) Close() {
	if e.stopSpares != nil {
		e.stopSpares()
	}
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

func (s *serialized) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conn.CheckWrite(ctx, req)
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
