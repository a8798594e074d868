package cronexpr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/cronexpr"
)

func TestParse(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 7, 30, 0, time.UTC)
	tests := []struct {
		name, expr string
		next       time.Time // zero: an error is expected
	}{
		{"five fields", "*/15 * * * *", time.Date(2026, 12, 7, 15, 15, 0, 0, time.UTC)},
		{"six fields with seconds", "* * * * * *", at.Add(time.Second)},
		{"descriptor", "@hourly", time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)},
		{"every", "@every 90s", at.Add(90 * time.Second)},
		{"four fields", "*/15 * * *", time.Time{}},
		{"minute out of range", "61 * * * *", time.Time{}},
		{"words", "every tuesday", time.Time{}},
		{"empty", "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := cronexpr.Parse(tt.expr)
			if tt.next.IsZero() {
				if err == nil || !strings.Contains(err.Error(), "is not a valid schedule") || !strings.Contains(err.Error(), "a cron expression of 5 fields") {
					t.Fatalf("Parse(%q) = %v, want an error saying what is allowed", tt.expr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(at); !got.Equal(tt.next) {
				t.Fatalf("next of %q after %s = %s, want %s", tt.expr, at, got, tt.next)
			}
		})
	}
}
