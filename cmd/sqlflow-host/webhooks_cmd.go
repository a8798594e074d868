package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

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
	cmd.AddCommand(a.webhooksServeCommand())
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
