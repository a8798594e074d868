//go:build unix

package csvconn

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// BenchmarkReadPageFile reads the csv file SQLFLOW_BENCH_CSV_FILE through
// the connector in process, page by page to the end, as
// BenchmarkReadPage does: for the files of bench/ (13 columns of every
// inferred type, see docs/benchmarks.md), e.g.
//
//	SQLFLOW_BENCH_CSV_FILE=$TMPDIR/sqlflow-bench/csv-v1-268435456/orders.csv \
//	  go test -run '^$' -bench ReadPageFile -benchtime 3x ./plugins/csv/csvconn/
func BenchmarkReadPageFile(b *testing.B) {
	path := os.Getenv("SQLFLOW_BENCH_CSV_FILE")
	if path == "" {
		b.Skip("set SQLFLOW_BENCH_CSV_FILE to a csv file to read")
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	c := New(hclog.NewNullLogger())
	raw, _ := json.Marshal(map[string]any{"path": path})
	if ferrs, err := c.Configure(context.Background(), raw); err != nil || len(ferrs) > 0 {
		b.Fatal(ferrs, err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		req := sdk.ReadRequest{}
		for {
			p, err := c.ReadPage(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			if p.Records != nil {
				p.Records.Release()
			}
			if p.Done {
				break
			}
			req.Checkpoint = p.Checkpoint
		}
	}
	reportCPU(b, cpu)
}
