package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/resilience"
)

func TestResilienceProgressAndSummary(t *testing.T) {
	tests := []struct {
		name              string
		stats             resilience.Stats
		progress, summary string
	}{
		{"nothing happened", resilience.Stats{}, "", ""},
		{"retries and a wait", resilience.Stats{Retries: 4, RateLimitWait: 3200 * time.Millisecond},
			" (rate-limit wait 3.2s, 4 retries, 0 restarts)", "4 retries, 3.2s waiting on rate limits, 0 plugin restarts"},
		{"one of each", resilience.Stats{Retries: 1, RateLimitWait: time.Second, Restarts: 1},
			" (rate-limit wait 1.0s, 1 retry, 1 restart)", "1 retry, 1.0s waiting on rate limits, 1 plugin restart"},
		{"waiting now", resilience.Stats{RateLimitWait: 12 * time.Second, Waiting: 1},
			" (waiting on a rate limit now, rate-limit wait 12.0s, 0 retries, 0 restarts)", "0 retries, 12.0s waiting on rate limits, 0 plugin restarts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resilienceProgress(tt.stats); got != tt.progress {
				t.Errorf("progress %q, want %q", got, tt.progress)
			}
			if got := resilienceSummary(tt.stats); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
		})
	}
}

func TestProgressLineShowsResilience(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out)
	p.stats = func(string) resilience.Stats {
		return resilience.Stats{Retries: 2, RateLimitWait: time.Second, Waiting: 1}
	}
	p.update(pipeline.Progress{Flow: "orders", Rows: 10, Bytes: 2048, Elapsed: time.Second})
	want := "orders: 10 rows, 2.0 KiB, 10 rows/s (waiting on a rate limit now, rate-limit wait 1.0s, 2 retries, 0 restarts)"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("line %q lacks %q", out.String(), want)
	}
	p.stop()
}
