package main_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/plugins/postgres/pgsql"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
)

// BenchmarkE2EPostgres measures, on one generated table of
// SQLFLOW_BENCH_PG_ROWS rows (default 5,000,000) of mixed types:
//
//   - psql's own COPY out (`\copy (select …) to '/dev/null'`);
//   - a bare in-process pgx loop (rows.Scan into Go values, appended to
//     Arrow builders of the same schema);
//   - the connector in-process (ReadPage to the end, pages encoded as
//     Arrow IPC as the SDK does, no gRPC);
//   - postgres → memory through the CLI and the plugin processes;
//   - psql's `\copy t from 'file.csv' csv header` against csv → postgres
//     through the CLI and the plugins.
//
// It needs SQLFLOW_BENCH_E2E=1 and SQLFLOW_TEST_POSTGRES, psql on PATH,
// and about 2 GB of disk in TMPDIR. Run it with
//
//	SQLFLOW_BENCH_E2E=1 go test -run '^$' -bench E2EPostgres -benchtime 1x -timeout 60m ./plugins/postgres/
//
// Each figure is printed as a table (rows/s, MB/s, peak RSS of the host
// and the plugins) and reported as benchmark metrics.
func BenchmarkE2EPostgres(b *testing.B) {
	if os.Getenv("SQLFLOW_BENCH_E2E") != "1" {
		b.Skip("set SQLFLOW_BENCH_E2E=1 to run the end-to-end postgres benchmark")
	}
	dsn := testenv.Postgres(b)
	rows := int64(5_000_000)
	if s := os.Getenv("SQLFLOW_BENCH_PG_ROWS"); s != "" {
		rows, _ = strconv.ParseInt(s, 10, 64)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	schema := "bench_" + randHex()
	mustExec(b, conn, "CREATE SCHEMA "+schema)
	defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	table := schema + ".src"
	start := time.Now()
	mustExec(b, conn, `CREATE TABLE `+table+` (id bigint PRIMARY KEY, qty int, price numeric(12,2), score double precision,
	  name text, created_at timestamptz, day date, active boolean)`)
	mustExec(b, conn, `INSERT INTO `+table+` SELECT i, (i % 1000)::int, (i % 100000) / 100.0, i * 0.001,
	  'customer ' || (i % 50000) || ' ' || md5(i::text), timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',
	  date '2020-01-01' + (i % 2000)::int, i % 3 = 0 FROM generate_series(1, `+strconv.FormatInt(rows, 10)+`) i`)
	mustExec(b, conn, "VACUUM ANALYZE "+table)
	var load1 string
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		load1 = strings.Fields(string(l))[0]
	}
	b.Logf("generated %d rows in %.1fs; load average %s on %d cores", rows, time.Since(start).Seconds(), load1, numCPU())

	var results []benchResult
	report := func(r benchResult) {
		results = append(results, r)
		b.ReportMetric(r.rowsPerSec(), strings.ReplaceAll(r.name, " ", "_")+"_rows/s")
	}
	var copyBytes int64
	{
		// psql's text COPY of the same rows, once to count its bytes, then timed.
		out, err := exec.CommandContext(ctx, "sh", "-c", `psql "$1" -Atc "COPY (SELECT * FROM $2) TO STDOUT" | wc -c`, "sh", dsn, table).Output()
		if err == nil {
			copyBytes, _ = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		}
		t0 := time.Now()
		if out, err := exec.CommandContext(ctx, "psql", dsn, "-qc", `\copy (select * from `+table+`) to '/dev/null'`).CombinedOutput(); err != nil {
			b.Fatalf("psql copy out: %v\n%s", err, out)
		}
		report(benchResult{name: "psql copy out", rows: rows, bytes: copyBytes, elapsed: time.Since(t0), note: "text COPY bytes"})
	}
	var arrowBytes int64
	{
		t0 := time.Now()
		n, err := barePgx(ctx, conn, table)
		if err != nil {
			b.Fatal(err)
		}
		report(benchResult{name: "bare pgx scan to arrow", rows: n, elapsed: time.Since(t0)})
	}
	{
		c := pgsql.New(nil)
		defer c.Close()
		if fe, err := c.Configure(ctx, []byte(fmt.Sprintf(`{"dsn": %q, "schema": %q}`, dsn, schema))); err != nil || len(fe) > 0 {
			b.Fatal(fe, err)
		}
		t0 := time.Now()
		req := sdk.ReadRequest{Stream: table, MaxRows: 1 << 20, MaxBytes: 8 << 20}
		var n int64
		for {
			p, err := c.ReadPage(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			data, err := arrowipc.EncodeRecord(p.Records)
			if err != nil {
				b.Fatal(err)
			}
			arrowBytes += int64(len(data))
			n += p.Records.NumRows()
			p.Records.Release()
			if p.Done {
				break
			}
			req.Checkpoint = p.Checkpoint
		}
		report(benchResult{name: "connector in-process", rows: n, bytes: arrowBytes, elapsed: time.Since(t0), note: "Arrow IPC bytes"})
	}
	bin := buildBinaries(b)
	dir := b.TempDir()
	{
		p := filepath.Join(dir, "pg_to_memory.yaml")
		writeFileB(b, p, fmt.Sprintf(`version: 1
sources:
  pg: {type: postgres, dsn: %q, schema: %s, table: src}
destinations:
  sink: {type: memory}
flows:
  - {from: pg, to: sink, target: src}
`, dsn, schema))
		r := runHost(ctx, b, bin, p, "postgres → memory via plugins")
		r.rows, r.bytes, r.note = rows, arrowBytes, "Arrow IPC bytes"
		report(r)
	}
	{
		// The same without the numeric column, read through a query with a
		// key: the memory destination checksums every row, and its
		// checksum of decimal128 values (through big.Float text) costs
		// more than the whole read; this run shows the connector's path
		// without it.
		p := filepath.Join(dir, "pg_to_memory_nonum.yaml")
		writeFileB(b, p, fmt.Sprintf(`version: 1
sources:
  pg: {type: postgres, dsn: %q, schema: %s, query: "SELECT id, qty, score, name, created_at, day, active FROM src", key: id}
destinations:
  sink: {type: memory}
flows:
  - {from: pg, to: sink, target: src}
`, dsn, schema))
		r := runHost(ctx, b, bin, p, "postgres → memory, no numeric")
		r.rows, r.note = rows, "(7 of 8 columns)"
		report(r)
		t0 := time.Now()
		if out, err := exec.CommandContext(ctx, "psql", dsn, "-qc", `\copy (select id, qty, score, name, created_at, day, active from `+table+`) to '/dev/null'`).CombinedOutput(); err != nil {
			b.Fatalf("psql copy out: %v\n%s", err, out)
		}
		report(benchResult{name: "psql copy out, no numeric", rows: rows, elapsed: time.Since(t0), note: "(7 of 8 columns)"})
	}
	{
		csvPath := filepath.Join(dir, "src.csv")
		if out, err := exec.CommandContext(ctx, "psql", dsn, "-qc", `\copy (select * from `+table+` order by id) to '`+csvPath+`' csv header`).CombinedOutput(); err != nil {
			b.Fatalf("psql copy to csv: %v\n%s", err, out)
		}
		st, _ := os.Stat(csvPath)
		mustExec(b, conn, "CREATE TABLE "+schema+".psql_in (LIKE "+table+")")
		t0 := time.Now()
		if out, err := exec.CommandContext(ctx, "psql", dsn, "-qc", `\copy `+schema+`.psql_in from '`+csvPath+`' csv header`).CombinedOutput(); err != nil {
			b.Fatalf("psql copy in: %v\n%s", err, out)
		}
		report(benchResult{name: "psql copy in csv", rows: rows, bytes: st.Size(), elapsed: time.Since(t0), note: "CSV bytes"})
		p := filepath.Join(dir, "csv_to_pg.yaml")
		writeFileB(b, p, fmt.Sprintf(`version: 1
sources:
  f: {type: csv, path: %q}
destinations:
  pg: {type: postgres, dsn: %q, schema: %s}
flows:
  - {from: f, to: pg, target: csv_in, mode: append}
`, csvPath, dsn, schema))
		r := runHost(ctx, b, bin, p, "csv → postgres via plugins")
		r.rows, r.bytes, r.note = rows, st.Size(), "CSV bytes"
		report(r)
		var got int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+".csv_in").Scan(&got); err != nil || got != rows {
			b.Errorf("csv → postgres wrote %d rows (%v), want %d", got, err, rows)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-28s %10s %9s %12s %9s %14s %14s  %s\n", "run", "rows", "seconds", "rows/s", "MB/s", "host RSS MiB", "plugin RSS MiB", "bytes counted")
	for _, r := range results {
		fmt.Fprintf(&sb, "%-28s %10d %9.2f %12.0f %9.1f %14s %14s  %s\n", r.name, r.rows, r.elapsed.Seconds(), r.rowsPerSec(), r.mbPerSec(), mib(r.hostRSS), r.pluginRSS, r.note)
	}
	b.Log(sb.String())
	fmt.Fprint(os.Stderr, sb.String())
}

type benchResult struct {
	name      string
	rows      int64
	bytes     int64
	elapsed   time.Duration
	hostRSS   int64
	pluginRSS string
	note      string
}

func (r benchResult) rowsPerSec() float64 { return float64(r.rows) / r.elapsed.Seconds() }
func (r benchResult) mbPerSec() float64 {
	return float64(r.bytes) / (1 << 20) / r.elapsed.Seconds()
}

func mib(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n>>20, 10)
}

func numCPU() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func mustExec(b testing.TB, conn *pgx.Conn, sql string) {
	b.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}

func writeFileB(b testing.TB, p, s string) {
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		b.Fatal(err)
	}
}

// barePgx reads the table with one pgx query, scanning each row into Go
// values and appending them to Arrow builders of the connector's schema,
// one record batch per 65,536 rows.
func barePgx(ctx context.Context, conn *pgx.Conn, table string) (int64, error) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	rows, err := conn.Query(ctx, "SELECT id, qty, price, score, name, created_at, day, active FROM "+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		n       int64
		id      int64
		qty     pgtype.Int4
		price   pgtype.Numeric
		score   pgtype.Float8
		name    pgtype.Text
		created pgtype.Timestamptz
		day     pgtype.Date
		active  pgtype.Bool
	)
	for rows.Next() {
		if err := rows.Scan(&id, &qty, &price, &score, &name, &created, &day, &active); err != nil {
			return n, err
		}
		rb.Field(0).(*array.Int64Builder).Append(id)
		appendOr(rb.Field(1), qty.Valid, func() { rb.Field(1).(*array.Int32Builder).Append(qty.Int32) })
		appendOr(rb.Field(2), price.Valid, func() {
			v := decimal128.FromBigInt(price.Int)
			if price.Exp+2 > 0 {
				v = v.IncreaseScaleBy(price.Exp + 2)
			} else if price.Exp+2 < 0 {
				v = v.ReduceScaleBy(-(price.Exp + 2), false)
			}
			rb.Field(2).(*array.Decimal128Builder).Append(v)
		})
		appendOr(rb.Field(3), score.Valid, func() { rb.Field(3).(*array.Float64Builder).Append(score.Float64) })
		appendOr(rb.Field(4), name.Valid, func() { rb.Field(4).(*array.StringBuilder).Append(name.String) })
		appendOr(rb.Field(5), created.Valid, func() {
			rb.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(created.Time.UnixMicro()))
		})
		appendOr(rb.Field(6), day.Valid, func() { rb.Field(6).(*array.Date32Builder).Append(arrow.Date32FromTime(day.Time)) })
		appendOr(rb.Field(7), active.Valid, func() { rb.Field(7).(*array.BooleanBuilder).Append(active.Bool) })
		n++
		if n%65536 == 0 {
			rb.NewRecordBatch().Release()
		}
	}
	rb.NewRecordBatch().Release()
	return n, rows.Err()
}

func appendOr(b array.Builder, valid bool, f func()) {
	if valid {
		f()
	} else {
		b.AppendNull()
	}
}

// buildBinaries builds the host and the plugins into a directory.
func buildBinaries(b testing.TB) string {
	dir := b.TempDir()
	root, _ := filepath.Abs("../..")
	pdir := filepath.Join(dir, "plugins")
	os.MkdirAll(pdir, 0o755)
	os.Chmod(dir, 0o755)
	for _, p := range []struct{ out, pkg string }{
		{filepath.Join(dir, "sqlflow-host"), "./cmd/sqlflow-host"},
		{filepath.Join(pdir, "sqlflow-plugin-postgres"), "./plugins/postgres"},
		{filepath.Join(pdir, "sqlflow-plugin-memory"), "./plugins/memory"},
		{filepath.Join(pdir, "sqlflow-plugin-csv"), "./plugins/csv"},
	} {
		cmd := exec.Command("go", "build", "-o", p.out, p.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", p.pkg, err, out)
		}
	}
	return dir
}

// runHost runs `sqlflow-host run` on a pipeline, sampling the peak RSS
// (VmHWM) of the host and of each plugin process every 50 ms.
func runHost(ctx context.Context, b testing.TB, bin, pipeline, name string) benchResult {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"), "run", pipeline)
	cmd.Dir = filepath.Dir(pipeline)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	peaks := map[string]int64{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for pid, comm := range descendants(cmd.Process.Pid) {
				if hwm := vmHWM(pid); hwm > 0 {
					mu.Lock()
					if hwm > peaks[comm] {
						peaks[comm] = hwm
					}
					mu.Unlock()
				}
			}
		}
	}()
	err := cmd.Wait()
	elapsed := time.Since(t0)
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatalf("%s: %v\n%s", name, err, out.String())
	}
	r := benchResult{name: name, elapsed: elapsed, hostRSS: peaks["sqlflow-host"]}
	var parts []string
	for comm, v := range peaks {
		if comm != "sqlflow-host" {
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(comm, "sqlflow-plugin-"), v>>20))
		}
	}
	r.pluginRSS = strings.Join(parts, ", ")
	return r
}

// descendants returns pid and its descendants with their command names.
func descendants(root int) map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	comm := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if _, ok := strings.CutPrefix(line, "Name:"); ok {
				// Name is cut to 15 bytes ("sqlflow-plugin-"); use argv[0].
				cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				comm[pid] = filepath.Base(strings.SplitN(string(cl), "\x00", 2)[0])
			}
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				parent[pid], _ = strconv.Atoi(strings.TrimSpace(v))
				break
			}
		}
		f.Close()
	}
	for pid := range comm {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				out[pid] = comm[pid]
				break
			}
		}
	}
	return out
}

// vmHWM returns a process's peak resident set size in bytes, or 0.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// BenchmarkPostgresRead reads an existing table (SQLFLOW_BENCH_PG_TABLE,
// schema.table, in SQLFLOW_TEST_POSTGRES) with the connector in-process,
// pages encoded to Arrow IPC as the SDK does: the connector's own cost,
// for profiling without generating a table each time:
//
//	SQLFLOW_BENCH_PG_TABLE=perf.src go test -run '^$' -bench PostgresRead -benchtime 1x -cpuprofile /tmp/cpu.out ./plugins/postgres/
func BenchmarkPostgresRead(b *testing.B) {
	table := os.Getenv("SQLFLOW_BENCH_PG_TABLE")
	if table == "" {
		b.Skip("set SQLFLOW_BENCH_PG_TABLE=schema.table to read an existing table")
	}
	dsn := testenv.Postgres(b)
	ctx := context.Background()
	schema, _, _ := strings.Cut(table, ".")
	for range b.N {
		c := pgsql.New(nil)
		if fe, err := c.Configure(ctx, []byte(fmt.Sprintf(`{"dsn": %q, "schema": %q}`, dsn, schema))); err != nil || len(fe) > 0 {
			b.Fatal(fe, err)
		}
		t0 := time.Now()
		req := sdk.ReadRequest{Stream: table, MaxRows: 1 << 20, MaxBytes: 8 << 20}
		var n, size int64
		for {
			p, err := c.ReadPage(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			data, err := arrowipc.EncodeRecord(p.Records)
			if err != nil {
				b.Fatal(err)
			}
			size += int64(len(data))
			n += p.Records.NumRows()
			p.Records.Release()
			if p.Done {
				break
			}
			req.Checkpoint = p.Checkpoint
		}
		el := time.Since(t0)
		c.Close()
		b.ReportMetric(float64(n)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(size)/(1<<20)/el.Seconds(), "MB/s")
	}
}
