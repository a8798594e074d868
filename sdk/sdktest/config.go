package sdktest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// DefaultTimeout bounds each subtest of [Run] when Config.Timeout is zero.
// It covers starting every plugin process the subtest needs (up to 21 for
// the resume test) and all their calls, with room for a slow CI machine.
const DefaultTimeout = 2 * time.Minute

// DefaultMaxResumes is how many checkpoints the resume test tries when
// SourceConfig.MaxResumes is zero.
const DefaultMaxResumes = 20

// LargeReadMaxBytes is the MaxBytes the large-page test asks a source for:
// 16 MiB, four times gRPC's 4 MiB default message cap.
const LargeReadMaxBytes = 16 << 20

// grpcDefaultMax is gRPC's default message cap, the boundary the large page
// and large batch tests cross.
const grpcDefaultMax = 4 << 20

// Config says what [Run] tests and how. Binary is required, and at least
// one of Source and Destination should be set for every role the plugin
// declares in its Spec (the spec test fails otherwise).
type Config struct {
	// Binary is the plugin executable, named sqlflow-plugin-<name>; see
	// [BuildPlugin].
	Binary string
	// BadConfigs are configurations Configure must refuse with field
	// errors. Empty means the bad-config test only sends an unknown key.
	BadConfigs []BadConfig
	// Source, when not nil, runs the source tests.
	Source *SourceConfig
	// Destination, when not nil, runs the destination tests.
	Destination *DestinationConfig
	// Timeout bounds each subtest; zero means DefaultTimeout.
	Timeout time.Duration
}

// BadConfig is one configuration Configure must refuse: it must answer at
// least one FieldError and no error.
type BadConfig struct {
	// Name names the case in the test output, e.g. "missing path".
	Name string
	// Config is the JSON configuration object sent to Configure.
	Config json.RawMessage
	// Field, when not empty, is the field one of the FieldErrors must name:
	// exactly, or as the start of a longer path ("auth" matches
	// "auth.token" and "auth[0]").
	Field string
}

// SourceConfig is what the source tests read.
type SourceConfig struct {
	// Config is a valid JSON configuration object for the source. Configure
	// must accept it without field errors. It is also the base of the
	// unknown-key test.
	Config json.RawMessage
	// Stream is the stream to read. Its data must not change while the test
	// runs, and it must give at least two pages with rows under MaxRows and
	// MaxBytes, so that resuming from a checkpoint means something.
	Stream string
	// MaxRows and MaxBytes are the page caps of every read (zero: the
	// connector's default). A small MaxRows (e.g. 7) gives many pages from
	// a small fixture. A page with more rows than MaxRows fails the test.
	MaxRows, MaxBytes int64
	// MaxResumes caps how many checkpoints are resumed from, each in a new
	// process; when the read hands out more, an evenly spread sample is
	// tried (always including the first and the last). Zero means
	// DefaultMaxResumes.
	MaxResumes int
	// EstimatedRows, when not zero, is the estimate (sdk.Stream.
	// EstimatedRows) Discover must report for Stream, for a source whose
	// estimate of the fixture is exact. Zero checks only that no
	// estimate is negative.
	EstimatedRows int64
	// LargeStream, when not nil, is read with MaxBytes = LargeReadMaxBytes
	// and must give at least one page whose Arrow IPC bytes exceed 4 MiB.
	// Nil skips the large-page source test.
	LargeStream *LargeStreamConfig
}

// LargeStreamConfig names a stream whose pages exceed 4 MiB when up to
// 16 MiB are asked for (e.g. a file of a few thousand rows of 4 KiB
// strings).
type LargeStreamConfig struct {
	// Config is the source configuration; nil means SourceConfig.Config.
	Config json.RawMessage
	// Stream is the stream to read.
	Stream string
}

// DestinationConfig is what the destination tests write to and how they
// look at the result.
//
// Every write of the kit uses one schema, Schema(Columns), and the same
// Target, so that each test starts from what the previous one committed.
type DestinationConfig struct {
	// Config is a valid JSON configuration object for the destination.
	Config json.RawMessage
	// Target is the WriteRequest.Target of every write.
	Target string
	// Mode is the write mode of every write: ModeReplace or ModeAppend.
	// Empty means ModeReplace when the spec lists it, else ModeAppend.
	Mode sdk.WriteMode
	// Columns are the optional columns of the generated batches, for a
	// destination that cannot store some types; nil means AllColumns. The
	// large-batch test needs ColumnString and is skipped without it.
	Columns []Column
	// ReadTarget returns the rows the target holds now, as a reader of the
	// target (not the plugin) sees them: the tests compare it before and
	// after each step. schema is the schema the kit writes with; use it to
	// read formats that do not carry types (CSV). A target that does not
	// exist yet holds no rows: return a zero Sum and no error.
	//
	// When nil, the kit can only check what CommitWrite reports, and only
	// in replace mode (where the target must hold exactly the write's
	// rows): the report's "rows" (decimal) and, when present, "checksum"
	// (the rowhash, 16 hex digits) must match the rows written once. The
	// checks that nothing is visible before the commit and that
	// AbortWrite leaves the target as it was are then skipped.
	ReadTarget func(ctx context.Context, schema *arrow.Schema) (rowhash.Sum, error)
	// MissingTarget, when not empty, names a target that does not exist
	// (and that the kit's writes never create): a replace without a schema
	// into it must fail PERMANENT. Empty skips that check.
	MissingTarget string
}
