package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/metrics"
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

// resilienceSummary is the end-of-run line of a flow's resilience
// counters, or empty when the policies had nothing to do.
func resilienceSummary(s resilience.Stats) string {
	if s.Retries == 0 && s.RateLimitWait == 0 && s.Restarts == 0 {
		return ""
	}
	out := fmt.Sprintf("%s, %.1fs waiting on rate limits, %s", plural(int(s.Retries), "retry"), s.RateLimitWait.Seconds(), plural(int(s.Restarts), "plugin restart"))
	return strings.Replace(out, "retrys", "retries", 1)
}
