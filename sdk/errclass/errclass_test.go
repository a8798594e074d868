package errclass_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name  string
		err   error
		class errclass.Class
		after time.Duration
	}{
		{"nil", nil, errclass.Unknown, 0},
		{"plain", base, errclass.Unknown, 0},
		{"transient", errclass.Transientf("net: %w", base), errclass.Transient, 0},
		{"permanent", errclass.Permanentf("bad"), errclass.Permanent, 0},
		{"auth", errclass.AuthExpiredf("token"), errclass.AuthExpired, 0},
		{"rate", errclass.RateLimitedf(2*time.Second, "429"), errclass.RateLimited, 2 * time.Second},
		{"wrapped deep", fmt.Errorf("read page 3: %w", errclass.RateLimitedf(time.Second, "slow")), errclass.RateLimited, time.Second},
		{"wrap", errclass.Wrap(errclass.Transient, context.DeadlineExceeded), errclass.Transient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errclass.Of(tt.err); got != tt.class {
				t.Fatalf("Of = %v, want %v", got, tt.class)
			}
			if got := errclass.RetryAfter(tt.err); got != tt.after {
				t.Fatalf("RetryAfter = %v, want %v", got, tt.after)
			}
		})
	}
}

func TestMessageAndUnwrap(t *testing.T) {
	err := errclass.Transientf("dial: %w", context.DeadlineExceeded)
	if err.Error() != "dial: context deadline exceeded" {
		t.Fatalf("message = %q", err.Error())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("cause lost")
	}
	if errclass.Wrap(errclass.Permanent, nil) != nil {
		t.Fatal("Wrap(nil) must be nil")
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[errclass.Class]string{
		errclass.Unknown: "UNKNOWN", errclass.Transient: "TRANSIENT", errclass.RateLimited: "RATE_LIMITED",
		errclass.AuthExpired: "AUTH_EXPIRED", errclass.Permanent: "PERMANENT", errclass.Class(42): "UNKNOWN(42)",
	} {
		if c.String() != want {
			t.Errorf("%d: %q, want %q", int(c), c.String(), want)
		}
	}
	if errclass.Permanent.Retryable() || !errclass.Transient.Retryable() || errclass.Unknown.Retryable() {
		t.Fatal("Retryable wrong")
	}
}
