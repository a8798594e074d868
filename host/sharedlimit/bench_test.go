package sharedlimit_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/host/sharedlimit"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// cpuTicks returns the user+system CPU of process pid in clock ticks
// (1/100 s), read from /proc; -1 when unreadable.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchStores opens procs stores ("processes"), each over a pool of one
// connection, on a schema of the benchmark's own; it returns them and the
// PostgreSQL backends' pids.
func benchStores(b *testing.B, procs int) ([]*sharedlimit.Store, []int) {
	dsn := testenv.Require(b, "SQLFLOW_TEST_POSTGRES", "a PostgreSQL DSN")
	ctx := context.Background()
	schema := fmt.Sprintf("sl_bench_%d", time.Now().UnixNano())
	fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var stores []*sharedlimit.Store
	var pids []int
	for range procs {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns, cfg.MinConns = 1, 1
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(p.Close)
		var pid int
		if err := p.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, pid)
		s, err := sharedlimit.Open(ctx, p, sharedlimit.Options{Schema: schema, Now: func() time.Time { return fixed }})
		if err != nil {
			b.Fatal(err)
		}
		stores = append(stores, s)
	}
	b.Cleanup(func() {
		if p, err := pgxpool.New(context.Background(), dsn); err == nil {
			_, _ = p.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			p.Close()
		}
	})
	return stores, pids
}

// runTakes has every store take b.N/len(stores) tokens of one key at
// perSecond (one goroutine a store, as one process each), and reports
// acquires/s, round trips/s and the CPU per 1000 acquires of this process
// and of the PostgreSQL backends.
func runTakes(b *testing.B, procs int, perSecond float64) {
	stores, pids := benchStores(b, procs)
	buckets := make([]interface {
		Take(context.Context, time.Time) (time.Time, error)
	}, procs)
	for i, s := range stores {
		buckets[i] = s.Bucket("host:bench", perSecond, 1)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var pg0 int64
	for _, p := range pids {
		pg0 += cpuTicks(p)
	}
	cpu0 := selfCPU()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + procs - 1) / procs
	for _, bk := range buckets {
		wg.Go(func() {
			for range per {
				if _, err := bk.Take(context.Background(), now); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	var pg1 int64
	for _, p := range pids {
		pg1 += cpuTicks(p)
	}
	st, _, err := stores[0].Stats(context.Background(), "host:bench")
	if err != nil {
		b.Fatal(err)
	}
	n := float64(per * procs)
	b.ReportMetric(n/el.Seconds(), "acquires/s")
	b.ReportMetric(float64(st.Leases)/el.Seconds(), "roundtrips/s")
	b.ReportMetric((selfCPU()-cpu0).Seconds()/n*1000, "client-cpu-s/1k")
	if pg0 >= 0 {
		b.ReportMetric(float64(pg1-pg0)/100/n*1000, "pg-cpu-s/1k")
	}
}

// BenchmarkAcquire measures shared-limit acquires against real PostgreSQL:
// "roundtrip" leases one token a time (a rate of 1/s: the cost of the
// statement itself), "leased" 10 at a time (20/s with the default 0.5 s
// horizon), each by 1 and by 4 processes contending for one key's row.
func BenchmarkAcquire(b *testing.B) {
	for _, c := range []struct {
		name  string
		rate  float64
		procs int
	}{
		{"roundtrip/procs=1", 1, 1},
		{"roundtrip/procs=4", 1, 4},
		{"leased10/procs=1", 20, 1},
		{"leased10/procs=4", 20, 4},
	} {
		b.Run(c.name, func(b *testing.B) { runTakes(b, c.procs, c.rate) })
	}
}
