// Package sdk is what a connector author imports to build a sqlflow-host
// plugin: the [Source] and [Destination] interfaces, the domain types that
// cross the plugin boundary ([Spec], [Stream], [ReadRequest], [Page],
// [WriteRequest]) and [Serve], which turns a connector into a plugin
// process.
//
// # Writing a plugin
//
// Implement [Source], [Destination] or both, then make main one call:
//
//	func main() { sdk.Serve(mycsv.New) }
//
// The host owns every retry, timeout, rate limit and circuit breaker. A
// connector never retries on its own: it classifies each failure with the
// constructors of package errclass (Transientf, RateLimitedf, AuthExpiredf,
// Permanentf) and returns it.
//
// # Paging and checkpoints
//
// The host reads one page at a time. Each ReadPage gets the stream and an
// opaque checkpoint (nil means "from the start") and returns one Arrow record
// batch plus the checkpoint after it. The same checkpoint must always yield
// the same page, and a checkpoint handed out before a restart must work in a
// new process that has never seen it. A source whose reads cost nothing the
// host meters can implement [ReadAheader]: the SDK then reads the next page
// while the host forwards the last one.
//
// # Writes
//
// Writes are staged and idempotent: BeginWrite prepares a staging area for a
// host-chosen write id, WriteBatch may be called again with a seq it has
// already stored (after a crash) and must not store it twice, and nothing is
// visible in the target before CommitWrite. AbortWrite drops the staging.
//
// # Standard output
//
// A plugin's stdout belongs to the go-plugin handshake. Serve redirects
// os.Stdout to stderr before the connector runs, so a stray fmt.Println
// cannot corrupt the protocol; log through the hclog logger Serve hands
// the connector's factory, or write to stderr.
package sdk
