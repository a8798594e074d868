// Package webhooks is the Shopify webhook receiver: an HTTP handler that
// verifies each delivery's signature over the raw body, stores it in a
// durable inbox (package sdk/webhookinbox) and answers 200 only once it is
// stored, with its health and Prometheus metrics, and the record of the
// spans it could not receive (gaps) that reconcile fills.
//
// # Answers
//
//	405  not a POST
//	415  Content-Type is not application/json
//	413  body over the limit (max_body_bytes)
//	400  body shorter than its Content-Length (truncated), or not JSON; a
//	     topic header missing; no event or webhook id
//	401  X-Shopify-Hmac-Sha256 missing or wrong (nothing else is looked at)
//	422  a topic the pipeline does not subscribe
//	503  the inbox could not store it (Shopify retries)
//	200  stored, or a duplicate of a stored event
//
// The signature is checked (constant time) before the body is parsed or a
// header trusted. A refused body is never stored or logged.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// Shopify's delivery headers.
const (
	HeaderHmac        = "X-Shopify-Hmac-Sha256"
	HeaderTopic       = "X-Shopify-Topic"
	HeaderShop        = "X-Shopify-Shop-Domain"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
	HeaderAPIVersion  = "X-Shopify-API-Version"
)

// Outcomes, the outcome label of webhook_deliveries_total.
const (
	OutcomeStored       = "stored"
	OutcomeDuplicate    = "duplicate"
	OutcomeBadSignature = "bad_signature"
	OutcomeTooLarge     = "too_large"
	OutcomeBadRequest   = "bad_request"
	OutcomeMediaType    = "unsupported_media_type"
	OutcomeUnknownTopic = "unknown_topic"
	OutcomeUnavailable  = "unavailable"
)

// Sign returns the X-Shopify-Hmac-Sha256 value of body under secret: the
// base64 HMAC-SHA256 of the raw bytes.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Options configure a Receiver.
type Options struct {
	// Inbox stores the deliveries; required.
	Inbox webhookinbox.Inbox
	// Secret is the app's client secret; required (New refuses an empty
	// one).
	Secret string
	// Topics are the subscribed topics; a delivery of another is refused.
	Topics []string
	// MaxBodyBytes caps a body; zero means webhookinbox.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger logs refusals (never a body or a header value); nil means none.
	Logger hclog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Receiver is an http.Handler receiving deliveries. Make one with New.
type Receiver struct {
	inbox   webhookinbox.Inbox
	secret  []byte
	topics  map[string]bool
	maxBody int64
	log     hclog.Logger
	now     func() time.Time

	reg        *prometheus.Registry
	deliveries *prometheus.CounterVec
	sigFails   prometheus.Counter
	duplicates prometheus.Counter
	lastPos    prometheus.Gauge
	lag        prometheus.Histogram
	storeTime  prometheus.Histogram
	gaps       prometheus.Counter

	mu            sync.Mutex
	refusingSince time.Time // first failed store of the current refusal, zero when storing
}

// ErrNoSecret is returned by New (test with errors.Is) without a secret.
var ErrNoSecret = errors.New("no webhook secret: the receiver cannot verify deliveries")

// New makes a receiver.
func New(o Options) (*Receiver, error) {
	if o.Secret == "" {
		return nil, ErrNoSecret
	}
	if o.Inbox == nil {
		return nil, errors.New("a webhook receiver needs an inbox")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = webhookinbox.DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Receiver{inbox: o.Inbox, secret: []byte(o.Secret), topics: map[string]bool{}, maxBody: o.MaxBodyBytes,
		log: o.Logger, now: o.Now, reg: prometheus.NewRegistry()}
	for _, t := range o.Topics {
		r.topics[t] = true
	}
	r.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "webhook_deliveries_total",
		Help: "Webhook deliveries answered, by topic (empty when unverified or unknown) and outcome."}, []string{"topic", "outcome"})
	r.sigFails = prometheus.NewCounter(prometheus.CounterOpts{Name: "webhook_signature_failures_total",
		Help: "Deliveries refused with 401: a missing or wrong X-Shopify-Hmac-Sha256."})
	r.duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "webhook_duplicates_total",
		Help: "Deliveries of an event already in the inbox (answered 200, not stored again)."})
	r.lastPos = prometheus.NewGauge(prometheus.GaugeOpts{Name: "webhook_inbox_last_position",
		Help: "The inbox position of the last event stored."})
	r.lag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "webhook_inbox_lag_seconds",
		Help:    "From X-Shopify-Triggered-At to stored in the inbox, per stored event.",
		Buckets: []float64{0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600}})
	r.storeTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "webhook_store_seconds",
		Help: "Time to store a delivery durably (the answer waits for it).", Buckets: prometheus.DefBuckets})
	r.gaps = prometheus.NewCounter(prometheus.CounterOpts{Name: "webhook_gaps_recorded_total",
		Help: "Spans the receiver recorded as not received (down, or inbox refusing)."})
	r.reg.MustRegister(r.deliveries, r.sigFails, r.duplicates, r.lastPos, r.lag, r.storeTime, r.gaps)
	return r, nil
}

// Handler serves deliveries on every path but /healthz and /metrics.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", r.health)
	mux.Handle("/metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	mux.Handle("/", r)
	return mux
}

// Registry returns the receiver's Prometheus registry (its own).
func (r *Receiver) Registry() *prometheus.Registry { return r.reg }

func (r *Receiver) health(w http.ResponseWriter, req *http.Request) {
	last, err := r.inbox.Last(req.Context())
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"status": "unavailable", "inbox": "cannot be read"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"status": "ok", "last_position": last})
}

func (r *Receiver) refuse(w http.ResponseWriter, code int, topic, outcome, msg string) {
	r.deliveries.WithLabelValues(topic, outcome).Inc()
	r.log.Debug("webhook delivery refused", "status", code, "outcome", outcome)
	http.Error(w, msg, code)
}

// ServeHTTP receives one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.refuse(w, http.StatusMethodNotAllowed, "", OutcomeBadRequest, "webhook deliveries are POSTed")
		return
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		r.refuse(w, http.StatusUnsupportedMediaType, "", OutcomeMediaType, "Content-Type must be application/json")
		return
	}
	if req.ContentLength > r.maxBody {
		r.refuse(w, http.StatusRequestEntityTooLarge, "", OutcomeTooLarge, "body over the limit")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r.refuse(w, http.StatusRequestEntityTooLarge, "", OutcomeTooLarge, "body over the limit")
			return
		}
		// A body shorter than its Content-Length, or a broken connection.
		r.refuse(w, http.StatusBadRequest, "", OutcomeBadRequest, "body could not be read in full")
		return
	}
	got, err := base64.StdEncoding.DecodeString(req.Header.Get(HeaderHmac))
	if err != nil || len(got) != sha256.Size || !hmac.Equal(got, r.mac(body)) {
		r.sigFails.Inc()
		r.refuse(w, http.StatusUnauthorized, "", OutcomeBadSignature, "signature missing or wrong")
		return
	}
	// Verified: now the headers and the body may be trusted and parsed.
	topic := req.Header.Get(HeaderTopic)
	if topic == "" {
		r.refuse(w, http.StatusBadRequest, "", OutcomeBadRequest, HeaderTopic+" is missing")
		return
	}
	if !r.topics[topic] {
		r.log.Warn("webhook delivery of a topic the pipeline does not subscribe refused; add it to webhooks.topics or delete the subscription")
		r.refuse(w, http.StatusUnprocessableEntity, "", OutcomeUnknownTopic, "topic not subscribed by this pipeline")
		return
	}
	ev := webhookinbox.Event{EventID: req.Header.Get(HeaderEventID), WebhookID: req.Header.Get(HeaderWebhookID), Topic: topic,
		ShopDomain: req.Header.Get(HeaderShop), APIVersion: req.Header.Get(HeaderAPIVersion), Payload: body}
	if ev.EventID == "" {
		ev.EventID = ev.WebhookID
	}
	if ev.EventID == "" {
		r.refuse(w, http.StatusBadRequest, topic, OutcomeBadRequest, HeaderEventID+" and "+HeaderWebhookID+" are missing")
		return
	}
	if !json.Valid(body) {
		r.refuse(w, http.StatusBadRequest, topic, OutcomeBadRequest, "body is not JSON")
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, req.Header.Get(HeaderTriggeredAt)); err == nil {
		ev.TriggeredAt = t.UTC()
	}
	start := r.now()
	ev.ReceivedAt = start.UTC()
	pos, dup, err := r.inbox.Append(req.Context(), ev)
	r.storeTime.Observe(r.now().Sub(start).Seconds())
	if err != nil {
		r.storeFailed(start)
		r.log.Error("webhook inbox could not store a delivery; answering 503 so Shopify retries", "topic", topic, "error", err)
		r.refuse(w, http.StatusServiceUnavailable, topic, OutcomeUnavailable, "inbox unavailable, retry later")
		return
	}
	r.storeWorked(req.Context(), start)
	if dup {
		r.duplicates.Inc()
		r.deliveries.WithLabelValues(topic, OutcomeDuplicate).Inc()
	} else {
		r.deliveries.WithLabelValues(topic, OutcomeStored).Inc()
		r.lastPos.Set(float64(pos))
		if !ev.TriggeredAt.IsZero() {
			r.lag.Observe(start.Sub(ev.TriggeredAt).Seconds())
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (r *Receiver) mac(body []byte) []byte {
	m := hmac.New(sha256.New, r.secret)
	m.Write(body)
	return m.Sum(nil)
}

func (r *Receiver) storeFailed(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refusingSince.IsZero() {
		r.refusingSince = at
	}
}

// storeWorked closes a refusal span, recording it as a gap.
func (r *Receiver) storeWorked(ctx context.Context, at time.Time) {
	r.mu.Lock()
	since := r.refusingSince
	r.refusingSince = time.Time{}
	r.mu.Unlock()
	if since.IsZero() {
		return
	}
	if err := r.inbox.RecordGap(ctx, webhookinbox.Gap{From: since, To: at, Reason: "inbox refusing"}); err != nil {
		r.log.Error("could not record a webhook gap", "error", err)
		return
	}
	r.gaps.Inc()
}

// Start records the receiver's own downtime and keeps a heartbeat: when
// the inbox's last heartbeat is older than twice every, the span from it
// to now is recorded as a gap ("receiver down"). It then records a
// heartbeat every interval until ctx ends. It returns once the first
// heartbeat is stored; the loop runs in the background.
func (r *Receiver) Start(ctx context.Context, every time.Duration) error {
	now := r.now()
	last, err := r.inbox.LastAlive(ctx)
	if err != nil {
		return err
	}
	if !last.IsZero() && now.Sub(last) > 2*every {
		if err := r.inbox.RecordGap(ctx, webhookinbox.Gap{From: last, To: now, Reason: "receiver down"}); err != nil {
			return err
		}
		r.gaps.Inc()
		r.log.Warn("the receiver was down; recorded the span as a gap for `sqlflow-host webhooks reconcile`",
			"from", last.UTC().Format(time.RFC3339), "to", now.UTC().Format(time.RFC3339))
	}
	if err := r.inbox.Alive(ctx, now); err != nil {
		return err
	}
	if last, err := r.inbox.Last(ctx); err == nil {
		r.lastPos.Set(float64(last))
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.inbox.Alive(ctx, r.now()); err != nil && ctx.Err() == nil {
					r.log.Warn("could not record the receiver's heartbeat", "error", err)
				}
			}
		}
	}()
	return nil
}
