package engine

import (
	"context"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// executor is the engine's share of the resilience executor: the per-host
// limiter registry, the metrics, and the counters of each flow.
type executor struct {
	limiters resilience.Limiters
	mu       sync.Mutex
	flows    map[string]*resilience.Counters
}

// wrap applies pol around conn, the serialized connection of instance c.
// raw is what the Starter returned: when it can recover a crashed plugin
// or refresh its credentials (a plugin.Supervisor), its methods become the
// policy's hooks.
//
// The policy wraps the serialized connection, not the other way round:
// the per-instance mutex is then held for one attempt at a time, never
// through a limiter wait or a backoff, so a flow waiting on a quota does
// not block another flow's call to the same instance. The per-call
// timeout therefore also covers the wait for the mutex (another flow's
// call in progress on the instance).
func (e *Engine) wrap(c *config.Connector, raw, conn connector.Conn, pol resilience.Policy) connector.Conn {
	if e.SharedLimiter != nil {
		e.exec.limiters.SetShared(e.SharedLimiter)
	}
	env := resilience.Env{
		Name: c.Name, Type: c.Type, Role: string(c.Role), Host: targetHostOf(c),
		Limiters: &e.exec.limiters, Logger: e.Logger, Metrics: e.Metrics,
	}
	if r, ok := raw.(interface{ Recover(context.Context) error }); ok {
		env.Recover = r.Recover
	}
	if r, ok := raw.(interface{ Refresh(context.Context) error }); ok {
		env.Refresh = r.Refresh
	}
	if h, ok := raw.(interface{ Health() plugin.Health }); ok {
		env.Process = func() (string, int64) {
			ph := h.Health()
			return string(ph.State), int64(ph.Restarts)
		}
	}
	return resilience.Wrap(conn, pol, env)
}

// hostKeys are the configuration keys that name a connector's target, in
// the order TargetHost looks at them.
var hostKeys = []string{"url", "base_url", "endpoint_url", "endpoint", "uri", "dsn", "host", "shop_domain"}

// TargetHost returns the host a connector's configuration points at, the
// key of its shared rate limiter when its policy says per_host: the host
// name of the first of url, base_url, endpoint_url, endpoint, uri, dsn
// that parses as a URL with a host, else the value of host or
// shop_domain (lower-cased, without a port). Empty when none is set:
// the connector then gets a limiter of its own.
func TargetHost(cfg map[string]any) string {
	for _, k := range hostKeys {
		s, ok := cfg[k].(string)
		if !ok || s == "" {
			continue
		}
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return strings.ToLower(u.Hostname())
		}
		if k == "host" || k == "shop_domain" {
			if h, _, err := net.SplitHostPort(s); err == nil {
				s = h
			}
			return strings.ToLower(s)
		}
	}
	return ""
}

// defaultHosts are the hosts of connector types that reach one public API
// when their configuration names no endpoint, so connectors of that type
// share one per-host limiter as the API's quota is shared.
var defaultHosts = map[string]string{"gsheets": "sheets.googleapis.com", "google_sheets": "sheets.googleapis.com"}

// targetHostOf is TargetHost of c's configuration, or its type's public
// API host.
func targetHostOf(c *config.Connector) string {
	if h := TargetHost(c.Config); h != "" {
		return h
	}
	return defaultHosts[c.Type]
}

// flowCounters returns the resilience counters of a flow, creating them.
func (e *Engine) flowCounters(flow string) *resilience.Counters {
	e.exec.mu.Lock()
	defer e.exec.mu.Unlock()
	if e.exec.flows == nil {
		e.exec.flows = map[string]*resilience.Counters{}
	}
	c, ok := e.exec.flows[flow]
	if !ok {
		c = &resilience.Counters{}
		e.exec.flows[flow] = c
	}
	return c
}

// FlowStats returns what the resilience policies did for a flow's calls
// so far (retries, rate-limit wait, restarts, calls waiting now); zero for
// a flow that has not started. Safe to call while the flows run (the
// CLI's progress line does).
func (e *Engine) FlowStats(flow string) resilience.Stats {
	e.exec.mu.Lock()
	c := e.exec.flows[flow]
	e.exec.mu.Unlock()
	if c == nil {
		return resilience.Stats{}
	}
	return c.Stats()
}

// flowOptions returns opts for one flow: its progress also feeds the
// flow's live state (FlowLive) and the flow metrics when the engine has
// them.
func (e *Engine) flowOptions(opts pipeline.Options, flow string) pipeline.Options {
	if e.Metrics != nil {
		e.Metrics.FlowProgress(flow, 0, 0, 0)
	}
	next := opts.Progress
	var last pipeline.Progress
	opts.Progress = func(p pipeline.Progress) {
		e.liveProgress(p)
		if e.Metrics != nil {
			e.Metrics.FlowProgress(flow, p.Rows-last.Rows, p.Bytes-last.Bytes, p.Pages-last.Pages)
		}
		last = p
		if next != nil {
			next(p)
		}
	}
	return opts
}

// flowFailed counts a failed flow in the metrics.
func (e *Engine) flowFailed(flow string, err error) {
	if e.Metrics != nil {
		e.Metrics.FlowErrors.WithLabelValues(flow, errclass.Of(err).String()).Inc()
	}
}

// Health returns the /healthz entries of the started instances, sources
// first, each in file order.
func (e *Engine) Health() []metrics.ConnectorHealth {
	var insts []*Instance
	for _, c := range e.connectors() {
		if in := e.Instance(c.Role, c.Name); in != nil {
			insts = append(insts, in)
		}
	}
	sort.Slice(insts, func(i, j int) bool {
		a, b := insts[i].Config, insts[j].Config
		if a.Role != b.Role {
			return a.Role == config.RoleSource
		}
		return a.Pos.Line < b.Pos.Line
	})
	out := make([]metrics.ConnectorHealth, 0, len(insts))
	for _, in := range insts {
		if c, ok := in.Conn.(*resilience.Client); ok {
			out = append(out, c.Health())
			continue
		}
		out = append(out, metrics.ConnectorHealth{Name: in.Config.Name, Role: string(in.Config.Role),
			Type: in.Config.Type, Process: "running", Breaker: "disabled"})
	}
	return out
}
