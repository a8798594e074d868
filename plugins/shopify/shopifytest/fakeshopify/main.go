// Command fakeshopify runs the test shop of package shopifytest outside a
// test, so the webhooks example of docs/connectors/shopify.md can be tried
// without a Shopify store. It is test support, not for production use.
//
//	go run ./plugins/shopify/shopifytest/fakeshopify shop --addr 127.0.0.1:8081 --subscribe orders/updated
//	go run ./plugins/shopify/shopifytest/fakeshopify send --to http://127.0.0.1:8080/webhooks --secret "$SHOPIFY_WEBHOOK_SECRET"
//
// shop serves a fake Admin API (REST and GraphQL, access token
// shpat_fake_token_0123456789) whose webhook subscriptions are those of
// --subscribe; with --touch-every it updates one order at that interval,
// as a live shop would. send delivers webhooks as Shopify does (headers,
// HMAC signature, retries on Shopify's schedule, compressed by --compress):
// --events distinct events, --duplicates of them sent twice and --bad with
// a wrong signature, and prints how each ended.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = "usage: fakeshopify shop [--addr HOST:PORT] [--orders N] [--subscribe TOPICS] [--touch-every DURATION]\n" +
	"       fakeshopify send --to URL --secret SECRET [--events N] [--duplicates N] [--bad N] [--topic TOPIC] [--compress F]"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "shop":
		return shop(ctx, args[1:], stdout, stderr)
	case "send":
		return send(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s\n", args[0], usage)
	return 2
}

func shop(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	orders := fs.Int("orders", 100, "orders in the shop (ids 1..N)")
	subscribe := fs.String("subscribe", "orders/create,orders/updated", "comma-separated topics the shop lists as webhook subscriptions")
	touch := fs.Duration("touch-every", 0, "update one order (the next id, round robin) at this interval; 0: never")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *orders < 1 {
		fmt.Fprintln(stderr, "--orders must be at least 1")
		return 2
	}
	var s *shopifytest.Shop
	func() {
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintln(stderr, r)
			}
		}()
		s = shopifytest.New(shopifytest.Options{Orders: *orders, Addr: *addr, RESTBucket: 1e6, RESTLeak: 1e6, BucketMax: 1e6, RestoreRate: 1e6})
	}()
	if s == nil {
		return 1
	}
	defer s.Close()
	var topics []string
	for _, t := range strings.Split(*subscribe, ",") {
		if t = strings.TrimSpace(t); t != "" {
			topics = append(topics, t)
		}
	}
	s.SubscribeWebhooks(topics...)
	fmt.Fprintf(stdout, "fake Admin API on %s (access token %s), %d orders, webhook subscriptions %v\n", s.URL(), shopifytest.Token, *orders, topics)
	var tick <-chan time.Time
	if *touch > 0 {
		t := time.NewTicker(*touch)
		defer t.Stop()
		tick = t.C
	}
	next := int64(1)
	for {
		select {
		case <-ctx.Done():
			return 0
		case now := <-tick:
			s.Touch(now, next)
			fmt.Fprintf(stdout, "order %d updated at %s\n", next, now.UTC().Format(time.RFC3339))
			next = next%int64(*orders) + 1
		}
	}
}

func send(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "the receiver's URL (required)")
	secret := fs.String("secret", "", "the app's client secret that signs deliveries (required)")
	events := fs.Int("events", 20, "distinct events to deliver")
	dups := fs.Int("duplicates", 5, "of those, how many to deliver a second time")
	bad := fs.Int("bad", 2, "further deliveries signed with a wrong secret")
	topic := fs.String("topic", "orders/create", "X-Shopify-Topic of the deliveries")
	compress := fs.Float64("compress", 3600, "divide Shopify's retry schedule (8 retries over 4 hours) by this")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case *to == "" || *secret == "":
		fmt.Fprintln(stderr, "send needs --to and --secret\n"+usage)
		return 2
	case *events < 0 || *dups < 0 || *dups > *events || *bad < 0:
		fmt.Fprintln(stderr, "--events, --duplicates and --bad must be at least 0, and --duplicates at most --events")
		return 2
	case *compress < 1:
		fmt.Fprintln(stderr, "--compress must be at least 1")
		return 2
	}
	sender := &shopifytest.Sender{URL: *to, Secret: *secret, Shop: "fake-shop.myshopify.com", APIVersion: "2025-01",
		Schedule: shopifytest.RetrySchedule(*compress)}
	stamp := time.Now().UnixNano()
	var ws []shopifytest.Webhook
	for i := 1; i <= *events; i++ {
		ws = append(ws, shopifytest.Webhook{Topic: *topic, EventID: fmt.Sprintf("evt-%d-%d", stamp, i), WebhookID: fmt.Sprintf("wh-%d-%d", stamp, i),
			TriggeredAt: time.Now().UTC(), Body: []byte(fmt.Sprintf(`{"id":%d,"name":"#%d","updated_at":%q}`, i, 1000+i, time.Now().UTC().Format(time.RFC3339)))})
	}
	for i := 0; i < *dups; i++ {
		w := ws[i]
		w.WebhookID += "-again"
		ws = append(ws, w)
	}
	for i := 1; i <= *bad; i++ {
		ws = append(ws, shopifytest.Webhook{Topic: *topic, EventID: fmt.Sprintf("bad-%d-%d", stamp, i), WebhookID: fmt.Sprintf("wh-bad-%d-%d", stamp, i),
			TriggeredAt: time.Now().UTC(), Body: []byte(`{"id":0}`), BadSignature: true})
	}
	results := make([]shopifytest.Result, len(ws))
	var wg sync.WaitGroup
	for i := range ws {
		wg.Go(func() { results[i] = sender.Deliver(ctx, ws[i]) })
	}
	wg.Wait()
	delivered, refused := 0, 0
	for _, r := range results {
		if r.Delivered {
			delivered++
		} else {
			refused++
		}
	}
	fmt.Fprintf(stdout, "%d deliveries: %d answered 200 (%d distinct events, %d duplicates), %d never accepted (%d badly signed)\n",
		len(ws), delivered, *events, *dups, refused, *bad)
	if refused != *bad {
		return 1
	}
	return 0
}
