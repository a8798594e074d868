package shopifyconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifyconn"
	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// inboxWith makes a bolt inbox holding n events.
func inboxWith(t *testing.T, n int) (string, *webhookinbox.Bolt) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inbox.db")
	in, err := webhookinbox.OpenBolt(path, webhookinbox.BoltOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	for i := 1; i <= n; i++ {
		appendEvent(t, in, i)
	}
	return path, in
}

func appendEvent(t *testing.T, in webhookinbox.Inbox, i int) {
	t.Helper()
	_, _, err := in.Append(context.Background(), webhookinbox.Event{EventID: fmt.Sprint("e", i), Topic: "orders/create",
		ShopDomain: "fake-shop.myshopify.com", TriggeredAt: time.Unix(int64(i), 0), ReceivedAt: time.Unix(int64(i)+1, 0),
		Payload: []byte(fmt.Sprintf(`{"id":%d}`, i))})
	if err != nil {
		t.Fatal(err)
	}
}

func webhookConnector(t *testing.T, path string) *shopifyconn.Connector {
	shop := newShop(t, shopifytest.Options{Orders: 1})
	return configure(t, shop, map[string]any{"webhooks": map[string]any{"topics": []string{"orders/create"}, "inbox": path}})
}

func TestWebhookEventsStream(t *testing.T) {
	path, in := inboxWith(t, 25)
	c := webhookConnector(t, path)
	streams, err := c.Discover(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range streams {
		names = append(names, s.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "webhook_events,webhook_subscriptions") {
		t.Fatalf("streams %v lack webhook_events and webhook_subscriptions", names)
	}

	// A full read, 10 rows a page: every event once, in order, with its
	// columns.
	r := readAll(t, c, sdk.ReadRequest{Stream: "webhook_events", MaxRows: 10})
	if len(r.rows) != 25 || fmt.Sprint(r.counts) != "[10 10 5]" {
		t.Fatalf("read %d rows in pages %v", len(r.rows), r.counts)
	}
	first := r.rows[0]
	if first["position"] != int64(1) || first["event_id"] != "e1" || first["payload"] != `{"id":1}` || first["topic"] != "orders/create" ||
		first["reconciled"] != false || !first["triggered_at"].(time.Time).Equal(time.Unix(1, 0)) {
		t.Fatalf("first row %v", first)
	}

	// MaxBytes bounds a page too: every event still comes once, in order.
	r = readAll(t, c, sdk.ReadRequest{Stream: "webhook_events", MaxBytes: 250})
	if len(r.rows) != 25 || slices.Max(r.counts) > 3 {
		t.Fatalf("with MaxBytes 250: %d rows in pages %v", len(r.rows), r.counts)
	}
	for i, row := range r.rows {
		if row["position"] != int64(i+1) {
			t.Fatalf("with MaxBytes 250: row %d is position %v", i, row["position"])
		}
	}

	// Incremental: after a stored position, only what follows; the cursor
	// is the last position read.
	r = readAll(t, c, sdk.ReadRequest{Stream: "webhook_events", CursorField: "position", CursorValue: json.RawMessage("20")})
	if len(r.rows) != 5 || r.rows[0]["position"] != int64(21) || string(r.cursor) != "25" {
		t.Fatalf("incremental after 20: %d rows from %v, cursor %s", len(r.rows), r.rows[0]["position"], r.cursor)
	}

	// A read ends at the inbox's last position when it began, even while
	// events keep arriving; the next read takes them.
	p, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "webhook_events", MaxRows: 10, CursorField: "position", CursorValue: json.RawMessage("null")})
	if err != nil {
		t.Fatal(err)
	}
	p.Records.Release()
	appendEvent(t, in, 26)
	r = readAll(t, c, sdk.ReadRequest{Stream: "webhook_events", MaxRows: 10, Checkpoint: p.Checkpoint, CursorField: "position"})
	if len(r.rows) != 15 || string(r.cursor) != "25" {
		t.Fatalf("the rest of a read begun at 25: %d rows, cursor %s", len(r.rows), r.cursor)
	}
	// The same checkpoint gives the same page, in a fresh connector too.
	c2 := webhookConnector(t, path)
	r2 := readAll(t, c2, sdk.ReadRequest{Stream: "webhook_events", MaxRows: 10, Checkpoint: p.Checkpoint, CursorField: "position"})
	if fmt.Sprint(r2.rows) != fmt.Sprint(r.rows) {
		t.Fatal("a checkpoint read again in another connector gave other rows")
	}
	r = readAll(t, c, sdk.ReadRequest{Stream: "webhook_events", CursorField: "position", CursorValue: json.RawMessage("25")})
	if len(r.rows) != 1 || string(r.cursor) != "26" {
		t.Fatalf("after 25: %d rows, cursor %s", len(r.rows), r.cursor)
	}
	// Nothing new: a done page of no rows and no cursor.
	r = readAll(t, c, sdk.ReadRequest{Stream: "webhook_events", CursorField: "position", CursorValue: json.RawMessage("26")})
	if len(r.rows) != 0 || r.cursor != nil {
		t.Fatalf("after 26: %d rows, cursor %s", len(r.rows), r.cursor)
	}
}

func TestWebhookEventsBadInput(t *testing.T) {
	path, _ := inboxWith(t, 3)
	c := webhookConnector(t, path)
	for _, tt := range []struct {
		name string
		req  sdk.ReadRequest
		want string
	}{
		{"another cursor", sdk.ReadRequest{Stream: "webhook_events", CursorField: "received_at"}, "incremental on position"},
		{"a cursor that is no position", sdk.ReadRequest{Stream: "webhook_events", CursorField: "position", CursorValue: json.RawMessage(`"x"`)}, "is not a position"},
		{"a stored position past the inbox's end", sdk.ReadRequest{Stream: "webhook_events", CursorField: "position", CursorValue: json.RawMessage("4")}, "belongs to another inbox"},
		{"a foreign checkpoint", sdk.ReadRequest{Stream: "webhook_events", Checkpoint: []byte("garbage")}, "not one this connector wrote"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ReadPage(ctx(t), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
	missing := webhookConnector(t, filepath.Join(t.TempDir(), "none.db"))
	if _, err := missing.ReadPage(ctx(t), sdk.ReadRequest{Stream: "webhook_events"}); err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Fatalf("a missing inbox: %v", err)
	}
	// The webhooks block is checked at Configure.
	shop := newShop(t, shopifytest.Options{Orders: 1})
	b, _ := json.Marshal(map[string]any{"shop_domain": "fake-shop", "access_token": shopifytest.Token, "endpoint": shop.URL(),
		"webhooks": map[string]any{"topics": []string{"Orders"}, "inbox": map[string]any{"dsn": "x", "path": "y"}}})
	ferrs, err := shopifyconn.New(nil).Configure(context.Background(), b)
	if err != nil || len(ferrs) != 2 || ferrs[0].Field != "webhooks.topics.0" || ferrs[1].Field != "webhooks.inbox" {
		t.Fatalf("field errors %v %v", ferrs, err)
	}
}
