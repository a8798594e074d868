package webhooks_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/webhooks"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// BenchmarkReceiver measures a delivery's round trip through the real
// HTTP server into the bolt inbox (verified, stored durably, answered) from
// 64 concurrent senders, with 4 KiB bodies. ns/op is the throughput's
// inverse; p99-ms is the 99th percentile of one delivery's answer time
// (Shopify waits 5 s).
func BenchmarkReceiver(b *testing.B) {
	in, err := webhookinbox.OpenBolt(filepath.Join(b.TempDir(), "inbox.db"), webhookinbox.BoltOptions{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	r, err := webhooks.New(webhooks.Options{Inbox: in, Secret: secret, Topics: []string{"orders/create"}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptestServer(r)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	pad := strings.Repeat("x", 4096)
	var n atomic.Int64
	var mu sync.Mutex
	var took []time.Duration
	b.SetParallelism(32) // 64 senders on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := []byte(fmt.Sprintf(`{"id":%d,"note":%q}`, i, pad))
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(webhooks.HeaderHmac, webhooks.Sign(secret, body))
			req.Header.Set(webhooks.HeaderTopic, "orders/create")
			req.Header.Set(webhooks.HeaderEventID, fmt.Sprint("bench-", i))
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			took = append(took, time.Since(start))
			mu.Unlock()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	slices.Sort(took)
	if len(took) > 0 {
		b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func httptestServer(r *webhooks.Receiver) *httptest.Server { return httptest.NewServer(r.Handler()) }
