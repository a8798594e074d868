// Package errclass owns the four error classes that cross the connector
// boundary (TRANSIENT, RATE_LIMITED, AUTH_EXPIRED, PERMANENT) and the error
// type that carries one.
//
// Plugins build errors with the constructors ([Transientf], [RateLimitedf],
// [AuthExpiredf], [Permanentf]) or [Wrap]; the host reads them back with [Of] and
// [RetryAfter]. The package depends on the standard library only, so both
// sides of the protocol can use it.
package errclass

import (
	"errors"
	"fmt"
	"time"
)

// Class says what the host should do with a failed call.
type Class int

const (
	// Unknown is the zero value: an error that carries no class. The host
	// treats it as Transient when it comes from the transport and as
	// Permanent when a plugin returned it without a class.
	Unknown Class = iota
	// Transient is a network glitch, a timeout, a 5xx, a lost database
	// connection: the host retries with backoff and counts it toward the
	// circuit breaker.
	Transient
	// RateLimited is a 429, an exceeded quota or a full bucket: the host
	// waits RetryAfter (or backs off) and slows its limiter.
	RateLimited
	// AuthExpired is an expired token or credential: the host re-resolves
	// secrets, configures the plugin again and retries once.
	AuthExpired
	// Permanent is bad config, bad SQL, a missing file, a 4xx other than
	// 429: never retried, never counted by the breaker, and its message
	// reaches the user unchanged.
	Permanent
)

// String returns the wire name of the class (TRANSIENT, RATE_LIMITED, ...),
// or "UNKNOWN(n)" for a value outside the enumeration.
func (c Class) String() string {
	switch c {
	case Unknown:
		return "UNKNOWN"
	case Transient:
		return "TRANSIENT"
	case RateLimited:
		return "RATE_LIMITED"
	case AuthExpired:
		return "AUTH_EXPIRED"
	case Permanent:
		return "PERMANENT"
	default:
		return fmt.Sprintf("UNKNOWN(%d)", int(c))
	}
}

// Retryable reports whether the host may repeat a call that failed with
// this class.
func (c Class) Retryable() bool {
	return c == Transient || c == RateLimited || c == AuthExpired
}

// Error is an error with a class. It wraps the cause, so errors.Is and
// errors.As see through it.
type Error struct {
	// Class is what the host should do.
	Class Class
	// RetryAfter is how long the server asked the caller to wait; zero when
	// it said nothing. Only meaningful for RateLimited (and sometimes
	// Transient, e.g. a 503 with Retry-After).
	RetryAfter time.Duration
	// Field names the configuration field at fault, for Permanent errors
	// about configuration; empty otherwise.
	Field string
	// Err is the cause. Its message is shown to the user.
	Err error
}

// Error returns the cause's message; the class is not repeated in it, so a
// Permanent message reaches the user exactly as the plugin wrote it.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Class.String()
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func newf(c Class, format string, args ...any) *Error {
	return &Error{Class: c, Err: fmt.Errorf(format, args...)}
}

// Transientf returns a TRANSIENT error with a formatted message (%w allowed).
func Transientf(format string, args ...any) *Error { return newf(Transient, format, args...) }

// Permanentf returns a PERMANENT error with a formatted message (%w allowed).
func Permanentf(format string, args ...any) *Error { return newf(Permanent, format, args...) }

// AuthExpiredf returns an AUTH_EXPIRED error with a formatted message.
func AuthExpiredf(format string, args ...any) *Error { return newf(AuthExpired, format, args...) }

// RateLimitedf returns a RATE_LIMITED error; retryAfter is the wait the
// server asked for, or zero when it gave none.
func RateLimitedf(retryAfter time.Duration, format string, args ...any) *Error {
	e := newf(RateLimited, format, args...)
	e.RetryAfter = retryAfter
	return e
}

// Wrap gives err the class c, keeping err as the cause. A nil err gives nil.
func Wrap(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Err: err}
}

// Of returns the class of the first *Error in err's chain, or Unknown when
// there is none (including for a nil err).
func Of(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Unknown
}

// RetryAfter returns the retry-after of the first *Error in err's chain,
// or zero.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Is reports whether err carries class c.
func Is(err error, c Class) bool { return err != nil && Of(err) == c }
