package pgclass_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sqlflow/sqlflow-host/sdk/classify/pgclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func pgErr(code string) error {
	return fmt.Errorf("read page 2: %w", &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"})
}

func TestClass(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	bg := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want errclass.Class
	}{
		{"nil", bg, nil, errclass.Unknown},
		{"connection failure 08006", bg, pgErr("08006"), errclass.Transient},
		{"connection does not exist 08003", bg, pgErr("08003"), errclass.Transient},
		{"commit outcome unknown 08007", bg, pgErr("08007"), errclass.Transient},
		{"serialization failure", bg, pgErr("40001"), errclass.Transient},
		{"deadlock", bg, pgErr("40P01"), errclass.Transient},
		{"statement completion unknown", bg, pgErr("40003"), errclass.Transient},
		{"too many connections", bg, pgErr("53300"), errclass.Transient},
		{"configuration limit", bg, pgErr("53400"), errclass.Transient},
		{"lock not available", bg, pgErr("55P03"), errclass.Transient},
		{"admin shutdown (pg_terminate_backend)", bg, pgErr("57P01"), errclass.Transient},
		{"crash shutdown", bg, pgErr("57P02"), errclass.Transient},
		{"cannot connect now", bg, pgErr("57P03"), errclass.Transient},
		{"query canceled by our deadline", expired, pgErr("57014"), errclass.Transient},
		{"query canceled by statement_timeout", bg, pgErr("57014"), errclass.Permanent},
		{"syntax error", bg, pgErr("42601"), errclass.Permanent},
		{"undefined table", bg, pgErr("42P01"), errclass.Permanent},
		{"invalid text representation", bg, pgErr("22P02"), errclass.Permanent},
		{"unique violation", bg, pgErr("23505"), errclass.Permanent},
		{"invalid password", bg, pgErr("28P01"), errclass.Permanent},
		{"invalid authorization", bg, pgErr("28000"), errclass.Permanent},
		{"no such database", bg, pgErr("3D000"), errclass.Permanent},
		{"feature not supported", bg, pgErr("0A000"), errclass.Permanent},
		{"unlisted sqlstate", bg, pgErr("XX000"), errclass.Permanent},
		{"deadline exceeded", bg, fmt.Errorf("query: %w", context.DeadlineExceeded), errclass.Transient},
		{"cancel by the user", cancelled, fmt.Errorf("query: %w", context.Canceled), errclass.Unknown},
		{"cancel caused by a deadline", expired, fmt.Errorf("query: %w", context.Canceled), errclass.Transient},
		{"unexpected EOF", bg, fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), errclass.Transient},
		{"connection reset", bg, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, errclass.Transient},
		{"connection refused", bg, fmt.Errorf("dial: %w", syscall.ECONNREFUSED), errclass.Transient},
		{"conn closed", bg, fmt.Errorf("x: %w", pgconn.ErrConnClosed), errclass.Transient},
		{"already classified", bg, errclass.Permanentf("x: %w", io.EOF), errclass.Permanent},
		{"other error", bg, errors.New("cannot encode int64 into text"), errclass.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pgclass.Class(tt.ctx, tt.err); got != tt.want {
				t.Errorf("Class(%v) = %v, want %v", tt.err, got, tt.want)
			}
			got := pgclass.Classify(tt.ctx, tt.err)
			if tt.err == nil {
				if got != nil {
					t.Errorf("Classify(nil) = %v", got)
				}
				return
			}
			if errclass.Of(got) != tt.want {
				t.Errorf("Classify(%v) has class %v, want %v", tt.err, errclass.Of(got), tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("Classify(%v) lost the cause", tt.err)
			}
		})
	}
}

func TestOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"08007", pgErr("08007"), true},
		{"40003", pgErr("40003"), true},
		{"lost connection", fmt.Errorf("commit: %w", io.ErrUnexpectedEOF), true},
		{"unique violation", pgErr("23505"), false},
		{"serialization failure", pgErr("40001"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pgclass.OutcomeUnknown(tt.err); got != tt.want {
				t.Errorf("OutcomeUnknown(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestSQLState(t *testing.T) {
	if got := pgclass.SQLState(pgErr("42P01")); got != "42P01" {
		t.Errorf("SQLState = %q", got)
	}
	if got := pgclass.SQLState(io.EOF); got != "" {
		t.Errorf("SQLState(EOF) = %q", got)
	}
}
