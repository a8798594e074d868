package main

// Empty streams (issue 15): a stream with no rows is a successful run of 0
// rows, for every source into every destination, through the CLI with the
// real plugins. append leaves the target as it was; replace empties it
// when a schema is known (the source's, else the existing target's), and
// otherwise leaves it as it was with a WARN line saying why.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
)

// emptySource is a source whose stream has no rows.
type emptySource struct {
	name   string // the source's name in the pipeline, and the subtest's
	stream string
	yaml   string // its settings, a YAML flow mapping
	// cols are the stream's columns when the source knows them without
	// rows (nil when it does not).
	cols []string
	// seed is the seed source (a csv file) whose columns are the stream's
	// own when it knows them.
	seed string
	// needs names the service the source needs: "postgres", "s3" or "".
	needs string
}

// emptyDest is a destination and how the test looks at its targets
// without relying on the destination's internals beyond its documented
// layout.
type emptyDest struct {
	name  string
	yaml  string // its settings, a YAML flow mapping
	needs string
	// upsert is true when the destination takes mode upsert.
	upsert bool
	// state is the target's content as a comparable string (its bytes, or
	// its rows in order); ok is false when the target does not exist.
	state func(t *testing.T, target string) (s string, ok bool)
	// table is the target's columns ("name" or "name type") and row count.
	table func(t *testing.T, target string) (cols []string, rows int)
	// listing is everything under the destination (files, keys, tables),
	// to see that a run created nothing.
	listing func(t *testing.T) []string
}

// plainCols are the columns of the seed of every source that does not
// know its columns.
var plainCols = []string{"id", "name"}

// shopLocationCols are the columns of the shopify stream locations.
var shopLocationCols = []string{"id", "admin_graphql_api_id", "name", "active", "address1", "address2", "city", "province", "country_code", "zip", "phone", "created_at", "updated_at"}

// TestEmptyStreams runs the matrix of empty sources (rest answering [],
// a shopify shop with no records, a gsheets sheet with only a header row
// and one with no rows, an empty s3 prefix, a csv glob matching no file, a
// postgres query returning no rows) into every destination (csv, parquet,
// postgres, s3), each cell a `sqlflow-host run --select` of one flow:
//
//   - append (and upsert, where the destination takes it) over an
//     existing target: exit 0, 0 rows, "ok, empty stream (target
//     unchanged)", the target and the rest of the destination unchanged;
//   - replace over an existing target: exit 0, the target emptied with its
//     columns kept;
//   - replace with no target: with the schema unknown, exit 0, "target
//     unchanged", a WARN line saying why, nothing created; with the schema
//     known, the target created empty with the source's columns;
//   - an incremental append run twice, the second time with nothing new.
//
// The existing targets are written by a first run from csv files with the
// same columns, through the destination itself. One server of each kind
// serves the whole matrix; postgres and s3 cells skip (fail under CI=true)
// without their service.
func TestEmptyStreams(t *testing.T) {
	for _, p := range []string{"csv", "parquet", "postgres", "s3", "rest", "shopify", "gsheets"} {
		havePlugin(t, p)
	}
	start := time.Now()
	dir := t.TempDir()
	run := fmt.Sprintf("e%d", time.Now().UnixNano()%1e12)

	// The services, one of each for the whole matrix.
	api := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/empty":
			io.WriteString(w, "[]")
		case "/v1/items":
			io.WriteString(w, `[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]`)
		default:
			http.NotFound(w, r)
		}
	}))
	shop := shopifytest.New(shopifytest.Options{Empty: true, BucketMax: 1e6, RestoreRate: 1e6, RESTBucket: 1e6, RESTLeak: 1e6})
	t.Cleanup(shop.Close)
	sheets := sheetstest.New(t)
	email := "etl@sqlflow-empty.iam.gserviceaccount.com"
	sheets.Add(&sheetstest.Spreadsheet{ID: "1EMPTY", Title: "Empty", Readers: []string{email}, Sheets: []*sheetstest.Sheet{
		{Title: "Header", Rows: [][]any{{"id", "name"}}},
		{Title: "Blank"},
	}})
	key := write(t, dir, "key.json", string(sheets.ServiceAccountKey(t, email)))
	pg := os.Getenv(testenv.PostgresVar)
	var pgSchema string
	if pg != "" {
		pgSchema = "sqlflow_" + run
		pgExec(t, pg, "CREATE SCHEMA "+pgSchema)
		t.Cleanup(func() { pgExec(t, pg, "DROP SCHEMA "+pgSchema+" CASCADE") })
	}
	var bucket *emptyBucket
	s3Source := "{type: s3}" // not used: the s3 cells skip
	if os.Getenv(testenv.S3EndpointVar) != "" {
		bucket = newEmptyBucket(t)
		s3Source = `{type: s3, bucket: ` + bucket.name + `, path_prefix: landing/nothing/, endpoint_url: "` + bucket.endpoint +
			`", access_key_id: "${SQLFLOW_TEST_S3_ACCESS_KEY}", secret_access_key: "${SQLFLOW_TEST_S3_SECRET_KEY}"}`
	}

	// The seeds: csv files with each source's columns.
	write(t, dir, "seed/plain.csv", "id,name\n1,a\n2,b\n")
	write(t, dir, "seed/strings.csv", "id,name\nx1,a\nx2,b\n")
	write(t, dir, "seed/locations.csv", strings.Join(shopLocationCols, ",")+"\n"+
		"1,gid://shopify/Location/1,Main,true,1 Main St,,Springfield,IL,US,,,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z\n")
	if err := os.MkdirAll(filepath.Join(dir, "incoming"), 0o755); err != nil {
		t.Fatal(err)
	}

	sources := []emptySource{
		{name: "rest", stream: "empty", seed: "seed_plain",
			yaml: `{type: rest, url: "` + api + `/v1/empty", resilience: {rate_limit: 6000}}`},
		{name: "shopify", stream: "locations", seed: "seed_locations", cols: shopLocationCols,
			yaml: `{type: shopify, shop_domain: fake-shop, access_token: ` + shopifytest.Token + `, endpoint: "` + shop.URL() + `"}`},
		{name: "gsheets_header", stream: "Header", seed: "seed_strings", cols: plainCols,
			yaml: `{type: gsheets, spreadsheet_id: 1EMPTY, sheet_name: Header, credentials_file: "` + key + `", endpoint: "` + sheets.URL + `", resilience: {rate_limit: 6000}}`},
		{name: "gsheets_blank", stream: "Blank", seed: "seed_plain",
			yaml: `{type: gsheets, spreadsheet_id: 1EMPTY, sheet_name: Blank, credentials_file: "` + key + `", endpoint: "` + sheets.URL + `", resilience: {rate_limit: 6000}}`},
		{name: "s3", stream: "nothing", seed: "seed_plain", needs: "s3", yaml: s3Source},
		{name: "csv", stream: "orders", seed: "seed_plain",
			yaml: `{type: csv, path: incoming/orders-*.csv}`},
		{name: "postgres", stream: "query", seed: "seed_plain", cols: plainCols, needs: "postgres",
			yaml: `{type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", query: "SELECT 1::bigint AS id, 'x'::text AS name WHERE false"}`},
	}

	dests := []emptyDest{fileDest(t, dir, "csv"), fileDest(t, dir, "parquet")}
	if pg != "" {
		dests = append(dests, pgDest(t, pg, pgSchema))
	} else {
		dests = append(dests, emptyDest{name: "postgres", needs: "postgres"})
	}
	if bucket != nil {
		dests = append(dests, bucket.dest("out/"+run))
	} else {
		dests = append(dests, emptyDest{name: "s3", needs: "s3"})
	}

	for _, d := range dests {
		t.Run(d.name, func(t *testing.T) {
			requireService(t, d.needs)
			var avail []emptySource
			for _, s := range sources {
				if serviceSet(s.needs) {
					avail = append(avail, s)
				}
			}
			seedFile, cellFile := emptyPipelines(t, dir, api, d, avail)

			// Before anything was written: an empty replace of unknown
			// schema creates nothing at all in the destination.
			t.Run("pristine", func(t *testing.T) {
				listing := d.listing(t)
				r := cli(t, "run", "--select", "pristine", cellFile)
				expect(t, r, 0)
				wantSummary(t, r, "pristine", "ok, target unchanged (empty stream, schema unknown)")
				wantWarn(t, r, "pristine")
				if got := d.listing(t); !slices.Equal(got, listing) {
					t.Fatalf("an empty replace of unknown schema changed a pristine destination:\nbefore: %v\nafter:  %v", listing, got)
				}
			})

			// The existing targets, written through the destination itself.
			expect(t, cli(t, "run", seedFile), 0)

			for _, s := range sources {
				t.Run(s.name, func(t *testing.T) {
					requireService(t, s.needs)
					wantCols := plainCols
					if s.cols != nil {
						wantCols = s.cols
					}

					t.Run("append", func(t *testing.T) { wantUnchanged(t, d, cellFile, s.name+"_append") })
					if d.upsert {
						t.Run("upsert", func(t *testing.T) { wantUnchanged(t, d, cellFile, s.name+"_upsert") })
					}

					t.Run("replace", func(t *testing.T) {
						target := s.name + "_replace"
						cols, rows := d.table(t, target)
						if rows == 0 || !sameNames(cols, wantCols) {
							t.Fatalf("the seed gave %s %d rows of %v", target, rows, cols)
						}
						r := cli(t, "run", "--select", target, cellFile)
						expect(t, r, 0)
						wantSummary(t, r, target, "ok")
						if strings.Contains(summaryLine(t, r, target), "unchanged") {
							t.Fatalf("an empty replace over an existing target left it unchanged:\n%s", r)
						}
						gotCols, gotRows := d.table(t, target)
						if gotRows != 0 {
							t.Fatalf("an empty replace left %d rows in the target\n%s", gotRows, r)
						}
						if !slices.Equal(gotCols, cols) {
							t.Fatalf("an empty replace changed the target's columns: was %v, now %v", cols, gotCols)
						}
					})

					t.Run("replace_new", func(t *testing.T) {
						target := s.name + "_new"
						if _, ok := d.state(t, target); ok {
							t.Fatalf("%s exists before its run", target)
						}
						listing := d.listing(t)
						r := cli(t, "run", "--select", target, cellFile)
						expect(t, r, 0)
						if s.cols == nil {
							// Schema unknown, no target: nothing to replace.
							wantSummary(t, r, target, "ok, target unchanged (empty stream, schema unknown)")
							wantWarn(t, r, target)
							if _, ok := d.state(t, target); ok {
								t.Fatalf("an empty replace of unknown schema created %s\n%s", target, r)
							}
							if got := d.listing(t); !slices.Equal(got, listing) {
								t.Fatalf("an empty replace of unknown schema changed the destination:\nbefore: %v\nafter:  %v", listing, got)
							}
							return
						}
						// Schema known: the target is created empty with it.
						wantSummary(t, r, target, "ok")
						if strings.Contains(summaryLine(t, r, target), "unchanged") || strings.Contains(r.stderr, "target left as it was") {
							t.Fatalf("an empty replace of known schema left the target as it was:\n%s", r)
						}
						if _, ok := d.state(t, target); !ok {
							t.Fatalf("an empty replace of known schema did not create %s\n%s", target, r)
						}
						cols, rows := d.table(t, target)
						if rows != 0 || !sameNames(cols, wantCols) {
							t.Fatalf("the new target holds %d rows of %v; want 0 rows of %v", rows, cols, wantCols)
						}
					})
				})
			}

			// An incremental flow run twice: the second run finds nothing
			// new and leaves the target as it was; a stream empty from the
			// start gives two successful runs of 0 rows.
			t.Run("rest_incremental", func(t *testing.T) {
				r := cli(t, "run", "--select", "rest_incr,rest_incr_empty", cellFile)
				expect(t, r, 0)
				if got := flowRows(t, r, "rest_incr"); got != "2" {
					t.Fatalf("the first incremental run read %s rows, want 2\n%s", got, r)
				}
				wantSummary(t, r, "rest_incr_empty", "ok, empty stream (target unchanged)")
				before, ok := d.state(t, "rest_incr")
				if !ok {
					t.Fatalf("the first incremental run did not create its target\n%s", r)
				}
				if _, rows := d.table(t, "rest_incr"); rows != 2 {
					t.Fatalf("the first incremental run wrote %d rows, want 2", rows)
				}
				r = cli(t, "run", "--select", "rest_incr,rest_incr_empty", cellFile)
				expect(t, r, 0)
				wantSummary(t, r, "rest_incr", "ok, empty stream (target unchanged)")
				wantSummary(t, r, "rest_incr_empty", "ok, empty stream (target unchanged)")
				if after, _ := d.state(t, "rest_incr"); after != before {
					t.Fatalf("a run with nothing new changed the target:\nbefore: %q\nafter:  %q", before, after)
				}
				if _, ok := d.state(t, "rest_incr_empty"); ok {
					t.Fatal("an empty append created its target")
				}
			})
		})
	}
	t.Logf("the matrix took %v", time.Since(start).Round(time.Millisecond))
}

// wantUnchanged runs the flow writing target (append or upsert of an
// empty stream over an existing target): exit 0, 0 rows, ok, and neither
// the target nor anything else in the destination changed.
func wantUnchanged(t *testing.T, d emptyDest, cellFile, target string) {
	t.Helper()
	before, ok := d.state(t, target)
	if !ok {
		t.Fatalf("the seed run did not create %s", target)
	}
	listing := d.listing(t)
	r := cli(t, "run", "--select", target, cellFile)
	expect(t, r, 0)
	wantSummary(t, r, target, "ok, empty stream (target unchanged)")
	if after, _ := d.state(t, target); after != before {
		t.Fatalf("an empty run changed the target:\nbefore: %q\nafter:  %q", before, after)
	}
	if got := d.listing(t); !slices.Equal(got, listing) {
		t.Fatalf("an empty run changed the destination:\nbefore: %v\nafter:  %v", listing, got)
	}
}

// emptyPipelines writes the seed pipeline (the existing targets of the
// append and replace cases, from csv files with the same columns) and the
// pipeline of the cells for destination d; api is the REST server.
func emptyPipelines(t *testing.T, dir, api string, d emptyDest, sources []emptySource) (seed, cells string) {
	t.Helper()
	var sb, cb strings.Builder
	sb.WriteString(`version: 1
name: seed_` + d.name + `
sources:
  seed_plain: {type: csv, path: seed/plain.csv}
  seed_strings: {type: csv, path: seed/strings.csv, columns: {id: string, name: string}}
  seed_locations: {type: csv, path: seed/locations.csv, columns: {zip: string, phone: string, address2: string}}
destinations:
  out: ` + d.yaml + `
flows:
`)
	cb.WriteString("version: 1\nname: empty_" + d.name + "\nsources:\n")
	cb.WriteString(`  rest_items: {type: rest, url: "` + api + `/v1/items", resilience: {rate_limit: 6000}}` + "\n")
	for _, s := range sources {
		cb.WriteString("  " + s.name + ": " + s.yaml + "\n")
	}
	cb.WriteString("destinations:\n  out: " + d.yaml + "\nflows:\n")
	for _, s := range sources {
		seeds := []string{"append", "replace"}
		cells := []struct{ target, mode string }{{"append", "append"}, {"replace", "replace"}, {"new", "replace"}}
		if d.upsert {
			seeds = append(seeds, "upsert")
			cells = append(cells, struct{ target, mode string }{"upsert", "upsert, key: [id]"})
		}
		for _, c := range seeds {
			fmt.Fprintf(&sb, "  - {name: seed_%s_%s, from: %s, to: out, target: %s_%s, mode: replace}\n", s.name, c, s.seed, s.name, c)
		}
		for _, c := range cells {
			fmt.Fprintf(&cb, "  - {name: %s_%s, from: %s, stream: %s, to: out, target: %s_%s, mode: %s}\n", s.name, c.target, s.name, s.stream, s.name, c.target, c.mode)
		}
	}
	cb.WriteString("  - {name: pristine, from: rest, to: out, target: pristine, mode: replace}\n")
	cb.WriteString("  - {name: rest_incr, from: rest_items, to: out, target: rest_incr, incremental: {cursor: id}}\n")
	cb.WriteString("  - {name: rest_incr_empty, from: rest, to: out, target: rest_incr_empty, incremental: {cursor: id}}\n")
	return write(t, dir, d.name+"-seed.yaml", sb.String()), write(t, dir, d.name+"-cells.yaml", cb.String())
}

func serviceSet(name string) bool {
	switch name {
	case "postgres":
		return os.Getenv(testenv.PostgresVar) != ""
	case "s3":
		return os.Getenv(testenv.S3EndpointVar) != ""
	}
	return true
}

// requireService skips t (fails it under CI) when the service is not set.
func requireService(t *testing.T, name string) {
	t.Helper()
	switch name {
	case "postgres":
		testenv.Postgres(t)
	case "s3":
		testenv.Require(t, testenv.S3EndpointVar, "the URL of an S3-compatible server (MinIO: eval \"$(.ci/minio.sh)\")")
	}
}

// summaryLine returns flow's line of the run's summary.
func summaryLine(t *testing.T, r result, flow string) string {
	t.Helper()
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == flow {
			return line
		}
	}
	t.Fatalf("no summary line for flow %s:\n%s", flow, r)
	return ""
}

// wantSummary checks that flow's summary line shows 0 rows and a result
// starting with outcome.
func wantSummary(t *testing.T, r result, flow, outcome string) {
	t.Helper()
	line := summaryLine(t, r, flow)
	f := strings.Fields(line)
	if f[1] != "0" {
		t.Fatalf("flow %s moved %s rows, want 0:\n%s", flow, f[1], r)
	}
	if !strings.Contains(line, " "+outcome) || strings.Contains(line, "FAILED") {
		t.Fatalf("flow %s: summary %q, want %q:\n%s", flow, line, outcome, r)
	}
}

// wantWarn checks that the log has a WARN line saying why the target was
// left as it was.
func wantWarn(t *testing.T, r result, target string) {
	t.Helper()
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "WARN") && strings.Contains(line, "target left as it was") &&
			strings.Contains(line, target) && strings.Contains(line, "no schema is known") {
			return
		}
	}
	t.Fatalf("no WARN line saying why %s was left as it was:\n%s", target, r)
}

// sameNames compares the column names of cols ("name" or "name type")
// with names.
func sameNames(cols, names []string) bool {
	if len(cols) != len(names) {
		return false
	}
	for i, c := range cols {
		if strings.Fields(c)[0] != names[i] {
			return false
		}
	}
	return true
}

// fileDest is the csv or parquet destination writing into dir/out/<typ>.
func fileDest(t *testing.T, dir, typ string) emptyDest {
	out := filepath.Join(dir, "out", typ)
	d := emptyDest{name: typ, yaml: "{type: " + typ + ", path: out/" + typ + "}"}
	path := func(target string) string { return filepath.Join(out, target+"."+typ) }
	d.state = func(t *testing.T, target string) (string, bool) {
		t.Helper()
		data, err := os.ReadFile(path(target))
		if os.IsNotExist(err) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(data), true
	}
	d.listing = func(t *testing.T) []string {
		t.Helper()
		var names []string
		err := filepath.WalkDir(out, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(out, p)
			names = append(names, rel)
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return names
	}
	if typ == "csv" {
		d.table = func(t *testing.T, target string) ([]string, int) {
			t.Helper()
			s, ok := d.state(t, target)
			if !ok {
				t.Fatalf("%s does not exist", path(target))
			}
			lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
			return strings.Split(lines[0], ","), len(lines) - 1
		}
		return d
	}
	d.table = func(t *testing.T, target string) ([]string, int) {
		t.Helper()
		if appended, _ := filepath.Glob(filepath.Join(out, target+".append-*.parquet")); len(appended) > 0 {
			t.Fatalf("appended files beside %s: %v", target, appended)
		}
		rdr, err := file.OpenParquetFile(path(target), false)
		if err != nil {
			t.Fatalf("open %s: %v", path(target), err)
		}
		defer rdr.Close()
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		schema, err := fr.Schema()
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, f := range schema.Fields() {
			cols = append(cols, f.Name+" "+f.Type.String())
		}
		return cols, int(rdr.NumRows())
	}
	return d
}

// pgDest is the postgres destination writing into schema; the test looks
// at it through one connection of its own.
func pgDest(t *testing.T, dsn, schema string) emptyDest {
	d := emptyDest{name: "postgres", needs: "postgres", upsert: true,
		yaml: `{type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", schema: ` + schema + `}`}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	query := func(t *testing.T, q string, args ...any) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	exists := func(t *testing.T, target string) bool {
		return query(t, "SELECT coalesce(to_regclass($1)::text, '')", schema+"."+target)[0] != ""
	}
	d.state = func(t *testing.T, target string) (string, bool) {
		t.Helper()
		if !exists(t, target) {
			return "", false
		}
		rows := query(t, "SELECT row_to_json(t)::text FROM "+pgx.Identifier{schema, target}.Sanitize()+" t ORDER BY 1")
		return strings.Join(rows, "\n"), true
	}
	d.table = func(t *testing.T, target string) ([]string, int) {
		t.Helper()
		if !exists(t, target) {
			t.Fatalf("table %s.%s does not exist", schema, target)
		}
		cols := query(t, `SELECT column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
			FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, target)
		n := query(t, "SELECT count(*)::text FROM "+pgx.Identifier{schema, target}.Sanitize())
		var rows int
		fmt.Sscan(n[0], &rows)
		return cols, rows
	}
	d.listing = func(t *testing.T) []string {
		t.Helper()
		return query(t, "SELECT relname::text || ' ' || relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = $1 ORDER BY 1", schema)
	}
	return d
}

func pgExec(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// emptyBucket is a fresh bucket on the test S3 server, deleted with its
// objects when the test ends.
type emptyBucket struct {
	name, endpoint string
	s3             *s3.Client
}

func newEmptyBucket(t *testing.T) *emptyBucket {
	t.Helper()
	ep := os.Getenv(testenv.S3EndpointVar)
	access, secret := os.Getenv("SQLFLOW_TEST_S3_ACCESS_KEY"), os.Getenv("SQLFLOW_TEST_S3_SECRET_KEY")
	if access == "" || secret == "" {
		t.Fatalf("%s is set but SQLFLOW_TEST_S3_ACCESS_KEY or SQLFLOW_TEST_S3_SECRET_KEY is not", testenv.S3EndpointVar)
	}
	b := make([]byte, 6)
	rand.Read(b)
	bk := &emptyBucket{name: "sqlflow-empty-" + hex.EncodeToString(b), endpoint: ep, s3: s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ep), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, ""),
		DisableLogOutputChecksumValidationSkipped: true,
	})}
	ctx := context.Background()
	if _, err := bk.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bk.name)}); err != nil {
		t.Fatalf("create bucket %s on %s: %v", bk.name, ep, err)
	}
	t.Cleanup(func() {
		for _, k := range bk.keys(t, "") {
			bk.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bk.name), Key: aws.String(k)})
		}
		bk.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bk.name)})
	})
	return bk
}

func (b *emptyBucket) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(b.s3, &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	sort.Strings(out)
	return out
}

// get returns an object's bytes; ok is false when it does not exist.
func (b *emptyBucket) get(t *testing.T, key string) ([]byte, bool) {
	t.Helper()
	r, err := b.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchKey") {
			return nil, false
		}
		t.Fatalf("get %s: %v", key, err)
	}
	defer r.Body.Close()
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// dest is the s3 destination writing csv datasets under prefix. A dataset
// is what its _SUCCESS manifest names.
func (b *emptyBucket) dest(prefix string) emptyDest {
	d := emptyDest{name: "s3", needs: "s3",
		yaml: `{type: s3, bucket: ` + b.name + `, path_prefix: ` + prefix + `, file_format: csv, endpoint_url: "` + b.endpoint +
			`", access_key_id: "${SQLFLOW_TEST_S3_ACCESS_KEY}", secret_access_key: "${SQLFLOW_TEST_S3_SECRET_KEY}"}`}
	// objects returns the dataset's objects in the manifest's order.
	objects := func(t *testing.T, target string) ([][]byte, bool) {
		t.Helper()
		m, ok := b.get(t, prefix+"/"+target+"/_SUCCESS")
		if !ok {
			return nil, false
		}
		var manifest struct{ Files []string }
		if err := json.Unmarshal(m, &manifest); err != nil {
			t.Fatalf("the manifest of %s: %v", target, err)
		}
		var out [][]byte
		for _, f := range manifest.Files {
			data, ok := b.get(t, prefix+"/"+target+"/"+f)
			if !ok {
				t.Fatalf("%s named by the manifest of %s does not exist", f, target)
			}
			out = append(out, data)
		}
		return out, true
	}
	d.state = func(t *testing.T, target string) (string, bool) {
		t.Helper()
		objs, ok := objects(t, target)
		return string(bytes.Join(objs, []byte("\x00"))), ok
	}
	d.table = func(t *testing.T, target string) ([]string, int) {
		t.Helper()
		objs, ok := objects(t, target)
		if !ok {
			t.Fatalf("dataset %s has no manifest", target)
		}
		var cols []string
		rows := 0
		for _, o := range objs {
			lines := strings.Split(strings.TrimSuffix(string(o), "\n"), "\n")
			if lines[0] == "" {
				continue
			}
			if cols == nil {
				cols = strings.Split(lines[0], ",")
			}
			rows += len(lines) - 1
		}
		return cols, rows
	}
	d.listing = func(t *testing.T) []string { return b.keys(t, prefix+"/") }
	return d
}
