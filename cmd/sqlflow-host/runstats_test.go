package main

import (
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/resilience"
)

func TestResilienceSummary(t *testing.T) {
	tests := []struct {
		name    string
		stats   resilience.Stats
		summary string
	}{
		{"nothing happened", resilience.Stats{}, ""},
		{"retries and a wait", resilience.Stats{Retries: 4, RateLimitWait: 3200 * time.Millisecond},
			"4 retries, 3.2s waiting on rate limits, 0 plugin restarts"},
		{"one of each", resilience.Stats{Retries: 1, RateLimitWait: time.Second, Restarts: 1},
			"1 retry, 1.0s waiting on rate limits, 1 plugin restart"},
		{"waiting now", resilience.Stats{RateLimitWait: 12 * time.Second, Waiting: 1},
			"0 retries, 12.0s waiting on rate limits, 0 plugin restarts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resilienceSummary(tt.stats); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
		})
	}
}
