package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/bench"
)

// csvVersion names the generated files' format in cache paths: bench's
// AppendCSVRow, format v1. Bump both together.
const csvVersion = "v1"

// input is a generated file both sides read.
type input struct {
	path  string
	rows  int64
	bytes int64
}

// csvRows returns the generated CSV file of exactly rows data rows (rows
// 0 … rows-1 of bench.AppendCSVRow, after bench.CSVHeader), made once in
// the cache directory (bench.CacheDir, shared with make bench-e2e) as
// peers-csv-<version>-<rows>/orders.csv, under a temporary name and renamed.
func csvRows(rows int64) (input, error) {
	dir := filepath.Join(bench.CacheDir(), fmt.Sprintf("peers-csv-%s-%d", csvVersion, rows))
	path := filepath.Join(dir, "orders.csv")
	if st, err := os.Stat(path); err == nil {
		if n, err := os.ReadFile(path + ".rows"); err == nil && strings.TrimSpace(string(n)) == strconv.FormatInt(rows, 10) {
			return input{path: path, rows: rows, bytes: st.Size()}, nil
		}
	}
	logf("generating %d rows of CSV into %s", rows, path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return input{}, err
	}
	tmp, err := os.CreateTemp(dir, "orders-*.tmp")
	if err != nil {
		return input{}, err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	buf := append(make([]byte, 0, 64<<10), bench.CSVHeader+"\n"...)
	var n int64
	for i := range rows {
		buf = bench.AppendCSVRow(buf, i)
		if len(buf) >= 60<<10 {
			w.Write(buf)
			n += int64(len(buf))
			buf = buf[:0]
		}
	}
	w.Write(buf)
	n += int64(len(buf))
	if err := w.Flush(); err != nil {
		tmp.Close()
		return input{}, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return input{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return input{}, err
	}
	if err := os.WriteFile(path+".rows", []byte(strconv.FormatInt(rows, 10)+"\n"), 0o644); err != nil {
		return input{}, err
	}
	return input{path: path, rows: rows, bytes: n}, nil
}

// csvSize returns bench's cached CSV file of at least size bytes (the one
// make bench-e2e uses).
func csvSize(size int64) (input, error) {
	f, err := bench.CachedCSV(size)
	if err != nil {
		return input{}, err
	}
	if !f.Reused {
		logf("generated %s (%d rows)", f.Path, f.Rows)
	}
	return input{path: f.Path, rows: f.Rows, bytes: f.Bytes}, nil
}

// parquetOf returns the Parquet file both sides of pair 2 read: csv
// written by sqlflow-host's own csv → parquet flow (zstd, its default row
// groups of 1,000,000 rows), made once next to the CSV file as
// orders.parquet. It is made again when the CSV file is newer.
func parquetOf(ctx context.Context, bins binaries, work string, csv input) (input, error) {
	path := filepath.Join(filepath.Dir(csv.path), "orders.parquet")
	if st, err := os.Stat(path); err == nil {
		if cst, err := os.Stat(csv.path); err == nil && !st.ModTime().Before(cst.ModTime()) {
			return input{path: path, rows: csv.rows, bytes: st.Size()}, nil
		}
	}
	logf("writing %s with sqlflow-host (csv → parquet)", path)
	dir, err := os.MkdirTemp(work, "make-parquet-")
	if err != nil {
		return input{}, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out")
	m, err := runSQLFlow(ctx, bins, dir, csvSource(csv), map[string]any{"type": "parquet", "path": out}, "orders.parquet")
	if err != nil {
		return input{}, err
	}
	if m.rows != csv.rows {
		return input{}, fmt.Errorf("csv → parquet moved %d rows, the file has %d", m.rows, csv.rows)
	}
	if err := os.Rename(filepath.Join(out, "orders.parquet"), path); err != nil {
		return input{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return input{}, err
	}
	return input{path: path, rows: csv.rows, bytes: st.Size()}, nil
}

// warm reads files once, so that the first run of a pair does not pay
// for reading them from disk while the others find them in the page cache.
func warm(paths ...string) {
	for _, p := range paths {
		if f, err := os.Open(p); err == nil {
			io.Copy(io.Discard, f)
			f.Close()
		}
	}
}

// pgTable returns the name of a table of rows rows of the generated data
// in the database at url, loaded once with psql's \copy from a generated
// CSV file (and kept: it is reused while its row count matches).
func pgTable(ctx context.Context, url string, rows int64) (string, error) {
	table := fmt.Sprintf("peers_orders_%d", rows)
	out, err := exec.CommandContext(ctx, "psql", "-X", "-tA", "-d", url, "-c", "SELECT count(*) FROM "+table).Output()
	if err == nil && strings.TrimSpace(string(out)) == strconv.FormatInt(rows, 10) {
		return table, nil
	}
	csv, err := csvRows(rows)
	if err != nil {
		return "", err
	}
	logf("loading %d rows into table %s with psql \\copy (once; it is kept)", rows, table)
	script := fmt.Sprintf(`DROP TABLE IF EXISTS %[1]s;
CREATE TABLE %[1]s (
  id bigint NOT NULL, customer_id integer, store_id integer, qty integer,
  amount numeric(12,2), discount numeric(12,2), sku text, name text, city text,
  category text, created_at timestamptz, active boolean, note text);
\copy %[1]s FROM '%[2]s' WITH (FORMAT csv, HEADER true)
ALTER TABLE %[1]s ADD PRIMARY KEY (id);
VACUUM ANALYZE %[1]s;
`, table, strings.ReplaceAll(csv.path, "'", "''"))
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("load %s: %w\n%s", table, err, out)
	}
	return table, nil
}
