package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// plan is one flow made ready to run: its started ends, its stream and
// what its destination says the write would change.
type plan struct {
	flow     *config.Flow
	src, dst *Instance
	stream   sdk.Stream
	// resolved is the destination's name for the written object (see
	// sdk.WriteChecker); empty when the destination cannot tell.
	resolved string
}

// discovery says how far checkFlow goes to find a flow's stream.
type discovery int

const (
	// discoverLocal asks only sources whose Discover reaches no system
	// (validate).
	discoverLocal discovery = iota
	// discoverAll asks every source (check, run).
	discoverAll
)

// StateKey is the key a flow's staging areas and stored state carry in
// its destination: "<pipeline name>/<flow name>", and "/<target>" when
// the flow names its target (or stream). The target keeps two pipelines
// of the same name (two directories, each with a pipeline.yaml) that load
// different tables of one database from sharing a stored cursor.
func (e *Engine) StateKey(f *config.Flow) string {
	k := e.Pipeline.Name + "/" + f.Name
	if f.Target != "" {
		k += "/" + f.Target
	}
	return k
}

// writeRequest is the write a flow would make, without id or schema.
func (e *Engine) writeRequest(f *config.Flow, stream string) sdk.WriteRequest {
	target, def := f.Target, false
	if target == "" {
		target, def = stream, true
	}
	return sdk.WriteRequest{Flow: e.StateKey(f), Target: target, DefaultTarget: def, Mode: f.Mode, Key: f.Key}
}

// startEnds starts a flow's source and destination (at once when neither
// is started yet).
func (e *Engine) startEnds(ctx context.Context, f *config.Flow) (src, dst *Instance, err error) {
	var serr, derr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); src, serr = e.instance(ctx, e.Pipeline.Sources[f.From]) }()
	go func() { defer wg.Done(); dst, derr = e.instance(ctx, e.Pipeline.Destinations[f.To]) }()
	wg.Wait()
	// The errors name the instance already (field errors their keys).
	if serr != nil {
		return nil, nil, serr
	}
	if derr != nil {
		return nil, nil, derr
	}
	return src, dst, nil
}

// checkFlow checks a flow against its started ends: the mode against the
// destination's, incremental against the source's capabilities, the
// stream (when how allows calling the source's Discover) and the
// incremental cursor among its columns, and the write against the
// destination (CheckWrite). Problems of configuration come back as
// config errors at the flow's keys; anything else (a Discover that
// failed) as err.
func (e *Engine) checkFlow(ctx context.Context, f *config.Flow, src, dst *Instance, how discovery) (plan, config.ErrorList, error) {
	pl := plan{flow: f, src: src, dst: dst, stream: sdk.Stream{Name: f.Stream}}
	var errs config.ErrorList
	add := func(key, format string, args ...any) {
		errs = append(errs, &config.Error{Pos: f.FieldPos(key), Path: fmt.Sprintf("flows[%d].%s", f.Index, key), Msg: fmt.Sprintf(format, args...)})
	}
	if err := e.Pipeline.CheckMode(f, dst.Spec); err != nil {
		errs = append(errs, err)
	}
	if f.Incremental != nil && !src.Spec.Incremental {
		errs = append(errs, &config.Error{Pos: f.Incremental.Pos, Path: fmt.Sprintf("flows[%d].incremental", f.Index),
			Msg: fmt.Sprintf("source %q (%s) does not support incremental reads; remove incremental to copy the whole stream every run", f.From, src.Config.Type)})
	}
	var runErr error
	known := false
	if how == discoverAll || src.Spec.LocalDiscover {
		streams, err := src.Conn.Discover(ctx)
		if err != nil {
			runErr = fmt.Errorf("discover the streams of source %q: %w", f.From, err)
		} else if s, err := pipeline.PickStream(streams, f.Stream); err != nil {
			add("stream", "source %q: %v", f.From, err)
		} else {
			pl.stream, known = s, true
		}
	}
	if known && f.Incremental != nil && pl.stream.Schema != nil {
		names := make([]string, pl.stream.Schema.NumFields())
		for i, fl := range pl.stream.Schema.Fields() {
			names[i] = fl.Name
		}
		// A source may offer cursor fields beyond its columns (the s3
		// source's _last_modified).
		names = append(names, pl.stream.CursorFields...)
		if !slices.Contains(names, f.Incremental.Cursor) {
			errs = append(errs, &config.Error{Pos: f.Incremental.Pos, Path: fmt.Sprintf("flows[%d].incremental.cursor", f.Index),
				Msg: fmt.Sprintf("stream %q of source %q has no column %q%s; its columns are %s", pl.stream.Name, f.From,
					f.Incremental.Cursor, config.Suggest(f.Incremental.Cursor, names), strings.Join(names, ", "))})
		}
	}
	if f.Target != "" || known {
		resolved, err := dst.Conn.CheckWrite(ctx, e.writeRequest(f, pl.stream.Name))
		switch {
		case err == nil:
			pl.resolved = resolved
			if src := e.readsFile(src, resolved); src != "" {
				if f.Mode == sdk.ModeReplace {
					e.Logger.Warn("the flow reads and replaces the same file", "flow", f.Name, "file", src)
				} else {
					add("target", "flow %q reads %s and %ss into it: every run would add the file's own rows to it again; write another file", f.Name, src, f.Mode)
				}
			}
		case errors.Is(err, rpcclient.ErrNotImplemented):
		case errclass.Is(err, errclass.Permanent):
			add("target", "destination %q: %v", f.To, err)
		default:
			if runErr == nil {
				runErr = fmt.Errorf("check the write to destination %q: %w", f.To, err)
			}
		}
	}
	return pl, errs, runErr
}

// readsFile returns the local file a source reads that is also the file
// "file:"-resolved names (the source's path is that file, a glob matching
// it, or the directory holding it), or "". Only sources whose streams are
// local (Spec.LocalDiscover) with a path key are compared.
func (e *Engine) readsFile(src *Instance, resolved string) string {
	file, ok := strings.CutPrefix(resolved, "file:")
	if !ok || !src.Spec.LocalDiscover {
		return ""
	}
	p, _ := src.Config.Config["path"].(string)
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(e.Pipeline.Dir, p)
	}
	p = filepath.Clean(p)
	if p == file || filepath.Dir(file) == p {
		return file
	}
	if m, err := filepath.Match(p, file); err == nil && m {
		return file
	}
	if real, err := filepath.EvalSymlinks(p); err == nil && (real == file || filepath.Dir(file) == real) {
		return file
	}
	return ""
}

// collisions refuses plans that write the same object: the destinations'
// resolved targets compared across every flow of the list (two targets
// spelt differently, x and x.csv, t and public.t, two destinations with
// the same path). It returns an error for each later flow of a pair.
func collisions(plans []*plan) map[*config.Flow]*config.Error {
	out := map[*config.Flow]*config.Error{}
	first := map[string]*plan{}
	for _, p := range plans {
		if p == nil || p.resolved == "" {
			continue
		}
		g, dup := first[p.resolved]
		if !dup {
			first[p.resolved] = p
			continue
		}
		f := p.flow
		if f.To == g.flow.To && f.Target == g.flow.Target {
			continue // the same target written twice: the file's own check says so
		}
		out[f] = &config.Error{Pos: f.FieldPos("target"), Path: fmt.Sprintf("flows[%d].target", f.Index),
			Msg: fmt.Sprintf("flow %q writes %s, as flow %q (line %d) does; the two would overwrite each other's rows", f.Name, p.resolved, g.flow.Name, g.flow.Pos.Line)}
	}
	return out
}

// Validate checks everything a run would refuse before moving data, and
// reports every problem at once, in file order, as a *ConfigError
// holding a config.ErrorList: invalid resilience settings, connectors
// whose plugin cannot start or refuses its keys, modes a destination does
// not take, incremental flows on sources that cannot read incrementally,
// streams a source does not have (asking only sources that can list
// their streams without reaching a system), cursors that are not a
// column, targets the destination refuses, and two flows writing the
// same object. No system is reached and nothing is written.
func (e *Engine) Validate(ctx context.Context) error {
	var errs config.ErrorList
	if err := e.resolvePolicies(ctx); err != nil {
		errs = append(errs, configErrors(err)...)
	}
	conns := e.validConnectors()
	for i, err := range e.startAll(ctx, conns) {
		if err != nil && !e.badPolicy[key(conns[i].Role, conns[i].Name)] {
			errs = append(errs, asConfigErrors(conns[i], err)...)
		}
	}
	var plans []*plan
	for _, f := range e.Pipeline.Flows {
		src, dst := e.ends(f)
		if src == nil || dst == nil {
			continue // the connector's own problem is reported
		}
		pl, ferrs, err := e.checkFlow(ctx, f, src, dst, discoverLocal)
		errs = append(errs, ferrs...)
		if err != nil {
			errs = append(errs, &config.Error{Pos: src.Config.Pos, Path: "sources." + f.From, Msg: err.Error()})
		}
		plans = append(plans, &pl)
	}
	for _, err := range collisions(plans) {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return &ConfigError{Err: errs.Sorted()}
	}
	return nil
}

// ends returns a flow's started ends, nil for an end that is not started
// or did not accept its configuration.
func (e *Engine) ends(f *config.Flow) (src, dst *Instance) {
	if _, ok := e.Pipeline.Sources[f.From]; ok {
		src = e.Instance(config.RoleSource, f.From)
	}
	if _, ok := e.Pipeline.Destinations[f.To]; ok {
		dst = e.Instance(config.RoleDestination, f.To)
	}
	return src, dst
}

// validConnectors returns the connectors that decoded well enough to be
// started (a type is set).
func (e *Engine) validConnectors() []*config.Connector {
	var out []*config.Connector
	for _, c := range e.connectors() {
		if c.Type != "" {
			out = append(out, c)
		}
	}
	return out
}

// configErrors returns the config errors err holds (a *ConfigError of an
// ErrorList, an ErrorList or one *config.Error), or nil.
func configErrors(err error) config.ErrorList {
	var list config.ErrorList
	if errors.As(err, &list) {
		return list
	}
	var one *config.Error
	if errors.As(err, &one) {
		return config.ErrorList{one}
	}
	return nil
}

// asConfigErrors turns the failed start of c into config errors: its
// field errors, or one error at c naming what went wrong.
func asConfigErrors(c *config.Connector, err error) config.ErrorList {
	if list := configErrors(err); list != nil {
		return list
	}
	return config.ErrorList{{Pos: c.Pos, Path: c.Role.Section() + "." + c.Name, Msg: err.Error()}}
}

// FlowCheck is what Engine.CheckFlows found of one flow.
type FlowCheck struct {
	// Flow is the flow's name.
	Flow string
	// Err is nil when the flow's stream exists, its cursor is a column and
	// its destination accepts the write.
	Err error
}

// CheckFlows checks each flow against its systems, as a run would before
// reading: the source's Discover names the stream, the incremental
// cursor is one of its columns, the destination accepts the write, and no
// two flows write the same object. only, when not empty, limits it to the
// flows using a connector of that name.
func (e *Engine) CheckFlows(ctx context.Context, only string) []FlowCheck {
	var out []FlowCheck
	var plans []*plan
	for _, f := range e.Pipeline.Flows {
		if only != "" && f.From != only && f.To != only {
			continue
		}
		src, dst, err := e.startEnds(ctx, f)
		if err != nil {
			out = append(out, FlowCheck{Flow: f.Name, Err: err})
			continue
		}
		pl, ferrs, err := e.checkFlow(ctx, f, src, dst, discoverAll)
		switch {
		case len(ferrs) > 0:
			err = &ConfigError{Err: ferrs.Sorted()}
		case err == nil:
			plans = append(plans, &pl)
		}
		out = append(out, FlowCheck{Flow: f.Name, Err: err})
	}
	clash := collisions(plans)
	for i, c := range out {
		for f, err := range clash {
			if f.Name == c.Flow {
				out[i].Err = &ConfigError{Err: config.ErrorList{err}}
			}
		}
	}
	return out
}
