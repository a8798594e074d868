package shopifytest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"time"
)

// Webhook is one event a Sender delivers.
type Webhook struct {
	// Topic is X-Shopify-Topic, e.g. orders/create.
	Topic string
	// EventID is X-Shopify-Event-Id (the same for every delivery of the
	// event); WebhookID is X-Shopify-Webhook-Id.
	EventID, WebhookID string
	// TriggeredAt is X-Shopify-Triggered-At.
	TriggeredAt time.Time
	// Body is the JSON payload.
	Body []byte
	// BadSignature signs the body with another secret.
	BadSignature bool
}

// Result is how a delivery ended.
type Result struct {
	// Status is the last answer's HTTP status (0: no answer).
	Status int
	// Attempts counts the requests made.
	Attempts int
	// Delivered reports a 2xx answer.
	Delivered bool
}

// ShopifyRetryWindow is how long Shopify keeps retrying a failed
// delivery: 8 retries over 4 hours.
const ShopifyRetryWindow = 4 * time.Hour

// RetrySchedule returns Shopify's retry waits (8, growing exponentially
// by doubling, summing to ShopifyRetryWindow) divided by compress, so a
// test can live through Shopify's four hours in seconds.
func RetrySchedule(compress float64) []time.Duration {
	const retries = 8
	first := float64(ShopifyRetryWindow) / float64(1<<retries-1) // doubling: first × (2^8 − 1) = 4 h
	out := make([]time.Duration, retries)
	for i := range out {
		out[i] = time.Duration(first * float64(int(1)<<i) / compress)
	}
	return out
}

// Sender delivers webhooks as Shopify does: a POST of the JSON body with
// Shopify's headers and an HMAC-SHA256 signature, an answer awaited for
// Timeout, and on anything but 2xx (or no answer) retries after each wait
// of Schedule, then it gives up.
type Sender struct {
	// URL is the subscription's address.
	URL string
	// Secret is the app's client secret.
	Secret string
	// Shop is X-Shopify-Shop-Domain; APIVersion is X-Shopify-API-Version.
	Shop, APIVersion string
	// Schedule is the waits before each retry; nil means no retry.
	Schedule []time.Duration
	// Timeout is how long an answer is awaited; zero means Shopify's 5 s.
	Timeout time.Duration
	// Client sends the requests; nil means a new one.
	Client *http.Client
}

// Sign returns the X-Shopify-Hmac-Sha256 of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Deliver sends w until it is answered 2xx or the schedule is spent (or
// ctx ends).
func (s *Sender) Deliver(ctx context.Context, w Webhook) Result {
	var r Result
	for i := 0; ; i++ {
		r.Attempts++
		r.Status = s.attempt(ctx, w)
		if r.Status >= 200 && r.Status < 300 {
			r.Delivered = true
			return r
		}
		if i >= len(s.Schedule) {
			return r
		}
		t := time.NewTimer(s.Schedule[i])
		select {
		case <-ctx.Done():
			t.Stop()
			return r
		case <-t.C:
		}
	}
}

func (s *Sender) attempt(ctx context.Context, w Webhook) int {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(w.Body))
	if err != nil {
		return 0
	}
	secret := s.Secret
	if w.BadSignature {
		secret = "not-" + secret
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Hmac-Sha256", Sign(secret, w.Body))
	h.Set("X-Shopify-Topic", w.Topic)
	h.Set("X-Shopify-Shop-Domain", s.Shop)
	h.Set("X-Shopify-API-Version", s.APIVersion)
	h.Set("X-Shopify-Webhook-Id", w.WebhookID)
	h.Set("X-Shopify-Event-Id", w.EventID)
	h.Set("X-Shopify-Triggered-At", w.TriggeredAt.UTC().Format(time.RFC3339Nano))
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
