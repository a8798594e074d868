package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/host/state"
)

// RunOptions tune Run.
type RunOptions struct {
	// Concurrency is how many flows run at once; zero means 1.
	Concurrency int
	// Flow options (page caps, prefetch, progress).
	Flow pipeline.Options
	// StateDir overrides the state directory (--state-dir); empty means
	// the pipeline's (see Engine.StateStore).
	StateDir string
	// Select names the flows to run; empty means all. Plugins that no
	// selected flow uses are not started.
	Select []string
	// State, when not nil, keeps the flows' cursors instead of the state
	// directory (StateDir is then ignored): the PostgreSQL backend of
	// workers that share one database (package state/pgstate).
	State state.Backend
	// FullRefresh reads incremental flows from the start, ignoring their
	// stored cursors; the greatest value read is stored after the commit
	// as usual.
	FullRefresh bool
}

// FlowResult is one flow's outcome.
type FlowResult struct {
	pipeline.Result
	// Err is nil when the flow succeeded: it committed, or its stream was
	// empty and the target was left as it was.
	Err error
	// Resilience is what the policies did for the flow's calls: retries,
	// time waited on rate limits, plugin restarts.
	Resilience resilience.Stats
	// Skipped is true when the flow never started: the run was stopped
	// while it waited for its turn (Err is then the context's error).
	Skipped bool
}

// FlowsError is Run's error when flows failed.
type FlowsError struct {
	// Failed names the failed flows, in file order.
	Failed []string
	// Total is how many flows ran.
	Total int
	// Errs are the failed flows' errors, as Failed.
	Errs []error
	// Configuration is true when a flow failed on a problem of the
	// pipeline's configuration (a key a connector refused, a stream the
	// source lacks, a stored cursor of another configuration): the
	// command-line exit status is then 2, not 1.
	Configuration bool
}

// Error says how many flows failed and, for each, the first line of its
// error; the whole error when only one failed.
func (e *FlowsError) Error() string {
	if len(e.Errs) == 1 {
		return e.Errs[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d flows failed: %s", len(e.Failed), e.Total, strings.Join(e.Failed, ", "))
	for _, err := range e.Errs {
		line, _, _ := strings.Cut(err.Error(), "\n")
		b.WriteString("\n  " + line)
	}
	return b.String()
}

// Unwrap returns the failed flows' errors.
func (e *FlowsError) Unwrap() []error { return e.Errs }

// StateStore returns the state store of the pipeline: dir when not empty
// (--state-dir), else the file's state_dir, else .sqlflow/state beside
// the pipeline file.
func (e *Engine) StateStore(dir string) state.Store {
	switch {
	case dir != "":
	case e.Pipeline.StateDir != "":
		dir = e.Pipeline.StateDir
	default:
		dir = e.Pipeline.Dir + "/" + state.DirName
	}
	return state.Store{Dir: dir}
}

// SelectFlows returns the flows named by names (all when names is empty),
// in file order; an unknown name is a *ConfigError listing the flows.
func (e *Engine) SelectFlows(names []string) ([]*config.Flow, error) {
	if len(names) == 0 {
		return e.Pipeline.Flows, nil
	}
	all := make([]string, len(e.Pipeline.Flows))
	for i, f := range e.Pipeline.Flows {
		all[i] = f.Name
	}
	var bad []string
	for _, n := range names {
		if !slices.Contains(all, n) {
			bad = append(bad, fmt.Sprintf("%q%s", n, config.Suggest(n, all)))
		}
	}
	if len(bad) > 0 {
		return nil, &ConfigError{Err: fmt.Errorf("%s has no flow %s; its flows are %s", e.Pipeline.Path, strings.Join(bad, ", "), strings.Join(all, ", "))}
	}
	var out []*config.Flow
	for _, f := range e.Pipeline.Flows {
		if slices.Contains(names, f.Name) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Run runs the pipeline's flows (those opts.Select names, or all). It
// refuses to start when a resilience setting is invalid (a *ConfigError).
// Otherwise every flow gets a result, in file order: a connector that
// cannot start, refuses its configuration, or fails to list its streams
// fails the flows that use it, and the others run. Before any data moves,
// the destinations of the flows are started and asked what each write
// would change: flows writing the same object fail. Each flow's ends
// start lazily, when it is its turn. The error is a *FlowsError when any
// flow failed (their targets are left as they were).
func (e *Engine) Run(ctx context.Context, opts RunOptions) ([]FlowResult, error) {
	if err := e.resolvePolicies(ctx); err != nil {
		return nil, err
	}
	flows, err := e.SelectFlows(opts.Select)
	if err != nil {
		return nil, err
	}
	var store state.Backend = e.StateStore(opts.StateDir)
	if opts.State != nil {
		store = opts.State
	}
	results := make([]FlowResult, len(flows))
	for i, f := range flows {
		results[i].Flow = f.Name
	}
	failed := make([]error, len(flows))

	// What each write would change, from the destinations alone: two flows
	// writing one object are refused before either moves a row.
	runStart := time.Now()
	checks := e.checkWrites(ctx, flows)
	conc := max(opts.Concurrency, 1)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := checks[i]; err != nil {
				failed[i] = err
				results[i].Elapsed = time.Since(runStart)
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				failed[i] = ctx.Err()
				results[i].Elapsed = time.Since(runStart)
				results[i].Skipped = true
				return
			}
			defer func() { <-sem }()
			fc := e.flowCounters(f.Name)
			start := time.Now()
			r, err := e.runFlow(resilience.WithCounters(ctx, fc), f, store, opts)
			r.Flow = f.Name
			if r.Elapsed == 0 {
				// A flow that failed before or outside its paging loop
				// (starting a plugin, beginning the write) still took time.
				r.Elapsed = time.Since(start)
			}
			results[i] = FlowResult{Result: r, Resilience: fc.Stats()}
			failed[i] = err
		}()
	}
	wg.Wait()
	fe := &FlowsError{Total: len(flows)}
	for i, err := range failed {
		if err == nil {
			continue
		}
		err = fmt.Errorf("flow %q: %w", flows[i].Name, trimFlowPrefix(err, flows[i].Name))
		results[i].Err = err
		e.flowFailed(flows[i].Name, err)
		fe.Failed = append(fe.Failed, flows[i].Name)
		fe.Errs = append(fe.Errs, err)
		var ce *ConfigError
		var se *state.Error
		if errors.As(err, &ce) || errors.As(err, &se) || errors.Is(err, plugin.ErrUnknownType) {
			fe.Configuration = true
		}
	}
	if len(fe.Failed) > 0 {
		return results, fe
	}
	return results, nil
}

// trimFlowPrefix drops a leading `flow "NAME": ` that pipeline.Run put on
// err, so that the flow is named once.
func trimFlowPrefix(err error, name string) error {
	prefix := fmt.Sprintf("flow %q: ", name)
	if u := errors.Unwrap(err); u != nil && err.Error() == prefix+u.Error() {
		return u
	}
	return err
}

// checkWrites starts the destinations of flows and asks each what its
// flow's write would change; it returns, per flow, the error that keeps it
// from running (nil for most). The stream's name is not known yet for a
// flow that names no target; such a flow is checked when it runs.
func (e *Engine) checkWrites(ctx context.Context, flows []*config.Flow) []error {
	out := make([]error, len(flows))
	plans := make([]*plan, len(flows))
	var wg sync.WaitGroup
	for i, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst, err := e.instance(ctx, e.Pipeline.Destinations[f.To])
			if err != nil {
				out[i] = err
				return
			}
			if f.Target == "" {
				return
			}
			resolved, err := dst.Conn.CheckWrite(ctx, e.writeRequest(f, f.Stream))
			if err == nil {
				plans[i] = &plan{flow: f, resolved: resolved}
			}
		}()
	}
	wg.Wait()
	groups := map[string][]int{}
	var order []string
	for i, p := range plans {
		if p == nil || p.resolved == "" {
			continue
		}
		if len(groups[p.resolved]) == 0 {
			order = append(order, p.resolved)
		}
		groups[p.resolved] = append(groups[p.resolved], i)
	}
	for _, res := range order {
		idx := groups[res]
		e.claim(res, flows[idx[0]].Name)
		if len(idx) < 2 {
			continue
		}
		names := make([]string, len(idx))
		for k, i := range idx {
			names[k] = fmt.Sprintf("%q (line %d)", flows[i].Name, flows[i].Pos.Line)
		}
		for _, i := range idx {
			if out[i] == nil {
				f := flows[i]
				out[i] = &ConfigError{Err: config.ErrorList{{Pos: f.FieldPos("target"), Path: fmt.Sprintf("flows[%d].target", f.Index),
					Msg: fmt.Sprintf("flows %s all write %s and would overwrite each other's rows; give each its own target", strings.Join(names, " and "), res)}}}
			}
		}
	}
	return out
}

// claim records that flow writes the object resolved in this run; it
// returns the flow that claimed it first ("" when none did).
func (e *Engine) claim(resolved, flow string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.claims == nil {
		e.claims = map[string]string{}
	}
	if g, ok := e.claims[resolved]; ok && g != flow {
		return g
	}
	e.claims[resolved] = flow
	return ""
}

// runFlow runs one flow: it starts its ends, checks it, finds its stored
// cursor, copies it and stores the new cursor. Its live state (FlowLive)
// says it started, then that it ended.
func (e *Engine) runFlow(ctx context.Context, f *config.Flow, store state.Backend, opts RunOptions) (_ pipeline.Result, err error) {
	e.flowStarted(f.Name)
	defer func() { e.flowEnded(f.Name, err) }()
	src, dst, err := e.startEnds(ctx, f)
	if err != nil {
		return pipeline.Result{}, err
	}
	pl, ferrs, err := e.checkFlow(ctx, f, src, dst, discoverAll)
	if len(ferrs) > 0 {
		return pipeline.Result{}, &ConfigError{Err: ferrs.Sorted()}
	}
	if err != nil {
		return pipeline.Result{}, err
	}
	if pl.resolved != "" {
		if g := e.claim(pl.resolved, f.Name); g != "" {
			return pipeline.Result{}, &ConfigError{Err: config.ErrorList{{Pos: f.FieldPos("target"), Path: fmt.Sprintf("flows[%d].target", f.Index),
				Msg: fmt.Sprintf("flow %q writes %s, as flow %q of this run does; the two would overwrite each other's rows; give each its own target", f.Name, pl.resolved, g)}}}
		}
	}
	req := e.writeRequest(f, pl.stream.Name)
	pf := pipeline.Flow{
		Name: f.Name, SourceName: f.From, DestName: f.To,
		SourceType: src.Config.Type, DestType: dst.Config.Type, StateKey: req.Flow,
		Source: src.Conn, Dest: dst.Conn,
		Stream: pl.stream.Name, Schema: pl.stream.Schema,
		Target: req.Target, DefaultTarget: req.DefaultTarget, Mode: f.Mode, Key: f.Key,
	}
	var cur *cursor
	if f.Incremental != nil {
		cur, err = e.loadCursor(ctx, f, &pf, src, dst, store, opts.FullRefresh)
		if err != nil {
			return pipeline.Result{}, err
		}
	}
	e.flowEstimated(f.Name, runEstimate(pl.stream, f.Incremental != nil, pf.CursorValue))
	r, err := pipeline.Run(ctx, pf, e.flowOptions(opts.Flow, f.Name))
	if err != nil {
		return r, err
	}
	if cur != nil && len(r.Cursor) > 0 {
		// The cursor advances only after the destination committed.
		if serr := cur.save(r); serr != nil {
			if cur.inDest {
				e.Logger.Warn("the destination stored the flow's cursor with its commit, but the state file was not written", "flow", f.Name, "error", serr)
			} else {
				return r, fmt.Errorf("committed, but its cursor was not saved (the next run reads these rows again): %w", serr)
			}
		}
	}
	return r, nil
}
