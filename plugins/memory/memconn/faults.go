package memconn

import (
	"context"
	"hash/fnv"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// faultConfig is the `faults` block: failures injected into ReadPage so a
// pipeline's resilience settings can be tried against a source that
// misbehaves in a known, repeatable way.
type faultConfig struct {
	seed            int64
	transient       float64 // share of ReadPage calls failing TRANSIENT
	rateLimited     float64 // share failing RATE_LIMITED
	retryAfter      float64 // seconds, carried by RATE_LIMITED faults
	latency         float64 // seconds added to every page
	permanentAtPage int64   // 1-based page that always fails PERMANENT; 0 = never
	// authFile is a credential file read at every Configure (as a real
	// connector re-reads its *_file secrets). revokedFile plays the
	// server: read at every page, it names a revoked credential; while it
	// names the one read at Configure, page reads fail AUTH_EXPIRED.
	authFile, credential, revokedFile string
}

// attempts counts, per process, how often each checkpoint was asked for, so
// that a retried page draws again (and eventually succeeds) while the whole
// sequence of outcomes stays a function of (seed, checkpoint, attempt).
type attempts struct {
	mu sync.Mutex
	n  map[string]uint64
}

func (a *attempts) next(checkpoint []byte) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]uint64{}
	}
	k := string(checkpoint)
	n := a.n[k]
	a.n[k] = n + 1
	return n
}

// inject sleeps the configured latency, then returns the fault (if any) for
// the attempt-th request of page (1-based) at checkpoint.
func (f *faultConfig) inject(ctx context.Context, checkpoint []byte, page int64, attempt uint64) error {
	if f.latency > 0 {
		t := time.NewTimer(time.Duration(f.latency * float64(time.Second)))
		select {
		case <-ctx.Done():
			t.Stop()
			return errclass.Transientf("injected latency on page %d (faults.latency = %s) interrupted: %w", page, fmtNum(f.latency), ctx.Err())
		case <-t.C:
		}
	}
	if f.revokedFile != "" {
		if data, err := os.ReadFile(f.revokedFile); err == nil && strings.TrimSpace(string(data)) == f.credential {
			return errclass.AuthExpiredf("injected expired credential on page %d: the credential read from %s was revoked (faults.revoked_file); write a new one there", page, f.authFile)
		}
	}
	if f.permanentAtPage > 0 && page == f.permanentAtPage {
		return errclass.Permanentf("injected permanent fault on page %d (faults.permanent_at_page = %d)", page, f.permanentAtPage)
	}
	if f.transient == 0 && f.rateLimited == 0 {
		return nil
	}
	u := f.draw(checkpoint, attempt)
	switch {
	case u < f.transient:
		return errclass.Transientf("injected transient fault on page %d, attempt %d (faults.transient = %s)", page, attempt+1, fmtNum(f.transient))
	case u < f.transient+f.rateLimited:
		return errclass.RateLimitedf(time.Duration(f.retryAfter*float64(time.Second)),
			"injected rate limit on page %d, attempt %d (faults.rate_limited = %s, retry after %ss)", page, attempt+1, fmtNum(f.rateLimited), fmtNum(f.retryAfter))
	}
	return nil
}

// draw returns a uniform number in [0, 1) from hash(seed, checkpoint, attempt).
func (f *faultConfig) draw(checkpoint []byte, attempt uint64) float64 {
	h := fnv.New64a()
	h.Write(checkpoint)
	z := mix64(mix64(uint64(f.seed)) ^ h.Sum64())
	z = mix64(z + (attempt+1)*golden)
	return float64(z>>11) / (1 << 53)
}
