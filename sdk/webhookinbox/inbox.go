// Package webhookinbox is the durable inbox of received webhook deliveries:
// each event stored once (deduplicated by its event id), in the order it was
// stored, at a position that never changes, with the gaps the receiver
// recorded when it could not receive. The receiver (`sqlflow-host webhooks
// serve`) appends to it; the shopify plugin reads it as a stream whose
// checkpoints are positions; `sqlflow-host webhooks reconcile` fills its
// gaps and `webhooks compact` drops what every flow has committed.
//
// It lives in sdk/ because both the host's commands and a plugin process
// (which may import only sdk/) open it, each by the same location: a file
// path (the embedded bbolt inbox, no server) or a PostgreSQL DSN.
//
// # Backends
//
//   - Bolt (OpenBolt): one bbolt file. Every append is committed (fsync'd)
//     before Append returns. Appends are batched: concurrent Appends wait
//     for one commit. The file is opened for each batch and closed after
//     it, never held, so another process (a flow reading the inbox, a
//     compaction) can open it between batches; bbolt's file lock makes them
//     take turns (a reader waits at most LockTimeout).
//   - PostgreSQL (OpenPostgres): three tables named from a prefix. Appends
//     from several receivers are serialised by a transaction-level advisory
//     lock, so positions are committed in order and a reader never sees
//     position N+1 before N.
//
// Both keep the event-id index after compaction, so a delivery Shopify
// repeats after its event was compacted is still a duplicate.
package webhookinbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is one stored webhook event.
type Event struct {
	// Position is the event's place in the inbox, from 1, growing with each
	// stored event. Append assigns it; it is ignored on input.
	Position int64
	// EventID is the deduplication key: X-Shopify-Event-Id, else
	// X-Shopify-Webhook-Id; for a reconciled object, "reconciled:" and the
	// object, its id and its updated_at.
	EventID string
	// WebhookID is X-Shopify-Webhook-Id (one delivery; Shopify's retries of
	// a delivery keep it).
	WebhookID string
	// Topic is X-Shopify-Topic, e.g. orders/create.
	Topic string
	// ShopDomain is X-Shopify-Shop-Domain.
	ShopDomain string
	// TriggeredAt is X-Shopify-Triggered-At (zero when absent): when the
	// change happened in Shopify, not when it arrived.
	TriggeredAt time.Time
	// APIVersion is X-Shopify-API-Version.
	APIVersion string
	// ReceivedAt is when the receiver stored it.
	ReceivedAt time.Time
	// Reconciled marks an event that reconcile read from the Admin API
	// after an outage rather than one Shopify delivered.
	Reconciled bool
	// Payload is the raw body as delivered (JSON).
	Payload []byte
}

// Gap is a span of time the receiver could not receive (it was down, or
// its inbox refused deliveries), so Shopify's events of that span may be
// missing.
type Gap struct {
	// ID identifies the gap in the inbox.
	ID int64
	// From and To bound the span.
	From, To time.Time
	// Reason says why: "receiver down" or "inbox refusing".
	Reason string
	// ReconciledAt is when reconcile filled the gap; zero while open.
	ReconciledAt time.Time
}

// Inbox is a durable, deduplicating, ordered store of webhook events. All
// methods are safe for concurrent use, and several processes may open the
// same inbox.
type Inbox interface {
	// Append stores ev durably (committed before it returns) unless an event
	// with the same EventID is stored; it returns the event's position and
	// whether it was a duplicate. An error means nothing was stored.
	Append(ctx context.Context, ev Event) (pos int64, duplicate bool, err error)
	// Read returns at most limit events with a position greater than after
	// and at most until (0: no upper bound), in position order.
	Read(ctx context.Context, after, until int64, limit int) ([]Event, error)
	// Last returns the greatest position stored (0 when empty).
	Last(ctx context.Context) (int64, error)
	// RecordGap stores a gap; empty or inverted spans are ignored.
	RecordGap(ctx context.Context, g Gap) error
	// Gaps returns the gaps not reconciled yet, oldest first.
	Gaps(ctx context.Context) ([]Gap, error)
	// MarkReconciled sets a gap's ReconciledAt.
	MarkReconciled(ctx context.Context, id int64, at time.Time) error
	// Alive records that the receiver was up at t; LastAlive returns the
	// latest such t (zero when never recorded).
	Alive(ctx context.Context, t time.Time) error
	LastAlive(ctx context.Context) (time.Time, error)
	// Compact drops the payloads of events at or below upTo and returns how
	// many it dropped. Their positions are never reused and their event ids
	// stay known (a repeated delivery is still a duplicate).
	Compact(ctx context.Context, upTo int64) (int, error)
	// Close releases the inbox.
	Close() error
}

// ErrNotFound is returned (test with errors.Is) when an inbox opened for
// reading does not exist yet.
var ErrNotFound = errors.New("the webhook inbox does not exist yet")

// Location says where an inbox lives: exactly one of Path (the embedded
// bbolt file) and DSN (PostgreSQL).
type Location struct {
	// Path is the bbolt file.
	Path string
	// DSN is a PostgreSQL connection string; Table is the prefix of the
	// inbox's tables there (default DefaultTable).
	DSN, Table string
}

// DefaultTable is the table prefix of a PostgreSQL inbox when none is given.
const DefaultTable = "sqlflow_webhook_inbox"

// String names the location without secrets: the path, or the DSN's host
// and database and the table.
func (l Location) String() string {
	if l.Path != "" {
		return l.Path
	}
	return "postgres inbox " + l.table() + " (" + redactDSN(l.DSN) + ")"
}

func (l Location) table() string {
	if l.Table == "" {
		return DefaultTable
	}
	return l.Table
}

// Open opens the inbox at loc. create says whether a missing bbolt file
// may be created (the receiver) or is ErrNotFound (a reader).
func Open(ctx context.Context, loc Location, create bool) (Inbox, error) {
	switch {
	case loc.Path != "" && loc.DSN != "":
		return nil, errors.New("a webhook inbox is a path or a dsn, not both")
	case loc.Path != "":
		return OpenBolt(loc.Path, BoltOptions{Create: create})
	case loc.DSN != "":
		return OpenPostgres(ctx, loc.DSN, loc.table())
	}
	return nil, errors.New("a webhook inbox needs a path (embedded) or a dsn (PostgreSQL)")
}

// redactDSN keeps a DSN's host and database, dropping user and password.
func redactDSN(dsn string) string {
	s := dsn
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	if strings.Contains(s, "=") { // key=value form: say nothing about it
		return "dsn"
	}
	return s
}

func validGap(g Gap) error {
	if g.From.IsZero() || g.To.IsZero() {
		return fmt.Errorf("a gap needs both ends, got %v to %v", g.From, g.To)
	}
	return nil
}
