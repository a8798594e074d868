package webhookinbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// backends opens a fresh inbox of each kind; PostgreSQL only when
// SQLFLOW_TEST_POSTGRES is set.
func backends(t *testing.T) map[string]func(t *testing.T) webhookinbox.Inbox {
	return map[string]func(t *testing.T) webhookinbox.Inbox{
		"bolt": func(t *testing.T) webhookinbox.Inbox {
			in, err := webhookinbox.OpenBolt(filepath.Join(t.TempDir(), "inbox.db"), webhookinbox.BoltOptions{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { in.Close() })
			return in
		},
		"postgres": func(t *testing.T) webhookinbox.Inbox {
			dsn := os.Getenv("SQLFLOW_TEST_POSTGRES")
			if dsn == "" {
				t.Skip("SQLFLOW_TEST_POSTGRES is not set")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			table := fmt.Sprintf("inbox_test_%d", time.Now().UnixNano())
			in, err := webhookinbox.OpenPostgres(ctx, dsn, table)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				in.Close()
				conn, err := pgx.Connect(context.Background(), dsn)
				if err == nil {
					conn.Exec(context.Background(), "DROP TABLE "+table+", "+table+"_gaps, "+table+"_meta")
					conn.Close(context.Background())
				}
			})
			return in
		},
	}
}

func event(id string) webhookinbox.Event {
	return webhookinbox.Event{EventID: id, WebhookID: "wh-" + id, Topic: "orders/create", ShopDomain: "fake-shop.myshopify.com",
		TriggeredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), APIVersion: "2025-01",
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), Payload: []byte(`{"id":` + fmt.Sprint(len(id)) + `}`)}
}

func TestInbox(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("append dedupes and keeps every field", func(t *testing.T) {
				ctx := context.Background()
				in := open(t)
				p1, dup, err := in.Append(ctx, event("a"))
				if err != nil || dup || p1 != 1 {
					t.Fatalf("first append: pos %d dup %v err %v", p1, dup, err)
				}
				p2, dup, err := in.Append(ctx, event("bb"))
				if err != nil || dup || p2 != 2 {
					t.Fatalf("second append: pos %d dup %v err %v", p2, dup, err)
				}
				again := event("a")
				again.Payload = []byte(`{"other":1}`)
				p, dup, err := in.Append(ctx, again)
				if err != nil || !dup || p != 1 {
					t.Fatalf("duplicate: pos %d dup %v err %v", p, dup, err)
				}
				evs, err := in.Read(ctx, 0, 0, 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 2 {
					t.Fatalf("read %d events, want 2", len(evs))
				}
				want := event("a")
				want.Position = 1
				got := evs[0]
				if got.Position != 1 || got.EventID != want.EventID || got.WebhookID != want.WebhookID || got.Topic != want.Topic ||
					got.ShopDomain != want.ShopDomain || !got.TriggeredAt.Equal(want.TriggeredAt) || got.APIVersion != want.APIVersion ||
					!got.ReceivedAt.Equal(want.ReceivedAt) || got.Reconciled || string(got.Payload) != string(want.Payload) {
					t.Fatalf("read back %+v, want %+v", got, want)
				}
				last, err := in.Last(ctx)
				if err != nil || last != 2 {
					t.Fatalf("last %d %v", last, err)
				}
			})
			t.Run("read pages after and until", func(t *testing.T) {
				ctx := context.Background()
				in := open(t)
				for i := range 10 {
					if _, _, err := in.Append(ctx, event(fmt.Sprint("e", i))); err != nil {
						t.Fatal(err)
					}
				}
				evs, err := in.Read(ctx, 3, 8, 3)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 3 || evs[0].Position != 4 || evs[2].Position != 6 {
					t.Fatalf("read after 3: %v", positions(evs))
				}
				evs, err = in.Read(ctx, 6, 8, 10)
				if err != nil || len(evs) != 2 || evs[1].Position != 8 {
					t.Fatalf("read until 8: %v %v", positions(evs), err)
				}
			})
			t.Run("concurrent appends get distinct ordered positions", func(t *testing.T) {
				ctx := context.Background()
				in := open(t)
				var wg sync.WaitGroup
				pos := make([]int64, 200)
				errs := make([]error, 200)
				for i := range 200 {
					wg.Go(func() {
						// every event twice: 100 distinct ids
						pos[i], _, errs[i] = in.Append(ctx, event(fmt.Sprint("c", i%100)))
					})
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				evs, err := in.Read(ctx, 0, 0, 1000)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 100 {
					t.Fatalf("stored %d events, want 100", len(evs))
				}
				for i, ev := range evs {
					if ev.Position != int64(i+1) {
						t.Fatalf("positions %v are not 1..100", positions(evs))
					}
				}
				for i := range 100 {
					if pos[i] != pos[i+100] {
						t.Fatalf("duplicates of c%d answered positions %d and %d", i, pos[i], pos[i+100])
					}
				}
			})
			t.Run("compact drops payloads but keeps ids", func(t *testing.T) {
				ctx := context.Background()
				in := open(t)
				for i := range 5 {
					in.Append(ctx, event(fmt.Sprint("k", i)))
				}
				n, err := in.Compact(ctx, 3)
				if err != nil || n != 3 {
					t.Fatalf("compact: %d %v", n, err)
				}
				evs, _ := in.Read(ctx, 0, 0, 10)
				if len(evs) != 2 || evs[0].Position != 4 {
					t.Fatalf("after compact read %v", positions(evs))
				}
				p, dup, err := in.Append(ctx, event("k1"))
				if err != nil || !dup || p != 2 {
					t.Fatalf("a compacted event again: pos %d dup %v err %v", p, dup, err)
				}
				p, dup, _ = in.Append(ctx, event("k9"))
				if dup || p != 6 {
					t.Fatalf("a new event after compaction: pos %d dup %v", p, dup)
				}
			})
			t.Run("gaps and heartbeat", func(t *testing.T) {
				ctx := context.Background()
				in := open(t)
				if at, err := in.LastAlive(ctx); err != nil || !at.IsZero() {
					t.Fatalf("fresh inbox alive at %v %v", at, err)
				}
				t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
				in.Alive(ctx, t0)
				if at, _ := in.LastAlive(ctx); !at.Equal(t0) {
					t.Fatalf("alive at %v, want %v", at, t0)
				}
				if err := in.RecordGap(ctx, webhookinbox.Gap{From: t0, To: t0.Add(10 * time.Minute), Reason: "receiver down"}); err != nil {
					t.Fatal(err)
				}
				in.RecordGap(ctx, webhookinbox.Gap{From: t0, To: t0, Reason: "empty"}) // ignored
				if err := in.RecordGap(ctx, webhookinbox.Gap{To: t0}); err == nil {
					t.Fatal("a gap without a start was accepted")
				}
				gaps, err := in.Gaps(ctx)
				if err != nil || len(gaps) != 1 || !gaps[0].To.Equal(t0.Add(10*time.Minute)) || gaps[0].Reason != "receiver down" {
					t.Fatalf("gaps %+v %v", gaps, err)
				}
				if err := in.MarkReconciled(ctx, gaps[0].ID, t0.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				if gaps, _ := in.Gaps(ctx); len(gaps) != 0 {
					t.Fatalf("reconciled gap still open: %+v", gaps)
				}
				if err := in.MarkReconciled(ctx, 999, t0); err == nil {
					t.Fatal("marking an unknown gap succeeded")
				}
			})
			t.Run("an event without id is refused", func(t *testing.T) {
				in := open(t)
				if _, _, err := in.Append(context.Background(), webhookinbox.Event{Topic: "orders/create"}); err == nil {
					t.Fatal("stored an event without id")
				}
			})
		})
	}
}

func TestBoltReaderOfMissingFile(t *testing.T) {
	_, err := webhookinbox.OpenBolt(filepath.Join(t.TempDir(), "none.db"), webhookinbox.BoltOptions{})
	if !errors.Is(err, webhookinbox.ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound", err)
	}
}

// TestBoltTwoOpeners checks that a reader and a writer of one file take
// turns instead of failing: the file is never held between calls.
func TestBoltTwoOpeners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inbox.db")
	w, err := webhookinbox.OpenBolt(path, webhookinbox.BoltOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := webhookinbox.OpenBolt(path, webhookinbox.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			if _, _, err := w.Append(ctx, event(fmt.Sprint("t", i))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var seen int64
	for seen < 200 {
		evs, err := r.Read(ctx, seen, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Position != seen+1 {
				t.Fatalf("read position %d after %d", ev.Position, seen)
			}
			seen = ev.Position
		}
	}
	wg.Wait()
}

func TestLocationString(t *testing.T) {
	for _, tt := range []struct {
		loc  webhookinbox.Location
		want string
	}{
		{webhookinbox.Location{Path: "/x/inbox.db"}, "/x/inbox.db"},
		{webhookinbox.Location{DSN: "postgres://u:hunter2@db:5432/app?sslmode=disable"}, "postgres inbox sqlflow_webhook_inbox (db:5432/app)"},
		{webhookinbox.Location{DSN: "host=db password=hunter2", Table: "t"}, "postgres inbox t (dsn)"},
	} {
		if got := tt.loc.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.loc, got, tt.want)
		}
	}
}

func positions(evs []webhookinbox.Event) []int64 {
	var out []int64
	for _, ev := range evs {
		out = append(out, ev.Position)
	}
	return out
}
