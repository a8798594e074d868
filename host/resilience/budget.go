package resilience

import (
	"sync"
	"time"
)

// budgetSlots is how many slots the sliding window is cut into: the window
// slides by a tenth of its length at a time.
const budgetSlots = 10

// retryBudget bounds the calls that retry to Ratio of calls, plus
// MinRetries, over a sliding window (the sum of the last budgetSlots slots
// of Window/10). Every call deposits; a call withdraws once, at its first
// retry, and is then admitted: its further retries are bounded by the retry
// policy (max_attempts, backoff, the call's deadline), not by the budget.
// A call is admitted while admitted < Ratio·calls + MinRetries over the
// window.
//
// The admission of a call that succeeds in the end is given back: what the
// budget bounds is retrying that did not help. A dead service (every call
// fails) gets Ratio·calls + MinRetries calls retried and no more, while a
// flaky one whose retries get through (a source failing 40% of pages at
// random) is not stopped by its own successful retries, and one call in
// flight can ride out an outage as long as its retry policy allows.
type retryBudget struct {
	ratio float64
	min   float64
	slot  time.Duration
	start time.Time

	mu      sync.Mutex
	cur     int64 // index of the current slot since start
	calls   [budgetSlots]int64
	retries [budgetSlots]int64
	nCalls  int64 // sums over the window
	nRetry  int64
	denying bool // the last request for a retry was denied
}

// newBudget returns the budget of b, or nil when b has no window (no
// budget: every retry the retry policy allows is made).
func newBudget(b Budget, now time.Time) *retryBudget {
	if b.Window <= 0 {
		return nil
	}
	slot := b.Window / budgetSlots
	if slot <= 0 {
		slot = 1
	}
	return &retryBudget{ratio: b.Ratio, min: float64(b.MinRetries), slot: slot, start: now}
}

// advance moves the window to now; b.mu is held.
func (b *retryBudget) advance(now time.Time) int {
	idx := int64(now.Sub(b.start) / b.slot)
	if idx > b.cur {
		if idx-b.cur >= budgetSlots {
			b.calls, b.retries = [budgetSlots]int64{}, [budgetSlots]int64{}
			b.nCalls, b.nRetry = 0, 0
		} else {
			for i := b.cur + 1; i <= idx; i++ {
				s := i % budgetSlots
				b.nCalls -= b.calls[s]
				b.nRetry -= b.retries[s]
				b.calls[s], b.retries[s] = 0, 0
			}
		}
		b.cur = idx
	}
	return int(b.cur % budgetSlots)
}

// call records a call.
func (b *retryBudget) call(now time.Time) {
	b.mu.Lock()
	s := b.advance(now)
	b.calls[s]++
	b.nCalls++
	b.mu.Unlock()
}

// retry withdraws one retry when the budget allows it, and returns the
// slot it was taken from (for refund). first is true when it is denied and
// the previous request was granted, so the caller logs an exhausted budget
// once per episode rather than per call.
func (b *retryBudget) retry(now time.Time) (ok bool, slot int64, first bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.advance(now)
	if float64(b.nRetry) < b.ratio*float64(b.nCalls)+b.min {
		b.retries[s]++
		b.nRetry++
		b.denying = false
		return true, b.cur, false
	}
	first = !b.denying
	b.denying = true
	return false, 0, first
}

// refund gives back retries taken from the given slots, those still in the
// window.
func (b *retryBudget) refund(slots []int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, abs := range slots {
		if b.cur-abs >= budgetSlots {
			continue // slid out of the window already
		}
		s := abs % budgetSlots
		if b.retries[s] > 0 {
			b.retries[s]--
			b.nRetry--
		}
	}
}
