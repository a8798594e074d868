// Package jobsui serves River's web UI (riverqueue.com/riverui): the job
// queue's jobs, their states, errors and attempts, and the queues, read
// from the PostgreSQL database the River client uses. It is what
// `sqlflow-host worker --ui-addr` serves.
//
// The UI has no authentication and can cancel, retry and delete jobs:
// serve it on a loopback address, or behind a proxy that authenticates.
package jobsui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
)

// Options tune the handler. The zero value is ready.
type Options struct {
	// Prefix is the URL path the UI is served under ("/jobs" serves
	// /jobs/...); empty: the root.
	Prefix string
	// Logger receives the UI's errors; nil discards them.
	Logger *slog.Logger
}

// New returns an http.Handler serving River's UI and its JSON API for
// client's database (its driver and schema). The UI's background
// services (caches, queries) run until ctx ends.
func New(ctx context.Context, client *river.Client[pgx.Tx], opts Options) (http.Handler, error) {
	if client == nil {
		return nil, errors.New("jobs UI: a River client is required")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger,
		Prefix:    opts.Prefix,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs UI: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("jobs UI: starting: %w", err)
	}
	return h, nil
}

// Serve serves h on ln until ctx ends, then shuts the server down (5 s
// for requests in flight). It returns nil after a shutdown caused by
// ctx, else the server's error.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("jobs UI: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
		return nil
	}
}
