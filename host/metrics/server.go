package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ConnectorHealth is one connector instance's entry of /healthz.
type ConnectorHealth struct {
	// Name, Role and Type identify the instance.
	Name string `json:"name"`
	Role string `json:"role"`
	Type string `json:"type"`
	// Process is the plugin process's state: running, restarting,
	// given_up (or stopped).
	Process string `json:"process"`
	// Breaker is closed, half-open, open, or disabled when the connector's
	// policy has no breaker (or no policy at all).
	Breaker string `json:"breaker"`
	// Limiter is the connector's rate limiter, or nil when it has none.
	Limiter *LimiterHealth `json:"limiter,omitempty"`
	// Restarts and Retries are counts since the host started.
	Restarts int64 `json:"restarts"`
	Retries  int64 `json:"retries"`
}

// LimiterHealth is a rate limiter's state.
type LimiterHealth struct {
	// Key names the limiter: "host:<host>" when shared per target host,
	// "connector:<name>" otherwise.
	Key string `json:"key"`
	// Tokens is how many calls may start now without waiting (negative
	// when calls have reserved future tokens).
	Tokens float64 `json:"tokens"`
	// Waiting is how many calls wait on it now.
	Waiting int64 `json:"waiting"`
}

// Health is the /healthz document.
type Health struct {
	// Status is "ok", or "degraded" when a breaker is open or a plugin was
	// given up on.
	Status     string            `json:"status"`
	Connectors []ConnectorHealth `json:"connectors"`
}

// NewHealth builds the /healthz document from the connectors' entries.
func NewHealth(conns []ConnectorHealth) Health {
	h := Health{Status: "ok", Connectors: conns}
	if h.Connectors == nil {
		h.Connectors = []ConnectorHealth{}
	}
	for _, c := range conns {
		if c.Breaker == "open" || c.Process == "given_up" {
			h.Status = "degraded"
		}
	}
	return h
}

// Handler serves /metrics from m's registry and /healthz from health
// (called per request; nil reports no connectors). /healthz always
// answers 200 while the host runs: an open breaker is a state to show,
// not a dead host.
func (m *Metrics) Handler(health func() []ConnectorHealth) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		var conns []ConnectorHealth
		if health != nil {
			conns = health()
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(NewHealth(conns))
	})
	return mux
}

// Server is a running metrics and health server.
type Server struct {
	srv *http.Server
	ln  net.Listener
	err chan error
}

// ErrPublicAddr is returned by CheckAddr for an address other machines
// could reach. Test with errors.Is.
var ErrPublicAddr = errors.New("the metrics endpoint has no authentication")

// CheckAddr refuses an address that other machines could reach unless
// public: the endpoint has no authentication (its metrics name connectors,
// targets' hosts and error counts). Loopback addresses (127.0.0.0/8, ::1,
// localhost, a name resolving only to loopback) are always allowed; an
// empty host or 0.0.0.0 listens on every interface and is not.
func CheckAddr(addr string, public bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics address %q: %w (use host:port, e.g. 127.0.0.1:9464)", addr, err)
	}
	if public || loopback(host) {
		return nil
	}
	where := host
	if host == "" {
		where = "every interface"
	}
	return fmt.Errorf("metrics address %s listens on %s: %w and would be reachable from other machines; "+
		"bind it to 127.0.0.1 (or ::1), or pass --metrics-public to serve it on %s anyway, behind a firewall or a private interface",
		addr, where, ErrPublicAddr, where)
}

// loopback reports whether host is a loopback address or a name that
// resolves only to loopback addresses.
func loopback(host string) bool {
	if host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if host == "localhost" {
		return true
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// Serve listens on addr (host:port; port 0 picks a free one) and serves h
// in the background. A bad or busy address fails here, not later.
func Serve(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %s: %w", addr, err)
	}
	s := &Server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
		err: make(chan error, 1),
	}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting requests in flight finish until ctx
// ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.err; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
