// Package metrics owns the host's Prometheus collectors (on a registry of
// its own, never the global default one) and the HTTP server that serves
// them at /metrics beside a JSON health report at /healthz.
//
// # Metrics
//
// Connector metrics, labelled connector_type, connector and operation (one
// of spec, configure, test_connection, discover, read, write, commit,
// abort; "all" for the breaker, which is one per connector):
//
//   - connector_retries_total (counter): retries scheduled (the first
//     attempt of a call is not a retry).
//   - connector_circuit_breaker_state (gauge): 0 closed, 1 half-open,
//     2 open; operation="all".
//   - connector_rate_limit_wait_seconds (histogram): each wait a rate limit
//     imposed: one observation per call through a limiter (0 when a token
//     was free) and one per wait before retrying a RATE_LIMITED answer.
//   - connector_recovery_attempts_total (counter): plugin recoveries (crash
//     or hang restarts) asked for before a retry.
//   - connector_errors_total (counter, plus a class label): failed attempts
//     by error class (TRANSIENT, RATE_LIMITED, AUTH_EXPIRED, PERMANENT).
//
// Run metrics, labelled flow:
//
//   - flow_rows_total, flow_bytes_total (Arrow IPC bytes), flow_pages_total
//     (counters): what the flow moved so far.
//   - flow_errors_total (counter, plus a class label): failed flows by the
//     class of their error (UNKNOWN when it carried none).
//
// The original design named two of them connector_rate_limit_wait_time and
// connector_recovery_attempts; the names above follow the Prometheus
// conventions (a unit suffix, _total on counters).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label names.
const (
	LabelConnectorType = "connector_type"
	LabelConnector     = "connector"
	LabelOperation     = "operation"
	LabelClass         = "class"
	LabelFlow          = "flow"
)

// Breaker state values of connector_circuit_breaker_state.
const (
	BreakerClosed   = 0
	BreakerHalfOpen = 1
	BreakerOpen     = 2
)

// WaitBuckets are the buckets of connector_rate_limit_wait_seconds: from a
// millisecond (a token nearly free) to five minutes (a long quota reset).
var WaitBuckets = []float64{0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Metrics holds the host's collectors. The zero value is not usable; use
// New. All methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	// Retries is connector_retries_total.
	Retries *prometheus.CounterVec
	// BreakerState is connector_circuit_breaker_state.
	BreakerState *prometheus.GaugeVec
	// RateLimitWait is connector_rate_limit_wait_seconds.
	RateLimitWait *prometheus.HistogramVec
	// RecoveryAttempts is connector_recovery_attempts_total.
	RecoveryAttempts *prometheus.CounterVec
	// ConnectorErrors is connector_errors_total.
	ConnectorErrors *prometheus.CounterVec

	// FlowRows, FlowBytes and FlowPages are flow_rows_total,
	// flow_bytes_total and flow_pages_total.
	FlowRows, FlowBytes, FlowPages *prometheus.CounterVec
	// FlowErrors is flow_errors_total.
	FlowErrors *prometheus.CounterVec
}

// New returns the host's collectors registered on a fresh registry, with
// the Go runtime and process collectors beside them.
func New() *Metrics {
	conn := []string{LabelConnectorType, LabelConnector, LabelOperation}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_retries_total",
			Help: "Retries of connector calls (the first attempt of a call is not counted).",
		}, conn),
		BreakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connector_circuit_breaker_state",
			Help: "Circuit breaker state per connector: 0 closed, 1 half-open, 2 open (operation=\"all\").",
		}, conn),
		RateLimitWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_rate_limit_wait_seconds",
			Help:    "Time calls waited on a rate limit: the limiter before a call, or a RATE_LIMITED answer before its retry.",
			Buckets: WaitBuckets,
		}, conn),
		RecoveryAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_recovery_attempts_total",
			Help: "Plugin recoveries (restart of a crashed or hung plugin) asked for before a retry.",
		}, conn),
		ConnectorErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_errors_total",
			Help: "Failed connector call attempts by error class.",
		}, append(conn, LabelClass)),
		FlowRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flow_rows_total", Help: "Rows a flow moved.",
		}, []string{LabelFlow}),
		FlowBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flow_bytes_total", Help: "Arrow IPC bytes a flow moved.",
		}, []string{LabelFlow}),
		FlowPages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flow_pages_total", Help: "Pages a flow moved.",
		}, []string{LabelFlow}),
		FlowErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flow_errors_total", Help: "Failed flows by the class of their error.",
		}, []string{LabelFlow, LabelClass}),
	}
	m.reg.MustRegister(m.Retries, m.BreakerState, m.RateLimitWait, m.RecoveryAttempts, m.ConnectorErrors,
		m.FlowRows, m.FlowBytes, m.FlowPages, m.FlowErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry the collectors live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// FlowProgress adds what a flow moved since its last report; the counts
// are deltas, not totals. Called with zeros, it makes the flow's series
// exist (at 0) before its first page.
func (m *Metrics) FlowProgress(flow string, rows, bytes, pages int64) {
	m.FlowRows.WithLabelValues(flow).Add(float64(max(rows, 0)))
	m.FlowBytes.WithLabelValues(flow).Add(float64(max(bytes, 0)))
	m.FlowPages.WithLabelValues(flow).Add(float64(max(pages, 0)))
}
