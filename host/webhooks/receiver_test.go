package webhooks_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/host/webhooks"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

const secret = "shpss_test_secret"

func newReceiver(t *testing.T, maxBody int64) (*httptest.Server, *webhookinbox.Bolt, string, *bytes.Buffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inbox.db")
	in, err := webhookinbox.OpenBolt(path, webhookinbox.BoltOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	r, err := webhooks.New(webhooks.Options{Inbox: in, Secret: secret, Topics: []string{"orders/create", "orders/updated"}, MaxBodyBytes: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return srv, in, path, nil
}

type delivery struct {
	body                           []byte
	sig, topic, eventID, webhookID string
	contentType                    string
}

func good(body string, eventID string) delivery {
	return delivery{body: []byte(body), sig: webhooks.Sign(secret, []byte(body)), topic: "orders/create", eventID: eventID,
		webhookID: "wh-" + eventID, contentType: "application/json"}
}

func post(t *testing.T, url string, d delivery) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/webhooks/shopify", bytes.NewReader(d.body))
	req.Header.Set("Content-Type", d.contentType)
	if d.sig != "" {
		req.Header.Set(webhooks.HeaderHmac, d.sig)
	}
	if d.topic != "" {
		req.Header.Set(webhooks.HeaderTopic, d.topic)
	}
	if d.eventID != "" {
		req.Header.Set(webhooks.HeaderEventID, d.eventID)
	}
	if d.webhookID != "" {
		req.Header.Set(webhooks.HeaderWebhookID, d.webhookID)
	}
	req.Header.Set(webhooks.HeaderShop, "fake-shop.myshopify.com")
	req.Header.Set(webhooks.HeaderTriggeredAt, "2026-12-07T10:00:00.123Z")
	req.Header.Set(webhooks.HeaderAPIVersion, "2025-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestReceiverAnswers(t *testing.T) {
	srv, in, _, _ := newReceiver(t, 2048)
	big := `{"x":"` + strings.Repeat("a", 3000) + `"}`
	atLimit := `{"x":"` + strings.Repeat("a", 2048-8) + `"}`
	tests := []struct {
		name   string
		d      delivery
		status int
	}{
		{"stored", good(`{"id":1}`, "e1"), 200},
		{"a duplicate is 200 and not stored again", good(`{"id":1,"again":true}`, "e1"), 200},
		{"a body exactly at the limit is stored", good(atLimit, "e-limit"), 200},
		{"event id falls back to the webhook id", func() delivery { d := good(`{"id":2}`, ""); d.webhookID = "wh-only"; return d }(), 200},
		{"missing signature", func() delivery { d := good(`{"id":3}`, "e3"); d.sig = ""; return d }(), 401},
		{"wrong signature", func() delivery { d := good(`{"id":3}`, "e3"); d.sig = webhooks.Sign("other", d.body); return d }(), 401},
		{"signature not base64", func() delivery { d := good(`{"id":3}`, "e3"); d.sig = "%%%"; return d }(), 401},
		{"signature of another body", func() delivery { d := good(`{"id":3}`, "e3"); d.body = []byte(`{"id":4}`); return d }(), 401},
		{"body over the limit", good(big, "e-big"), 413},
		{"wrong content type", func() delivery { d := good(`{"id":5}`, "e5"); d.contentType = "text/plain"; return d }(), 415},
		{"no content type", func() delivery { d := good(`{"id":5}`, "e5"); d.contentType = ""; return d }(), 415},
		{"unknown topic", func() delivery { d := good(`{"id":6}`, "e6"); d.topic = "products/create"; return d }(), 422},
		{"no topic", func() delivery { d := good(`{"id":6}`, "e6"); d.topic = ""; return d }(), 400},
		{"no ids", func() delivery { d := good(`{"id":7}`, ""); d.webhookID = ""; return d }(), 400},
		{"signed but not JSON", good(`{"id":`, "e8"), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, srv.URL, tt.d); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
		})
	}
	evs, err := in.Read(context.Background(), 0, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.EventID)
	}
	if strings.Join(ids, ",") != "e1,e-limit,wh-only" {
		t.Fatalf("inbox holds %v, want e1,e-limit,wh-only", ids)
	}
	ev := evs[0]
	if string(ev.Payload) != `{"id":1}` || ev.Topic != "orders/create" || ev.ShopDomain != "fake-shop.myshopify.com" ||
		ev.APIVersion != "2025-01" || ev.WebhookID != "wh-e1" || !ev.TriggeredAt.Equal(time.Date(2026, 12, 7, 10, 0, 0, 123e6, time.UTC)) {
		t.Fatalf("stored %+v", ev)
	}
	metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`webhook_deliveries_total{outcome="stored",topic="orders/create"} 3`,
		`webhook_deliveries_total{outcome="duplicate",topic="orders/create"} 1`,
		`webhook_deliveries_total{outcome="bad_signature",topic=""} 4`,
		`webhook_signature_failures_total 4`,
		`webhook_duplicates_total 1`,
		`webhook_deliveries_total{outcome="too_large",topic=""} 1`,
		`webhook_deliveries_total{outcome="unknown_topic",topic=""} 1`,
		`webhook_inbox_last_position 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	if h := get(t, srv.URL+"/healthz"); !strings.Contains(h, `"status":"ok"`) {
		t.Errorf("healthz: %s", h)
	}
}

// TestTruncatedBody sends a Content-Length longer than the body and closes
// the write side: the receiver must refuse it, not store a prefix.
func TestTruncatedBody(t *testing.T) {
	srv, in, _, _ := newReceiver(t, 4096)
	body := []byte(`{"id":1,"name":"#1001"}`)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"%s: %s\r\n%s: orders/create\r\n%s: e1\r\n\r\n", len(body), webhooks.HeaderHmac, webhooks.Sign(secret, body),
		webhooks.HeaderTopic, webhooks.HeaderEventID)
	conn.Write(body[:10])
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		if resp.StatusCode == 200 {
			t.Fatalf("a truncated body was answered 200")
		}
	}
	if last, _ := in.Last(context.Background()); last != 0 {
		t.Fatalf("a truncated body was stored (last position %d)", last)
	}
}

// TestInboxRefusing makes the inbox file unusable: deliveries get 503, and
// once it works again the span is recorded as a gap.
func TestInboxRefusing(t *testing.T) {
	srv, in, path, _ := newReceiver(t, 4096)
	if got := post(t, srv.URL, good(`{"id":1}`, "e1")); got != 200 {
		t.Fatalf("status %d", got)
	}
	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil { // a directory where the file was: every open fails
		t.Fatal(err)
	}
	if got := post(t, srv.URL, good(`{"id":2}`, "e2")); got != 503 {
		t.Fatalf("status %d with the inbox gone, want 503", got)
	}
	if h := get(t, srv.URL+"/healthz"); !strings.Contains(h, "unavailable") {
		t.Errorf("healthz with the inbox gone: %s", h)
	}
	os.Remove(path)
	os.Rename(path+".away", path)
	if got := post(t, srv.URL, good(`{"id":2}`, "e2")); got != 200 {
		t.Fatalf("status %d after the inbox came back", got)
	}
	gaps, err := in.Gaps(context.Background())
	if err != nil || len(gaps) != 1 || gaps[0].Reason != "inbox refusing" {
		t.Fatalf("gaps %+v %v", gaps, err)
	}
}

func TestNoSecret(t *testing.T) {
	in, _ := webhookinbox.OpenBolt(filepath.Join(t.TempDir(), "i.db"), webhookinbox.BoltOptions{Create: true})
	defer in.Close()
	if _, err := webhooks.New(webhooks.Options{Inbox: in}); !errors.Is(err, webhooks.ErrNoSecret) {
		t.Fatalf("err %v, want ErrNoSecret", err)
	}
}

// TestDowntimeGap starts a receiver on an inbox whose last heartbeat is
// old: the span is recorded as a gap.
func TestDowntimeGap(t *testing.T) {
	in, _ := webhookinbox.OpenBolt(filepath.Join(t.TempDir(), "i.db"), webhookinbox.BoltOptions{Create: true})
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	in.Alive(ctx, t0)
	now := t0.Add(10 * time.Minute)
	r, _ := webhooks.New(webhooks.Options{Inbox: in, Secret: secret, Now: func() time.Time { return now }})
	if err := r.Start(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	gaps, _ := in.Gaps(ctx)
	if len(gaps) != 0 {
		t.Fatalf("10 minutes down with a 1 h heartbeat recorded %+v", gaps)
	}
	now = now.Add(3 * time.Hour)
	if err := r.Start(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	gaps, _ = in.Gaps(ctx)
	if len(gaps) != 1 || !gaps[0].From.Equal(t0.Add(10*time.Minute)) || !gaps[0].To.Equal(now) || gaps[0].Reason != "receiver down" {
		t.Fatalf("gaps %+v", gaps)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestReceiverPostgres runs the receiver over a PostgreSQL inbox: 200
// concurrent deliveries of 100 events (each twice) and 20 badly signed
// ones store the 100 events once each.
func TestReceiverPostgres(t *testing.T) {
	dsn := os.Getenv("SQLFLOW_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("SQLFLOW_TEST_POSTGRES is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table := fmt.Sprintf("receiver_test_%d", time.Now().UnixNano())
	in, err := webhookinbox.OpenPostgres(ctx, dsn, table)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		in.Close()
		if conn, err := pgx.Connect(context.Background(), dsn); err == nil {
			conn.Exec(context.Background(), "DROP TABLE "+table+", "+table+"_gaps, "+table+"_meta")
			conn.Close(context.Background())
		}
	}()
	r, err := webhooks.New(webhooks.Options{Inbox: in, Secret: secret, Topics: []string{"orders/create"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	codes := make([]int, 220)
	for i := range 220 {
		wg.Go(func() {
			d := good(fmt.Sprintf(`{"id":%d}`, i%100), fmt.Sprint("pg", i%100))
			if i >= 200 {
				d.sig = webhooks.Sign("wrong", d.body)
			}
			codes[i] = post(t, srv.URL, d)
		})
	}
	wg.Wait()
	for i, c := range codes {
		if (i < 200 && c != 200) || (i >= 200 && c != 401) {
			t.Fatalf("delivery %d answered %d", i, c)
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
			t.Fatalf("positions not 1..100: %d at %d", ev.Position, i)
		}
	}
}

func TestSubscriberFor(t *testing.T) {
	for _, tt := range []struct {
		name      string
		cfg       map[string]any
		base, err string
	}{
		{"a shop name", map[string]any{"shop_domain": "my-shop", "access_token": "t"}, "https://my-shop.myshopify.com", ""},
		{"a shop URL", map[string]any{"shop_domain": "https://My-Shop.myshopify.com/admin", "access_token": "t"}, "https://my-shop.myshopify.com", ""},
		{"an endpoint", map[string]any{"shop_domain": "x", "endpoint": "http://127.0.0.1:9/p", "access_token": "t"}, "http://127.0.0.1:9", ""},
		{"no token", map[string]any{"shop_domain": "x"}, "", "no access_token"},
		{"no shop", map[string]any{"access_token": "t"}, "", "no shop_domain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := webhooks.SubscriberFor(tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || s.Base != tt.base || s.APIVersion != "2025-01" {
				t.Fatalf("%+v %v", s, err)
			}
		})
	}
	for addr, ok := range map[string]bool{"https://hooks.example.com/w": true, "http://127.0.0.1:8080/": true,
		"http://hooks.example.com/w": false, "hooks.example.com": false, "": false} {
		if err := webhooks.CheckAddress(addr); (err == nil) != ok {
			t.Errorf("CheckAddress(%q): %v", addr, err)
		}
	}
}
