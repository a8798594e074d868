//go:build unix

package csvconn

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// benchCSV returns about size bytes of CSV with a header: an int64 id, a
// customer name, a float amount, a date and a note. With quoted, every
// name is quoted and holds a delimiter and a doubled quote, so records
// take the byte loop instead of the fast path.
func benchCSV(size int, quoted bool) []byte {
	var b bytes.Buffer
	b.Grow(size + 128)
	b.WriteString("id,name,amount,day,note\n")
	for i := 0; b.Len() < size; i++ {
		b.WriteString(strconv.Itoa(i))
		if quoted {
			b.WriteString(`,"customer ""`)
			b.WriteString(strconv.Itoa(i % 50000))
			b.WriteString(`"", inc",`)
		} else {
			b.WriteString(",customer ")
			b.WriteString(strconv.Itoa(i % 50000))
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i % 1000))
		b.WriteString(".25,2024-05-")
		b.WriteByte(byte('1' + i%9))
		b.WriteString(",some note text of moderate length\n")
	}
	return b.Bytes()
}

// cpuTime is the CPU time (user and system, every thread) the process
// has used. The benchmarks report it per operation (cpu-ns/op) beside the
// wall time: on a machine shared with other work, CPU time is the steadier
// figure to compare before and after a change.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU reports the CPU time since start per operation.
func reportCPU(b *testing.B, start int64) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRecordReader splits 16 MiB of CSV into records, the fast path
// (plain) and the byte loop (quoted): the reader alone, as the record-size
// cap touches it.
func BenchmarkRecordReader(b *testing.B) {
	for _, quoted := range []bool{false, true} {
		name := "plain"
		if quoted {
			name = "quoted"
		}
		data := benchCSV(16<<20, quoted)
		b.Run(name, func(b *testing.B) {
			cfg, _ := parseConfig(json.RawMessage(`{"path": "x.csv"}`))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				p := newRecordReader(bytes.NewReader(data), cfg, 0, 1)
				for {
					if _, _, _, err := p.read(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkReadPage reads a 16 MiB file through the connector in process,
// page by page to the end (typed columns, Arrow batches of the default
// page size).
func BenchmarkReadPage(b *testing.B) {
	data := benchCSV(16<<20, false)
	path := filepath.Join(b.TempDir(), "orders.csv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	c := New(hclog.NewNullLogger())
	raw, _ := json.Marshal(map[string]any{"path": path})
	if ferrs, err := c.Configure(context.Background(), raw); err != nil || len(ferrs) > 0 {
		b.Fatal(ferrs, err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		req := sdk.ReadRequest{Stream: "orders"}
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
