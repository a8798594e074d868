package resilience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// Env is what a Client needs from its surroundings besides the Conn and
// the Policy. Every field may be left zero.
type Env struct {
	// Name is the connector instance's name (logs, metrics, errors).
	Name string
	// Type is the connector type (the connector_type metric label).
	Type string
	// Role is "source" or "destination" (/healthz).
	Role string
	// Host is the target host the connector talks to; with
	// RateLimit.PerHost every connector naming the same Host shares one
	// limiter of Limiters. Empty: the connector gets a limiter of its own.
	Host string
	// Limiters is the registry of per-host limiters; nil gives every
	// connector a limiter of its own.
	Limiters *Limiters
	// Logger receives the retry, breaker and budget lines; nil discards
	// them.
	Logger hclog.Logger
	// Metrics receives the connector metrics; nil records none.
	Metrics *metrics.Metrics
	// Recover, when set and Recovery.ConnectionRecovery is on, is called
	// before retrying a call that failed in the transport (the plugin
	// crashed or hung): it replaces the plugin process. A PERMANENT error
	// from it (the plugin was given up on) ends the call with that error.
	Recover func(ctx context.Context) error
	// Refresh, when set and Recovery.CredentialRefresh is on, is called
	// before retrying a call that failed AUTH_EXPIRED: it re-resolves the
	// secrets and configures the plugin again.
	Refresh func(ctx context.Context) error
	// Process, when set, reports the plugin process's state (running,
	// restarting, given_up) and its restarts so far, for /healthz; nil
	// reports "running" and the recoveries this Client asked for.
	Process func() (state string, restarts int64)
	// Rand returns a uniform number in [0, 1) for the backoff's jitter;
	// nil uses math/rand/v2. Tests inject it to assert exact delays.
	Rand func() float64
}

// Operation names, as logs and metrics show them.
type op uint8

const (
	opSpec op = iota
	opConfigure
	opCheck
	opDiscover
	opRead
	opWrite
	opCommit
	opAbort
	opState
	numOps
)

var opNames = [numOps]string{"spec", "configure", "test_connection", "discover", "read", "write", "commit", "abort", "state"}

func (o op) String() string { return opNames[o] }

// Client applies a Policy around every call to a connector. Per call:
//
//  1. the retry budget records the call;
//  2. per attempt: the rate limiter grants a token (waiting, or failing at
//     once with the fail strategy); the circuit breaker lets the attempt
//     through (or the call fails fast); the attempt runs under the per-call
//     timeout (a context deadline the plugin sees), which starts once the
//     token is granted, so a wait for a quota does not eat into it;
//  3. a failed attempt is retried with backoff when its class allows, the
//     attempts, the caller's deadline and the retry budget leave room, and
//     the caller has not cancelled; a crashed plugin is recovered and
//     expired credentials refreshed before the retry.
//
// # Retries
//
// Every operation is retried (pages, batches, commits and aborts are
// idempotent by protocol). PERMANENT errors, and errors without a class
// other than a per-call timeout, are never retried; TRANSIENT and
// RATE_LIMITED are, up to Retry.MaxAttempts attempts in all; AUTH_EXPIRED
// is retried once, right after Env.Refresh, when Recovery.CredentialRefresh
// is on (else not at all). The wait before retry n (n = the attempt that
// failed) is the error's RetryAfter when it carries one, capped at
// MaxDelay; otherwise cap_n = min(MaxDelay, InitialDelay·Multiplier^(n-1)),
// drawn uniformly from [0, cap_n] with Jitter. A retry whose wait would
// end at or after the caller's deadline is not made: the error comes back
// at once. Nor is one when the caller cancelled, or when the failure just
// opened the breaker. A TRANSIENT transport failure (the plugin crashed or
// hung) calls Env.Recover before the retry when
// Recovery.ConnectionRecovery is on. The log line of a retry is
//
//	Retrying operation 'read' (attempt 2/3) after error: <message>. Next retry in 2.0s.
//
// The delay it says is the whole wait before the retry: the backoff, or
// the limiter's pause or token wait when longer; under a second it is
// said in milliseconds ("Next retry in 40ms.").
//
// # Circuit breaker
//
// One breaker per connector (gobreaker): FailureThreshold consecutive
// counted failures open it; after RecoveryTimeout (zero: 60 s) it lets
// SuccessThreshold probes through (half-open); that many successes in a
// row close it, one counted failure opens it again. Thresholds below 1
// count as 1. What counts is decided per attempt:
// success and PERMANENT are successes (the connector answered); TRANSIENT,
// per-call timeouts and transport failures are failures; AUTH_EXPIRED and
// anything after the caller cancelled or its deadline passed are not
// counted; RATE_LIMITED is not counted while the call will be retried and
// is a failure when it is the call's final answer. While open (or while
// half-open has its probes out) calls fail at once with a TRANSIENT error
// wrapping ErrCircuitOpen. Its state changes are logged as
//
//	Circuit breaker for '<name>' is now OPEN. Failing fast.
//	Circuit breaker for '<name>' is now HALF-OPEN. Probing.
//	Circuit breaker for '<name>' is now CLOSED.
//
// # Rate limiter
//
// A token bucket of RateLimit.PerMinute/60 per second and Burst tokens,
// per connector, or shared by every connector with the same Env.Host when
// PerHost. With wait a call waits for its token (honouring its context;
// a wait that would end after the caller's deadline fails at once); with
// fail it fails at once. Both failures are RATE_LIMITED errors wrapping
// ErrRateLimit, not retried and not counted by the breaker. A
// RATE_LIMITED answer pauses the limiter for the retry's wait, so every
// connector sharing it holds back. The rate hints of a page slow it down
// ahead of a 429 (see Limiter for the exact rules).
//
// # Retry budget
//
// Retries may be at most Budget.Ratio of the calls made over a sliding
// Budget.Window, plus Budget.MinRetries; the retries of a call that
// succeeds in the end are given back, so what the budget bounds is
// retries that did not help. With the budget spent a failed call returns
// its error without retrying, and the first such call logs
//
//	Retry budget for '<name>' is exhausted: not retrying operation 'read' after error: <message>. Calls fail without retries until the budget recovers.
//
// A zero Window means no budget.
//
// # Cost
//
// On the success path a call reads the clock once and allocates nothing:
// the breaker is skipped while it is closed with no failure counted (a
// success would change nothing it decides on), and counted failures are
// reported to it after the fact. A per-call timeout costs a
// context.WithDeadline per attempt (4 allocations). A Client is safe for
// concurrent use.
type Client struct {
	conn    connector.Conn
	p       Policy
	env     Env
	log     hclog.Logger
	rand    func() float64
	limiter *Limiter
	budget  *retryBudget
	breaker *gobreaker.CircuitBreaker[struct{}]
	stats   Counters

	maxAttempts int
	maxPause    time.Duration
	lastFailure atomic.Pointer[string]

	// clean mirrors "the breaker is closed and has no consecutive failure":
	// then an attempt skips gobreaker (its two clock reads and two locks)
	// and reports to it only a counted failure, after the fact. A success
	// in that state would change nothing the breaker decides on
	// (ReadyToTrip looks at consecutive failures only, and the closed
	// state's counts are never cleared by time). cleanMu orders the
	// updates of the mirror; see syncClean.
	clean   atomic.Bool
	cleanMu sync.Mutex

	m *clientMetrics
}

type clientMetrics struct {
	retries  [numOps]prometheus.Counter
	wait     [numOps]prometheus.Observer
	recovery [numOps]prometheus.Counter
	errors   *prometheus.CounterVec
	state    prometheus.Gauge
}

// Wrap returns conn with p applied around every call, or conn itself when
// p is not Enabled (no overhead at all).
func Wrap(conn connector.Conn, p Policy, env Env) connector.Conn {
	if !p.Enabled {
		return conn
	}
	return New(conn, p, env)
}

// New returns a Client applying p (even when p is not Enabled: then only
// the counters are kept and calls pass straight through).
func New(conn connector.Conn, p Policy, env Env) *Client {
	now := time.Now()
	c := &Client{conn: conn, p: p, env: env, log: env.Logger, rand: env.Rand}
	if c.log == nil {
		c.log = hclog.NewNullLogger()
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	c.maxAttempts = max(p.Retry.MaxAttempts, 1)
	c.maxPause = p.Retry.MaxDelay
	if c.maxPause <= 0 {
		c.maxPause = time.Minute
	}
	if env.Metrics != nil {
		c.m = &clientMetrics{errors: env.Metrics.ConnectorErrors}
		for o := range numOps {
			c.m.retries[o] = env.Metrics.Retries.WithLabelValues(env.Type, env.Name, opNames[o])
			c.m.recovery[o] = env.Metrics.RecoveryAttempts.WithLabelValues(env.Type, env.Name, opNames[o])
			if p.RateLimit.Enabled {
				c.m.wait[o] = env.Metrics.RateLimitWait.WithLabelValues(env.Type, env.Name, opNames[o])
			}
		}
		if p.Breaker.Enabled {
			c.m.state = env.Metrics.BreakerState.WithLabelValues(env.Type, env.Name, "all")
			c.m.state.Set(metrics.BreakerClosed)
		}
	}
	if !p.Enabled {
		return c
	}
	if p.RateLimit.Enabled {
		if p.RateLimit.PerHost && env.Host != "" && env.Limiters != nil {
			c.limiter = env.Limiters.get("host:"+env.Host, p.RateLimit, now)
		} else {
			c.limiter = newLimiter("connector:"+env.Type+"/"+env.Name, p.RateLimit, now)
			env.Limiters.attach(c.limiter, p.RateLimit)
		}
	}
	c.budget = newBudget(p.Budget, now)
	if p.Breaker.Enabled {
		c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name: env.Name,
			// MaxRequests is both how many probes half-open lets through and
			// how many consecutive successes close it again.
			MaxRequests: uint32(max(p.Breaker.SuccessThreshold, 1)),
			// Timeout is how long the breaker stays open, not a call timeout.
			Timeout: p.Breaker.RecoveryTimeout,
			ReadyToTrip: func(n gobreaker.Counts) bool {
				return n.ConsecutiveFailures >= uint32(max(p.Breaker.FailureThreshold, 1))
			},
			OnStateChange: c.onStateChange,
			// The attempt maps its outcome to nil (success), errNotCounted
			// or a counted failure itself; see verdict.
			IsExcluded: func(err error) bool { return err == errNotCounted },
		})
		c.clean.Store(true)
	}
	return c
}

// syncClean sets the clean mirror from the breaker's state. Every change
// of the breaker's counts (an attempt through gobreaker, or a failure
// reported after the fact) is followed by a syncClean, and cleanMu orders
// them, so the last one always reads a state that includes every change
// before it. Between a change and its syncClean a fast-path success may go
// unreported: the consecutive failures are then not reset by it, which
// errs on the side of opening.
func (c *Client) syncClean() {
	c.cleanMu.Lock()
	n := c.breaker.Counts()
	st := c.breaker.State()
	c.clean.Store(st == gobreaker.StateClosed && n.ConsecutiveFailures == 0)
	c.cleanMu.Unlock()
}

// reportFailure records a counted failure of an attempt made without
// gobreaker (the fast path). An open breaker refuses the report, which
// drops it as gobreaker drops a late result of an earlier generation.
func (c *Client) reportFailure(v error) {
	_, _ = c.breaker.Execute(func() (struct{}, error) { return struct{}{}, v })
	c.syncClean()
}

// Policy returns the policy the client applies.
func (c *Client) Policy() Policy { return c.p }

// Limiter returns the client's rate limiter, or nil.
func (c *Client) Limiter() *Limiter { return c.limiter }

// Stats returns the client's counters.
func (c *Client) Stats() Stats { return c.stats.Stats() }

// BreakerState returns closed, half-open or open, or disabled when the
// policy has no breaker. Reading it may move an open breaker whose
// recovery timeout has passed to half-open.
func (c *Client) BreakerState() string {
	if c.breaker == nil {
		return "disabled"
	}
	return c.breaker.State().String()
}

// Health returns the client's /healthz entry.
func (c *Client) Health() metrics.ConnectorHealth {
	s := c.stats.Stats()
	h := metrics.ConnectorHealth{Name: c.env.Name, Role: c.env.Role, Type: c.env.Type,
		Process: "running", Breaker: c.BreakerState(), Restarts: s.Restarts, Retries: s.Retries}
	if c.env.Process != nil {
		h.Process, h.Restarts = c.env.Process()
	}
	if l := c.limiter; l != nil {
		h.Limiter = &metrics.LimiterHealth{Key: l.Key(), Tokens: l.Tokens(), Waiting: l.Waiting()}
	}
	return h
}

// onStateChange logs the breaker's new state and sets its gauge. It runs
// under gobreaker's lock: it only logs and stores an atomic value.
func (c *Client) onStateChange(name string, _, to gobreaker.State) {
	switch to {
	case gobreaker.StateOpen:
		c.log.Warn(fmt.Sprintf("Circuit breaker for '%s' is now OPEN. Failing fast.", name))
		c.setGauge(metrics.BreakerOpen)
		if sb := c.sharedBreaker(); sb != nil {
			// Not under gobreaker's lock, which holds this callback: the
			// push is a round trip (bounded by the bucket).
			until := time.Now().Add(c.p.Breaker.RecoveryTimeout)
			go sb.OpenBreaker(until)
		}
	case gobreaker.StateHalfOpen:
		c.log.Info(fmt.Sprintf("Circuit breaker for '%s' is now HALF-OPEN. Probing.", name))
		c.setGauge(metrics.BreakerHalfOpen)
	case gobreaker.StateClosed:
		c.log.Info(fmt.Sprintf("Circuit breaker for '%s' is now CLOSED.", name))
		c.setGauge(metrics.BreakerClosed)
	}
}

func (c *Client) setGauge(v float64) {
	if c.m != nil && c.m.state != nil {
		c.m.state.Set(v)
	}
}

// ErrCircuitOpen is wrapped by the error of a call refused by an open (or
// probing) circuit breaker. Its class is TRANSIENT. Test with errors.Is.
var ErrCircuitOpen = errors.New("circuit breaker is open")

// ErrRateLimit is wrapped by the error of a call the host's own rate
// limiter refused: with the fail strategy when no token was free, or with
// wait when the wait would end after the call's deadline. Its class is
// RATE_LIMITED. Test with errors.Is.
var ErrRateLimit = errors.New("rate limit reached")

type openError struct {
	name, last string
	probing    bool
	sharedFor  time.Duration // >0: opened by another process, for this long still
}

func (e *openError) Error() string {
	if e.sharedFor > 0 {
		return fmt.Sprintf("circuit breaker for '%s' was opened by another process sharing its limit: failing fast for %.1fs more", e.name, e.sharedFor.Seconds())
	}
	msg := fmt.Sprintf("circuit breaker for '%s' is open: failing fast", e.name)
	if e.probing {
		msg = fmt.Sprintf("circuit breaker for '%s' is half-open and its probes are out: failing fast", e.name)
	}
	if e.last != "" {
		msg += " (last failure: " + e.last + ")"
	}
	return msg
}

func (e *openError) Is(t error) bool { return t == ErrCircuitOpen }

type limitError struct {
	name     string
	ref      limitRefusal
	strategy Strategy
}

func (e *limitError) Error() string {
	if e.ref.deadline {
		return fmt.Sprintf("rate limit for '%s': the next call may start in %.1fs, after the call's deadline", e.name, e.ref.wait.Seconds())
	}
	return fmt.Sprintf("rate limit for '%s' reached: the next call may start in %.1fs (backpressure_strategy: %s)", e.name, e.ref.wait.Seconds(), e.strategy)
}

func (e *limitError) Is(t error) bool { return t == ErrRateLimit }

// errNotCounted is what an attempt reports to the breaker for an outcome
// that is neither a success nor a failure of the connector.
var errNotCounted = errors.New("not counted by the breaker")

// classOf returns err's class, with the two cases errclass leaves open:
// an unclassified deadline (the per-call timeout ran out while the caller
// still waits) is TRANSIENT, anything else unclassified is PERMANENT.
func classOf(err error) errclass.Class {
	cl := errclass.Of(err)
	if cl == errclass.Unknown {
		if errors.Is(err, context.DeadlineExceeded) {
			return errclass.Transient
		}
		return errclass.Permanent
	}
	return cl
}

// verdict maps an attempt's outcome to what the breaker counts:
//   - success, and PERMANENT errors (the connector answered; the request
//     was wrong): a success;
//   - anything after the caller cancelled or its deadline passed:
//     not counted;
//   - AUTH_EXPIRED: not counted (a credential problem, not an outage);
//   - RATE_LIMITED: not counted while the call will be retried; counted
//     as a failure when it is the call's final answer (the limit
//     persisted through the retries, or the budget or deadline left no
//     room);
//   - TRANSIENT (transport failures and per-call timeouts included): a
//     failure.
func verdict(ctx context.Context, err error, retrying bool) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errNotCounted
	}
	switch classOf(err) {
	case errclass.Permanent:
		return nil
	case errclass.AuthExpired:
		return errNotCounted
	case errclass.RateLimited:
		if retrying {
			return errNotCounted
		}
	}
	return err
}

// retryPlan is what to do after a failed attempt.
type retryPlan struct {
	retry   bool
	delay   time.Duration
	recover bool
	refresh bool
	slot    int64 // the budget slot the retry was taken from
}

// plan decides whether the attempt-th attempt's failure err is retried.
// It withdraws from the retry budget when it says yes.
func (c *Client) plan(ctx context.Context, o op, attempt int, authDone bool, err error) retryPlan {
	if ctx.Err() != nil {
		return retryPlan{}
	}
	// A plugin process that died or hung is restarted and the call
	// repeated even when the retries are used up: that is recovery of the
	// process boundary, not a retry of the connector's system, and the
	// supervisor's crash-loop limit bounds it.
	crash := c.crashed(err)
	if attempt >= c.maxAttempts && !(crash && attempt < c.maxAttempts+max(c.p.Recovery.MaxRestarts, 1)) {
		return retryPlan{}
	}
	var p retryPlan
	switch cl := classOf(err); cl {
	case errclass.Permanent:
		return retryPlan{}
	case errclass.AuthExpired:
		if !c.p.Recovery.CredentialRefresh || c.env.Refresh == nil || authDone {
			return retryPlan{}
		}
		p.refresh = true
	default:
		p.delay = c.backoff(attempt, err)
		p.recover = crash
		if crash && attempt >= c.maxAttempts {
			p.delay = 0 // the supervisor paces restarts itself
		}
	}
	now := time.Now()
	if dl, ok := ctx.Deadline(); ok && !now.Add(p.delay).Before(dl) {
		c.log.Debug(fmt.Sprintf("Not retrying operation '%s': the retry would start after the call's deadline.", o), "connector", c.env.Name)
		return retryPlan{}
	}
	// The budget admits a call to retrying at its first retry; a call once
	// admitted retries up to max_attempts (its own bound, with backoff and
	// the call's deadline). So a flow whose one call in flight rides out a
	// server restart is not cut short, while a dead plugin sent many calls
	// sees only the budget's share of them retried.
	if c.budget != nil && attempt == 1 {
		ok, slot, first := c.budget.retry(now)
		p.slot = slot
		if !ok {
			if first {
				c.log.Warn(fmt.Sprintf("Retry budget for '%s' is exhausted: not retrying operation '%s' after error: %s. Calls fail without retries until the budget recovers.",
					c.env.Name, o, err.Error()), "connector", c.env.Name)
			}
			return retryPlan{}
		}
	}
	p.retry = true
	return p
}

// crashed reports whether err is a failure of the plugin process (it died,
// the connection broke, the call hung past its deadline) that connection
// recovery restarts.
func (c *Client) crashed(err error) bool {
	return classOf(err) == errclass.Transient && c.p.Recovery.ConnectionRecovery &&
		c.env.Recover != nil && rpcclient.IsTransport(err)
}

// backoff returns the wait before retry number n (n = the attempt that
// failed): the server's RetryAfter when the error carries one, capped at
// MaxDelay; otherwise full jitter, uniform in [0, cap_n] with
// cap_n = min(MaxDelay, InitialDelay·Multiplier^(n-1)), or cap_n itself
// without jitter.
func (c *Client) backoff(n int, err error) time.Duration {
	r := c.p.Retry
	if ra := errclass.RetryAfter(err); ra > 0 {
		if r.MaxDelay > 0 && ra > r.MaxDelay {
			return r.MaxDelay
		}
		return ra
	}
	mult := max(r.Multiplier, 1)
	capf := float64(r.InitialDelay) * math.Pow(mult, float64(n-1))
	limit := float64(math.MaxInt64 / 2)
	if r.MaxDelay > 0 {
		limit = float64(r.MaxDelay)
	}
	capf = min(capf, limit)
	if r.Jitter {
		capf *= c.rand()
	}
	return time.Duration(capf)
}

// call runs one operation under the policy.
func call[T any](c *Client, ctx context.Context, o op, f func(context.Context) (T, error)) (T, error) {
	if !c.p.Enabled {
		return f(ctx)
	}
	now := time.Now()
	if c.budget != nil {
		c.budget.call(now)
	}
	authDone := false
	var taken [8]int64 // budget slots of this call's retries, for refund
	nTaken := 0
	for attempt := 1; ; attempt++ {
		res, err, plan := attempt1(c, ctx, o, now, attempt, authDone, f)
		if err == nil && nTaken > 0 && c.budget != nil {
			c.budget.refund(taken[:nTaken])
		}
		if err == nil || !plan.retry {
			return res, err
		}
		if c.breaker != nil && !c.clean.Load() && c.breaker.State() == gobreaker.StateOpen {
			// This failure opened the breaker: the retry would be refused.
			// The call ends with the failure itself; later calls fail fast.
			if c.budget != nil && attempt == 1 {
				c.budget.refund([]int64{plan.slot})
			}
			return res, err
		}
		if c.budget != nil && attempt == 1 && nTaken < len(taken) {
			taken[nTaken] = plan.slot
			nTaken++
		}
		if err := c.prepareRetry(ctx, o, attempt, err, plan); err != nil {
			var zero T
			return zero, err
		}
		authDone = authDone || plan.refresh
		now = time.Now()
	}
}

// attempt1 makes one attempt: limiter, breaker, timeout, call. It returns
// the plan for a retry when the attempt failed.
func attempt1[T any](c *Client, ctx context.Context, o op, now time.Time, attempt int, authDone bool, f func(context.Context) (T, error)) (res T, err error, plan retryPlan) {
	if serr := c.sharedOpen(now); serr != nil {
		return res, serr, retryPlan{}
	}
	if c.limiter != nil {
		waited, start, ref, werr := c.limiter.acquire(ctx, now, c.p.RateLimit.Strategy == StrategyFail, &c.stats)
		if c.m != nil {
			c.m.wait[o].Observe(waited.Seconds())
		}
		if waited > 0 {
			c.countWait(ctx, waited)
		}
		if werr != nil {
			return res, werr, retryPlan{}
		}
		if ref != nil {
			return res, &errclass.Error{Class: errclass.RateLimited, RetryAfter: ref.wait,
				Err: &limitError{name: c.env.Name, ref: *ref, strategy: c.p.RateLimit.Strategy}}, retryPlan{}
		}
		now = start
	}
	actx := ctx
	d := c.p.CallTimeout
	if o == opCommit && c.p.CommitTimeout > 0 {
		d = c.p.CommitTimeout
	}
	if d > 0 {
		end := now.Add(d)
		if dl, ok := ctx.Deadline(); !ok || end.Before(dl) {
			var cancel context.CancelFunc
			actx, cancel = context.WithDeadline(ctx, end)
			defer cancel()
		}
	}
	if c.breaker == nil || c.clean.Load() {
		res, err = f(actx)
		if err != nil {
			plan = c.failed(ctx, o, attempt, authDone, err)
			if c.breaker != nil {
				if v := c.breakerVerdict(ctx, err, plan); v != nil && v != errNotCounted {
					c.reportFailure(v)
				}
			}
		}
		return res, err, plan
	}
	_, berr := c.breaker.Execute(func() (struct{}, error) {
		res, err = f(actx)
		if err == nil {
			return struct{}{}, nil
		}
		plan = c.failed(ctx, o, attempt, authDone, err)
		return struct{}{}, c.breakerVerdict(ctx, err, plan)
	})
	c.syncClean()
	if berr != nil && err == nil && (errors.Is(berr, gobreaker.ErrOpenState) || errors.Is(berr, gobreaker.ErrTooManyRequests)) {
		oe := &openError{name: c.env.Name, probing: errors.Is(berr, gobreaker.ErrTooManyRequests)}
		if last := c.lastFailure.Load(); last != nil {
			oe.last = *last
		}
		return res, errclass.Wrap(errclass.Transient, oe), retryPlan{}
	}
	return res, err, plan
}

// breakerVerdict is verdict, remembering a counted failure's message for
// the fail-fast error.
func (c *Client) breakerVerdict(ctx context.Context, err error, plan retryPlan) error {
	v := verdict(ctx, err, plan.retry)
	if v != nil && v != errNotCounted {
		msg := err.Error()
		c.lastFailure.Store(&msg)
	}
	return v
}

// failed records a failed attempt and plans its retry.
func (c *Client) failed(ctx context.Context, o op, attempt int, authDone bool, err error) retryPlan {
	if errors.Is(err, rpcclient.ErrNotImplemented) {
		// An optional call the plugin does not make (CheckWrite, GetState):
		// an answer, not a failure.
		return retryPlan{}
	}
	if c.m != nil {
		c.m.errors.WithLabelValues(c.env.Type, c.env.Name, opNames[o], classOf(err).String()).Inc()
	}
	if c.log.IsDebug() {
		// One line per failed attempt (--log-level debug), retried or not:
		// how many attempts a call made is visible, not only its retries.
		c.log.Debug(fmt.Sprintf("Operation '%s' attempt %d/%d failed (%s): %s", o, attempt, c.maxAttempts, classOf(err), err.Error()),
			"connector", c.env.Name)
	}
	return c.plan(ctx, o, attempt, authDone, err)
}

// prepareRetry logs the retry, counts it, refreshes credentials or
// recovers the plugin when planned, and waits the delay. An error ends the
// call with it.
func (c *Client) prepareRetry(ctx context.Context, o op, attempt int, err error, plan retryPlan) error {
	if attempt >= c.maxAttempts {
		c.log.Warn(fmt.Sprintf("Restarting the plugin and repeating operation '%s' (attempt %d) after error: %s.",
			o, attempt+1, err.Error()), "connector", c.env.Name)
	} else {
		wait := plan.delay
		if c.limiter != nil {
			// The retry also waits for the limiter (a pause a 429 or a rate
			// hint set, a token): the line says the whole wait.
			wait = c.limiter.expectedWait(time.Now(), wait)
		}
		c.log.Warn(fmt.Sprintf("Retrying operation '%s' (attempt %d/%d) after error: %s. Next retry in %s.",
			o, attempt+1, c.maxAttempts, err.Error(), delayString(wait)), "connector", c.env.Name)
	}
	fc := countersOf(ctx)
	c.stats.retries.Add(1)
	if fc != nil {
		fc.retries.Add(1)
	}
	if c.m != nil {
		c.m.retries[o].Inc()
	}
	if plan.refresh {
		if rerr := c.env.Refresh(ctx); rerr != nil {
			return fmt.Errorf("%w (refreshing credentials failed: %w)", err, rerr)
		}
	}
	if plan.recover {
		c.stats.restarts.Add(1)
		if fc != nil {
			fc.restarts.Add(1)
		}
		if c.m != nil {
			c.m.recovery[o].Inc()
		}
		recovered := gauge(ctx, &c.stats, func(c *Counters) *atomic.Int64 { return &c.recover })
		rerr := c.env.Recover(ctx)
		recovered()
		if rerr != nil {
			if errclass.Is(rerr, errclass.Permanent) || ctx.Err() != nil {
				return rerr
			}
			c.log.Warn("plugin recovery failed; retrying anyway", "connector", c.env.Name, "error", rerr.Error())
		}
	}
	rateLimited := errclass.Is(err, errclass.RateLimited)
	if rateLimited && c.limiter != nil {
		// Other calls sharing the limiter hold back too.
		c.limiter.pause(time.Now(), plan.delay)
	}
	var serr error
	if rateLimited {
		serr = waitCounted(ctx, plan.delay, &c.stats)
		c.countWait(ctx, plan.delay)
		if c.m != nil && c.m.wait[o] != nil {
			c.m.wait[o].Observe(plan.delay.Seconds())
		}
	} else if plan.delay > 0 {
		waited := gauge(ctx, &c.stats, func(c *Counters) *atomic.Int64 { return &c.backoff })
		serr = sleep(ctx, plan.delay)
		waited()
	} else {
		serr = ctx.Err()
	}
	return serr
}

// delayString says a retry's delay as the log line does: seconds with
// one decimal from a second up ("2.0s"), milliseconds below ("40ms"),
// so a short delay never reads as "0.0s".
func delayString(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	case d > 0:
		return "under 1ms"
	}
	return "0s"
}

func (c *Client) countWait(ctx context.Context, d time.Duration) {
	c.stats.waitNS.Add(int64(d))
	if fc := countersOf(ctx); fc != nil {
		fc.waitNS.Add(int64(d))
	}
}

var _ connector.Conn = (*Client)(nil)

// Spec calls Spec under the policy (operation "spec").
func (c *Client) Spec(ctx context.Context) (sdk.Spec, error) {
	return call(c, ctx, opSpec, c.conn.Spec)
}

// Configure calls Configure under the policy (operation "configure").
func (c *Client) Configure(ctx context.Context, cfg json.RawMessage) ([]sdk.FieldError, error) {
	return call(c, ctx, opConfigure, func(ctx context.Context) ([]sdk.FieldError, error) {
		return c.conn.Configure(ctx, cfg)
	})
}

// Check calls Check under the policy (operation "test_connection").
func (c *Client) Check(ctx context.Context) error {
	_, err := call(c, ctx, opCheck, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.conn.Check(ctx)
	})
	return err
}

// Discover calls Discover under the policy (operation "discover").
func (c *Client) Discover(ctx context.Context) ([]sdk.Stream, error) {
	return call(c, ctx, opDiscover, c.conn.Discover)
}

// ReadPage calls ReadPage under the policy (operation "read"), and
// applies the page's rate hints to the limiter (see Limiter.observe).
func (c *Client) ReadPage(ctx context.Context, req sdk.ReadRequest) (connector.Page, error) {
	p, err := call(c, ctx, opRead, func(ctx context.Context) (connector.Page, error) {
		return c.conn.ReadPage(ctx, req)
	})
	if err == nil && p.RateHints != nil && c.limiter != nil {
		c.limiter.observe(time.Now(), p.RateHints, c.maxPause)
	}
	return p, err
}

// BeginWrite calls BeginWrite under the policy (operation "write").
func (c *Client) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	_, err := call(c, ctx, opWrite, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.conn.BeginWrite(ctx, req)
	})
	return err
}

// WriteBatch calls WriteBatch under the policy (operation "write").
func (c *Client) WriteBatch(ctx context.Context, writeID string, seq int64, records []byte) error {
	_, err := call(c, ctx, opWrite, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.conn.WriteBatch(ctx, writeID, seq, records)
	})
	return err
}

// CommitWrite calls CommitWrite under the policy (operation "commit").
func (c *Client) CommitWrite(ctx context.Context, writeID string, state []byte) (map[string]string, error) {
	return call(c, ctx, opCommit, func(ctx context.Context) (map[string]string, error) {
		return c.conn.CommitWrite(ctx, writeID, state)
	})
}

// AbortWrite calls AbortWrite under the policy (operation "abort").
func (c *Client) AbortWrite(ctx context.Context, writeID string) error {
	_, err := call(c, ctx, opAbort, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.conn.AbortWrite(ctx, writeID)
	})
	return err
}

// CheckWrite calls CheckWrite under the policy (operation "write").
func (c *Client) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	return call(c, ctx, opWrite, func(ctx context.Context) (string, error) {
		return c.conn.CheckWrite(ctx, req)
	})
}

// LoadState calls LoadState under the policy (operation "state").
func (c *Client) LoadState(ctx context.Context, flow string) ([]byte, bool, error) {
	type loaded struct {
		blob  []byte
		found bool
	}
	r, err := call(c, ctx, opState, func(ctx context.Context) (loaded, error) {
		b, ok, err := c.conn.LoadState(ctx, flow)
		return loaded{b, ok}, err
	})
	return r.blob, r.found, err
}

// DeleteState calls DeleteState under the policy (operation "state").
func (c *Client) DeleteState(ctx context.Context, flow string) (bool, error) {
	return call(c, ctx, opState, func(ctx context.Context) (bool, error) {
		return c.conn.DeleteState(ctx, flow)
	})
}
