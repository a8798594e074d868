// Package bench holds the end-to-end benchmarks of sqlflow-host (a whole
// flow through real connectors, in-process and through plugin processes)
// and the deterministic data they run on.
//
// The benchmarks live in e2e_test.go and run only when SQLFLOW_BENCH_E2E=1
// (`make bench-e2e`); they need gigabytes of disk and minutes. See
// docs/benchmarks.md.
package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// CSVHeader is the header line of generated CSV files (without its newline).
const CSVHeader = "id,customer_id,store_id,qty,amount,discount,sku,name,city,category,created_at,active,note"

// CSVColumns is the number of columns of generated CSV files.
const CSVColumns = 13

var (
	firstNames = [16]string{"Ada", "Alan", "Alice", "Ben", "Chen", "Dana", "Emil", "Grace",
		"Hana", "Ivan", "Kai", "Lena", "Maya", "Omar", "Priya", "Yuki"}
	lastNames = [16]string{"Adams", "Baker", "Costa", "Diaz", "Evans", "Garcia", "Ito", "Kim",
		"Lopez", "Martin", "Nguyen", "Patel", "Rossi", "Silva", "Tanaka", "Zhang"}
	cities = [8]string{"Berlin", "Lagos", "Lima", "Osaka", "Paris", "Quito", "Seoul", "Toronto"}
	cats   = [8]string{"books", "clothing", "garden", "grocery", "home", "sports", "toys", "tools"}
	notes  = [8]string{"gift wrap", "fragile", "express", "backorder", "priority", "repeat", "first order", "pickup"}
)

// createdAtBase is 2024-01-01T00:00:00Z in Unix seconds.
const createdAtBase = 1704067200

// mix64 is SplitMix64's finalizer: row i's values are drawn from
// mix64(seed + i·γ), so every row is a pure function of its index.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// AppendCSVRow appends row i (0-based) of the generated data set, with its
// newline, to dst. Rows average about 100 bytes: an int64 id, three small
// ints, two floats (discount empty, i.e. null, in about 1 row of 5), four
// short strings, an RFC 3339 timestamp, a bool and a note that is empty
// (null) in about half the rows.
func AppendCSVRow(dst []byte, i int64) []byte {
	r := mix64(uint64(i)*0x9E3779B97F4A7C15 + 0x5EED)
	r2 := mix64(r)
	dst = strconv.AppendInt(dst, i+1, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(r%1_000_000)+1, 10) // customer_id
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(r>>20%500)+1, 10) // store_id
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(r>>29%100)+1, 10) // qty
	dst = append(dst, ',')
	cents := int64(r2 % 10_000_000) // amount: 0.00 .. 99999.99
	dst = appendCents(dst, cents)
	dst = append(dst, ',')
	if r2>>24%5 != 0 { // discount: null in 1 of 5 rows
		dst = appendCents(dst, int64(r2>>28%5000))
	}
	dst = append(dst, ',')
	dst = append(dst, "SKU-"...)
	dst = strconv.AppendInt(dst, int64(r2>>40%900_000)+100_000, 10)
	dst = append(dst, ',')
	dst = append(dst, firstNames[r>>27&15]...)
	dst = append(dst, ' ')
	dst = append(dst, lastNames[r>>31&15]...)
	dst = append(dst, ',')
	dst = append(dst, cities[r>>35&7]...)
	dst = append(dst, ',')
	dst = append(dst, cats[r>>38&7]...)
	dst = append(dst, ',')
	dst = appendTimestamp(dst, createdAtBase+i*7+int64(r>>41&7))
	dst = append(dst, ',')
	if r>>44&1 == 1 {
		dst = append(dst, "true"...)
	} else {
		dst = append(dst, "false"...)
	}
	dst = append(dst, ',')
	if r>>45&1 == 1 { // note: null in half the rows
		dst = append(dst, notes[r>>46&7]...)
	}
	return append(dst, '\n')
}

// appendCents appends c/100 with two decimals ("1234.05").
func appendCents(dst []byte, c int64) []byte {
	dst = strconv.AppendInt(dst, c/100, 10)
	f := c % 100
	return append(dst, '.', byte('0'+f/10), byte('0'+f%10))
}

// appendTimestamp appends Unix second s as "2006-01-02T15:04:05Z" (UTC).
func appendTimestamp(dst []byte, s int64) []byte {
	days, sec := s/86400, s%86400
	y, m, d := civil(days)
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, sec/3600)
	dst = append(dst, ':')
	dst = append2(dst, sec/60%60)
	dst = append(dst, ':')
	dst = append2(dst, sec%60)
	return append(dst, 'Z')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func civil(z int64) (y, m, d int64) {
	z += 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(dst []byte, v int64) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
func append4(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// WriteCSV writes the header and then rows 0, 1, ... to w until at least
// minBytes bytes are written. It returns the rows and bytes written. The
// output depends on minBytes only.
func WriteCSV(w io.Writer, minBytes int64) (rows, n int64, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, CSVHeader...)
	buf = append(buf, '\n')
	for n+int64(len(buf)) < minBytes {
		buf = AppendCSVRow(buf, rows)
		rows++
		if len(buf) >= 60<<10 {
			if _, err := bw.Write(buf); err != nil {
				return rows, n, err
			}
			n += int64(len(buf))
			buf = buf[:0]
		}
	}
	if _, err := bw.Write(buf); err != nil {
		return rows, n, err
	}
	n += int64(len(buf))
	return rows, n, bw.Flush()
}

// CSVFile is a generated CSV file.
type CSVFile struct {
	// Path is the file; its stem ("orders") is the csv stream's name.
	Path string
	// Rows and Bytes are its data rows and its size.
	Rows, Bytes int64
	// Reused reports that the file was found in the cache.
	Reused bool
}

// genVersion names the generator's output format in cache paths; bump it
// when AppendCSVRow changes.
const genVersion = "v1"

// CacheDir is where generated files are kept between runs:
// $SQLFLOW_BENCH_DIR, else os.TempDir()/sqlflow-bench.
func CacheDir() string {
	if d := os.Getenv("SQLFLOW_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "sqlflow-bench")
}

// CachedCSV returns the generated CSV file of at least minBytes bytes,
// making it once: it lives at CacheDir()/csv-<version>-<minBytes>/orders.csv
// with a small .rows file beside it, and is reused while both are there and
// the size matches. A partial file from an interrupted run is never
// reused: the file is written under a temporary name and renamed.
func CachedCSV(minBytes int64) (CSVFile, error) {
	dir := filepath.Join(CacheDir(), fmt.Sprintf("csv-%s-%d", genVersion, minBytes))
	path := filepath.Join(dir, "orders.csv")
	meta := path + ".rows"
	if st, err := os.Stat(path); err == nil {
		if b, err := os.ReadFile(meta); err == nil {
			var rows, size int64
			if _, err := fmt.Sscanf(string(b), "%d %d", &rows, &size); err == nil && size == st.Size() {
				return CSVFile{Path: path, Rows: rows, Bytes: size, Reused: true}, nil
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return CSVFile{}, err
	}
	tmp, err := os.CreateTemp(dir, "orders-*.tmp")
	if err != nil {
		return CSVFile{}, err
	}
	defer os.Remove(tmp.Name())
	rows, n, err := WriteCSV(tmp, minBytes)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return CSVFile{}, fmt.Errorf("generate %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return CSVFile{}, err
	}
	if err := os.WriteFile(meta, fmt.Appendf(nil, "%d %d\n", rows, n), 0o644); err != nil {
		return CSVFile{}, err
	}
	return CSVFile{Path: path, Rows: rows, Bytes: n}, nil
}

// ParseSize reads a size such as "256MiB", "1GiB", "512M", "2G" or a plain
// number of bytes. K, M and G are binary (1024-based) with or without "iB".
func ParseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if len(s) > len(u.suffix) && s[len(s)-len(u.suffix):] == u.suffix {
			num, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, errors.New("size " + strconv.Quote(s) + ": want a positive number with an optional KiB, MiB or GiB suffix")
	}
	return int64(v * float64(mult)), nil
}

// FormatSize renders n bytes as "256MiB" / "1GiB" when exact, else bytes.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}
