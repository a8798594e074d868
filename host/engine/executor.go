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
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// executor is the engine's share of the resilience executor: the per-host
// limiter registry, the metrics, and the counters of each flow.
type executor struct {
	limiters resilience.Limiters
	mu       sync.Mutex
	flows    map[string]*resilience.Counters
}

// wrap applies pol around conn, the serialized connection of instance c,
// whose plugin's Spec is spec. raw is what the Starter returned: when it
// can recover a crashed plugin or refresh its credentials (a
// plugin.Supervisor), its methods become the policy's hooks.
//
// The policy wraps the serialized connection, not the other way round:
// the per-instance mutex is then held for one attempt at a time, never
// through a limiter wait or a backoff, so a flow waiting on a quota does
// not block another flow's call to the same instance. The per-call
// timeout therefore also covers the wait for the mutex (another flow's
// call in progress on the instance).
func (e *Engine) wrap(c *config.Connector, spec sdk.Spec, raw, conn connector.Conn, pol resilience.Policy) connector.Conn {
	if e.SharedLimiter != nil {
		e.exec.limiters.SetShared(e.SharedLimiter)
	}
	env := resilience.Env{
		Name: c.Name, Type: c.Type, Role: string(c.Role), Host: TargetHost(c.Config, spec),
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

// GenericHostKeys are the configuration keys that name a connector's
// remote host, in the order TargetHost looks at them, for a connector
// whose Spec declares no HostKeys.
var GenericHostKeys = []string{"url", "base_url", "endpoint_url", "endpoint", "uri", "dsn", "host"}

// TargetHost returns the host a connector's configuration cfg points at,
// the key of its shared rate limiter when its policy says per_host. It
// looks at the keys its Spec declares (spec.HostKeys; GenericHostKeys when
// none), in order: the first value that is a URL with a host gives that
// host name; a value that is a bare host name (optionally with a port)
// gives itself. Lower-cased, without a port. When no key gives a host,
// it is the Spec's DefaultHost (the one public API a connector reaches),
// else empty: the connector then gets a limiter of its own.
func TargetHost(cfg map[string]any, spec sdk.Spec) string {
	keys := spec.HostKeys
	if len(keys) == 0 {
		keys = GenericHostKeys
	}
	for _, k := range keys {
		s, ok := cfg[k].(string)
		if !ok || s == "" {
			continue
		}
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return strings.ToLower(u.Hostname())
		}
		if h, ok := bareHost(s); ok {
			return strings.ToLower(h)
		}
	}
	return strings.ToLower(spec.DefaultHost)
}

// bareHost returns the host of s when s is a host name or an IP address,
// with or without a port ("db", "db:5432", "[::1]:5432"); false for
// anything else (a path, a key=value DSN, a URL without a scheme).
func bareHost(s string) (string, bool) {
	h := s
	if host, _, err := net.SplitHostPort(s); err == nil {
		h = host
	}
	if net.ParseIP(h) != nil {
		return h, true
	}
	if h == "" {
		return "", false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return "", false
		}
	}
	return h, true
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
