package resilience_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// memShared is an in-memory SharedLimiter: one GCRA schedule per key
// (one token at a time), the same math as host/sharedlimit's table, for
// processes simulated in one test. It records the buckets asked for.
type memShared struct {
	mu      sync.Mutex
	next    map[string]time.Time
	pause   map[string]time.Time
	iv      map[string]time.Duration
	asked   []string
	pausesN int
	breaker map[string]time.Time
}

func newMemShared() *memShared {
	return &memShared{next: map[string]time.Time{}, pause: map[string]time.Time{}, iv: map[string]time.Duration{}}
}

func (m *memShared) Bucket(key string, perSecond float64, burst int) resilience.SharedBucket {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked = append(m.asked, key)
	m.iv[key] = time.Duration(float64(time.Second) / perSecond)
	return &memBucket{m: m, key: key}
}

type memBucket struct {
	m   *memShared
	key string
}

func (b *memBucket) Take(_ context.Context, now time.Time) (time.Time, error) {
	m := b.m
	m.mu.Lock()
	defer m.mu.Unlock()
	start := now
	if n := m.next[b.key]; n.After(start) {
		start = n
	}
	if p := m.pause[b.key]; p.After(start) {
		start = p
	}
	m.next[b.key] = start.Add(m.iv[b.key])
	return start, nil
}

func (b *memBucket) Pause(until time.Time) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	b.m.pausesN++
	if until.After(b.m.pause[b.key]) {
		b.m.pause[b.key] = until
	}
}

func sharedPolicy(perMinute float64, shared bool) resilience.Policy {
	p := limited(perMinute, 10, resilience.StrategyWait, true)
	p.RateLimit.Shared = shared
	return p
}

// TestSharedLimitAcrossProcesses: two "processes" (a Limiters registry
// each) with a 60/min shared limit on one host make their calls one second
// apart between them, not 60/min each; the burst of the local bucket is not
// added on top.
func TestSharedLimitAcrossProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := newMemShared()
		var calls []time.Time
		var mu sync.Mutex
		start := time.Now()
		var wg sync.WaitGroup
		for _, name := range []string{"a", "b"} {
			ls := resilience.NewLimiters()
			ls.SetShared(sh)
			f := &fakeConn{}
			c := resilience.New(f, sharedPolicy(60, true), resilience.Env{Name: name, Type: "rest", Host: "api.example.com", Limiters: ls})
			if !c.Limiter().Shared() {
				t.Fatal("limiter is not shared")
			}
			wg.Go(func() {
				for range 5 {
					if err := c.Check(t.Context()); err != nil {
						t.Error(err)
					}
				}
				mu.Lock()
				calls = append(calls, f.times()...)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.SortFunc(calls, func(x, y time.Time) int { return x.Compare(y) })
		want := make([]time.Duration, 10)
		for i := range want {
			want[i] = time.Duration(i) * time.Second
		}
		if got := offsets(start, calls); !slices.Equal(got, want) {
			t.Fatalf("calls at %v, want one a second across both: %v", got, want)
		}
		if !slices.Equal(sh.asked, []string{"host:api.example.com", "host:api.example.com"}) {
			t.Fatalf("buckets asked for: %v", sh.asked)
		}
	})
}

// TestSharedLimitPauseReachesOthers: a 429 with a Retry-After in one
// process holds back the other process's next call.
func TestSharedLimitPauseReachesOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := newMemShared()
		p := sharedPolicy(600, true)
		p.Retry = resilience.Retry{MaxAttempts: 2, InitialDelay: time.Second, MaxDelay: time.Minute, Multiplier: 2}
		lsA, lsB := resilience.NewLimiters(), resilience.NewLimiters()
		lsA.SetShared(sh)
		lsB.SetShared(sh)
		fa := &fakeConn{script: failFirst(1, errclass.RateLimitedf(4*time.Second, "429"))}
		fb := &fakeConn{}
		a := resilience.New(fa, p, resilience.Env{Name: "a", Host: "h", Limiters: lsA})
		b := resilience.New(fb, p, resilience.Env{Name: "b", Host: "h", Limiters: lsB})
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- a.Check(t.Context()) }()
		synctest.Wait()
		if err := b.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := fb.times()[0].Sub(start); got != 4*time.Second {
			t.Fatalf("b called at %v, want 4s: a's 429 in another process holds it back", got)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestSharedLimitOffStaysLocal: rate_limit.shared false, or no
// SharedLimiter in the registry, keeps the limit local.
func TestSharedLimitOffStaysLocal(t *testing.T) {
	sh := newMemShared()
	ls := resilience.NewLimiters()
	ls.SetShared(sh)
	c := resilience.New(&fakeConn{}, sharedPolicy(60, false), resilience.Env{Name: "a", Host: "h", Limiters: ls})
	if c.Limiter().Shared() || len(sh.asked) != 0 {
		t.Fatalf("shared: %v, buckets asked %v", c.Limiter().Shared(), sh.asked)
	}
	c = resilience.New(&fakeConn{}, sharedPolicy(60, true), resilience.Env{Name: "b", Host: "h2", Limiters: resilience.NewLimiters()})
	if c.Limiter().Shared() {
		t.Fatal("shared without a SharedLimiter")
	}
	// A connector of its own (no host) is shared under its connector key.
	c = resilience.New(&fakeConn{}, sharedPolicy(60, true), resilience.Env{Name: "c", Type: "rest", Limiters: ls})
	if !c.Limiter().Shared() || sh.asked[0] != "connector:rest/c" {
		t.Fatalf("shared: %v, asked %v", c.Limiter().Shared(), sh.asked)
	}
}

func (b *memBucket) OpenBreaker(until time.Time) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	if b.m.breaker == nil {
		b.m.breaker = map[string]time.Time{}
	}
	if until.After(b.m.breaker[b.key]) {
		b.m.breaker[b.key] = until
	}
}

func (b *memBucket) BreakerOpenUntil() time.Time {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	return b.m.breaker[b.key]
}

// TestSharedBreaker: with circuit_breaker.shared, a breaker that opens in
// one process makes the other fail fast until the recovery timeout; then
// its calls go through again. Without it, the other is not affected.
func TestSharedBreaker(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "shared", false: "local"}[shared], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sh := newMemShared()
				p := sharedPolicy(600, true)
				p.Breaker = resilience.Breaker{Enabled: true, FailureThreshold: 1, RecoveryTimeout: 30 * time.Second, SuccessThreshold: 1, Shared: shared}
				lsA, lsB := resilience.NewLimiters(), resilience.NewLimiters()
				lsA.SetShared(sh)
				lsB.SetShared(sh)
				fa := &fakeConn{script: func(int) error { return errclass.Transientf("down") }}
				fb := &fakeConn{}
				a := resilience.New(fa, p, resilience.Env{Name: "a", Host: "h", Limiters: lsA})
				b := resilience.New(fb, p, resilience.Env{Name: "b", Host: "h", Limiters: lsB})
				if err := a.Check(t.Context()); err == nil {
					t.Fatal("a's call succeeded")
				}
				synctest.Wait() // the push of the open breaker
				err := b.Check(t.Context())
				if shared {
					if !errors.Is(err, resilience.ErrCircuitOpen) || !strings.Contains(err.Error(), "opened by another process") || fb.calls() != 0 {
						t.Fatalf("b: %v after %d calls, want a fail-fast naming the other process", err, fb.calls())
					}
					time.Sleep(30 * time.Second)
					if err := b.Check(t.Context()); err != nil || fb.calls() != 1 {
						t.Fatalf("after the recovery timeout b: %v, %d calls", err, fb.calls())
					}
				} else if err != nil || fb.calls() != 1 {
					t.Fatalf("b: %v, %d calls: a local breaker must not hold b back", err, fb.calls())
				}
			})
		})
	}
}
