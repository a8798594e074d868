package memconn_test

import (
	"context"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// BenchmarkGenerate measures the generator building full default pages
// (65536 rows) into Arrow; it reports rows/s.
func BenchmarkGenerate(b *testing.B) {
	c := configured(b, `{"generate": {"rows": 10000000, "seed": 1}}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	var req sdk.ReadRequest
	for b.Loop() {
		p, err := c.ReadPage(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		total += p.Records.NumRows()
		p.Records.Release()
		req.Checkpoint = p.Checkpoint
		if p.Done {
			req.Checkpoint = nil
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
}
