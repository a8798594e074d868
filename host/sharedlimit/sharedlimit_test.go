package sharedlimit_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/host/sharedlimit"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// clock is a fake clock shared by the "processes" of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// pool connects to SQLFLOW_TEST_POSTGRES and returns a schema name of the
// test's own, dropped at the end.
func pool(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	dsn := testenv.Require(t, "SQLFLOW_TEST_POSTGRES", "a PostgreSQL DSN")
	ctx := context.Background()
	p, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("sl_test_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		_, _ = p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		p.Close()
	})
	return p, schema
}

// open opens a Store: each is one "process" with its own leases.
func open(t testing.TB, p *pgxpool.Pool, schema string, c *clock) *sharedlimit.Store {
	t.Helper()
	opts := sharedlimit.Options{Schema: schema}
	if c != nil {
		opts.Now = c.Now
	}
	s, err := sharedlimit.Open(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func take(t *testing.T, b interface {
	Take(context.Context, time.Time) (time.Time, error)
}, now time.Time) time.Duration {
	t.Helper()
	at, err := b.Take(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	return at.Sub(t0)
}

// TestLeaseSlots: at 10/s (T = 100 ms) with the default horizon (0.5 s) a
// process leases 5 slots in one round trip; a second process's lease
// starts after them; the row counts 2 leases.
func TestLeaseSlots(t *testing.T) {
	p, schema := pool(t)
	c := &clock{t: t0}
	a := open(t, p, schema, c).Bucket("host:api", 10, 1)
	b := open(t, p, schema, c).Bucket("host:api", 10, 1)
	var got []time.Duration
	for range 5 {
		got = append(got, take(t, a, t0))
	}
	got = append(got, take(t, b, t0))
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("slots %v, want %v", got, want)
	}
	st, ok, err := open(t, p, schema, c).Stats(context.Background(), "host:api")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if st.Leases != 2 {
		t.Fatalf("%d leases, want 2 (one round trip per 5 tokens)", st.Leases)
	}
	if d := st.Next.Sub(t0); d != time.Second {
		t.Fatalf("next token at %v, want 1s (b leased 500ms..900ms)", d)
	}
}

// TestBurst: with a burst of 3 the first three calls start at once, the
// fourth one slot later.
func TestBurst(t *testing.T) {
	p, schema := pool(t)
	c := &clock{t: t0}
	s := open(t, p, schema, c)
	b := s.Bucket("k", 10, 3)
	var got []time.Duration
	for range 5 {
		got = append(got, take(t, b, t0))
	}
	want := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("slots %v, want %v", got, want)
	}
}

// TestLateTokensDropped: a process that comes back long after its slots
// does not spend them in a burst: it leases again from now.
func TestLateTokensDropped(t *testing.T) {
	p, schema := pool(t)
	c := &clock{t: t0}
	b := open(t, p, schema, c).Bucket("k", 10, 1)
	take(t, b, t0) // leases 0..400ms, spends 0
	now := c.Add(2 * time.Second)
	for i := range 3 {
		if d := take(t, b, now); d != 2*time.Second+time.Duration(i)*100*time.Millisecond {
			t.Fatalf("call %d at %v, want 2s+%dx100ms: stale slots must be dropped", i, d, i)
		}
	}
}

// TestPauseShared: a pause pushed by one process holds back another's next
// lease.
func TestPauseShared(t *testing.T) {
	p, schema := pool(t)
	c := &clock{t: t0}
	a := open(t, p, schema, c).Bucket("host:api", 10, 5)
	b := open(t, p, schema, c).Bucket("host:api", 10, 5)
	a.Pause(t0.Add(3 * time.Second))
	if d := take(t, b, t0); d != 3*time.Second {
		t.Fatalf("b's call at %v, want 3s (a's pause)", d)
	}
	// The burst is not spent at the end of the pause: one slot apart.
	if d := take(t, b, t0); d != 3*time.Second+100*time.Millisecond {
		t.Fatalf("b's 2nd call at %v, want 3.1s", d)
	}
}

// TestFleetBound simulates 3 processes calling as fast as their slots
// allow, one of them slow (its calls take 250 ms at T = 100 ms), for 60 s
// of fake time, and checks the bound of the package doc in every 1 s
// window: calls ≤ W/T + B + ⌈E/T⌉ = 10 + 2 + 1.
func TestFleetBound(t *testing.T) {
	p, schema := pool(t)
	c := &clock{t: t0}
	type proc struct {
		b interface {
			Take(context.Context, time.Time) (time.Time, error)
		}
		next time.Time // when it is ready to call
		cost time.Duration
	}
	procs := []*proc{
		{b: open(t, p, schema, c).Bucket("k", 10, 2), next: t0, cost: time.Millisecond},
		{b: open(t, p, schema, c).Bucket("k", 10, 2), next: t0, cost: 3 * time.Millisecond},
		{b: open(t, p, schema, c).Bucket("k", 10, 2), next: t0, cost: 250 * time.Millisecond},
	}
	var calls []time.Time
	end := t0.Add(60 * time.Second)
	for {
		// The process ready first calls next.
		pr := procs[0]
		for _, q := range procs[1:] {
			if q.next.Before(pr.next) {
				pr = q
			}
		}
		if pr.next.After(end) {
			break
		}
		c.Set(pr.next)
		at, err := pr.b.Take(context.Background(), pr.next)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, at)
		pr.next = at.Add(pr.cost)
	}
	maxIn := 0
	for i := range calls {
		n := 0
		for _, ct := range calls {
			if !ct.Before(calls[i]) && ct.Before(calls[i].Add(time.Second)) {
				n++
			}
		}
		maxIn = max(maxIn, n)
	}
	if maxIn > 13 {
		t.Fatalf("%d calls in one 1 s window, bound 13", maxIn)
	}
	rate := float64(len(calls)) / 60
	if rate < 9 || rate > 10.3 {
		t.Fatalf("fleet rate %.2f/s, want about 10/s", rate)
	}
	t.Logf("%d calls in 60 s (%.2f/s), at most %d in a 1 s window", len(calls), rate, maxIn)
}

// TestUnreachableWaits: when PostgreSQL does not answer, Take waits (it
// does not fall back to a local limit) and logs one warning, until its
// context ends.
func TestUnreachableWaits(t *testing.T) {
	p, schema := pool(t)
	var log bytes.Buffer
	s, err := sharedlimit.Open(context.Background(), p, sharedlimit.Options{Schema: schema,
		Logger: hclog.New(&hclog.LoggerOptions{Output: &log})})
	if err != nil {
		t.Fatal(err)
	}
	b := s.Bucket("host:api", 10, 1)
	p.Close() // every statement fails from now on
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := b.Take(ctx, time.Now()); err != context.DeadlineExceeded {
		t.Fatalf("Take returned %v, want context.DeadlineExceeded", err)
	}
	if n := strings.Count(log.String(), "PostgreSQL does not answer"); n != 1 {
		t.Fatalf("%d outage warnings, want 1:\n%s", n, log.String())
	}
}

// TestOpenTwice: Open is idempotent, also for processes starting at once.
func TestOpenTwice(t *testing.T) {
	p, schema := pool(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = sharedlimit.Open(context.Background(), p, sharedlimit.Options{Schema: schema}) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPostgresClock: without an injected clock slots are computed on
// PostgreSQL's clock and mapped to ours: 20 calls at 100/s take about
// 0.2 s of slots from the first.
func TestPostgresClock(t *testing.T) {
	p, schema := pool(t)
	b := open(t, p, schema, nil).Bucket("k", 100, 1)
	first, err := b.Take(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for range 19 {
		if last, err = b.Take(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if d := last.Sub(first); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("20 slots at 100/s span %v, want about 190ms", d)
	}
}

// TestBreakerShared: a breaker opened in one process is learnt by another
// at its next lease.
func TestBreakerShared(t *testing.T) {
	p, schema := pool(t)
	c := &clock{t: t0}
	a := open(t, p, schema, c).Bucket("host:api", 10, 1).(*sharedlimit.Bucket)
	b := open(t, p, schema, c).Bucket("host:api", 10, 1).(*sharedlimit.Bucket)
	take(t, b, t0)
	if !b.BreakerOpenUntil().IsZero() {
		t.Fatalf("breaker open until %v before any opened it", b.BreakerOpenUntil())
	}
	a.OpenBreaker(t0.Add(time.Minute))
	c.Add(time.Second)
	take(t, b, c.Now()) // a new lease (the old slots are stale)
	if got := b.BreakerOpenUntil(); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("b learnt the breaker open until %v, want t0+1m", got)
	}
}
