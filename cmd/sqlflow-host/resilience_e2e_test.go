package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/metrics"
)

// These tests run real plugin processes: the memory source's faults make
// the calls fail, and the host's policies must carry the flow through.

// reportOf returns the memory destination's rows and checksum from a run
// summary's result column.
func reportOf(t *testing.T, r result, flow string) (rows, checksum string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(flow) + `\s.*\bok, (\d+) rows? → memory:\S+ \(checksum=([0-9a-f]+)\)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no report of flow %s in:\n%s", flow, r)
	}
	return m[1], m[2]
}

const flakyPipeline = `version: 1
sources:
  flaky:
    type: memory
    table_name: orders
    generate: {rows: 200000, seed: 5}
%s
destinations:
  sink: {type: memory}
flows:
  - {name: orders, from: flaky, to: sink, target: orders, mode: replace}
`

func TestResilienceFlakySourceDeliversEveryRowOnce(t *testing.T) {
	dir := t.TempDir()
	clean := write(t, dir, "clean.yaml", fmt.Sprintf(flakyPipeline, ""))
	flaky := write(t, dir, "flaky.yaml", fmt.Sprintf(flakyPipeline, `    faults: {seed: 7, transient: 0.3, rate_limited: 0.1, retry_after: 0.05}
    resilience:
      retry: {max_attempts: 10, initial_delay: 0.01, max_delay: 0.1}
      circuit_breaker: {failure_threshold: 20}`))

	// 40 pages of 5,000 rows: about 27 of the 67 reads fail.
	want := cli(t, "run", "--page-rows", "5000", clean)
	expect(t, want, 0)
	wantRows, wantSum := reportOf(t, want, "orders")
	if wantRows != "200000" {
		t.Fatalf("fault-free run wrote %s rows", wantRows)
	}

	got := cli(t, "run", "--page-rows", "5000", flaky)
	expect(t, got, 0, "Retrying operation 'read' (attempt 2/10) after error: injected transient fault on page",
		"after error: injected rate limit on page")
	rows, sum := reportOf(t, got, "orders")
	if rows != wantRows || sum != wantSum {
		t.Fatalf("flaky run wrote %s rows with checksum %s; the fault-free run %s rows with %s\n%s", rows, sum, wantRows, wantSum, got)
	}
	// The summary says what the policies did.
	m := regexp.MustCompile(`flow orders: (\d+) retries, ([0-9.]+)s waiting on rate limits, 0 plugin restarts`).FindStringSubmatch(got.stdout)
	if m == nil || m[1] == "0" || m[2] == "0.0" {
		t.Fatalf("no resilience summary with retries and a rate-limit wait:\n%s", got)
	}
	if n := strings.Count(got.stderr, "Retrying operation 'read'"); fmt.Sprint(n) != m[1] {
		t.Fatalf("%d retry lines, summary says %s retries", n, m[1])
	}
}

func TestResilienceDeadSourceOpensTheBreaker(t *testing.T) {
	p := write(t, t.TempDir(), "dead.yaml", fmt.Sprintf(flakyPipeline, `    faults: {transient: 1.0}
    resilience:
      retry: {max_attempts: 10, initial_delay: 0.01, max_delay: 0.05}
      circuit_breaker: {failure_threshold: 3, recovery_timeout: 60}`))
	start := time.Now()
	r := cli(t, "run", p)
	expect(t, r, 1,
		"Retrying operation 'read' (attempt 2/10) after error: injected transient fault on page 1, attempt 1 (faults.transient = 1)",
		"Retrying operation 'read' (attempt 3/10)",
		"Circuit breaker for 'flaky' is now OPEN. Failing fast.",
		"flow orders failed:", "injected transient fault on page 1, attempt 3")
	if strings.Contains(r.stderr, "(attempt 4/10)") {
		t.Fatalf("retried past the open breaker:\n%s", r)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("took %v to fail", el)
	}
}

func TestResilienceMetricsAndHealth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// 20 pages of 0.2 s each, half of them failing once: a few seconds.
	p := write(t, t.TempDir(), "slow.yaml", fmt.Sprintf(flakyPipeline, `    faults: {seed: 3, transient: 0.5, latency: 0.2}
    resilience:
      retry: {max_attempts: 10, initial_delay: 0.01, max_delay: 0.02}
      circuit_breaker: {failure_threshold: 20}
      rate_limit: {max_requests_per_minute: 6000, burst_size: 5}`))
	done := make(chan result, 1)
	go func() { done <- cli(t, "run", "--page-rows", "10000", "--metrics-addr", addr, p) }()

	var health metrics.Health
	var body string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no retry seen on /healthz within 60 s")
		}
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(b, &health); err != nil {
			t.Fatalf("healthz: %v\n%s", err, b)
		}
		if len(health.Connectors) == 2 && health.Connectors[0].Retries > 0 {
			body = string(b)
			break
		}
	}
	src := health.Connectors[0]
	if health.Status != "ok" || src.Name != "flaky" || src.Role != "source" || src.Type != "memory" ||
		src.Process != "running" || src.Breaker != "closed" || src.Limiter == nil || src.Limiter.Key != "connector:memory/flaky" {
		t.Fatalf("healthz:\n%s", body)
	}
	if dst := health.Connectors[1]; dst.Name != "sink" || dst.Breaker != "disabled" || dst.Limiter != nil {
		t.Fatalf("healthz:\n%s", body)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`connector_retries_total{connector="flaky",connector_type="memory",operation="read"}`,
		`connector_circuit_breaker_state{connector="flaky",connector_type="memory",operation="all"} 0`,
		`connector_rate_limit_wait_seconds_count{connector="flaky",connector_type="memory",operation="read"}`,
		`connector_recovery_attempts_total{connector="flaky",connector_type="memory",operation="read"} 0`,
		`connector_errors_total{class="TRANSIENT",connector="flaky",connector_type="memory",operation="read"}`,
		`flow_rows_total{flow="orders"}`,
		`flow_pages_total{flow="orders"}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	r := <-done
	expect(t, r, 0, "serving metrics and health")
	// The server is gone with the run.
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("metrics server still up after the run")
	}
}
