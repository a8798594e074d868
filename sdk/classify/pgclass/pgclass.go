// Package pgclass classifies the errors of PostgreSQL drivers built on
// jackc/pgx v5 (pgconn, pgx, pgxpool) into the connector error classes of
// package errclass, by SQLSTATE and by the kind of network failure.
//
// It lives apart from the other classifiers so that only the plugins that
// talk to PostgreSQL link pgx.
//
// # Classes
//
//   - TRANSIENT: class 08 (connection exception; includes 08007, whose
//     commit outcome is unknown), 40001 (serialization failure), 40P01
//     (deadlock), 40003 (statement completion unknown), 53300 (too many
//     connections), 53400 (configuration limit exceeded), 55P03 (lock not
//     available), 57P01, 57P02, 57P03 (admin shutdown, crash shutdown,
//     cannot connect now), 57014 (query canceled) when the caller's own
//     deadline caused it, network errors (dial, reset, EOF, a closed
//     connection), timeouts and an expired context deadline.
//   - PERMANENT: classes 42 (syntax, undefined objects, privileges), 22
//     (data), 23 (constraints), 28 (authorization), 3D000 (no such
//     database), 0A000 (feature not supported), 57014 not caused by the
//     caller's deadline (statement_timeout, pg_cancel_backend), every other
//     SQLSTATE, and errors that are not about the server or the network
//     (a bad connection string, a TLS refusal, a type the driver cannot
//     encode).
//   - A cancelled context (the user stopped the run) is returned as it is,
//     without a class, so callers can tell it from a timeout.
//
// 08007 and 40003 leave a commit's outcome unknown: they are TRANSIENT,
// so a caller must make the commit safe to repeat (record it in the same
// transaction and check the record first) before returning them.
package pgclass

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Class returns the class of err as described in the package doc. ctx is
// the context of the failed call: a 57014 (query canceled) while ctx's
// deadline has passed is TRANSIENT, any other 57014 PERMANENT. A nil err,
// and a context.Canceled not caused by a deadline, give errclass.Unknown.
// An error that already carries a class keeps it.
func Class(ctx context.Context, err error) errclass.Class {
	if err == nil {
		return errclass.Unknown
	}
	if c := errclass.Of(err); c != errclass.Unknown {
		return c
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return sqlstateClass(ctx, pgErr.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return errclass.Transient
	}
	if errors.Is(err, context.Canceled) {
		if ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errclass.Transient
		}
		return errclass.Unknown
	}
	if Network(err) {
		return errclass.Transient
	}
	return errclass.Permanent
}

// Classify returns err with its class (see [Class]): nil for nil, err
// itself when it already carries a class or is a user's cancel, and an
// *errclass.Error wrapping err otherwise.
func Classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errclass.Of(err) != errclass.Unknown {
		return err
	}
	c := Class(ctx, err)
	if c == errclass.Unknown {
		return err
	}
	return errclass.Wrap(c, err)
}

// SQLState returns the SQLSTATE of the first *pgconn.PgError in err's chain,
// or "" when there is none.
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// OutcomeUnknown reports whether err leaves the outcome of a COMMIT unknown:
// SQLSTATE 08007 or 40003, or a connection lost (network error, timeout)
// while the commit was in flight. A caller that sees it must find out
// whether the commit happened before doing it again.
func OutcomeUnknown(err error) bool {
	switch SQLState(err) {
	case "08007", "40003":
		return true
	case "":
		return Network(err) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)
	}
	return false
}

// Network reports whether err is a failure of the connection to the server
// rather than an answer from it: a dial or I/O error, a reset or refused
// connection, an unexpected EOF, a connection the driver already closed,
// or an error pgconn marks safe to retry (it happened before anything was
// sent).
func Network(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08")
	}
	if pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return false
}

// sqlstateClass maps a SQLSTATE to a class.
func sqlstateClass(ctx context.Context, code string) errclass.Class {
	switch code {
	case "40001", "40P01", "40003", "53300", "53400", "55P03", "57P01", "57P02", "57P03":
		return errclass.Transient
	case "57014":
		if ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errclass.Transient
		}
		return errclass.Permanent
	case "3D000", "0A000":
		return errclass.Permanent
	}
	if strings.HasPrefix(code, "08") {
		return errclass.Transient
	}
	// Classes 42, 22, 23, 28 and everything not listed: retrying the same
	// statement gives the same answer.
	return errclass.Permanent
}
