package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/resilience"
)

// serveMetrics serves e's metrics and health on addr until the returned
// stop is called. It sets e.Metrics, so call it before e starts.
func (a *app) serveMetrics(ctx context.Context, e *engine.Engine, addr string) (stop func(), err error) {
	m := metrics.New()
	e.Metrics = m
	srv, err := metrics.Serve(addr, m.Handler(e.Health))
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	a.logger.Info("serving metrics and health", "metrics", "http://"+srv.Addr()+"/metrics", "health", "http://"+srv.Addr()+"/healthz")
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			a.logger.Warn("stopping the metrics server", "error", err)
		}
	}, nil
}

// progressTick is how often the progress line is redrawn when no page
// moves, so a flow waiting on a quota shows its wait growing.
const progressTick = time.Second

// watch makes the progress line show the flows from the start (a flow
// waiting on a rate limit before its first page is not missing) with
// their resilience counters, redrawn every progressTick until stop.
func (p *progress) watch(e *engine.Engine, flows []*config.Flow) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats = e.FlowStats
	for _, f := range flows {
		if _, ok := p.flows[f.Name]; !ok {
			p.flows[f.Name] = pipeline.Progress{Flow: f.Name}
		}
	}
	p.quit = make(chan struct{})
	go func() {
		t := time.NewTicker(progressTick)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
			}
			p.mu.Lock()
			if !p.done {
				p.redraw()
			}
			p.mu.Unlock()
		}
	}()
}

// resilienceProgress is the progress line's part for a flow's resilience
// counters: empty while nothing happened, else the time waited on rate
// limits, the retries and the restarts, each on its own, and whether a
// call waits on a rate limit right now.
func resilienceProgress(s resilience.Stats) string {
	if s == (resilience.Stats{}) {
		return ""
	}
	var b strings.Builder
	b.WriteString(" (")
	if s.Waiting > 0 {
		b.WriteString("waiting on a rate limit now, ")
	}
	fmt.Fprintf(&b, "rate-limit wait %.1fs, %s, %s)", s.RateLimitWait.Seconds(), plural(int(s.Retries), "retry"), plural(int(s.Restarts), "restart"))
	return strings.Replace(b.String(), "retrys", "retries", 1)
}

// resilienceSummary is the end-of-run line of a flow's resilience
// counters, or empty when the policies had nothing to do.
func resilienceSummary(s resilience.Stats) string {
	if s.Retries == 0 && s.RateLimitWait == 0 && s.Restarts == 0 {
		return ""
	}
	out := fmt.Sprintf("%s, %.1fs waiting on rate limits, %s", plural(int(s.Retries), "retry"), s.RateLimitWait.Seconds(), plural(int(s.Restarts), "plugin restart"))
	return strings.Replace(out, "retrys", "retries", 1)
}
