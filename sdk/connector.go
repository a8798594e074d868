package sdk

import (
	"context"
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"
)

// Connector is what every plugin implements; a useful one also implements
// [Source], [Destination] or both.
//
// Calls are not made concurrently on one connector unless noted. Every
// method must honour ctx: return promptly once it is cancelled. Errors
// should carry a class from package errclass; an error without one is
// treated as PERMANENT.
type Connector interface {
	// Spec describes the connector. It is called first and must not need
	// configuration.
	Spec() Spec
	// Configure validates and applies the connector's configuration (the
	// JSON object of its keys in the pipeline file). Problems with fields
	// are returned as FieldErrors (the connector stays unconfigured); the
	// error is for anything else. It may be called again at any time, e.g.
	// after credentials were refreshed, and must then replace the old
	// configuration.
	Configure(ctx context.Context, config json.RawMessage) ([]FieldError, error)
	// Check reaches the real system (opens the file, connects to the
	// database, calls the API) and reports whether it works.
	Check(ctx context.Context) error
}

// Source is a connector that can be read.
type Source interface {
	Connector
	// Discover lists the streams the configured source offers.
	Discover(ctx context.Context) ([]Stream, error)
	// ReadPage returns the page at req.Checkpoint. It must be idempotent:
	// the same request yields the same page, also in a fresh process after
	// a restart. The caller releases nothing; the SDK releases
	// Page.Records after encoding it.
	ReadPage(ctx context.Context, req ReadRequest) (Page, error)
}

// Destination is a connector that can be written.
type Destination interface {
	Connector
	// BeginWrite prepares a staging area for req.WriteID. Calling it again
	// with the same WriteID is harmless. It should also clean staging left
	// by earlier writes of the same req.Flow that never committed.
	BeginWrite(ctx context.Context, req WriteRequest) error
	// WriteBatch stores one batch in the staging area; when it returns nil
	// the batch is durable there. Seqs start at 1 and grow by one; a seq
	// already stored must be skipped, not stored twice. The SDK releases
	// rec after WriteBatch returns: retain it to keep it.
	WriteBatch(ctx context.Context, writeID string, seq int64, rec arrow.RecordBatch) error
	// CommitWrite makes every staged batch of writeID visible at once in
	// the write's mode. state, when not nil, is the flow's state blob: a
	// destination that can store it in the same transaction should. A
	// commit repeated after it already succeeded must return nil.
	CommitWrite(ctx context.Context, writeID string, state []byte) error
	// AbortWrite drops the staging area of writeID and leaves the target as
	// it was. Aborting an unknown or already aborted write returns nil.
	AbortWrite(ctx context.Context, writeID string) error
}

// WriteChecker is implemented by a destination that can tell whether a
// write could begin without side effects and without reaching its system
// (`sqlflow-host validate` calls it): the target's name is valid, the mode
// and key fit. req has no WriteID and no Schema. It returns what the write
// would change, named so that two writes of the same object give the same
// string across destinations of the type (an absolute file path, a
// schema-qualified table with its server and database, a bucket and
// prefix); the host refuses two flows whose resolved targets are equal.
type WriteChecker interface {
	CheckWrite(ctx context.Context, req WriteRequest) (resolved string, err error)
}

// StateStore is implemented by a destination whose Spec sets StoresState:
// it gives back, and forgets, the state blob a CommitWrite stored with the
// data. flow is the WriteRequest.Flow the blob was committed under.
type StateStore interface {
	// LoadState returns the blob stored by the flow's last commit that
	// carried one, and false when there is none.
	LoadState(ctx context.Context, flow string) ([]byte, bool, error)
	// DeleteState forgets the flow's blob; it reports whether there was
	// one. Deleting an unknown flow's state returns false, nil.
	DeleteState(ctx context.Context, flow string) (bool, error)
}

// CommitReporter is implemented by a destination that has facts to report
// about a committed write (rows, a checksum, the files written). The host
// prints them in the run summary and puts them in `run --output json`. It
// is called right after a successful CommitWrite.
//
// Every destination reports at least ReportLocation (where the data went)
// and, when it knows it, ReportRows (how many rows the write committed);
// the host renders them as `ok, 500 rows → /abs/out/orders.parquet`. Other
// keys (ReportManifest, a checksum, the mode) are printed after them.
type CommitReporter interface {
	CommitReport(writeID string) map[string]string
}

// The keys of a commit report every destination uses in the same sense.
const (
	// ReportLocation is where the committed data is: an absolute file
	// path, a quoted table name ("public"."orders"), an s3:// URI (of an
	// object or of a dataset's prefix, ending in /).
	ReportLocation = "location"
	// ReportRows is the number of rows the write committed, in decimal.
	ReportRows = "rows"
	// ReportManifest is the object or file that lists a dataset's parts,
	// when the location is a prefix of several objects.
	ReportManifest = "manifest"
)
