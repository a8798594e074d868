package memconn_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func TestFaultSharesAndRetries(t *testing.T) {
	const pages = 3000
	c := configured(t, `{"generate": {"rows": 3000, "seed": 1},
		"faults": {"seed": 7, "transient": 0.3, "rate_limited": 0.1, "retry_after": 0.05}}`)
	req := sdk.ReadRequest{MaxRows: 1}
	var calls, transient, limited, maxAttempts int
	for page := 1; ; page++ {
		attempts := 0
		var p sdk.Page
		for {
			attempts++
			calls++
			if attempts > 50 {
				t.Fatalf("page %d failed 50 times in a row; retries must draw again", page)
			}
			var err error
			p, err = c.ReadPage(context.Background(), req)
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "injected") {
				t.Fatalf("fault message %q does not say it was injected", err)
			}
			switch errclass.Of(err) {
			case errclass.Transient:
				transient++
			case errclass.RateLimited:
				limited++
				if ra := errclass.RetryAfter(err); ra != 50*time.Millisecond {
					t.Fatalf("retry after %v, want 50ms", ra)
				}
			default:
				t.Fatalf("unexpected fault class %s: %v", errclass.Of(err), err)
			}
		}
		maxAttempts = max(maxAttempts, attempts)
		p.Records.Release()
		if p.Done {
			if page != pages {
				t.Fatalf("done after %d pages, want %d", page, pages)
			}
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	ts, rs := float64(transient)/float64(calls), float64(limited)/float64(calls)
	t.Logf("%d calls for %d pages: %.3f transient, %.3f rate limited, at most %d attempts for a page", calls, pages, ts, rs, maxAttempts)
	if ts < 0.27 || ts > 0.33 {
		t.Errorf("transient share %.3f, want about 0.30", ts)
	}
	if rs < 0.08 || rs > 0.12 {
		t.Errorf("rate-limited share %.3f, want about 0.10", rs)
	}
}

func TestFaultsAreRepeatable(t *testing.T) {
	cfg := `{"generate": {"rows": 100}, "faults": {"seed": 3, "transient": 0.5}}`
	outcomes := func() string {
		c := configured(t, cfg)
		var b strings.Builder
		req := sdk.ReadRequest{MaxRows: 10}
		for i := 0; i < 40; i++ {
			p, err := c.ReadPage(context.Background(), req)
			if err != nil {
				b.WriteByte('x')
				continue
			}
			b.WriteByte('.')
			p.Records.Release()
			if p.Done {
				break
			}
			req.Checkpoint = p.Checkpoint
		}
		return b.String()
	}
	a, b := outcomes(), outcomes()
	if a != b {
		t.Errorf("two processes with the same faults.seed saw %s and %s", a, b)
	}
	if !strings.Contains(a, "x") || !strings.Contains(a, ".") {
		t.Errorf("outcomes %s: want both failures and successes at transient 0.5", a)
	}
}

func TestPermanentAtPage(t *testing.T) {
	c := configured(t, `{"generate": {"rows": 100}, "faults": {"permanent_at_page": 3}}`)
	req := sdk.ReadRequest{MaxRows: 10}
	for page := 1; page <= 2; page++ {
		p, err := c.ReadPage(context.Background(), req)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		p.Records.Release()
		req.Checkpoint = p.Checkpoint
	}
	for attempt := 0; attempt < 5; attempt++ {
		_, err := c.ReadPage(context.Background(), req)
		if errclass.Of(err) != errclass.Permanent {
			t.Fatalf("page 3 attempt %d: %v, want PERMANENT", attempt+1, err)
		}
		if want := "injected permanent fault on page 3 (faults.permanent_at_page = 3)"; err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
	}
	// Page 3 is the third page whatever its size.
	p, err := c.ReadPage(context.Background(), sdk.ReadRequest{MaxRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	p.Records.Release()
	p, err = c.ReadPage(context.Background(), sdk.ReadRequest{MaxRows: 25, Checkpoint: p.Checkpoint})
	if err != nil {
		t.Fatal(err)
	}
	p.Records.Release()
	if _, err := c.ReadPage(context.Background(), sdk.ReadRequest{MaxRows: 25, Checkpoint: p.Checkpoint}); errclass.Of(err) != errclass.Permanent {
		t.Errorf("third page of other sizes: %v, want PERMANENT", err)
	}
}

func TestLatency(t *testing.T) {
	c := configured(t, `{"generate": {"rows": 10}, "faults": {"latency": 0.05}}`)
	start := time.Now()
	p, err := c.ReadPage(context.Background(), sdk.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p.Records.Release()
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("page took %v, want at least the 50ms latency", d)
	}

	slow := configured(t, `{"generate": {"rows": 10}, "faults": {"latency": 60}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = slow.ReadPage(ctx, sdk.ReadRequest{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled page took %v; latency must honour ctx", d)
	}
}
