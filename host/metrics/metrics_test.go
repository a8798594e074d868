package metrics_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/metrics"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

func TestServerServesMetricsAndHealth(t *testing.T) {
	m := metrics.New()
	m.Retries.WithLabelValues("rest", "orders_api", "read").Add(3)
	m.BreakerState.WithLabelValues("rest", "orders_api", "all").Set(metrics.BreakerOpen)
	m.RateLimitWait.WithLabelValues("rest", "orders_api", "read").Observe(0.25)
	m.FlowProgress("orders", 100, 2048, 2)
	m.FlowProgress("orders", 50, 1024, 1)
	health := []metrics.ConnectorHealth{
		{Name: "orders_api", Role: "source", Type: "rest", Process: "running", Breaker: "open",
			Limiter: &metrics.LimiterHealth{Key: "host:api.example.com", Tokens: 2.5, Waiting: 1}, Restarts: 1, Retries: 3},
		{Name: "sink", Role: "destination", Type: "memory", Process: "running", Breaker: "disabled"},
	}
	srv, err := metrics.Serve("127.0.0.1:0", m.Handler(func() []metrics.ConnectorHealth { return health }))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())

	body := get(t, "http://"+srv.Addr()+"/metrics")
	for _, want := range []string{
		`connector_retries_total{connector="orders_api",connector_type="rest",operation="read"} 3`,
		`connector_circuit_breaker_state{connector="orders_api",connector_type="rest",operation="all"} 2`,
		`connector_rate_limit_wait_seconds_bucket{connector="orders_api",connector_type="rest",operation="read",le="0.5"} 1`,
		`flow_rows_total{flow="orders"} 150`,
		`flow_bytes_total{flow="orders"} 3072`,
		`flow_pages_total{flow="orders"} 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	var h metrics.Health
	raw := get(t, "http://"+srv.Addr()+"/healthz")
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "degraded" || len(h.Connectors) != 2 || h.Connectors[0].Limiter.Waiting != 1 || h.Connectors[1].Limiter != nil {
		t.Fatalf("healthz:\n%s", raw)
	}
	for _, want := range []string{`"process": "running"`, `"breaker": "open"`, `"tokens": 2.5`, `"restarts": 1`, `"retries": 3`} {
		if !strings.Contains(raw, want) {
			t.Errorf("/healthz lacks %s:\n%s", want, raw)
		}
	}
}

func TestHealthStatus(t *testing.T) {
	tests := []struct {
		name  string
		conns []metrics.ConnectorHealth
		want  string
	}{
		{"none", nil, "ok"},
		{"all fine", []metrics.ConnectorHealth{{Process: "running", Breaker: "closed"}}, "ok"},
		{"half-open", []metrics.ConnectorHealth{{Process: "running", Breaker: "half-open"}}, "ok"},
		{"restarting", []metrics.ConnectorHealth{{Process: "restarting", Breaker: "closed"}}, "ok"},
		{"open", []metrics.ConnectorHealth{{Process: "running", Breaker: "open"}}, "degraded"},
		{"given up", []metrics.ConnectorHealth{{Process: "given_up", Breaker: "closed"}}, "degraded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := metrics.NewHealth(tt.conns)
			if h.Status != tt.want || h.Connectors == nil {
				t.Fatalf("status %q, want %q", h.Status, tt.want)
			}
		})
	}
}

func TestServeRefusesABusyAddress(t *testing.T) {
	m := metrics.New()
	a, err := metrics.Serve("127.0.0.1:0", m.Handler(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(t.Context())
	if _, err := metrics.Serve(a.Addr(), m.Handler(nil)); err == nil || !strings.Contains(err.Error(), "metrics address "+a.Addr()) {
		t.Fatalf("err = %v", err)
	}
}

// The endpoint has no authentication: only loopback addresses are served
// unless the user says the address is meant to be public.
func TestCheckAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:9464": true, "[::1]:9464": true, "localhost:0": true, "127.3.4.5:1": true,
		":9464": false, "0.0.0.0:9464": false, "[::]:9464": false, "10.1.2.3:9464": false, "192.168.1.5:80": false,
	} {
		err := metrics.CheckAddr(addr, false)
		if ok != (err == nil) {
			t.Errorf("CheckAddr(%q) = %v", addr, err)
		}
		if !ok && (!errors.Is(err, metrics.ErrPublicAddr) || !strings.Contains(err.Error(), "--metrics-public")) {
			t.Errorf("CheckAddr(%q): %v does not say how to allow it", addr, err)
		}
		if err := metrics.CheckAddr(addr, true); err != nil {
			t.Errorf("CheckAddr(%q, public) = %v", addr, err)
		}
	}
	if err := metrics.CheckAddr("no-port", false); err == nil {
		t.Error("an address without a port was accepted")
	}
}
