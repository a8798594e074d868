package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/bench"
)

// report collects what run prints at the end.
type report struct {
	rows    []string // measurement table rows
	targets []string // target table rows
	notes   []string
}

func (r *report) side(id, flow, name string, ms []measure, extra string) {
	s := statsOf(ms)
	for _, m := range ms {
		if m.Unreaped() {
			r.notes = append(r.notes, fmt.Sprintf("pair %s, %s: a process outlived its parent or was not reaped (sampled %.2f CPU-s > reaped %.2f); its CPU was counted from /proc samples.",
				id, name, m.SampledCPU, m.ReapedCPU))
			break
		}
	}
	r.rows = append(r.rows, fmt.Sprintf("| %s | %s | %s | %.2f (%.2f–%.2f) | %.2f | %.0f | %.1f | %s |",
		id, flow, name, s.wall, s.wallMin, s.wallMax, s.cpu, s.rss, s.others, extra))
}

func (r *report) pair(res result) {
	r.side(res.id, res.flow, res.peer.name, res.peerRuns, serverNote(res.peerRuns))
	r.side(res.id, res.flow, res.ours.name, res.oursRuns, serverNote(res.oursRuns))
	w, c, m := res.ratios()
	r.rows = append(r.rows, fmt.Sprintf("| %s | %s | **%s ÷ %s** | **%.2f×** | **%.2f×** | %.2f× | | median of %d pair ratios |",
		res.id, res.flow, res.ours.name, res.peer.name, w, c, m, len(res.peerRuns)))
}

func (r *report) target(id, what, measured string, met bool) {
	v := "**no**"
	if met {
		v = "yes"
	}
	r.targets = append(r.targets, fmt.Sprintf("| %s | %s | %s | %s |", id, what, measured, v))
}

// figure is a target row that only reports a figure.
func (r *report) figure(id, what, measured string) {
	v := "(a figure, no target)"
	r.targets = append(r.targets, fmt.Sprintf("| %s | %s | %s | %s |", id, what, measured, v))
}

func (r *report) skip(id, why string) {
	line := fmt.Sprintf("pair %s skipped: %s", id, why)
	logf("%s", line)
	r.notes = append(r.notes, line)
}

func run(ctx context.Context, repo string) error {
	if repo == "" {
		var err error
		if repo, err = findRepo(); err != nil {
			return err
		}
	}
	repo, _ = filepath.Abs(repo)
	cfg, err := loadConfig(repo)
	if err != nil {
		return err
	}
	began := time.Now()
	bins, err := build(ctx, repo)
	defer os.RemoveAll(bins.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(bench.CacheDir(), 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(bench.CacheDir(), "peers-work-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	rep := &report{}
	var csv, pq input
	withS3 := cfg.wants("s3") && cfg.s3.set()
	if cfg.wants("csv") || cfg.wants("parquet") || withS3 {
		if csv, err = csvRows(cfg.rows); err != nil {
			return err
		}
	}
	if cfg.wants("parquet") || withS3 {
		if pq, err = parquetOf(ctx, bins, work, csv); err != nil {
			return err
		}
	}
	n := cfg.pairs
	ours := func(src func(string) map[string]any, dst func(string) map[string]any, target string) side {
		return side{name: "sqlflow-host", run: func(ctx context.Context, dir string) (measure, error) {
			return runSQLFlow(ctx, bins, dir, src(dir), dst(dir), target)
		}}
	}
	duck := func(stmt func(dir string) string) side {
		return side{name: fmt.Sprintf("DuckDB (%d threads)", cfg.threads), run: func(ctx context.Context, dir string) (measure, error) {
			return runDuckDB(ctx, bins, cfg.threads, stmt(dir))
		}}
	}
	parquetDst := func(dir string) map[string]any {
		return map[string]any{"type": "parquet", "path": filepath.Join(dir, "out")}
	}
	csvDst := func(dir string) map[string]any {
		return map[string]any{"type": "csv", "path": filepath.Join(dir, "out")}
	}
	csvSrc := func(string) map[string]any { return csvSource(csv) }
	pqSrc := func(string) map[string]any { return map[string]any{"type": "parquet", "path": pq.path} }
	rowsLabel := fmt.Sprintf("%s rows", group(cfg.rows))

	// Each section is one pair of issue 18; a section that fails is
	// reported in the notes and the others still run.
	failed := 0
	section := func(name string, f func() error) {
		if !cfg.wants(name) || ctx.Err() != nil {
			return
		}
		if err := f(); err != nil {
			failed++
			logf("%s failed: %v", name, err)
			first, _, _ := strings.Cut(err.Error(), "\n")
			rep.notes = append(rep.notes, fmt.Sprintf("section %s FAILED (its rows are missing above): %s", name, first))
		}
	}

	// 1. csv → parquet against DuckDB.
	section("csv", func() error {
		warm(csv.path)
		res, err := runPair(ctx, work, pair{
			id: "1", flow: fmt.Sprintf("csv → parquet (zstd), %s, %.0f MiB", rowsLabel, mib(csv.bytes)), rows: csv.rows,
			peer: duck(func(dir string) string {
				return fmt.Sprintf("COPY (FROM read_csv(%s)) TO %s (FORMAT parquet, COMPRESSION zstd)",
					sqlString(csv.path), sqlString(filepath.Join(dir, "orders.parquet")))
			}),
			ours: ours(csvSrc, parquetDst, "orders.parquet"),
		}, n)
		if err != nil {
			return err
		}
		rep.pair(res)
		w, c, _ := res.ratios()
		rep.target("1", "csv → parquet: wall ≤ 1.5× DuckDB's", fmt.Sprintf("%.2f×", w), w <= 1.5)
		rep.target("1", "csv → parquet: CPU ≤ 2× DuckDB's", fmt.Sprintf("%.2f×", c), c <= 2)
		return nil
	})

	// 2. parquet → csv and parquet → parquet against DuckDB.
	section("parquet", func() error {
		warm(pq.path)
		for _, p := range []pair{{
			id: "2a", flow: fmt.Sprintf("parquet → csv, %s", rowsLabel), rows: pq.rows,
			peer: duck(func(dir string) string {
				return fmt.Sprintf("COPY (FROM read_parquet(%s)) TO %s (FORMAT csv, HEADER)",
					sqlString(pq.path), sqlString(filepath.Join(dir, "orders.csv")))
			}),
			ours: ours(pqSrc, csvDst, "orders.csv"),
		}, {
			id: "2b", flow: fmt.Sprintf("parquet → parquet (zstd), %s", rowsLabel), rows: pq.rows,
			peer: duck(func(dir string) string {
				return fmt.Sprintf("COPY (FROM read_parquet(%s)) TO %s (FORMAT parquet, COMPRESSION zstd)",
					sqlString(pq.path), sqlString(filepath.Join(dir, "orders.parquet")))
			}),
			ours: ours(pqSrc, parquetDst, "orders.parquet"),
		}} {
			res, err := runPair(ctx, work, p, n)
			if err != nil {
				return err
			}
			rep.pair(res)
			w, _, _ := res.ratios()
			rep.target(p.id, strings.SplitN(p.flow, ",", 2)[0]+": wall ≤ 1.5× DuckDB's", fmt.Sprintf("%.2f×", w), w <= 1.5)
		}
		return nil
	})

	// 3. postgres → parquet against psql's \copy out.
	section("postgres", func() error {
		if cfg.pgURL == "" {
			rep.skip("3 (postgres → parquet)", "SQLFLOW_TEST_POSTGRES is not set")
			return nil
		}
		return pgPair(ctx, cfg, work, rep, ours, parquetDst)
	})

	// 4. memory → memory: the plugin boundary and the host's CPU per GiB.
	section("memory", func() error { return memoryPair(ctx, cfg, bins, work, rep) })

	// 5. s3 → parquet and parquet → s3 against local files.
	section("s3", func() error {
		if !cfg.s3.set() {
			rep.skip("5 (s3)", "SQLFLOW_TEST_S3_ENDPOINT, SQLFLOW_TEST_S3_ACCESS_KEY or SQLFLOW_TEST_S3_SECRET_KEY is not set (eval \"$(.ci/minio.sh)\" starts MinIO)")
			return nil
		}
		return s3Pair(ctx, cfg, csv, pq, work, rep, ours, csvSrc, pqSrc, parquetDst)
	})

	// 6. peak RSS at two input sizes.
	section("rss", func() error { return rssPair(ctx, cfg, bins, work, rep, ours, parquetDst, csvDst) })

	printReport(cfg, rep, time.Since(began))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d section(s) failed; see the notes", failed)
	}
	return nil
}

func pgPair(ctx context.Context, cfg config, work string, rep *report,
	ours func(func(string) map[string]any, func(string) map[string]any, string) side, parquetDst func(string) map[string]any) error {
	table, err := pgTable(ctx, cfg.pgURL, cfg.pgRows)
	if err != nil {
		return err
	}
	pm := postmaster(ctx, cfg.pgURL)
	res, err := runPair(ctx, work, pair{
		id: "3", flow: fmt.Sprintf("postgres → parquet, %s rows", group(cfg.pgRows)), rows: cfg.pgRows,
		peer: serverSide(pm, side{name: "psql \\copy (SELECT …) to (text)", run: func(ctx context.Context, dir string) (measure, error) {
			return runPsqlCopyOut(ctx, cfg.pgURL, "SELECT * FROM "+table, filepath.Join(dir, "orders.txt"))
		}}),
		ours: serverSide(pm, ours(func(string) map[string]any {
			return map[string]any{"type": "postgres", "dsn": cfg.pgURL, "table": table}
		}, parquetDst, "orders.parquet")),
	}, cfg.pairs)
	if err != nil {
		return err
	}
	rep.pair(res)
	w, _, _ := res.ratios()
	rep.target("3", "postgres → parquet: ≥ 0.8× psql's rate", fmt.Sprintf("%.2f×", 1/w), 1/w >= 0.8)
	note := "pair 3: CPU counts the client processes only (psql; the host and its plugins); the server's backends are in neither side's figure but in `others`"
	if pm != 0 {
		note += fmt.Sprintf(", and the notes give the CPU of the server's processes (postmaster %d and its children, ended backends included) during each side's runs (median)", pm)
	}
	rep.notes = append(rep.notes, note+".")
	return nil
}

func memoryPair(ctx context.Context, cfg config, bins binaries, work string, rep *report) error {
	rows := cfg.memRows
	ms, err := runAlone(ctx, work, "4 memory → memory (CLI)", side{name: "sqlflow-host", run: func(ctx context.Context, dir string) (measure, error) {
		return runSQLFlow(ctx, bins, dir,
			map[string]any{"type": "memory", "table_name": "orders", "generate": map[string]any{"rows": rows, "seed": 1}},
			map[string]any{"type": "memory"}, "orders")
	}}, rows, cfg.pairs)
	if err != nil {
		return err
	}
	var host, gib []float64
	for _, m := range ms {
		host = append(host, m.SelfCPU)
		gib = append(gib, float64(m.bytes)/(1<<30))
	}
	perGiB := median(host) / median(gib)
	flow := fmt.Sprintf("memory → memory (CLI), %s rows, %.2f GiB of Arrow", group(rows), median(gib))
	rep.side("4", flow, "sqlflow-host", ms, fmt.Sprintf("host process alone %.2f CPU-s: **%.2f CPU-s per GiB forwarded**", median(host), perGiB))

	// The boundary: bench/'s alternated in-process / plugin benchmark.
	logf("[4] go test -bench E2EMemoryToMemory (in-process and plugins alternated, %d + %d runs of %s rows)", cfg.pairs, cfg.pairs, group(rows))
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "E2EMemoryToMemory", "-benchtime", "1x", "-timeout", "60m", "./bench/")
	cmd.Dir = cfg.repo
	cmd.Env = append(os.Environ(), "SQLFLOW_BENCH_E2E=1",
		"SQLFLOW_BENCH_REPS="+strconv.Itoa(cfg.pairs), "SQLFLOW_BENCH_MEM_ROWS="+strconv.FormatInt(rows, 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -bench E2EMemoryToMemory: %w\n%s", err, out)
	}
	metrics := benchMetrics(string(out), "BenchmarkE2EMemoryToMemory/")
	if metrics == nil {
		return fmt.Errorf("go test -bench E2EMemoryToMemory printed no result:\n%s", out)
	}
	cost := metrics["boundary_cost_%"]
	rep.rows = append(rep.rows, fmt.Sprintf("| 4 | memory → memory, %s rows, `go test -bench E2EMemoryToMemory` | in-process → plugins | | %.2f → %.2f | | %.1f | rows/s %s → %s: boundary cost %.1f %% of throughput, %+.0f %% CPU |",
		group(rows), metrics["inprocess_cpu_s"], metrics["plugins_cpu_s"], metrics["others_cpu_s"],
		group(int64(metrics["inprocess_rows/s"])), group(int64(metrics["plugins_rows/s"])), cost, metrics["boundary_cpu_%"]))
	rep.target("4", "memory → memory: plugin boundary ≤ 10 % of throughput", fmt.Sprintf("%.1f %%", cost), cost <= 10)
	rep.figure("4", "memory → memory: host CPU per GiB of Arrow forwarded", fmt.Sprintf("%.2f CPU-s/GiB", perGiB))
	return nil
}

// benchMetrics parses the first result line of a benchmark whose name
// starts with prefix into its metrics by unit.
func benchMetrics(out, prefix string) map[string]float64 {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		return m
	}
	return nil
}

func s3Pair(ctx context.Context, cfg config, csv, pq input, work string, rep *report,
	ours func(func(string) map[string]any, func(string) map[string]any, string) side,
	csvSrc, pqSrc, parquetDst func(string) map[string]any) error {
	key := fmt.Sprintf("input/peers-csv-%s-%d/orders.csv", csvVersion, csv.rows)
	if err := cfg.s3.upload(ctx, key, csv); err != nil {
		return err
	}
	local := func(s side) side { s.name = "sqlflow-host, local files"; return s }
	viaS3 := func(s side) side { s.name = "sqlflow-host, s3"; return s }
	warm(csv.path, pq.path)
	for _, p := range []pair{{
		id: "5a", flow: fmt.Sprintf("s3 → parquet (csv object), %s rows", group(csv.rows)), rows: csv.rows,
		peer: local(ours(csvSrc, parquetDst, "orders.parquet")),
		ours: viaS3(ours(func(string) map[string]any {
			return cfg.s3.connector(map[string]any{"key": key, "infer_decimals": false})
		}, parquetDst, "orders.parquet")),
	}, {
		id: "5b", flow: fmt.Sprintf("parquet → s3 (parquet), %s rows", group(pq.rows)), rows: pq.rows,
		peer: local(ours(pqSrc, parquetDst, "orders.parquet")),
		ours: viaS3(ours(pqSrc, func(dir string) map[string]any {
			// Under this run's own prefix: two runs may share a server.
			return cfg.s3.connector(map[string]any{"path_prefix": "out/" + filepath.Base(work) + "/" + filepath.Base(dir), "format": "parquet"})
		}, "orders")),
	}} {
		res, err := runPair(ctx, work, p, cfg.pairs)
		cfg.s3.removePrefix(ctx, "out/"+filepath.Base(work)+"/")
		if err != nil {
			return err
		}
		rep.pair(res)
		w, _, _ := res.ratios()
		rep.target(p.id, strings.SplitN(p.flow, ",", 2)[0]+": ≥ 0.8× the rate of the same flow on local files", fmt.Sprintf("%.2f×", 1/w), 1/w >= 0.8)
	}
	return nil
}

// rssFlow is a flow pair 6 runs at every size of SQLFLOW_PEERS_RSS_SIZES.
type rssFlow struct {
	label   string // "csv → parquet"
	plugins []string
	// spec returns the flow's source and destination on the CSV file of a
	// size (making what it reads from it), and its target.
	spec func(csv input) (src map[string]any, dst func(string) map[string]any, target string, err error)
}

func rssPair(ctx context.Context, cfg config, bins binaries, work string, rep *report,
	ours func(func(string) map[string]any, func(string) map[string]any, string) side, parquetDst, csvDst func(string) map[string]any) error {
	fromParquet := func(dst func(string) map[string]any, target string) func(input) (map[string]any, func(string) map[string]any, string, error) {
		return func(csv input) (map[string]any, func(string) map[string]any, string, error) {
			pq, err := parquetOf(ctx, bins, work, csv)
			warm(pq.path)
			return map[string]any{"type": "parquet", "path": pq.path}, dst, target, err
		}
	}
	flows := map[string][]rssFlow{
		"csv": {{label: "csv → parquet", plugins: []string{"csv", "parquet"},
			spec: func(csv input) (map[string]any, func(string) map[string]any, string, error) {
				return csvSource(csv), parquetDst, "orders.parquet", nil
			}}},
		"parquet": {
			{label: "parquet → csv", plugins: []string{"parquet", "csv"}, spec: fromParquet(csvDst, "orders.csv")},
			{label: "parquet → parquet", plugins: []string{"parquet"}, spec: fromParquet(parquetDst, "orders.parquet")},
		},
	}
	for _, name := range cfg.rssFlows {
		for _, fl := range flows[name] {
			var peaks []float64
			var labels []string
			for _, size := range cfg.rssSizes {
				f, err := csvSize(size)
				if err != nil {
					return err
				}
				warm(f.path)
				src, dst, target, err := fl.spec(f)
				if err != nil {
					return err
				}
				label := fmt.Sprintf("%s, %s of CSV (%s rows)", fl.label, bench.FormatSize(size), group(f.rows))
				ms, err := runAlone(ctx, work, "6 "+label, ours(func(string) map[string]any { return src }, dst, target), f.rows, cfg.rssReps)
				if err != nil {
					return err
				}
				by := ms[len(ms)-1].PeakRSSByName
				per := []string{fmt.Sprintf("host %.0f", mib(by["sqlflow-host"]))}
				for _, p := range fl.plugins {
					what := p + " plugin"
					if len(fl.plugins) == 1 { // source and destination: one name, the larger shown
						what = p + " plugins (the larger)"
					}
					per = append(per, fmt.Sprintf("%s %.0f", what, mib(by["sqlflow-plugin-"+p])))
				}
				rep.side("6", label, "sqlflow-host", ms, "peak RSS MiB: "+strings.Join(per, ", "))
				peaks = append(peaks, statsOf(ms).rss)
				labels = append(labels, bench.FormatSize(size))
			}
			if len(peaks) >= 2 {
				r := peaks[len(peaks)-1] / peaks[0]
				rep.target("6", fmt.Sprintf("%s: peak RSS flat in the data size (%s ÷ %s of CSV ≤ 1.25×)", fl.label, labels[len(labels)-1], labels[0]),
					fmt.Sprintf("%.0f → %.0f MiB: %.2f×", peaks[0], peaks[len(peaks)-1], r), r <= 1.25)
			}
		}
	}
	return nil
}

func printReport(cfg config, rep *report, took time.Duration) {
	w := os.Stdout
	fmt.Fprintf(w, "\nbench-peers, %s, sqlflow-host %s: %d alternated pairs; %d CPUs (%s), %s; load %s; took %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), gitDescribe(cfg.repo), cfg.pairs, runtime.NumCPU(), cpuModel(), goVersion(), loadAvg(), took.Round(time.Second))
	fmt.Fprintln(w, "| # | flow | side | wall s, median (min–max) | CPU s (all processes) | peak RSS MiB (max over the tree) | others CPU s | notes |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---|")
	for _, r := range rep.rows {
		fmt.Fprintln(w, r)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| # | target | measured | met |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rep.targets {
		fmt.Fprintln(w, r)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Medians of the runs of each side; ratios are medians of the pairs' ratios. `others` is the CPU the rest of the machine used during a run (/proc/stat less the flow's own): a few seconds of it mean a neighbour slowed that run.")
	for _, n := range rep.notes {
		fmt.Fprintln(w, n)
	}
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// gitDescribe names the checkout's commit, "+changes" when the work tree
// differs from it.
func gitDescribe(repo string) string {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "(not a git checkout)"
	}
	id := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		id += "+changes"
	}
	return id
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
