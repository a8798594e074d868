package webhookinbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names of the bolt inbox.
var (
	bucketEvents = []byte("events") // position (8 bytes, big endian) → header length, header JSON, payload
	bucketIDs    = []byte("ids")    // event id → position
	bucketGaps   = []byte("gaps")   // gap id (8 bytes) → gap JSON
	bucketMeta   = []byte("meta")   // "alive" → RFC 3339 time
	keyAlive     = []byte("alive")
)

// DefaultLockTimeout is how long an open of the bolt file waits for
// another process holding it (a reader between two of the receiver's
// commits, or the other way round). Each holder keeps it for one batch or
// one page, milliseconds; 2 s leaves room under load and stays well inside
// Shopify's 5 s answer deadline.
const DefaultLockTimeout = 2 * time.Second

// maxBatch caps the appends committed together.
const maxBatch = 256

// BoltOptions configure OpenBolt.
type BoltOptions struct {
	// Create allows creating the file (and its directory) when missing;
	// otherwise a missing file is ErrNotFound.
	Create bool
	// LockTimeout bounds the wait for the file lock; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

// Bolt is the embedded inbox: one bbolt file, opened per batch of work.
type Bolt struct {
	path string
	opts BoltOptions

	appends chan *appendReq
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

type appendReq struct {
	ev   Event
	pos  int64
	dup  bool
	err  error
	done chan struct{}
}

// OpenBolt opens the bolt inbox at path (see BoltOptions). The file is
// not held open: each call opens and closes it.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	b := &Bolt{path: path, opts: opts, appends: make(chan *appendReq), stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if !opts.Create {
			return nil, fmt.Errorf("webhook inbox %s: %w (start `sqlflow-host webhooks serve` first, or check the path)", path, ErrNotFound)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create webhook inbox directory: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("webhook inbox %s: %w", path, err)
	}
	// The receiver creates the buckets once, so read-only opens find them;
	// a reader never takes the write lock.
	if !opts.Create {
		go b.committer()
		return b, nil
	}
	if err := b.update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEvents, bucketIDs, bucketGaps, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	go b.committer()
	return b, nil
}

func (b *Bolt) open(readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(b.path, 0o600, &bolt.Options{Timeout: b.opts.LockTimeout, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("webhook inbox %s: busy (another process held it for %s): %w", b.path, b.opts.LockTimeout, err)
		}
		return nil, fmt.Errorf("open webhook inbox %s: %w", b.path, err)
	}
	return db, nil
}

func (b *Bolt) update(f func(*bolt.Tx) error) error {
	db, err := b.open(false)
	if err != nil {
		return err
	}
	err = db.Update(f)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close webhook inbox %s: %w", b.path, cerr)
	}
	return err
}

func (b *Bolt) view(f func(*bolt.Tx) error) error {
	db, err := b.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEvents, bucketIDs, bucketGaps, bucketMeta} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%s is not a webhook inbox (no %s bucket)", b.path, name)
			}
		}
		return f(tx)
	})
}

// committer commits the appends that arrive together in one transaction.
func (b *Bolt) committer() {
	defer close(b.done)
	for {
		var first *appendReq
		select {
		case first = <-b.appends:
		case <-b.stop:
			return
		}
		batch := []*appendReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-b.appends:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		err := b.update(func(tx *bolt.Tx) error {
			evs, ids := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs)
			seen := map[string]int64{}
			for _, r := range batch {
				r.pos, r.dup, r.err = 0, false, nil
				if p, ok := seen[r.ev.EventID]; ok {
					r.pos, r.dup = p, true
					continue
				}
				if v := ids.Get([]byte(r.ev.EventID)); v != nil {
					r.pos, r.dup = int64(binary.BigEndian.Uint64(v)), true
					continue
				}
				seq, err := evs.NextSequence()
				if err != nil {
					return err
				}
				r.ev.Position = int64(seq)
				val, err := encodeEvent(r.ev)
				if err != nil {
					return err
				}
				if err := evs.Put(posKey(int64(seq)), val); err != nil {
					return err
				}
				if err := ids.Put([]byte(r.ev.EventID), posKey(int64(seq))); err != nil {
					return err
				}
				r.pos = int64(seq)
				seen[r.ev.EventID] = r.pos
			}
			return nil
		})
		for _, r := range batch {
			if err != nil {
				r.pos, r.dup, r.err = 0, false, err
			}
			close(r.done)
		}
	}
}

// Append implements Inbox.
func (b *Bolt) Append(ctx context.Context, ev Event) (int64, bool, error) {
	if ev.EventID == "" {
		return 0, false, errors.New("an event needs an event id")
	}
	r := &appendReq{ev: ev, done: make(chan struct{})}
	select {
	case b.appends <- r:
	case <-ctx.Done():
		return 0, false, ctx.Err()
	case <-b.stop:
		return 0, false, errors.New("webhook inbox closed")
	}
	// Once handed over, the commit's outcome is awaited even when ctx ends:
	// the answer must say whether the event is stored.
	<-r.done
	return r.pos, r.dup, r.err
}

// Read implements Inbox.
func (b *Bolt) Read(ctx context.Context, after, until int64, limit int) ([]Event, error) {
	var out []Event
	err := b.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(posKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			pos := int64(binary.BigEndian.Uint64(k))
			if until > 0 && pos > until {
				break
			}
			ev, err := decodeEvent(v)
			if err != nil {
				return fmt.Errorf("webhook inbox %s position %d: %w", b.path, pos, err)
			}
			ev.Position = pos
			out = append(out, ev)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Last implements Inbox.
func (b *Bolt) Last(_ context.Context) (int64, error) {
	var last int64
	err := b.view(func(tx *bolt.Tx) error {
		last = int64(tx.Bucket(bucketEvents).Sequence())
		return nil
	})
	return last, err
}

// RecordGap implements Inbox.
func (b *Bolt) RecordGap(_ context.Context, g Gap) error {
	if err := validGap(g); err != nil {
		return err
	}
	if !g.To.After(g.From) {
		return nil
	}
	return b.update(func(tx *bolt.Tx) error {
		gb := tx.Bucket(bucketGaps)
		id, err := gb.NextSequence()
		if err != nil {
			return err
		}
		g.ID = int64(id)
		v, err := json.Marshal(g)
		if err != nil {
			return err
		}
		return gb.Put(posKey(g.ID), v)
	})
}

// Gaps implements Inbox.
func (b *Bolt) Gaps(_ context.Context) ([]Gap, error) {
	var out []Gap
	err := b.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGaps).ForEach(func(_, v []byte) error {
			var g Gap
			if err := json.Unmarshal(v, &g); err != nil {
				return err
			}
			if g.ReconciledAt.IsZero() {
				out = append(out, g)
			}
			return nil
		})
	})
	return out, err
}

// MarkReconciled implements Inbox.
func (b *Bolt) MarkReconciled(_ context.Context, id int64, at time.Time) error {
	return b.update(func(tx *bolt.Tx) error {
		gb := tx.Bucket(bucketGaps)
		v := gb.Get(posKey(id))
		if v == nil {
			return fmt.Errorf("webhook inbox %s: no gap %d", b.path, id)
		}
		var g Gap
		if err := json.Unmarshal(v, &g); err != nil {
			return err
		}
		g.ReconciledAt = at.UTC()
		nv, err := json.Marshal(g)
		if err != nil {
			return err
		}
		return gb.Put(posKey(id), nv)
	})
}

// Alive implements Inbox.
func (b *Bolt) Alive(_ context.Context, t time.Time) error {
	return b.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyAlive, []byte(t.UTC().Format(time.RFC3339Nano)))
	})
}

// LastAlive implements Inbox.
func (b *Bolt) LastAlive(_ context.Context) (time.Time, error) {
	var t time.Time
	err := b.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyAlive)
		if v == nil {
			return nil
		}
		var err error
		t, err = time.Parse(time.RFC3339Nano, string(v))
		return err
	})
	return t, err
}

// Compact implements Inbox.
func (b *Bolt) Compact(_ context.Context, upTo int64) (int, error) {
	n := 0
	err := b.update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) <= upTo; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Close implements Inbox: it waits for the appends in flight.
func (b *Bolt) Close() error {
	b.once.Do(func() { close(b.stop) })
	<-b.done
	return nil
}

func posKey(p int64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(p))
	return k
}

// header is an event without its payload and position, as stored.
type header struct {
	EventID     string    `json:"event_id"`
	WebhookID   string    `json:"webhook_id,omitempty"`
	Topic       string    `json:"topic"`
	ShopDomain  string    `json:"shop_domain,omitempty"`
	TriggeredAt time.Time `json:"triggered_at,omitzero"`
	APIVersion  string    `json:"api_version,omitempty"`
	ReceivedAt  time.Time `json:"received_at"`
	Reconciled  bool      `json:"reconciled,omitempty"`
}

func encodeEvent(ev Event) ([]byte, error) {
	h, err := json.Marshal(header{ev.EventID, ev.WebhookID, ev.Topic, ev.ShopDomain, ev.TriggeredAt.UTC(), ev.APIVersion, ev.ReceivedAt.UTC(), ev.Reconciled})
	if err != nil {
		return nil, err
	}
	out := binary.AppendUvarint(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, ev.Payload...), nil
}

func decodeEvent(v []byte) (Event, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return Event{}, errors.New("corrupt event record")
	}
	var h header
	if err := json.Unmarshal(v[k:k+int(n)], &h); err != nil {
		return Event{}, fmt.Errorf("corrupt event record: %w", err)
	}
	return Event{EventID: h.EventID, WebhookID: h.WebhookID, Topic: h.Topic, ShopDomain: h.ShopDomain,
		TriggeredAt: h.TriggeredAt, APIVersion: h.APIVersion, ReceivedAt: h.ReceivedAt, Reconciled: h.Reconciled,
		Payload: append([]byte(nil), v[k+int(n):]...)}, nil
}
