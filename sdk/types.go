package sdk

import (
	"encoding/json"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

// ProtocolVersion is the version of the connector wire protocol this SDK
// speaks. It is part of the go-plugin handshake: a host refuses a plugin
// built for another protocol version with a message naming both. It is
// [protocol.Version], the one place the number is written.
const ProtocolVersion = protocol.Version

// ResilienceClass is the kind of system a connector talks to. The host picks
// a third-party connector's default resilience profile from it.
type ResilienceClass string

const (
	// ResilienceNetwork is a connector that talks to a remote service: full
	// retry, circuit breaker and rate limit defaults.
	ResilienceNetwork ResilienceClass = "network"
	// ResilienceFile is a connector over local or mounted files: short
	// retries, no breaker, no rate limit.
	ResilienceFile ResilienceClass = "file"
	// ResilienceNone is an in-memory connector: no policy.
	ResilienceNone ResilienceClass = "none"
)

// WriteMode says how CommitWrite applies the staged rows to the target.
type WriteMode string

const (
	// ModeReplace makes the target hold exactly the written rows.
	ModeReplace WriteMode = "replace"
	// ModeAppend adds the written rows to the target.
	ModeAppend WriteMode = "append"
	// ModeUpsert inserts the written rows, replacing rows with the same key.
	ModeUpsert WriteMode = "upsert"
)

// Spec describes a connector. It is returned by [Connector.Spec] and must
// not depend on configuration.
type Spec struct {
	// Name is the connector type, e.g. "csv". The plugin binary is named
	// sqlflow-plugin-<Name>.
	Name string
	// Version is the connector's own version (free form, e.g. "1.2.0").
	Version string
	// ProtocolVersion is filled in by Serve; connectors leave it zero.
	ProtocolVersion int
	// Source and Destination are the roles the connector plays. Serve sets
	// them from the interfaces the connector implements.
	Source, Destination bool
	// ConfigSchema is a JSON Schema (draft 2020-12) of the connector's
	// configuration object. It is documentation for users and tools; the
	// authoritative validation is Configure's.
	ConfigSchema json.RawMessage
	// ResilienceClass picks the host's default policy for a connector that
	// declares no Resilience of its own: the host's profile of that class.
	// Empty means ResilienceNetwork.
	ResilienceClass ResilienceClass
	// Resilience is the connector's own default resilience policy (its
	// profile), for connectors that know their system's limits. Keys are
	// the policy's field paths, as `sqlflow-host resilience` prints them
	// and users write them under resilience: ("timeout",
	// "retry.max_attempts", "rate_limit.per_host", ...); values are in the
	// units users write: whole numbers, numbers of seconds for durations
	// (0.5 is 500 ms), true or false, and "wait" or "fail" for
	// rate_limit.backpressure_strategy. A field left out keeps the host's
	// global default (not the class profile's value). When Resilience is
	// set, ResilienceClass no longer picks the defaults. The host refuses
	// an unknown path or a value out of the range users may write, naming
	// the plugin. See docs/resilience.md for the fields and the global
	// defaults.
	Resilience map[string]any
	// HostKeys lists, in order, the configuration keys whose value names
	// the remote host the connector talks to: the key of its shared
	// per-host rate limiter (rate_limit.per_host). A value that is a URL
	// gives its host name; a bare host name (with or without a port) is
	// taken as is. Empty means the host's generic list: url, base_url,
	// endpoint_url, endpoint, uri, dsn, host.
	HostKeys []string
	// DefaultHost is the host of the one public API a connector talks to
	// when its configuration names none of HostKeys (e.g.
	// "sheets.googleapis.com"), so that all its instances share one
	// per-host limiter as they share the API's quota.
	DefaultHost string
	// Aliases are other type names that pipeline files may use for this
	// connector (older names): a pipeline's `type: <alias>` starts this
	// plugin when no plugin binary is named after the alias itself.
	Aliases []string
	// LegacyRetryKeys asks the host to take the connector's old top-level
	// retry keys (timeout, max_retries, retry_delay) as resilience
	// settings, with a deprecation warning, and not send them to the
	// plugin: for connectors whose older configurations had them.
	LegacyRetryKeys bool
	// Incremental, Upsert and Discover are capabilities: incremental reads
	// on a cursor column, upsert writes, and stream discovery.
	Incremental, Upsert, Discover bool
	// StoresState reports that CommitWrite stores the flow's state blob in
	// the same transaction as the data (exactly-once incremental flows).
	// Such a destination should implement [StateStore] so the host can read
	// the stored blob back: it is then the authority for the flow's cursor.
	StoresState bool
	// LocalDiscover reports that Discover reaches no external system (it
	// reads only the configuration and local files), so `sqlflow-host
	// validate` may call it to check each flow's stream.
	LocalDiscover bool
	// LocationKeys lists the configuration keys that say where the
	// connector's data lives (path, url, table, bucket, prefix, host,
	// database...), never a secret. The host records their values with a
	// stored incremental cursor and refuses the cursor when they change.
	// Empty means the host's generic list (path, url, base_url, endpoint,
	// table, query, bucket, prefix, host, port, database, schema,
	// table_name).
	LocationKeys []string
	// Env lists the environment variables the plugin reads from its
	// process environment beyond the host's allow-list (PATH, HOME,
	// TMPDIR, locale, time zone, proxy and TLS-trust variables, the Go
	// runtime's settings): names, or prefixes ending in "*" ("AWS_*",
	// "PG*"). A plugin starts with the allow-list only, plus the host's
	// variables that match Env; everything else of the host's environment,
	// its secrets included, stays out. Secrets the user configures reach
	// the plugin through Configure, not through the environment. Declare
	// here only what a client library the connector uses reads by itself
	// (the AWS SDK's credential chain, libpq's PG* variables).
	Env []string
	// WriteModes lists the modes a destination accepts. Empty for a
	// destination means replace and append.
	WriteModes []WriteMode
}

// FieldError is a problem with one configuration field, returned by
// Configure so the host can show it next to the field.
type FieldError struct {
	// Field is the dotted path of the field inside the connector's config,
	// e.g. "pagination.page_size". Empty for the config as a whole.
	Field string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error returns "field: message".
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Stream is one readable collection of a source: a table, a file, an
// endpoint, a sheet.
type Stream struct {
	// Name identifies the stream in ReadRequest.Stream and in a flow's
	// "stream" key.
	Name string
	// Schema is the Arrow schema of the stream's pages. May be nil when the
	// source cannot know it without reading (then the first page decides).
	Schema *arrow.Schema
	// PrimaryKey lists the key columns, if any.
	PrimaryKey []string
	// CursorFields lists the columns usable as an incremental cursor.
	CursorFields []string
	// Default marks the stream a flow that names no stream reads when the
	// source offers several (at most one stream should set it).
	Default bool
	// EstimatedRows is an estimate of how many rows the stream holds; it
	// may be off, and 0 means unknown. The host uses it only for progress
	// (a run's ETA), never to decide when a read is done.
	EstimatedRows int64
}

// ReadRequest asks a source for one page.
type ReadRequest struct {
	// Stream is the stream's name.
	Stream string
	// Checkpoint is the opaque position to read from; nil or empty means
	// the start of the stream. It is a value the source returned in an
	// earlier Page, possibly to another process.
	Checkpoint []byte
	// MaxRows and MaxBytes cap the page. Zero means the connector's own
	// default. MaxBytes counts Arrow data bytes; a source should stay close
	// to it but may exceed it by one row.
	MaxRows  int64
	MaxBytes int64
	// CursorField, when set, asks for an incremental read: only rows whose
	// CursorField is greater than CursorValue.
	CursorField string
	// CursorValue is the stored cursor as JSON (a number, a string in the
	// column's own format, or null for "no stored value": read everything).
	CursorValue json.RawMessage
}

// RateHints are the rate-limit facts a response carried, reported so the
// host can slow down before the server answers 429. Zero fields are unknown.
type RateHints struct {
	// Remaining is how many requests (or cost points) are left in the
	// current window or bucket.
	Remaining float64
	// Limit is the window's or bucket's size.
	Limit float64
	// Reset is the time until the window resets (or the bucket is full).
	Reset time.Duration
	// RestoreRate is how many units the bucket regains per second (leaky
	// bucket APIs such as Shopify's).
	RestoreRate float64
	// Cost is how many units the request that produced this page used.
	Cost float64
	// RetryAfter is a server-requested wait before the next request.
	RetryAfter time.Duration
}

// Page is one page of a stream, returned by ReadPage.
type Page struct {
	// Records is the page's data. The SDK releases it after encoding. It may
	// have zero rows (e.g. the last page); it may be nil only when Done.
	Records arrow.RecordBatch
	// Checkpoint is the position after this page; it must be non-empty
	// unless Done.
	Checkpoint []byte
	// Done reports that the stream has no rows after this page.
	Done bool
	// CursorValue is, for incremental reads, the greatest cursor value seen
	// so far in this read (JSON), or nil when no row has been read.
	CursorValue json.RawMessage
	// RateHints, when not nil, are the rate-limit facts of the response.
	RateHints *RateHints
}

// WriteRequest opens a staged write.
type WriteRequest struct {
	// WriteID is chosen by the host and unique per attempt of a flow run.
	WriteID string
	// Flow is a key naming the pipeline, the flow and, when the flow names
	// it, the target ("<pipeline>/<flow>/<target>");
	// staging areas are named by it so that a later run of the same flow
	// can find and clean what a killed host left, and a destination that
	// stores state stores the flow's state blob under it.
	Flow string
	// Target names the table, file or object set to write.
	Target string
	// DefaultTarget reports that the flow names no target: Target is then
	// the stream's name, which a destination whose location already names
	// one object (a csv path ending in .csv) may ignore.
	DefaultTarget bool
	// Schema is the Arrow schema of every batch of the write. It is nil
	// for the write of an empty stream whose columns are unknown; such a
	// write gets no batch. In replace mode the destination then empties
	// the target keeping its columns, or, when the target does not exist,
	// fails PERMANENT and creates nothing; in append and upsert modes it
	// commits without a change.
	Schema *arrow.Schema
	// Mode is replace, append or upsert.
	Mode WriteMode
	// Key lists the key columns for upsert.
	Key []string
}
