package httpclass

import (
	"net/http"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
)

func TestRateHints(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		header map[string]string
		want   *sdk.RateHints
	}{
		{"none", map[string]string{"Content-Type": "application/json"}, nil},
		{"ietf draft", map[string]string{"RateLimit-Limit": "100", "RateLimit-Remaining": "42", "RateLimit-Reset": "30"},
			&sdk.RateHints{Limit: 100, Remaining: 42, Reset: 30 * time.Second}},
		{"ietf combined", map[string]string{"RateLimit": "limit=100, remaining=5, reset=2"},
			&sdk.RateHints{Limit: 100, Remaining: 5, Reset: 2 * time.Second}},
		{"x-ratelimit delta", map[string]string{"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"},
			&sdk.RateHints{Limit: 60, Remaining: 0, Reset: 12 * time.Second}},
		{"x-ratelimit unix seconds", map[string]string{"X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "1700000045"},
			&sdk.RateHints{Remaining: 10, Reset: 45 * time.Second}},
		{"x-ratelimit unix millis", map[string]string{"X-RateLimit-Reset": "1700000001500"},
			&sdk.RateHints{Reset: 1500 * time.Millisecond}},
		{"reset in the past", map[string]string{"X-RateLimit-Reset": "1600000000"}, &sdk.RateHints{}},
		{"list value", map[string]string{"RateLimit-Limit": "100, 100;w=60"}, &sdk.RateHints{Limit: 100}},
		{"retry-after", map[string]string{"Retry-After": "3"}, &sdk.RateHints{RetryAfter: 3 * time.Second}},
		{"garbage", map[string]string{"X-RateLimit-Remaining": "lots"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got := rateHints(h, now)
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
