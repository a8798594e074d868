package parquetconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/parquet/parquetconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "sku", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// benchBatch is a batch of n rows from row first, about 60 bytes of Arrow
// data a row; the same first gives the same rows.
func benchBatch(first int64, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, benchSchema)
	defer b.Release()
	for i := first; i < first+int64(n); i++ {
		h := uint64(i) * 0x9E3779B97F4A7C15
		b.Field(0).(*array.Int64Builder).Append(i)
		if h%5 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Float64Builder).Append(float64(h%100000) / 100)
		}
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("SKU-%06d", h%50000))
		b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("customer %d", h%1000003))
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(h%1_000_000_000)))
		b.Field(5).(*array.BooleanBuilder).Append(h%2 == 0)
	}
	return b.NewRecordBatch()
}

// BenchmarkDestinationWrite writes rows (zstd, the default row groups) in
// batches of 65,536 rows through WriteBatch and CommitWrite, at two sizes:
// peak_heap_MB (the largest HeapInuse seen after a WriteBatch or the
// commit) must not grow with the size, and commit_s shows that the commit
// only finishes the last row group.
//
//	go test -run '^$' -bench DestinationWrite -benchtime 1x ./plugins/parquet/parquetconn/
func BenchmarkDestinationWrite(b *testing.B) {
	const batchRows = 65536
	for _, rows := range []int64{2_000_000, 8_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			ctx := context.Background()
			batches := make([]arrow.RecordBatch, 8) // reused: generating rows is not what is measured
			for i := range batches {
				batches[i] = benchBatch(int64(i)*batchRows, batchRows)
				defer batches[i].Release()
			}
			var peak uint64
			sample := func() {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			var commit time.Duration
			cpu0 := cpuSeconds()
			for n := range b.N {
				dir := b.TempDir()
				c := configureB(b, map[string]any{"path": dir})
				id := fmt.Sprintf("w%d", n)
				if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: id, Flow: "bench", Target: "t", Schema: benchSchema, Mode: sdk.ModeReplace}); err != nil {
					b.Fatal(err)
				}
				seq := int64(0)
				for written := int64(0); written < rows; written += batchRows {
					seq++
					if err := c.WriteBatch(ctx, id, seq, batches[int(seq)%len(batches)]); err != nil {
						b.Fatal(err)
					}
					sample()
				}
				began := time.Now()
				if err := c.CommitWrite(ctx, id, nil); err != nil {
					b.Fatal(err)
				}
				commit += time.Since(began)
				sample()
			}
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu_s")
			b.ReportMetric(float64(peak)/(1<<20), "peak_heap_MB")
			b.ReportMetric(commit.Seconds()/float64(b.N), "commit_s")
			b.ReportMetric(float64(rows*int64(b.N))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func configureB(b *testing.B, cfg map[string]any) connector {
	b.Helper()
	c := parquetconn.New(hclog.NewNullLogger())
	raw, _ := json.Marshal(cfg)
	if ferrs, err := c.Configure(context.Background(), raw); err != nil || len(ferrs) > 0 {
		b.Fatalf("Configure(%s) = %v, %v", raw, ferrs, err)
	}
	return c
}

// cpuSeconds is the user and system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
