//go:build unix

package csvscan

import (
	"bytes"
	"io"
	"strconv"
	"syscall"
	"testing"
)

// benchCSV returns about size bytes of CSV with a header, the rows of
// plugins/csv/csvconn's benchmarks: an int64 id, a customer name, a float
// amount, a date and a note. With quoted, every name is quoted and holds
// a delimiter and a doubled quote.
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
// has used; the benchmarks report it per operation (cpu-ns/op) beside the
// wall time, the steadier figure on a shared machine.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkScan splits 16 MiB of CSV into records with UTF-8 checked:
// plain rows, and rows with a quoted field holding a delimiter and a
// doubled quote; in-buffer path and byte loop.
func BenchmarkScan(b *testing.B) {
	for _, quoted := range []bool{false, true} {
		data := benchCSV(16<<20, quoted)
		for _, loop := range []bool{false, true} {
			name := map[bool]string{false: "plain", true: "quoted"}[quoted] + map[bool]string{false: "", true: "/byteloop"}[loop]
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					s := New(bytes.NewReader(data), Options{Delimiter: ',', Quote: '"', Encoding: UTF8, ByteLoopOnly: loop}, 0, 1)
					for {
						if _, err := s.Next(); err == io.EOF {
							break
						} else if err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
