// Package testenv finds the external services tests need (PostgreSQL, an
// S3-compatible server) through environment variables, in the style of
// pgx's PGX_TEST_DATABASE; make test starts throwaway servers and sets them
// (.ci/services.sh) unless they are set already. Outside CI a missing
// service skips the test with a message naming the variable; under CI=true
// it fails the test, so a CI run can never pass by skipping what it was
// meant to test.
package testenv

import (
	"os"
	"testing"
)

// Variables naming the services.
const (
	// PostgresVar holds a PostgreSQL URL, e.g.
	// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	PostgresVar = "SQLFLOW_TEST_POSTGRES"
	// S3EndpointVar holds the URL of an S3-compatible server (MinIO).
	S3EndpointVar = "SQLFLOW_TEST_S3_ENDPOINT"
)

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the value of the environment variable name. When it is
// unset it skips t with a one-line message saying how to enable the test,
// or fails t under CI. make test (.ci/services.sh) sets the services'
// variables for its run when it can start them.
func Require(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if InCI() {
		t.Fatalf("%s is not set under CI=true: %s is required (make test starts one when it can: make services installs it)", name, what)
	}
	t.Skipf("skipped: set %s to %s, or run make services once and then make test, which starts one", name, what)
	return ""
}

// Postgres returns the test PostgreSQL URL (see PostgresVar).
func Postgres(t testing.TB) string {
	t.Helper()
	return Require(t, PostgresVar, "a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}
