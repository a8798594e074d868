// Command peers is `make bench-peers`: it measures sqlflow-host against
// the tool a user would pick instead, flow by flow, on the same files, in
// alternated pairs, and prints medians of wall time, CPU seconds of every
// process of the flow and peak RSS, with the ratio to the peer and whether
// each target of issue 18 is met. docs/benchmarks.md ("Against the peers")
// says what each pair measures and lists the knobs.
//
//	go run . -repo ../..     (from bench/peers; make bench-peers does this)
//
// Each side runs as a subprocess (the real `sqlflow-host run` with its
// plugins, `psql`, or duckdb-peer, a small duckdb-go program built from
// this module), measured by package proctree. This module is apart from
// the repository's so that DuckDB's cgo library never enters the host's
// or a plugin's build, nor `go test ./...`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/sqlflow/sqlflow-host/bench"
)

func main() {
	repo := flag.String("repo", "", "the sqlflow-host checkout to build the host and plugins from (default: found from the working directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *repo); err != nil {
		fmt.Fprintln(os.Stderr, "bench-peers:", err)
		os.Exit(1)
	}
}

// config is what the environment asks for; see docs/benchmarks.md.
type config struct {
	repo     string
	pairs    int      // SQLFLOW_PEERS_PAIRS
	rows     int64    // SQLFLOW_PEERS_ROWS: csv rows of pairs 1, 2 and 5
	pgRows   int64    // SQLFLOW_PEERS_PG_ROWS
	memRows  int64    // SQLFLOW_PEERS_MEM_ROWS
	rssSizes []int64  // SQLFLOW_PEERS_RSS_SIZES
	rssReps  int      // SQLFLOW_PEERS_RSS_REPS
	rssFlows []string // SQLFLOW_PEERS_RSS_FLOWS
	threads  int      // SQLFLOW_PEERS_DUCKDB_THREADS
	only     []string // SQLFLOW_PEERS_ONLY
	pgURL    string   // SQLFLOW_TEST_POSTGRES
	s3       s3Config // SQLFLOW_TEST_S3_*
}

// sections are the pairs of issue 18, by the names SQLFLOW_PEERS_ONLY takes.
var sections = []string{"csv", "parquet", "postgres", "memory", "s3", "rss"}

func loadConfig(repo string) (config, error) {
	c := config{repo: repo}
	var err error
	geti := func(name string, def int64) int64 {
		v := os.Getenv(name)
		if v == "" || err != nil {
			return def
		}
		n, e := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64)
		if e != nil || n <= 0 {
			err = fmt.Errorf("%s=%q: want a positive integer", name, v)
		}
		return n
	}
	c.pairs = int(geti("SQLFLOW_PEERS_PAIRS", 5))
	c.rows = geti("SQLFLOW_PEERS_ROWS", 2_000_000)
	c.pgRows = geti("SQLFLOW_PEERS_PG_ROWS", 5_000_000)
	c.memRows = geti("SQLFLOW_PEERS_MEM_ROWS", 10_000_000)
	c.rssReps = int(geti("SQLFLOW_PEERS_RSS_REPS", 1))
	c.threads = int(geti("SQLFLOW_PEERS_DUCKDB_THREADS", 2))
	if err != nil {
		return c, err
	}
	sizes := os.Getenv("SQLFLOW_PEERS_RSS_SIZES")
	if sizes == "" {
		sizes = "256MiB,2GiB"
	}
	for s := range strings.SplitSeq(sizes, ",") {
		n, err := bench.ParseSize(strings.TrimSpace(s))
		if err != nil {
			return c, fmt.Errorf("SQLFLOW_PEERS_RSS_SIZES: %w", err)
		}
		c.rssSizes = append(c.rssSizes, n)
	}
	c.rssFlows = []string{"csv"}
	if v := os.Getenv("SQLFLOW_PEERS_RSS_FLOWS"); v != "" {
		c.rssFlows = nil
		for s := range strings.SplitSeq(v, ",") {
			s = strings.TrimSpace(s)
			if s != "csv" && s != "parquet" {
				return c, fmt.Errorf("SQLFLOW_PEERS_RSS_FLOWS=%q: %q is neither csv (csv → parquet) nor parquet (parquet → csv and parquet → parquet)", v, s)
			}
			c.rssFlows = append(c.rssFlows, s)
		}
	}
	if v := os.Getenv("SQLFLOW_PEERS_ONLY"); v != "" {
		for s := range strings.SplitSeq(v, ",") {
			s = strings.TrimSpace(s)
			known := false
			for _, k := range sections {
				known = known || k == s
			}
			if !known {
				return c, fmt.Errorf("SQLFLOW_PEERS_ONLY=%q: %q is none of %s", v, s, strings.Join(sections, ", "))
			}
			c.only = append(c.only, s)
		}
	}
	c.pgURL = os.Getenv("SQLFLOW_TEST_POSTGRES")
	c.s3 = s3Config{
		endpoint: os.Getenv("SQLFLOW_TEST_S3_ENDPOINT"),
		access:   os.Getenv("SQLFLOW_TEST_S3_ACCESS_KEY"),
		secret:   os.Getenv("SQLFLOW_TEST_S3_SECRET_KEY"),
	}
	return c, nil
}

func (c config) wants(section string) bool {
	if len(c.only) == 0 {
		return true
	}
	for _, s := range c.only {
		if s == section {
			return true
		}
	}
	return false
}

// findRepo walks up from the working directory to the directory holding
// cmd/sqlflow-host.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "cmd", "sqlflow-host")); err == nil && st.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no sqlflow-host checkout (cmd/sqlflow-host) above %s: pass -repo", dir)
		}
	}
}
