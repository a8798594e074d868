// Package connector is the host's view of one connector instance: the Conn
// interface every host component codes against, with two implementations:
// the gRPC client of a plugin process (package rpcclient's Client) and
// InProcess, an adapter that calls an sdk.Connector in the host's own
// process (tests and benchmarks).
//
// Page and batch data stay Arrow IPC bytes on this side of the boundary:
// the host forwards a source's page to a destination as it came.
package connector

import (
	"context"
	"encoding/json"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// Page is one page as the host sees it: encoded records plus the facts it
// needs (rows, checkpoint, done, cursor, rate hints).
type Page = rpcclient.Page

// Conn is one connector as the host calls it. Every method honours ctx and
// returns errors classified by package errclass (a transport failure is a
// TRANSIENT *rpcclient.TransportError).
type Conn interface {
	// Spec describes the connector.
	Spec(ctx context.Context) (sdk.Spec, error)
	// Configure sends the connector's config; field errors come back as
	// data, anything else as the error.
	Configure(ctx context.Context, config json.RawMessage) ([]sdk.FieldError, error)
	// Check reaches the connector's system.
	Check(ctx context.Context) error
	// Discover lists a source's streams.
	Discover(ctx context.Context) ([]sdk.Stream, error)
	// ReadPage reads one page; idempotent per checkpoint.
	ReadPage(ctx context.Context, req sdk.ReadRequest) (Page, error)
	// BeginWrite opens a staged write; idempotent per write id.
	BeginWrite(ctx context.Context, req sdk.WriteRequest) error
	// WriteBatch stores one encoded batch; idempotent per (write id, seq).
	WriteBatch(ctx context.Context, writeID string, seq int64, records []byte) error
	// CommitWrite makes a write visible and returns the destination's
	// report; idempotent.
	CommitWrite(ctx context.Context, writeID string, state []byte) (map[string]string, error)
	// AbortWrite drops a write's staging; idempotent.
	AbortWrite(ctx context.Context, writeID string) error
	// CheckWrite asks a destination whether a write could begin, without
	// side effects, and what it would change (see sdk.WriteChecker); an
	// error wrapping rpcclient.ErrNotImplemented when it cannot tell.
	CheckWrite(ctx context.Context, req sdk.WriteRequest) (resolved string, err error)
	// LoadState reads the state blob a destination that stores state
	// committed for flow (found is false when there is none).
	LoadState(ctx context.Context, flow string) (state []byte, found bool, err error)
	// DeleteState forgets a flow's stored state blob; it reports whether
	// there was one.
	DeleteState(ctx context.Context, flow string) (bool, error)
}

var _ Conn = (*rpcclient.Client)(nil)
