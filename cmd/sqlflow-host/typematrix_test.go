package main

// The round-trip type matrix (issue 17): one table holding every logical
// type goes out through each connector that can store it and back, through
// the CLI with the real plugins, and every value is compared with the one
// that went out. What each connector does to each type is a table in
// docs/types.md that this test generates (go test -run TestTypeMatrix
// -update-types-doc), and checks on every run, so the documentation and the
// behaviour cannot drift apart.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

var updateTypesDoc = flag.Bool("update-types-doc", false, "rewrite the round-trip table of docs/types.md from TestTypeMatrix's results")

// matrixColumn is one logical type of the matrix: a column of the seed
// table.
type matrixColumn struct {
	name, logical string
	typ           arrow.DataType
	// values are the column's values, one per seed row; nil is null.
	values []any
}

// matrixColumns is the seed table: every logical type, each with ordinary
// values, extremes and a null. Row 4 is null in every column but id.
func matrixColumns() []matrixColumn {
	dec := func(s string) decimal128.Num {
		n, err := decimal128.FromString(s, 38, 9)
		if err != nil {
			panic(err)
		}
		return n
	}
	day := func(s string) arrow.Date32 {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			panic(err)
		}
		return arrow.Date32FromTime(t)
	}
	ts := func(s string) arrow.Timestamp {
		t, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			panic(err)
		}
		return arrow.Timestamp(t.UnixMicro())
	}
	tm := func(h, m, s, us int64) arrow.Time64 {
		return arrow.Time64(((h*60+m)*60+s)*1_000_000 + us)
	}
	return []matrixColumn{
		{"c_int8", "int8", arrow.PrimitiveTypes.Int8, []any{int8(7), int8(math.MaxInt8), int8(math.MinInt8), nil}},
		{"c_int16", "int16", arrow.PrimitiveTypes.Int16, []any{int16(300), int16(math.MaxInt16), int16(math.MinInt16), nil}},
		{"c_int32", "int32", arrow.PrimitiveTypes.Int32, []any{int32(70000), int32(math.MaxInt32), int32(math.MinInt32), nil}},
		{"c_int64", "int64", arrow.PrimitiveTypes.Int64, []any{int64(9007199254740993), int64(math.MaxInt64), int64(math.MinInt64), nil}},
		{"c_float32", "float32", arrow.PrimitiveTypes.Float32, []any{float32(0.1), float32(math.MaxFloat32), float32(math.SmallestNonzeroFloat32), nil}},
		{"c_float64", "float64", arrow.PrimitiveTypes.Float64, []any{0.1, math.MaxFloat64, math.Copysign(0, -1), nil}},
		{"c_decimal", "decimal(38,9)", &arrow.Decimal128Type{Precision: 38, Scale: 9}, []any{dec("12.5"), dec("99999999999999999999999999999.999999999"), dec("-0.000000001"), nil}},
		{"c_bool", "bool", arrow.FixedWidthTypes.Boolean, []any{true, false, true, nil}},
		{"c_date", "date", arrow.FixedWidthTypes.Date32, []any{day("2026-12-07"), day("9999-12-31"), day("0001-01-01"), nil}},
		{"c_ts", "timestamp (no zone)", &arrow.TimestampType{Unit: arrow.Microsecond}, []any{ts("2026-12-07 01:36:12.123456"), ts("9999-12-31 23:59:59.999999"), ts("1900-01-01 00:00:00"), nil}},
		{"c_tstz", "timestamp with zone (UTC)", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, []any{ts("2026-12-07 01:36:12.123456"), ts("9999-12-31 23:59:59.999999"), ts("1900-01-01 00:00:00"), nil}},
		{"c_time", "time", arrow.FixedWidthTypes.Time64us, []any{tm(1, 36, 12, 123456), tm(23, 59, 59, 999999), tm(0, 0, 0, 0), nil}},
		{"c_string", "string", arrow.BinaryTypes.String, []any{"héllo, 世界 🎉", "two\nlines, \"quoted\", 'single';\ttab\r\nend", "", nil}},
		{"c_binary", "binary", arrow.BinaryTypes.Binary, []any{[]byte{0, 1, 2, 0xff}, []byte("abc"), []byte{}, nil}},
		{"c_json", "json (as text)", arrow.BinaryTypes.String, []any{`{"a":[1,2.5,"x"],"b":null}`, `[]`, `"s"`, nil}},
		{"c_uuid", "uuid (as text)", arrow.BinaryTypes.String, []any{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", nil}},
		{"c_list", "list<int64>", arrow.ListOf(arrow.PrimitiveTypes.Int64), []any{[]any{int64(1), int64(2), int64(3)}, []any{}, []any{int64(-1), nil}, nil}},
	}
}

// matrixRows is the number of seed rows.
const matrixRows = 4

// seedRecord builds the seed table, with an id column first.
func seedRecord(t *testing.T, cols []matrixColumn) arrow.RecordBatch {
	t.Helper()
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	for _, c := range cols {
		fields = append(fields, arrow.Field{Name: c.name, Type: c.typ, Nullable: true})
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for r := range matrixRows {
		b.Field(0).(*array.Int64Builder).Append(int64(r + 1))
		for i, c := range cols {
			appendAny(t, b.Field(i+1), c.values[r])
		}
	}
	return b.NewRecordBatch()
}

func appendAny(t *testing.T, b array.Builder, v any) {
	t.Helper()
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(v.(int8))
	case *array.Int16Builder:
		b.Append(v.(int16))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.Decimal128Builder:
		b.Append(v.(decimal128.Num))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.Date32Builder:
		b.Append(v.(arrow.Date32))
	case *array.TimestampBuilder:
		b.Append(v.(arrow.Timestamp))
	case *array.Time64Builder:
		b.Append(v.(arrow.Time64))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.ListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			appendAny(t, b.ValueBuilder(), e)
		}
	default:
		t.Fatalf("appendAny: builder %T", b)
	}
}

// canon renders value i of a as text that does not depend on the Arrow
// type that holds it, so a value can be compared across a conversion: a
// number as its shortest decimal form, a decimal without trailing zeros, a
// timestamp as its wall-clock digits (the zone is compared through the
// column's type), binary as \x and hex (PostgreSQL's form), a list as
// [a,b].
func canon(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch a := a.(type) {
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		s := a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		if s == "-0" {
			s = "0"
		}
		return s
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Date32:
		return a.Value(i).FormattedString()
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format("2006-01-02 15:04:05.999999999")
	case *array.Time64:
		return a.Value(i).FormattedString(a.DataType().(*arrow.Time64Type).Unit)
	case *array.Time32:
		return a.Value(i).FormattedString(a.DataType().(*arrow.Time32Type).Unit)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return `\x` + hex.EncodeToString(a.Value(i))
	case *array.List:
		start, end := a.ValueOffsets(i)
		parts := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			parts = append(parts, canon(a.ListValues(), int(j)))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return a.ValueStr(i)
}

// typeName is an Arrow type as the docs table shows it.
func typeName(dt arrow.DataType) string {
	switch dt := dt.(type) {
	case *arrow.TimestampType:
		if dt.TimeZone != "" {
			return "timestamp[" + dt.Unit.String() + ", " + dt.TimeZone + "]"
		}
		return "timestamp[" + dt.Unit.String() + "]"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d,%d)", dt.Precision, dt.Scale)
	case *arrow.ListType:
		return "list<" + typeName(dt.Elem()) + ">"
	}
	return dt.String()
}

// carrier is one connector (and format) the seed table goes out through
// and comes back from.
type carrier struct {
	name  string
	needs string // "postgres", "s3" or ""
	// dest and source are the pipeline's YAML flow mappings; source is
	// empty when the table comes back through the destination's dump
	// (memory).
	dest, source string
}

// TestTypeMatrix sends the seed table (every logical type, with extremes
// such as -0.0, the int and float limits, a 38-digit decimal, year 1 and
// year 9999, unicode, line breaks, quotes and delimiters in strings, and a
// null in every column) out through every connector and back, each hop a
// `sqlflow-host run` of the real plugins:
//
//	seed.parquet → carrier (target rt) → memory (dump)
//
// and compares every value with the one that went out. A cell of the
// matrix is "same" (type and values kept), the type it came back as (values
// kept, e.g. int8 → int64), or a documented conversion (values changed as
// the docs say, e.g. an empty string through csv comes back null). A value
// that changes without a documented reason fails the test, as does a
// documented conversion that no longer happens. The table in docs/types.md
// is this test's output and is compared on every run.
func TestTypeMatrix(t *testing.T) {
	for _, typ := range []string{"parquet", "csv", "memory", "postgres", "s3"} {
		havePlugin(t, typ)
	}
	dir := testenv.SafeDir(t)
	cols := matrixColumns()
	seed := seedRecord(t, cols)
	defer seed.Release()
	writeParquet(t, filepath.Join(dir, "seed.parquet"), seed)

	suffix := make([]byte, 4)
	rand.Read(suffix)
	tag := hex.EncodeToString(suffix)

	carriers := []carrier{
		{name: "parquet", dest: `{type: parquet, path: "` + filepath.Join(dir, "pq") + `"}`,
			source: `{type: parquet, path: "` + filepath.Join(dir, "pq", "rt.parquet") + `"}`},
		{name: "csv", dest: `{type: csv, path: "` + filepath.Join(dir, "csv") + `"}`,
			source: `{type: csv, path: "` + filepath.Join(dir, "csv", "rt.csv") + `"}`},
		{name: "memory", dest: `{type: memory, dump_path: "` + filepath.Join(dir, "back-memory.arrow") + `"}`},
		{name: "postgres", needs: "postgres",
			dest:   `{type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", schema: tm_` + tag + `}`,
			source: `{type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", schema: tm_` + tag + `, table: rt}`},
	}
	if serviceSet("s3") {
		b := newEmptyBucket(t)
		s3keys := `endpoint_url: "` + b.endpoint + `", access_key_id: "${SQLFLOW_TEST_S3_ACCESS_KEY}", secret_access_key: "${SQLFLOW_TEST_S3_SECRET_KEY}"`
		for _, f := range []string{"csv", "parquet", "jsonl"} {
			carriers = append(carriers, carrier{name: "s3 " + f, needs: "s3",
				dest:   `{type: s3, bucket: ` + b.name + `, path_prefix: ` + f + `, file_format: ` + f + `, ` + s3keys + `}`,
				source: `{type: s3, bucket: ` + b.name + `, path_prefix: ` + f + `/rt/, file_format: ` + f + `, ` + s3keys + `}`})
		}
	} else {
		carriers = append(carriers, carrier{name: "s3 csv", needs: "s3"}, carrier{name: "s3 parquet", needs: "s3"}, carrier{name: "s3 jsonl", needs: "s3"})
	}
	if serviceSet("postgres") {
		dsn := os.Getenv(testenv.PostgresVar)
		pgExec(t, dsn, "CREATE SCHEMA tm_"+tag)
		t.Cleanup(func() { pgExec(t, dsn, "DROP SCHEMA IF EXISTS tm_"+tag+" CASCADE") })
	}

	results := map[string][]cell{}
	for _, c := range carriers {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			if !serviceSet(c.needs) {
				requireService(t, c.needs)
				return
			}
			back := roundTrip(t, dir, c)
			defer back.Release()
			results[c.name] = compareMatrix(t, c.name, cols, seed, back)
		})
	}

	table := matrixDoc(cols, carriers, results)
	t.Logf("the round-trip table:\n%s", table)
	docPath := filepath.Join(repoRoot, "docs", "types.md")
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := []byte(matrixBegin+"\n"), []byte(matrixEnd)
	i, j := bytes.Index(doc, begin), bytes.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/types.md lacks the markers %q and %q around the round-trip table", matrixBegin, matrixEnd)
	}
	if len(results) < len(carriers) {
		t.Logf("%d of %d carriers ran (services missing); docs/types.md not compared", len(results), len(carriers))
		return
	}
	got := string(doc[i+len(begin) : j])
	if got == table {
		return
	}
	if *updateTypesDoc {
		out := append(append(append([]byte{}, doc[:i+len(begin)]...), table...), doc[j:]...)
		if err := os.WriteFile(docPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the round-trip table of %s", docPath)
		return
	}
	t.Errorf("the round-trip table of docs/types.md differs from what the connectors do; run\n\tgo test ./cmd/sqlflow-host -run TestTypeMatrix -update-types-doc\nand review the diff. It should be:\n%s", table)
}

const (
	matrixBegin = "<!-- type matrix: generated by TestTypeMatrix (cmd/sqlflow-host/typematrix_test.go); do not edit -->"
	matrixEnd   = "<!-- end of type matrix -->"
)

// roundTrip sends seed.parquet out through c and back into a memory
// destination's dump, and returns what came back.
func roundTrip(t *testing.T, dir string, c carrier) arrow.RecordBatch {
	t.Helper()
	slug := strings.ReplaceAll(c.name, " ", "-")
	dump := filepath.Join(dir, "back-"+slug+".arrow")
	var y strings.Builder
	y.WriteString("version: 1\nsources:\n")
	y.WriteString(`  seed: {type: parquet, path: "` + filepath.Join(dir, "seed.parquet") + "\"}\n")
	if c.source != "" {
		y.WriteString("  carried: " + c.source + "\n")
	}
	y.WriteString("destinations:\n  carrier: " + c.dest + "\n")
	y.WriteString(`  back: {type: memory, dump_path: "` + dump + "\"}\n")
	y.WriteString("flows:\n  - {name: out, from: seed, to: carrier, target: rt, mode: replace}\n")
	if c.source != "" {
		y.WriteString("  - {name: in, from: carried, to: back, target: rt, mode: replace}\n")
	}
	p := write(t, dir, "matrix-"+slug+".yaml", y.String())
	r := cli(t, "run", p, "--select", "out")
	if r.code != 0 {
		t.Fatalf("%s: seed → %s: %s", c.name, c.name, r)
	}
	if c.source != "" {
		r = cli(t, "run", p, "--select", "in")
		if r.code != 0 {
			t.Fatalf("%s: %s → memory: %s", c.name, c.name, r)
		}
	}
	return readDump(t, dump)
}

func writeParquet(t *testing.T, path string, rec arrow.RecordBatch) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readDump reads a memory destination's dump as one record, its rows in
// id order.
func readDump(t *testing.T, path string) arrow.RecordBatch {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer r.Close()
	var recs []arrow.RecordBatch
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	tbl := array.NewTableFromRecords(r.Schema(), recs)
	defer tbl.Release()
	for _, rec := range recs {
		rec.Release()
	}
	// One record, rows sorted by id (a carrier need not keep row order).
	tr := array.NewTableReader(tbl, tbl.NumRows())
	defer tr.Release()
	var out arrow.RecordBatch
	if tr.Next() {
		out = tr.RecordBatch()
		out.Retain()
	}
	if out == nil || out.NumRows() != matrixRows {
		t.Fatalf("%s: want %d rows back", path, matrixRows)
	}
	return sortByID(t, out)
}

// sortByID returns rec with its rows in id order.
func sortByID(t *testing.T, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	idx := rec.Schema().FieldIndices("id")
	if len(idx) != 1 {
		t.Fatalf("no id column came back: %s", rec.Schema())
	}
	ids := rec.Column(idx[0])
	order := make([]int, rec.NumRows())
	for i := range order {
		n, err := strconv.Atoi(canon(ids, i))
		if err != nil || n < 1 || n > matrixRows {
			t.Fatalf("id %q came back", canon(ids, i))
		}
		order[n-1] = i
	}
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		parts := make([]arrow.Array, len(order))
		for k, i := range order {
			parts[k] = array.NewSlice(rec.Column(c), int64(i), int64(i+1))
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			p.Release()
		}
		cols[c] = a
	}
	out := array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
	rec.Release()
	return out
}

// cell is one carrier's outcome for one column.
type cell struct {
	typ string // the Arrow type the column came back as
	// changed lists the values that came back different: "out → back".
	changed []string
	missing bool
}

// conversions are the documented value changes of the matrix, by carrier
// and column: what the docs say happens, checked against what does.
var conversions = map[[2]string]string{
	{"csv", "c_binary"}:       base64Note,
	{"s3 csv", "c_binary"}:    base64Note,
	{"s3 csv", "c_string"}:    "The s3 source reads csv with Go's `encoding/csv`, which reads a line break `\\r\\n` inside a quoted value as `\\n`, and the s3 destination writes an empty string as an empty field, which the source reads as null (the csv connector quotes an empty string and keeps both apart).",
	{"s3 jsonl", "c_decimal"}: "JSON has no decimal type: a decimal is written as a JSON string of its exact value at its scale (`\"12.500000000\"`) and read back as that string; no digit is lost.",
	{"s3 jsonl", "c_ts"}:      jsonTimestampNote,
	{"s3 jsonl", "c_tstz"}:    jsonTimestampNote,
	{"s3 jsonl", "c_time"}:    "JSON has no time type: a time is written as a string (`01:36:12.123456`, without a fraction when it is zero: `00:00:00`) and read back as that string.",
	{"s3 jsonl", "c_binary"}:  "JSON has no binary type: binary is written as a base64 string and read back as that string.",
}

const (
	base64Note        = "csv has no binary type: binary is written as standard base64 text and read back as that text (a string)."
	jsonTimestampNote = "JSON has no timestamp type: a timestamp is written as an RFC 3339 string (`2026-12-07T01:36:12.123456Z`; without the `Z` when the type has no zone) and read back as that string."
)

func compareMatrix(t *testing.T, carrierName string, cols []matrixColumn, seed, back arrow.RecordBatch) []cell {
	t.Helper()
	out := make([]cell, len(cols))
	for k, c := range cols {
		idx := back.Schema().FieldIndices(c.name)
		if len(idx) != 1 {
			out[k] = cell{missing: true}
			t.Errorf("%s: column %s did not come back", carrierName, c.name)
			continue
		}
		want, got := seed.Column(k+1), back.Column(idx[0])
		ce := cell{typ: typeName(got.DataType())}
		for r := range matrixRows {
			if w, g := canon(want, r), canon(got, r); w != g {
				ce.changed = append(ce.changed, strconv.Quote(w)+" → "+strconv.Quote(g))
			}
		}
		out[k] = ce
		key := [2]string{carrierName, c.name}
		doc, documented := conversions[key]
		switch {
		case len(ce.changed) > 0 && !documented:
			t.Errorf("%s: %s (%s) values changed without a documented conversion: %s", carrierName, c.name, c.logical, strings.Join(ce.changed, "; "))
		case len(ce.changed) == 0 && documented:
			t.Errorf("%s: %s: the documented conversion %q no longer happens: remove it from conversions", carrierName, c.name, doc)
		}
	}
	return out
}

// matrixDoc renders the round-trip table of docs/types.md.
func matrixDoc(cols []matrixColumn, carriers []carrier, results map[string][]cell) string {
	var b strings.Builder
	b.WriteString("| type sent (Arrow) |")
	for _, c := range carriers {
		b.WriteString(" " + c.name + " |")
	}
	b.WriteString("\n|---|")
	for range carriers {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	var notes []string
	for k, col := range cols {
		b.WriteString("| " + col.logical + " (`" + typeName(col.typ) + "`) |")
		for _, c := range carriers {
			res, ok := results[c.name]
			switch {
			case !ok:
				b.WriteString(" ? |")
			case res[k].missing:
				b.WriteString(" lost |")
			default:
				s := "same"
				if res[k].typ != typeName(col.typ) {
					s = "`" + res[k].typ + "`"
				}
				if doc, ok := conversions[[2]string{c.name, col.name}]; ok {
					n := slices.Index(notes, doc)
					if n < 0 {
						notes = append(notes, doc)
						n = len(notes) - 1
					}
					s += fmt.Sprintf(" [%d]", n+1)
				}
				b.WriteString(" " + s + " |")
			}
		}
		b.WriteString("\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "%d. %s\n", i+1, n)
		}
	}
	return b.String()
}
