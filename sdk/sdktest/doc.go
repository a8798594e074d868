// Package sdktest is the conformance kit of the connector protocol: one
// call, [Run], that a plugin's `go test` makes against the compiled plugin
// binary, spoken to over real go-plugin gRPC exactly as the host speaks to
// it (a handshake, AutoMTLS, the protocol's 256 MiB message cap, no gRPC
// retries, and a new process wherever a restart is part of the contract).
// It follows pgx's pgxtest and Conduit's AcceptanceTest: every plugin of
// this repository runs it, and a third-party plugin should too.
//
//	func TestConformance(t *testing.T) {
//		bin := sdktest.BuildPlugin(t, ".")
//		sdktest.Run(t, sdktest.Config{Binary: bin, Source: ..., Destination: ...})
//	}
//
// # What Run checks
//
// Each check is a subtest, run in this order; a role whose config is nil
// is skipped.
//
//   - spec: the name is not empty and the binary is named
//     sqlflow-plugin-<name>; the protocol version is sdk.ProtocolVersion;
//     the plugin has at least one role, and every role it declares is
//     tested; the config schema is a valid JSON Schema (draft 2020-12
//     unless it names another $schema) that every valid config of the
//     Config matches; the resilience class is
//     network, file or none; a destination lists valid, distinct write
//     modes, with upsert exactly when Spec.Upsert; the spec is the same
//     after Configure.
//   - configure/bad_configs: each [BadConfig] gets at least one FieldError
//     and no error, and one FieldError names the case's field.
//   - configure/unknown_key: a valid config plus the key
//     sqlflow_conformance_unknown_key gets a FieldError naming that key.
//   - source/check_discover: the source config is accepted (twice:
//     Configure may be called again), Check succeeds, and Discover, when it
//     lists streams, lists the stream under test.
//   - source/resume: the stream is read from the start to Done, keeping
//     each page's checkpoint and rows; pages stay within MaxRows and share
//     one schema. Then for every checkpoint (or an even sample of
//     [SourceConfig.MaxResumes]) a NEW plugin process is configured, reads
//     the page at that checkpoint twice (both reads must give the same
//     page, and the page the first process got there), and reads on to
//     Done: the pages before the checkpoint plus the resumed read must
//     equal the full read, in count and [rowhash] checksum, so no row is
//     lost or repeated.
//   - source/large_page: with a [LargeStreamConfig], a read with MaxBytes
//     16 MiB gives a page over 4 MiB without error.
//   - destination/staged_invisible_replay_once: BeginWrite (twice), then
//     WriteBatch seq 1..3 and seq 2 again with the same bytes; before
//     CommitWrite the target reads as before the write; after it, the target
//     holds the written rows exactly once; a repeated CommitWrite returns
//     nil and changes nothing.
//   - destination/abort: after a committed seed write, a second write is
//     staged and aborted: the target reads as it did before it. AbortWrite
//     repeated, and of a write id never begun, returns nil.
//   - destination/restart_after_kill: batches are written, the process is
//     killed (SIGKILL), and a new process gets BeginWrite with the same
//     write id, every batch again with its original seq, and CommitWrite:
//     nothing was visible in between, and the target holds each row once.
//   - destination/large_batch: one batch of about 6 MiB (24 rows of
//     256 KiB strings) is written and committed, and reads back.
//   - destination/nulls: rows with nulls scattered over every nullable
//     column, and rows where all of them are null, read back identical.
//   - destination/replace_without_schema (replace mode only): the write of
//     an empty stream whose columns the source does not know. After a
//     committed seed write, BeginWrite with a nil schema and CommitWrite
//     with no batch empty the target (nothing visible before the commit;
//     a repeated CommitWrite returns nil), twice: the emptied target is
//     kept, columns and all. With [DestinationConfig.MissingTarget], the
//     same write into a target that does not exist fails PERMANENT, at
//     BeginWrite or CommitWrite.
//   - destination/check_write: skipped unless the destination implements
//     sdk.WriteChecker. CheckWrite of the kit's write without write id and
//     schema (as validate sends it) succeeds, and a second call resolves
//     the same string (non-empty or "" both times); a mode no destination
//     has is refused PERMANENT; after a committed seed write, the target
//     reads the same before and after the calls.
//
// # The data written
//
// The destination tests generate their own batches, all of the schema
// [Schema](DestinationConfig.Columns): a non-nullable int64 "id" and, by
// default, a string, a float64, a bool and a UTC microsecond timestamp
// column, every one with nulls. A destination that cannot store a type
// leaves its column out of Columns. Every write goes to the same target in
// the same mode (replace when the plugin offers it, else append), and the
// target is compared, as [DestinationConfig.ReadTarget] reads it, with
// what the mode says it must hold.
//
// # Lower-level tools
//
// [Start] launches a plugin process for a test of one's own (Plugin.Client
// speaks the protocol, Plugin.Kill crashes the process, its stderr is shown
// when the test fails), and [ReadAll] reads a stream to its end, keeping
// each page's checkpoint and rows.
//
// # Deadlines
//
// Every subtest runs under a context deadline (Config.Timeout, by default
// [DefaultTimeout]); a plugin start is bounded by 30 seconds. The kit never
// sleeps to wait for anything.
package sdktest
