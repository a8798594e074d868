package httpclass

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// RateHints reads the rate-limit facts of a response's headers, or returns
// nil when it carries none. It understands:
//
//   - the IETF draft headers RateLimit-Limit, RateLimit-Remaining and
//     RateLimit-Reset (seconds until the window resets), and the combined
//     form "RateLimit: limit=100, remaining=50, reset=5";
//   - the common X-RateLimit-Limit, X-RateLimit-Remaining and
//     X-RateLimit-Reset (also spelled X-Rate-Limit-*). A reset value above
//     10^9 is read as a Unix time in seconds (GitHub, Twitter), above 10^12
//     in milliseconds, and otherwise as seconds from now;
//   - Retry-After (seconds or an HTTP-date), as RateHints.RetryAfter.
//
// Unparsable values are ignored. A reset in the past is zero.
func RateHints(h http.Header) *sdk.RateHints {
	return rateHints(h, time.Now())
}

func rateHints(h http.Header, now time.Time) *sdk.RateHints {
	var hints sdk.RateHints
	found := false
	num := func(v string, dst *float64) {
		v = strings.TrimSpace(v)
		// Some servers send a list ("100, 100;w=60"); the first item counts.
		if i := strings.IndexAny(v, ",;"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			*dst = f
			found = true
		}
	}
	reset := func(v string) {
		var f float64
		num(v, &f)
		if f > 0 {
			hints.Reset = resetDuration(f, now)
		}
	}

	for _, prefix := range []string{"X-RateLimit-", "X-Rate-Limit-", "RateLimit-"} {
		if v := h.Get(prefix + "Limit"); v != "" {
			num(v, &hints.Limit)
		}
		if v := h.Get(prefix + "Remaining"); v != "" {
			num(v, &hints.Remaining)
		}
		if v := h.Get(prefix + "Reset"); v != "" {
			reset(v)
		}
	}
	if v := h.Get("RateLimit"); v != "" {
		for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
			k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "limit":
				num(val, &hints.Limit)
			case "remaining", "r":
				num(val, &hints.Remaining)
			case "reset", "t":
				reset(val)
			}
		}
	}
	if h.Get("Retry-After") != "" {
		found = true
		hints.RetryAfter = RetryAfter(h)
	}
	if !found {
		return nil
	}
	return &hints
}

// resetDuration turns a reset value into a wait from now: a Unix time in
// seconds (above 10^9) or milliseconds (above 10^12), else seconds.
func resetDuration(f float64, now time.Time) time.Duration {
	switch {
	case f > 1e12:
		d := time.UnixMilli(int64(f)).Sub(now)
		return max(d, 0)
	case f > 1e9:
		d := time.Unix(int64(f), 0).Sub(now)
		return max(d, 0)
	default:
		return time.Duration(f * float64(time.Second))
	}
}
