package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// These tests run `sqlflow-host webhooks serve` as a real process, deliver
// to it with a fake Shopify sender (Shopify's headers, signature and retry
// schedule, compressed in time), SIGKILL it, and read the inbox back
// through `sqlflow-host run`.

const webhookSecret = "shpss_e2e_secret_4f9a"

// webhookPipeline writes a pipeline with a shopify source whose webhooks:
// block stores into inbox.db, and a flow of webhook_events into a memory
// destination dumping to dump (a path with {table}).
func webhookPipeline(t *testing.T, dir, endpoint, topics, dump string, maxBody int) string {
	return webhookPipelineInbox(t, dir, endpoint, topics, dump, maxBody, "inbox.db")
}

// webhookPipelineInbox is webhookPipeline with the inbox: value given.
func webhookPipelineInbox(t *testing.T, dir, endpoint, topics, dump string, maxBody int, inbox string) string {
	t.Helper()
	p := filepath.Join(dir, "p.yaml")
	yaml := fmt.Sprintf(`version: 1
sources:
  shop:
    type: shopify
    shop_domain: fake-shop
    access_token: ${SHOPIFY_ACCESS_TOKEN}
    endpoint: %s
    api: rest
    webhooks:
      secret: ${SHOPIFY_WEBHOOK_SECRET}
      topics: [%s]
      inbox: %s
      max_body_bytes: %d
destinations:
  sink: {type: memory, dump_path: "%s"}
flows:
  - {name: events, from: shop, stream: webhook_events, to: sink, target: events, mode: append, incremental: {cursor: position}}
`, endpoint, topics, inbox, maxBody, dump)
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func hostEnv() []string {
	return append(os.Environ(), "SHOPIFY_ACCESS_TOKEN="+shopifytest.Token, "SHOPIFY_WEBHOOK_SECRET="+webhookSecret)
}

// receiver is one `webhooks serve` process.
type receiver struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

// startReceiver starts the receiver on addr and returns once it printed
// that it is receiving (its listener is open).
func startReceiver(t *testing.T, file, addr string) *receiver {
	t.Helper()
	bin := binaries(t)
	cmd := exec.Command(filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
		"webhooks", "serve", file, "--addr", addr, "--heartbeat", "100ms")
	cmd.Env = hostEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "receiving webhooks") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("receiver did not start: %q %v\n%s", line, err, errb.String())
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return &receiver{cmd: cmd, out: &errb}
}

func (r *receiver) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runFlow runs the pipeline's flows once.
func runFlow(t *testing.T, file string) string {
	t.Helper()
	bin := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"), "run", file)
	cmd.Env = hostEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	return string(out)
}

// dumpEvents reads event_id and payload of a memory dump (none when the
// run committed no write).
func dumpEvents(t *testing.T, path string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		ids := rec.Column(rec.Schema().FieldIndices("event_id")[0]).(*array.String)
		pay := rec.Column(rec.Schema().FieldIndices("payload")[0]).(*array.String)
		for j := 0; j < ids.Len(); j++ {
			out[ids.Value(j)] = append(out[ids.Value(j)], pay.Value(j))
		}
	}
	return out
}

func readInbox(t *testing.T, path string) []webhookinbox.Event {
	t.Helper()
	in, err := webhookinbox.OpenBolt(path, webhookinbox.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	evs, err := in.Read(context.Background(), 0, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestWebhooksNeverLost delivers 10,000 webhooks over 5 topics (20%
// duplicates of earlier events, 5% with a bad signature, bodies up to the
// limit) while the receiver is SIGKILLed 5 times and a flow reads the
// inbox mid-stream and again at the end. Every delivery answered 200 must
// be in the inbox exactly once with its body, no badly signed one may be,
// and the two runs together must write every event exactly once.
func TestWebhooksNeverLost(t *testing.T) {
	t.Run("bolt", func(t *testing.T) {
		neverLost(t, "inbox.db", func(dir string) webhookinbox.Inbox {
			in, err := webhookinbox.OpenBolt(filepath.Join(dir, "inbox.db"), webhookinbox.BoltOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return in
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("SQLFLOW_TEST_POSTGRES")
		if dsn == "" {
			t.Skip("SQLFLOW_TEST_POSTGRES is not set")
		}
		table := fmt.Sprintf("never_lost_%d", time.Now().UnixNano())
		t.Setenv("INBOX_DSN", dsn)
		t.Cleanup(func() {
			conn, err := pgx.Connect(context.Background(), dsn)
			if err == nil {
				conn.Exec(context.Background(), "DROP TABLE "+table+", "+table+"_gaps, "+table+"_meta")
				conn.Close(context.Background())
			}
		})
		neverLost(t, `{dsn: "${INBOX_DSN}", table: `+table+"}", func(string) webhookinbox.Inbox {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			in, err := webhookinbox.OpenPostgres(ctx, dsn, table)
			if err != nil {
				t.Fatal(err)
			}
			return in
		})
	})
}

// neverLost is TestWebhooksNeverLost over the inbox inbox (its YAML);
// open opens it for the checks.
func neverLost(t *testing.T, inbox string, open func(dir string) webhookinbox.Inbox) {
	const (
		total    = 10000
		maxBody  = 8192
		kills    = 5
		workers  = 256  // Shopify delivers concurrently; badly signed ones keep a worker through all retries
		compress = 2000 // Shopify's 4 hours of retries in 7.2 s
	)
	dir := t.TempDir()
	topics := []string{"orders/create", "orders/updated", "orders/paid", "customers/create", "products/update"}
	file := webhookPipelineInbox(t, dir, "http://127.0.0.1:1", strings.Join(topics, ", "), filepath.Join(dir, "${RUN}-{table}.arrow"), maxBody, inbox)
	// The dump path differs per run through $RUN.
	addr := freeAddr(t)
	t.Setenv("RUN", "run1")
	rcv := startReceiver(t, file, addr)

	// The deliveries: unique events, then duplicates of earlier ones and
	// badly signed ones mixed in.
	rng := rand.New(rand.NewPCG(21, 7))
	type sent struct {
		w   shopifytest.Webhook
		res shopifytest.Result
	}
	var uniques []shopifytest.Webhook
	deliveries := make([]*sent, 0, total)
	for i := 0; len(deliveries) < total; i++ {
		switch r := rng.IntN(100); {
		case r < 5:
			w := webhook(rng, topics, fmt.Sprintf("bad-%d", i), maxBody)
			w.BadSignature = true
			deliveries = append(deliveries, &sent{w: w})
		case r < 25 && len(uniques) > 0:
			w := uniques[rng.IntN(len(uniques))]
			w.WebhookID = fmt.Sprintf("wh-dup-%d", i)
			deliveries = append(deliveries, &sent{w: w})
		default:
			w := webhook(rng, topics, fmt.Sprintf("ev-%d", i), maxBody)
			uniques = append(uniques, w)
			deliveries = append(deliveries, &sent{w: w})
		}
	}
	sender := &shopifytest.Sender{URL: "http://" + addr + "/webhooks/shopify", Secret: webhookSecret, Shop: "fake-shop.myshopify.com",
		APIVersion: "2025-01", Schedule: shopifytest.RetrySchedule(compress)}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(deliveries)) {
					return
				}
				d := deliveries[i]
				d.res = sender.Deliver(ctx, d.w)
				done.Add(1)
			}
		})
	}
	// The killer: SIGKILL the receiver after each further 1/6 of the
	// deliveries answered, and start a new one at once on the same address.
	// The run of the flow happens after the third restart, mid-stream.
	var runOut string
	for k := 1; k <= kills; k++ {
		for done.Load() < int64(k*total/(kills+1)) {
			select {
			case <-ctx.Done():
				t.Fatal("deliveries did not progress")
			case <-time.After(5 * time.Millisecond):
			}
		}
		rcv.kill(t)
		rcv = startReceiver(t, file, addr)
		if k == 3 {
			runOut = runFlow(t, file)
		}
	}
	wg.Wait()
	t.Logf("mid-stream run: %s", firstLine(runOut))

	// Every delivery ended: good ones delivered (the receiver came back
	// within Shopify's retry window), bad ones refused with 401.
	want := map[string]string{} // event id -> body of the events answered 200
	attempts := 0
	for _, d := range deliveries {
		attempts += d.res.Attempts
		switch {
		case d.w.BadSignature:
			// 401 to every attempt (0 when the last one met a killed receiver).
			if d.res.Delivered || (d.res.Status != 401 && d.res.Status != 0) {
				t.Fatalf("badly signed %s answered %d", d.w.EventID, d.res.Status)
			}
		case !d.res.Delivered:
			t.Fatalf("%s was never answered 200 (last status %d after %d attempts)", d.w.EventID, d.res.Status, d.res.Attempts)
		default:
			want[d.w.EventID] = string(d.w.Body)
		}
	}
	in := open(dir)
	evs, err := in.Read(context.Background(), 0, 0, 1<<30)
	in.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for i, ev := range evs {
		if got[ev.EventID] {
			t.Fatalf("event %s is in the inbox twice", ev.EventID)
		}
		got[ev.EventID] = true
		if ev.Position != int64(i+1) {
			t.Fatalf("inbox positions are not 1..n: %d at %d", ev.Position, i)
		}
		body, ok := want[ev.EventID]
		if !ok {
			t.Fatalf("inbox holds %s, which was never answered 200 (a bad signature?)", ev.EventID)
		}
		if string(ev.Payload) != body {
			t.Fatalf("event %s: stored body differs from the delivered one", ev.EventID)
		}
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("event %s was answered 200 but is not in the inbox", id)
		}
	}
	if len(evs) != len(uniques) {
		t.Fatalf("inbox holds %d events, want the %d unique good ones", len(evs), len(uniques))
	}

	// The flow's second run reads only what the first did not commit.
	t.Setenv("RUN", "run2")
	rcv.kill(t)
	runFlow(t, file)
	run1 := dumpEvents(t, filepath.Join(dir, "run1-events.arrow"))
	run2 := dumpEvents(t, filepath.Join(dir, "run2-events.arrow"))
	if len(run1) == 0 || len(run2) == 0 {
		t.Fatalf("the mid-stream run wrote %d events and the last %d: both should have written some", len(run1), len(run2))
	}
	for id, bodies := range run1 {
		if len(bodies) != 1 || len(run2[id]) != 0 {
			t.Fatalf("event %s written %d times by the first run and %d by the second", id, len(bodies), len(run2[id]))
		}
	}
	for id, bodies := range run2 {
		if len(bodies) != 1 {
			t.Fatalf("event %s written %d times by the second run", id, len(bodies))
		}
	}
	if len(run1)+len(run2) != len(want) {
		t.Fatalf("the runs wrote %d + %d events, want %d", len(run1), len(run2), len(want))
	}
	for id, body := range want {
		b := append(run1[id], run2[id]...)
		if len(b) != 1 || b[0] != body {
			t.Fatalf("event %s reached the destination %d times or with another body", id, len(b))
		}
	}
	t.Logf("%d deliveries (%d attempts with Shopify's retries), %d unique events stored, %d + %d written by two runs, %d kills",
		len(deliveries), attempts, len(evs), len(run1), len(run2), kills)
}

// webhook makes an event of a random topic with a JSON body of a random
// size up to max (1 in 50 exactly max).
func webhook(rng *rand.Rand, topics []string, id string, limit int) shopifytest.Webhook {
	size := 100 + rng.IntN(900)
	if rng.IntN(10) == 0 {
		size = 1000 + rng.IntN(limit-1000)
	}
	if rng.IntN(50) == 0 {
		size = limit
	}
	prefix := fmt.Sprintf(`{"id":%q,"note":"`, id)
	pad := size - len(prefix) - 2
	body := prefix + strings.Repeat("x", max(pad, 0)) + `"}`
	return shopifytest.Webhook{Topic: topics[rng.IntN(len(topics))], EventID: id, WebhookID: "wh-" + id,
		TriggeredAt: time.Now().UTC(), Body: []byte(body)}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// TestWebhooksOutageReconcile takes the receiver down for longer than
// Shopify's retry window (compressed): the sender gives up on the orders
// updated meanwhile; on restart the receiver records the gap, and
// reconcile reads those orders through the fake Admin API into the inbox.
// The shop's subscription list lacks orders/create, and reconcile reports
// it (exit status 1).
func TestWebhooksOutageReconcile(t *testing.T) {
	const compress = 40000 // 4 hours of retries in 0.36 s
	shop := shopifytest.New(shopifytest.Options{Orders: 40, RESTBucket: 1e6, RESTLeak: 1e6})
	t.Cleanup(shop.Close)
	shop.SubscribeWebhooks("orders/create", "orders/updated")
	dir := t.TempDir()
	file := webhookPipeline(t, dir, shop.URL(), "orders/create, orders/updated", filepath.Join(dir, "{table}.arrow"), 65536)
	addr := freeAddr(t)
	rcv := startReceiver(t, file, addr)
	sender := &shopifytest.Sender{URL: "http://" + addr + "/", Secret: webhookSecret, Shop: "fake-shop.myshopify.com",
		APIVersion: "2025-01", Schedule: shopifytest.RetrySchedule(compress)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	order := func(id int) shopifytest.Webhook {
		return shopifytest.Webhook{Topic: "orders/updated", EventID: fmt.Sprintf("order-%d", id), WebhookID: fmt.Sprintf("wh-%d", id),
			TriggeredAt: time.Now().UTC(), Body: []byte(fmt.Sprintf(`{"id":%d}`, id))}
	}
	for id := 1; id <= 5; id++ {
		if r := sender.Deliver(ctx, order(id)); !r.Delivered {
			t.Fatalf("order %d not delivered: %d", id, r.Status)
		}
	}

	// The outage: orders 11-20 change while the receiver is down; Shopify
	// retries each on its schedule and gives up; it also removes the
	// orders/create subscription.
	rcv.kill(t)
	shop.Touch(time.Now(), 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	var wg sync.WaitGroup
	for id := 11; id <= 20; id++ {
		wg.Go(func() {
			if r := sender.Deliver(ctx, order(id)); r.Delivered || r.Attempts != 9 {
				t.Errorf("order %d during the outage: delivered %v after %d attempts", id, r.Delivered, r.Attempts)
			}
		})
	}
	wg.Wait()
	shop.RemoveWebhook("orders/create")
	rcv = startReceiver(t, file, addr)
	rcv.kill(t) // reconcile opens the inbox itself; a running receiver would share it too

	bin := binaries(t)
	reconcile := func(extra ...string) (string, int) {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), append([]string{"--plugins-dir", filepath.Join(bin, "plugins"),
			"webhooks", "reconcile", file}, extra...)...)
		cmd.Env = hostEnv()
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := reconcile()
	if code != 1 || !strings.Contains(out, "subscription missing: the shop has no webhook subscription for orders/create") {
		t.Fatalf("reconcile: exit %d, want 1 reporting orders/create:\n%s", code, out)
	}
	if !strings.Contains(out, "10 orders updated in it, 10 new in the inbox") {
		t.Fatalf("reconcile did not bring the 10 missed orders:\n%s", out)
	}
	evs := readInbox(t, filepath.Join(dir, "inbox.db"))
	reconciled := map[string]bool{}
	for _, ev := range evs {
		if ev.Reconciled {
			if ev.Topic != "orders/reconciled" || ev.TriggeredAt.IsZero() {
				t.Fatalf("reconciled event %+v", ev)
			}
			var id int
			fmt.Sscanf(string(ev.Payload[strings.Index(string(ev.Payload), `"id":`)+5:]), "%d", &id)
			reconciled[fmt.Sprint(id)] = true
		}
	}
	for id := 11; id <= 20; id++ {
		if !reconciled[fmt.Sprint(id)] {
			t.Fatalf("order %d missed in the outage is not in the inbox after reconcile (reconciled: %v)", id, reconciled)
		}
	}
	if len(reconciled) != 10 {
		t.Fatalf("reconcile stored %d orders, want the 10 updated in the gap: %v", len(reconciled), reconciled)
	}
	// Again, creating the removed subscription: the gap is closed, nothing
	// more comes in, and the shop lists orders/create again.
	out, code = reconcile("--recreate", "https://hooks.example.com/webhooks")
	if code != 0 || !strings.Contains(out, "no gaps to reconcile") ||
		!strings.Contains(out, "subscription created: orders/create → https://hooks.example.com/webhooks") {
		t.Fatalf("second reconcile: exit %d\n%s", code, out)
	}
	if out, code := reconcile(); code != 0 || !strings.Contains(out, "every topic has a subscription (2)") {
		t.Fatalf("third reconcile: exit %d\n%s", code, out)
	}
	if out, code := reconcile("--recreate", "http://hooks.example.com/x"); code != 2 || !strings.Contains(out, "is not an https URL") {
		t.Fatalf("--recreate with an http address: exit %d\n%s", code, out)
	}
	if n := len(readInbox(t, filepath.Join(dir, "inbox.db"))); n != len(evs) {
		t.Fatalf("second reconcile changed the inbox: %d events, was %d", n, len(evs))
	}

	// A second outage, filled by `run --reconcile-webhooks` before its flow
	// reads the inbox: the flow writes the 5 delivered orders and the 15
	// reconciled ones.
	rcv = startReceiver(t, file, addr)
	rcv.kill(t)
	shop.Touch(time.Now(), 21, 22, 23, 24, 25)
	for id := 21; id <= 25; id++ {
		wg.Go(func() { sender.Deliver(ctx, order(id)) })
	}
	wg.Wait()
	rcv = startReceiver(t, file, addr)
	rcv.kill(t)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
		"run", "--reconcile-webhooks", file)
	cmd.Env = hostEnv()
	b, err := cmd.CombinedOutput()
	// The margin of a minute around the gap takes orders 11-20 again:
	// already in the inbox, they are not stored twice.
	if err != nil || !strings.Contains(string(b), ": 15 orders updated in it, 5 new in the inbox") {
		t.Fatalf("run --reconcile-webhooks: %v\n%s", err, b)
	}
	written := dumpEvents(t, filepath.Join(dir, "events.arrow"))
	n := 0
	for id := range written {
		if strings.HasPrefix(id, "reconciled:orders:") {
			n++
		}
	}
	if len(written) != 20 || n != 15 {
		t.Fatalf("the flow wrote %d events, %d of them reconciled; want 20 and 15", len(written), n)
	}
}
