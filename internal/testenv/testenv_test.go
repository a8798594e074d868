package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestPostgresReachable proves the wiring: make test (.ci/services.sh)
// starts PostgreSQL and sets SQLFLOW_TEST_POSTGRES; a run that lost it fails
// here under CI.
func TestPostgresReachable(t *testing.T) {
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", testenv.PostgresVar, err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1: %v %d", err, one)
	}
}

func TestRequireSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("SQLFLOW_TEST_NOTHING", "")
	ran := false
	t.Run("inner", func(t *testing.T) {
		testenv.Require(t, "SQLFLOW_TEST_NOTHING", "nothing")
		ran = true
	})
	if ran {
		t.Fatal("Require did not skip")
	}
}
