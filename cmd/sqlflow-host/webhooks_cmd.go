package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/webhooks"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// Timeouts of the webhook receiver's HTTP server. Shopify waits 5 s for an
// answer: a request must be read and stored well inside that, so a slow
// or stalled client is cut off rather than holding a connection.
const (
	webhookReadHeaderTimeout = 5 * time.Second
	webhookReadTimeout       = 10 * time.Second
	webhookWriteTimeout      = 10 * time.Second
	webhookIdleTimeout       = 60 * time.Second
)

func (a *app) webhooksCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Receive Shopify webhooks into a durable inbox, and reconcile after outages",
		Long: "A shopify source's webhooks: block (secret, topics, inbox) makes the source offer a webhook_events stream\n" +
			"read from the inbox. `webhooks serve` receives and stores deliveries; `webhooks reconcile` fetches what an\n" +
			"outage missed and checks the shop's subscriptions; `webhooks compact` drops events every flow has committed.",
	}
	cmd.AddCommand(a.webhooksServeCommand(), a.webhooksReconcileCommand(), a.webhooksCompactCommand())
	return cmd
}

func (a *app) webhooksServeCommand() *cobra.Command {
	var addr, source string
	var heartbeat time.Duration
	cmd := &cobra.Command{
		Use:   "serve FILE",
		Short: "Receive, verify and durably store Shopify webhook deliveries",
		Long: "serve answers Shopify's webhook deliveries on --addr: it verifies X-Shopify-Hmac-Sha256 with the\n" +
			"webhooks.secret of the source, stores each event once in the inbox and answers 200 only after it is\n" +
			"stored (503 when the inbox cannot store it, so Shopify retries). /healthz and /metrics are served on the\n" +
			"same address. It runs until interrupted.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if heartbeat < 100*time.Millisecond {
				return &usageError{fmt.Errorf("--heartbeat %s: must be at least 100ms", heartbeat)}
			}
			p, err := a.load(argv[0])
			if err != nil {
				return err
			}
			src, err := webhooks.FromPipeline(p, source)
			if err != nil {
				return &usageError{err}
			}
			if err := src.RequireSecret(); err != nil {
				return &usageError{err}
			}
			ctx := cmd.Context()
			inbox, err := webhookinbox.Open(ctx, src.Settings.Inbox, true)
			if err != nil {
				return fmt.Errorf("source %s: %w", src.Conn.Name, err)
			}
			defer inbox.Close()
			rcv, err := webhooks.New(webhooks.Options{Inbox: inbox, Secret: src.Settings.Secret, Topics: src.Settings.Topics,
				MaxBodyBytes: src.Settings.MaxBodyBytes, Logger: a.logger.Named("webhooks")})
			if err != nil {
				return &usageError{err}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &usageError{fmt.Errorf("--addr %s: %w", addr, err)}
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if err := rcv.Start(ctx, heartbeat); err != nil {
				ln.Close()
				return fmt.Errorf("source %s: webhook inbox %s: %w", src.Conn.Name, src.Settings.Inbox, err)
			}
			srv := &http.Server{Handler: rcv.Handler(), ReadHeaderTimeout: webhookReadHeaderTimeout, ReadTimeout: webhookReadTimeout,
				WriteTimeout: webhookWriteTimeout, IdleTimeout: webhookIdleTimeout, MaxHeaderBytes: 64 << 10}
			fmt.Fprintf(a.stdout, "receiving webhooks for source %s on http://%s (topics %v, inbox %s)\n",
				src.Conn.Name, ln.Addr(), src.Settings.Topics, src.Settings.Inbox)
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return fmt.Errorf("webhook receiver: %w", err)
			case <-ctx.Done():
			}
			// Let deliveries in flight finish storing and answer.
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), webhookWriteTimeout)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("webhook receiver shutdown: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (Shopify must reach it over HTTPS: put a TLS proxy in front)")
	cmd.Flags().StringVar(&source, "source", "", "the source whose webhooks: block to serve (default: the only one that has one)")
	cmd.Flags().DurationVar(&heartbeat, "heartbeat", 10*time.Second, "how often the receiver records that it is up; a restart after more than twice this records the downtime as a gap for reconcile")
	return cmd
}

// reconcileMargin widens each gap on both sides when reconcile asks for the
// objects updated in it: Shopify's updated_at and the receiver's clock
// differ by a little, and an object read twice is deduplicated anyway.
const reconcileMargin = time.Minute

func (a *app) webhooksReconcileCommand() *cobra.Command {
	var source, recreate string
	cmd := &cobra.Command{
		Use:   "reconcile FILE",
		Short: "Fetch the objects an outage missed into the inbox, and check the shop's webhook subscriptions",
		Long: "reconcile reads, for every gap the receiver recorded (its downtime, or a span its inbox refused deliveries)\n" +
			"and every object of the subscribed topics (orders, customers, products), the objects Shopify updated in\n" +
			"the gap, through the shopify source (and the host's retries and rate limits), and stores each in the inbox\n" +
			"as a reconciled event. It then lists the shop's webhook subscriptions and reports each subscribed topic\n" +
			"that has none (Shopify removes a subscription that keeps failing): exit status 1 when one is missing;\n" +
			"--recreate ADDRESS creates them again instead.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ctx := cmd.Context()
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			src, err := webhooks.FromPipeline(e.Pipeline, source)
			if err != nil {
				return &usageError{err}
			}
			if recreate != "" {
				if err := webhooks.CheckAddress(recreate); err != nil {
					return &usageError{fmt.Errorf("--recreate: %w", err)}
				}
			}
			out := a.textOut()
			rec, closeInbox, err := a.reconciler(ctx, e, src)
			if err != nil {
				return err
			}
			defer closeInbox()
			if err := a.fillGaps(ctx, rec, out); err != nil {
				return err
			}
			missing, err := rec.MissingSubscriptions(ctx)
			if err != nil {
				return err
			}
			if recreate != "" && len(missing) > 0 {
				sub, err := webhooks.SubscriberFor(src.Conn.Config)
				if err != nil {
					return &usageError{fmt.Errorf("source %s: --recreate: %w", src.Conn.Name, err)}
				}
				var left []string
				for _, t := range missing {
					if err := sub.Create(ctx, t, recreate); err != nil {
						fmt.Fprintf(out, "subscription missing: %s, and creating it failed: %v\n", t, err)
						left = append(left, t)
						continue
					}
					fmt.Fprintf(out, "subscription created: %s → %s\n", t, recreate)
				}
				missing = left
			}
			for _, t := range missing {
				fmt.Fprintf(out, "subscription missing: the shop has no webhook subscription for %s (Shopify removes one that keeps failing; create it again, or run with --recreate ADDRESS)\n", t)
			}
			if len(missing) > 0 {
				return fmt.Errorf("%d subscribed topic(s) have no webhook subscription in the shop", len(missing))
			}
			fmt.Fprintf(out, "every topic has a subscription (%d)\n", len(src.Settings.Topics))
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the source whose webhooks: block to reconcile (default: the only one that has one)")
	cmd.Flags().StringVar(&recreate, "recreate", "", "create each missing subscription again, delivering to this https address (POST webhooks.json with the source's access token)")
	return cmd
}

func (a *app) webhooksCompactCommand() *cobra.Command {
	var source, stateDir string
	cmd := &cobra.Command{
		Use:   "compact FILE",
		Short: "Drop inbox events that every flow reading them has committed",
		Long: "compact drops the payloads of the inbox's events at or below the smallest stored cursor of the\n" +
			"pipeline's flows reading webhook_events (each must be incremental on position). A flow with no stored\n" +
			"cursor yet keeps everything. Only this pipeline's flows are known: run it from the one pipeline that reads\n" +
			"the inbox.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ctx := cmd.Context()
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			src, err := webhooks.FromPipeline(e.Pipeline, source)
			if err != nil {
				return &usageError{err}
			}
			store := e.StateStore(stateDir)
			var upTo int64 = -1
			readers := 0
			for _, f := range e.Pipeline.Flows {
				if f.From != src.Conn.Name || f.Stream != "webhook_events" {
					continue
				}
				readers++
				if f.Incremental == nil || f.Incremental.Cursor != "position" {
					return &usageError{fmt.Errorf("flow %s reads webhook_events without incremental: {cursor: position}: it rereads every event, so none can be compacted", f.Name)}
				}
				cur := e.ReadState(ctx, store, f).Current()
				var pos int64
				if cur != nil {
					if err := json.Unmarshal(cur.Cursor, &pos); err != nil {
						return fmt.Errorf("flow %s: stored cursor %s is not a position", f.Name, cur.Cursor)
					}
				}
				if upTo < 0 || pos < upTo {
					upTo = pos
				}
			}
			if readers == 0 {
				return &usageError{fmt.Errorf("no flow of %s reads webhook_events of source %s: nothing is known to be committed", argv[0], src.Conn.Name)}
			}
			out := a.textOut()
			if upTo <= 0 {
				fmt.Fprintln(out, "a flow reading webhook_events has committed nothing yet: nothing compacted")
				return nil
			}
			inbox, err := webhookinbox.Open(ctx, src.Settings.Inbox, false)
			if err != nil {
				return fmt.Errorf("source %s: %w", src.Conn.Name, err)
			}
			defer inbox.Close()
			n, err := inbox.Compact(ctx, upTo)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "compacted %d events at or below position %d (committed by all %d flows reading them)\n", n, upTo, readers)
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the source whose inbox to compact (default: the only one with a webhooks: block)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "state directory (default: state_dir in the file, else .sqlflow/state beside the pipeline file)")
	return cmd
}

// reconciler opens a source's inbox and starts the source for reconcile;
// the caller calls the returned func to close the inbox.
func (a *app) reconciler(ctx context.Context, e *engine.Engine, src *webhooks.Source) (*webhooks.Reconciler, func(), error) {
	inbox, err := webhookinbox.Open(ctx, src.Settings.Inbox, false)
	if err != nil {
		return nil, nil, fmt.Errorf("source %s: %w", src.Conn.Name, err)
	}
	inst, err := a.source(ctx, e, src.Conn.Name)
	if err != nil {
		inbox.Close()
		return nil, nil, err
	}
	rec := &webhooks.Reconciler{Inbox: inbox, Source: inst.Conn, Topics: src.Settings.Topics, Margin: reconcileMargin}
	return rec, func() { inbox.Close() }, nil
}

// fillGaps fills the inbox's gaps and prints what it did.
func (a *app) fillGaps(ctx context.Context, rec *webhooks.Reconciler, out io.Writer) error {
	for _, t := range webhooks.UnreconcilableTopics(rec.Topics) {
		fmt.Fprintf(out, "topic %s: no Admin API list to reconcile it from; events of its gaps stay missing\n", t)
	}
	filled, err := rec.FillGaps(ctx, time.Now())
	for _, f := range filled {
		fmt.Fprintf(out, "gap %s to %s (%s): %d %s updated in it, %d new in the inbox\n",
			f.Gap.From.Format(time.RFC3339), f.Gap.To.Format(time.RFC3339), f.Gap.Reason, f.Read, f.Object, f.Stored)
	}
	if err != nil {
		return err
	}
	if len(filled) == 0 {
		fmt.Fprintln(out, "no gaps to reconcile")
	}
	return nil
}

// reconcileAll fills the gaps of every source with a webhooks: block
// (run --reconcile-webhooks); its lines go to the log.
func (a *app) reconcileAll(ctx context.Context, e *engine.Engine) error {
	for _, name := range e.Pipeline.SourceNames {
		if _, ok := e.Pipeline.Sources[name].Config[webhooks.Key]; !ok {
			continue
		}
		src, err := webhooks.FromPipeline(e.Pipeline, name)
		if err != nil {
			return &usageError{err}
		}
		rec, closeInbox, err := a.reconciler(ctx, e, src)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		err = a.fillGaps(ctx, rec, &buf)
		closeInbox()
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			a.logger.Info("webhooks reconcile: "+line, "source", name)
		}
		if err != nil {
			return fmt.Errorf("source %s: webhooks reconcile: %w", name, err)
		}
	}
	return nil
}
