// Package sharedlimit enforces a rate limit across every process that uses
// the same PostgreSQL database: the workers of a fleet, or several `run`
// processes given the same --shared-limits DSN. It implements
// resilience.SharedLimiter.
//
// # The bucket
//
// Each key (a connector's remote host, "host:api.example.com", or one
// connector, "connector:rest/orders") is one row of the table
// <schema>.sqlflow_rate_buckets. The row is a GCRA token bucket (the
// "virtual scheduling" form of a token bucket): next_ns is the time at
// which the next token not yet handed out becomes due, pause_ns the time
// before which no token is due (set by a rate hint). With a rate of r calls
// a second, T = 1/r, and a burst of B, tau = (B-1)·T:
//
//	start   = greatest(next_ns, now - tau, pause_ns)
//	next_ns = start + N·T
//
// hands out N tokens in ONE statement (one round trip): token i (0 ≤ i < N)
// is due at start + i·T. Tokens are time slots on one schedule for the
// whole fleet: no two processes get the same slot, and a process never
// spends a token before its slot. So in any window of length W the fleet
// spends at most W/T + B tokens, exactly as one in-process bucket would,
// however the tokens are split between processes.
//
// # Lease size and the bound on overshoot
//
// A process leases at most N = max(1, ⌊r·H⌋) tokens at a time, H being
// the lease horizon (Options.Horizon, 0.5 s by default): one round trip
// per H of calls at full rate, whatever the rate (a 20/s quota costs 2
// statements a second per busy process, not 20). The lease follows the
// process's demand: it starts at N, doubles (up to N) after a lease spent
// whole and shrinks to what was spent otherwise. A token is spent at its slot or later;
// a process that falls behind (its calls take longer than T) drops a token
// that is more than E = max(T, 100 ms) late (after its slot, or after its
// lease arrived when the round trip itself took longer) instead of
// spending it, so a slow process cannot save tokens up and spend them in a
// burst. The fleet
// therefore spends, in any window [a, b], only tokens due in
// [a - tau - E, b]:
//
//	calls in any window W ≤ W/T + B + ⌈E/T⌉
//
// i.e. at most ⌈E/T⌉ calls (1 when T ≥ 100 ms, e.g. 2 at 20/s) beyond what
// one local bucket allows, for any number of processes (a lease whose
// round trip R took longer than its first slots adds ⌈R/T⌉; R is well under
// a millisecond on a healthy database). The price of the
// lease is tokens wasted, never extra calls: a process that stops calling
// leaves up to N-1 leased slots unused (the fleet runs below the quota for
// at most H), and a pause set by another process reaches a process only at
// its next lease, after at most N of its leased calls (H at full rate).
//
// # Clocks
//
// Slots are computed on PostgreSQL's clock (clock_timestamp()) and handed
// back as offsets from it, which the process adds to its own clock: the
// machines' clocks need not agree, only the round trip's latency shifts a
// slot. Tests inject Options.Now instead; the statement then uses it.
//
// # Circuit breakers
//
// The row also holds breaker_ns: when a process's breaker of the key opens
// (with circuit_breaker.shared), OpenBreaker sets it to the end of the
// recovery timeout, and every lease returns it, so the other processes
// fail fast until then (resilience.SharedBreaker).
//
// # When PostgreSQL does not answer
//
// A call that needs a new lease waits, retrying the statement with backoff
// (100 ms doubling to 5 s) until PostgreSQL answers or the call's context
// ends, with one warning per outage and one line when it is over. It does
// not fall back to a local limit: N processes each spending the whole quota
// locally would exceed it N times, which is the failure this package
// exists to prevent. Pausing (rate hints) is best effort: a failed pause is
// logged and the local limiter still pauses.
package sharedlimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/host/resilience"
)

// DefaultSchema is the schema of the bucket table when Options.Schema is
// empty.
const DefaultSchema = "sqlflow"

// Options tune a Store. The zero value is ready.
type Options struct {
	// Schema holds the table; created when missing. Empty: DefaultSchema.
	Schema string
	// Horizon is how many seconds of calls at the full rate one lease
	// covers: N = max(1, ⌊rate·Horizon⌋) tokens per round trip. Zero: 0.5 s.
	Horizon time.Duration
	// Slack is the least lateness E after which a leased token is dropped
	// rather than spent (E = max(T, Slack)). Zero: 100 ms.
	Slack time.Duration
	// Now, when set, is the clock of every slot (tests inject a fake
	// clock); nil uses PostgreSQL's clock_timestamp() and maps slots to the
	// process's clock by offset.
	Now func() time.Time
	// Logger receives the outage lines; nil discards them.
	Logger hclog.Logger
}

// Store is the shared limiter of one database schema. It is safe for
// concurrent use and implements resilience.SharedLimiter.
type Store struct {
	pool     *pgxpool.Pool
	schema   string
	horizon  time.Duration
	slack    time.Duration
	now      func() time.Time
	log      hclog.Logger
	lease    string // the lease statement
	pauseQ   string // the pause statement
	breakerQ string // the breaker statement

	mu      sync.Mutex
	buckets map[string]*Bucket
	down    bool // a warning about an outage was logged
}

// Open creates the schema and table when missing (idempotent, safe for
// processes starting together) and returns the store. The caller keeps
// and closes pool.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	s := &Store{pool: pool, schema: opts.Schema, horizon: opts.Horizon, slack: opts.Slack,
		now: opts.Now, log: opts.Logger, buckets: map[string]*Bucket{}}
	if s.schema == "" {
		s.schema = DefaultSchema
	}
	if s.horizon <= 0 {
		s.horizon = 500 * time.Millisecond
	}
	if s.slack <= 0 {
		s.slack = 100 * time.Millisecond
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	sch := pgx.Identifier{s.schema}.Sanitize()
	tbl := sch + ".sqlflow_rate_buckets"
	// Two processes creating the same schema at once may both pass IF NOT
	// EXISTS and one fail on the unique index of pg_namespace: an advisory
	// lock orders them.
	ddl := fmt.Sprintf(`SELECT pg_advisory_xact_lock(hashtext('sqlflow_rate_buckets'));
CREATE SCHEMA IF NOT EXISTS %s;
CREATE UNLOGGED TABLE IF NOT EXISTS %s (
	key      text PRIMARY KEY,
	next_ns  bigint NOT NULL,
	pause_ns bigint NOT NULL DEFAULT 0,
	leases   bigint NOT NULL DEFAULT 0
);
ALTER TABLE %s ADD COLUMN IF NOT EXISTS breaker_ns bigint NOT NULL DEFAULT 0`, sch, tbl, tbl)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("shared limits: creating schema %s: %w", s.schema, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, stmt := range splitStatements(ddl) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("shared limits: creating table %s: %w", tbl, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("shared limits: creating table %s: %w", tbl, err)
	}
	// $1 key, $2 now (ns since the epoch; NULL: PostgreSQL's clock),
	// $3 T (ns), $4 tau (ns), $5 N. It returns the first slot and the now
	// it used, both in ns.
	s.lease = fmt.Sprintf(`WITH c AS (SELECT coalesce($2::bigint, (extract(epoch FROM clock_timestamp()) * 1e9)::bigint) AS now)
INSERT INTO %[1]s AS b (key, next_ns, pause_ns, leases)
SELECT $1, c.now - $4::bigint + $5::bigint * $3::bigint, 0, 1 FROM c
ON CONFLICT (key) DO UPDATE SET
	next_ns = greatest(b.next_ns, excluded.next_ns - $5::bigint * $3::bigint, b.pause_ns) + $5::bigint * $3::bigint,
	leases = b.leases + 1
RETURNING b.next_ns - $5::bigint * $3::bigint, (SELECT now FROM c), b.breaker_ns`, tbl)
	// $1 key, $2 now (as above), $3 pause length (ns).
	s.pauseQ = fmt.Sprintf(`WITH c AS (SELECT coalesce($2::bigint, (extract(epoch FROM clock_timestamp()) * 1e9)::bigint) AS now)
INSERT INTO %[1]s AS b (key, next_ns, pause_ns)
SELECT $1, c.now + $3::bigint, c.now + $3::bigint FROM c
ON CONFLICT (key) DO UPDATE SET pause_ns = greatest(b.pause_ns, excluded.pause_ns)`, tbl)
	// $1 key, $2 now (as above), $3 how long the breaker stays open (ns).
	s.breakerQ = fmt.Sprintf(`WITH c AS (SELECT coalesce($2::bigint, (extract(epoch FROM clock_timestamp()) * 1e9)::bigint) AS now)
INSERT INTO %[1]s AS b (key, next_ns, breaker_ns)
SELECT $1, c.now, c.now + $3::bigint FROM c
ON CONFLICT (key) DO UPDATE SET breaker_ns = greatest(b.breaker_ns, excluded.breaker_ns)`, tbl)
	return s, nil
}

func splitStatements(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == ';' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Schema returns the schema holding the table.
func (s *Store) Schema() string { return s.schema }

// Bucket returns the shared bucket of key with a rate of perSecond calls a
// second and a burst of burst (at least 1). Every process naming the same
// key shares one schedule; the rate and burst are each lease's, so
// processes should agree on them (the stricter of two settings of one
// process is what resilience.Limiters passes).
func (s *Store) Bucket(key string, perSecond float64, burst int) resilience.SharedBucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.buckets[key]; ok {
		b.set(perSecond, burst)
		return b
	}
	b := &Bucket{s: s, key: key}
	b.set(perSecond, burst)
	s.buckets[key] = b
	return b
}

// Bucket is one key's share of the fleet's schedule in this process: the
// tokens it leased and not yet spent. It implements resilience.SharedBucket.
type Bucket struct {
	s   *Store
	key string

	mu       sync.Mutex
	interval time.Duration // T
	tau      time.Duration // (B-1)·T
	n        int           // tokens per lease
	size     int           // the next lease's size, 1..n (see Take)
	spent    int           // tokens of the current lease spent
	first    time.Time     // the slot of the first unspent leased token
	recv     time.Time     // when the current lease arrived
	left     int           // leased tokens not yet spent or dropped

	// hmu guards paused and breaker apart from mu, which a Take holds
	// through its round trip (and through an outage).
	hmu     sync.Mutex
	paused  time.Time // the latest pause this process pushed
	breaker time.Time // until when some process holds the breaker open, as last learnt
}

func (b *Bucket) set(perSecond float64, burst int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if perSecond <= 0 || math.IsInf(perSecond, 1) || math.IsNaN(perSecond) {
		perSecond = 1e9
	}
	iv := time.Duration(float64(time.Second) / perSecond)
	if iv < 1 {
		iv = 1
	}
	burst = max(burst, 1)
	if b.interval != 0 && iv < b.interval {
		iv = b.interval // the stricter rate stays
	}
	b.interval = iv
	tau := time.Duration(burst-1) * iv
	if b.tau != 0 || b.n != 0 {
		tau = min(tau, b.tau)
	}
	b.tau = tau
	b.n = max(1, int(float64(b.s.horizon)/float64(iv)))
	b.n = min(b.n, 100000)
}

// Key returns the bucket's key.
func (b *Bucket) Key() string { return b.key }

// Take takes one token for a call about to start at now and returns the
// time the call may start (now, or its slot when later). It makes a round
// trip only when the process's leased tokens are spent; when PostgreSQL
// does not answer it waits and retries (see the package doc) until ctx
// ends, returning ctx's error.
func (b *Bucket) Take(ctx context.Context, now time.Time) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	late := max(b.interval, b.s.slack) + b.tau
	for {
		for b.left > 0 && now.Sub(later(b.first, b.recv)) > late {
			b.first = b.first.Add(b.interval) // too late: dropped, not spent
			b.left--
		}
		if b.left > 0 {
			t := b.first
			b.first = b.first.Add(b.interval)
			b.left--
			b.spent++
			if t.Before(now) {
				t = now
			}
			return t, nil
		}
		if err := b.leaseLocked(ctx, now); err != nil {
			return now, err
		}
		if b.s.now != nil {
			now = b.s.now()
		} else {
			now = time.Now()
		}
		b.recv = now
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// leaseLocked leases b.n tokens, retrying while PostgreSQL does not answer.
func (b *Bucket) leaseLocked(ctx context.Context, now time.Time) error {
	backoff := 100 * time.Millisecond
	for {
		var dbNow *int64
		if b.s.now != nil {
			v := b.s.now().UnixNano()
			dbNow = &v
		}
		sent := time.Now()
		// The lease adapts to the process's demand: after a lease spent
		// whole it doubles (up to n), else it shrinks to what was spent,
		// so a process slower than the rate wastes few slots.
		switch {
		case b.size == 0:
			b.size = b.n
		case b.spent >= b.size:
			b.size = min(2*b.size, b.n)
		default:
			b.size = max(1, b.spent)
		}
		b.size = min(b.size, b.n)
		var start, used, brk int64
		err := b.s.pool.QueryRow(ctx, b.s.lease, b.key, dbNow, int64(b.interval), int64(b.tau), int64(b.size)).Scan(&start, &used, &brk)
		if err == nil {
			b.s.recovered(b.key)
			if b.s.now != nil {
				b.first = time.Unix(0, start)
			} else {
				// The slot's offset from PostgreSQL's now, on our clock.
				b.first = sent.Add(time.Duration(start - used))
			}
			var bu time.Time
			if brk > used {
				bu = b.first.Add(time.Duration(brk - start))
			}
			b.hmu.Lock()
			if bu.After(b.breaker) {
				b.breaker = bu
			}
			b.hmu.Unlock()
			b.left, b.spent = b.size, 0
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.s.outage(b.key, err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Pause makes no call of any process start before until (a later pause
// wins). It makes one round trip, bounded by 5 s, unless a pause as long
// was already pushed by this process; a failure is logged, not returned
// (the caller's local limiter pauses anyway).
func (b *Bucket) Pause(until time.Time) {
	b.share(&b.paused, until, b.s.pauseQ, "a pause")
}

// OpenBreaker records that this process's circuit breaker of the key
// opened: every process sharing the key learns it at its next lease and
// fails fast until until. Like Pause it is one round trip bounded by 5 s,
// and a failure is logged, not returned.
func (b *Bucket) OpenBreaker(until time.Time) {
	b.share(&b.breaker, until, b.s.breakerQ, "an open circuit breaker")
}

// share pushes until into the key's row with query q, unless this process
// already pushed a time as late (*last, guarded by hmu); what names the
// fact in the warning a failed round trip logs.
func (b *Bucket) share(last *time.Time, until time.Time, q, what string) {
	b.hmu.Lock()
	if !until.After(*last) {
		b.hmu.Unlock()
		return
	}
	*last = until
	b.hmu.Unlock()
	var dbNow *int64
	now := time.Now()
	if b.s.now != nil {
		now = b.s.now()
		v := now.UnixNano()
		dbNow = &v
	}
	d := until.Sub(now)
	if d <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.s.pool.Exec(ctx, q, b.key, dbNow, int64(d)); err != nil {
		b.s.log.Warn(fmt.Sprintf("Shared rate limit '%s': could not share %s of %s with the other workers: %s", b.key, what, d.Round(time.Millisecond), err.Error()))
	}
}

// BreakerOpenUntil returns until when some process holds the key's
// circuit breaker open, as learnt at this process's last lease (or pushed
// by it); zero when none does.
func (b *Bucket) BreakerOpenUntil() time.Time {
	b.hmu.Lock()
	defer b.hmu.Unlock()
	return b.breaker
}

func (s *Store) outage(key string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return
	}
	s.down = true
	var msg string
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out"
	} else {
		msg = err.Error()
	}
	s.log.Warn(fmt.Sprintf("Shared rate limit '%s': PostgreSQL does not answer (%s); calls under shared limits wait for it rather than risk exceeding the quota across workers.", key, msg))
}

func (s *Store) recovered(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		s.down = false
		s.log.Info(fmt.Sprintf("Shared rate limit '%s': PostgreSQL answers again.", key))
	}
}

// Stats is one key's row, for tests and operators.
type Stats struct {
	// Next is when the next token not yet leased is due.
	Next time.Time
	// Pause is the time before which no token is due.
	Pause time.Time
	// Leases counts the leases handed out (round trips).
	Leases int64
}

// Stats reads key's row; found is false when no process used the key yet.
func (s *Store) Stats(ctx context.Context, key string) (st Stats, found bool, err error) {
	var next, pause int64
	q := fmt.Sprintf(`SELECT next_ns, pause_ns, leases FROM %s.sqlflow_rate_buckets WHERE key = $1`, pgx.Identifier{s.schema}.Sanitize())
	err = s.pool.QueryRow(ctx, q, key).Scan(&next, &pause, &st.Leases)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("shared limits: reading %q: %w", key, err)
	}
	st.Next, st.Pause = time.Unix(0, next), time.Unix(0, pause)
	return st, true, nil
}
