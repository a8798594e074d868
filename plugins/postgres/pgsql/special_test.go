package pgsql_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/plugins/postgres/pgsql"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestSpecialValues checks numeric_special and timestamp_special: by
// default a numeric NaN in a numeric(p,s) column (read as decimal128; it
// cannot hold ±Infinity) and a date or timestamp ±infinity fail the read PERMANENT
// naming the column, the row and the option; "null" reads them as null;
// "string" reads the column as text, every value in PostgreSQL's text
// form.
func TestSpecialValues(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".sp (id int PRIMARY KEY, n numeric(10,2), d date, ts timestamptz)")
	e.exec(t, `INSERT INTO `+e.schema+`.sp VALUES (1, 1.5, '2024-01-02', '2024-01-02 03:04:05+00'),
	  (2, 'NaN', '2024-01-03', '2024-01-03 00:00:00+00'), (3, 'NaN', 'infinity', '-infinity'), (4, 2, NULL, NULL)`)
	read := func(t *testing.T, kv ...any) (arrow.RecordBatch, error) {
		t.Helper()
		c := e.connector(t, append([]any{"table", "sp"}, kv...)...)
		p, err := c.ReadPage(e.ctx, sdk.ReadRequest{Stream: e.schema + ".sp", MaxRows: 100, MaxBytes: 1 << 20})
		return p.Records, err
	}
	t.Run("default error", func(t *testing.T) {
		_, err := read(t)
		if errclass.Of(err) != errclass.Permanent {
			t.Fatalf("err = %v, want PERMANENT", err)
		}
		t.Log(err)
		for _, want := range []string{`column "n"`, "row 2 of page 1", "NaN", "numeric_special: null", "numeric_special: string"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		_, err = read(t, "numeric_special", "null")
		for _, want := range []string{`column "d"`, "row 3 of page 1", "infinity", "timestamp_special"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v lacks %q", err, want)
			}
		}
	})
	// "null" as a string, and null as YAML reads a bare
	// `numeric_special: null` (the error message's own advice).
	for _, choice := range []any{"null", nil} {
		t.Run(fmt.Sprintf("null %#v", choice), func(t *testing.T) {
			rec, err := read(t, "numeric_special", choice, "timestamp_special", choice)
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			n, d, ts := rec.Column(1), rec.Column(2), rec.Column(3)
			if n.NullN() != 2 || d.NullN() != 2 || ts.NullN() != 2 || !n.IsValid(0) || !ts.IsValid(1) {
				t.Errorf("nulls: n %d, d %d, ts %d", n.NullN(), d.NullN(), ts.NullN())
			}
		})
	}
	t.Run("string", func(t *testing.T) {
		c := e.connector(t, "table", "sp", "numeric_special", "string", "timestamp_special", "string")
		streams, err := c.Discover(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range streams[0].Schema.Fields()[1:] {
			if f.Type.ID() != arrow.STRING {
				t.Errorf("column %s is %s, want utf8", f.Name, f.Type)
			}
		}
		rec, err := read(t, "numeric_special", "string", "timestamp_special", "string")
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Release()
		var got []string
		for i := range int(rec.NumRows()) {
			var row []string
			for j := 1; j < 4; j++ {
				row = append(row, rec.Column(j).(*array.String).ValueStr(i))
			}
			got = append(got, strings.Join(row, " "))
		}
		want := "1.50 2024-01-02 2024-01-02 03:04:05+00|NaN 2024-01-03 2024-01-03 00:00:00+00|NaN infinity -infinity|2.00 (null) (null)"
		if strings.Join(got, "|") != want {
			t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
		}
	})
	t.Run("string round trip", func(t *testing.T) {
		// Read as text, the values go back into a postgres table of the
		// source's types (from the postgres.type metadata) unchanged.
		src := e.connector(t, "table", "sp", "numeric_special", "string", "timestamp_special", "string")
		if _, err := flow(e.ctx, src, e.connector(t), e.schema+".sp", "sp_copy", sdk.ModeReplace, nil, pipeline.Options{}); err != nil {
			t.Fatal(err)
		}
		var types string
		e.scalar(t, "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0", &types, e.schema+".sp_copy")
		if types != "integer,numeric(10,2),date,timestamp with time zone" {
			t.Errorf("sp_copy's types: %s", types)
		}
		if e.digest(t, "sp_copy") != e.digest(t, "sp") {
			t.Errorf("the copy differs from the source")
		}
	})
	t.Run("past arrow's range", func(t *testing.T) {
		// PostgreSQL's timestamps reach 294276 AD, Arrow's microsecond
		// ones 294247: the value must not wrap around.
		e.exec(t, "CREATE TABLE "+e.schema+".far (id int PRIMARY KEY, ts timestamptz)")
		e.exec(t, "INSERT INTO "+e.schema+".far VALUES (1, '2024-01-01 00:00:00+00'), (2, '294270-01-01 00:00:00+00')")
		c := e.connector(t, "table", "far")
		_, err := c.ReadPage(e.ctx, sdk.ReadRequest{Stream: e.schema + ".far", MaxRows: 100, MaxBytes: 1 << 20})
		for _, want := range []string{`column "ts"`, "row 2 of page 1", "294247", "timestamp_special"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v lacks %q", err, want)
			}
		}
		if errclass.Of(err) != errclass.Permanent {
			t.Errorf("class %v, want PERMANENT", errclass.Of(err))
		}
	})
	t.Run("bad option", func(t *testing.T) {
		ferrs, err := e.connector(t).Configure(e.ctx, e.config("numeric_special", "zero"))
		if err != nil || len(ferrs) != 1 || ferrs[0].Field != "numeric_special" {
			t.Errorf("Configure(numeric_special: zero) = %v, %v", ferrs, err)
		}
	})
}

// TestSQLASCIINotUTF8 checks that text that is not valid UTF-8, which
// only a SQL_ASCII database stores, fails the read naming the column and
// row instead of reaching a utf8 column, and that the query the message
// suggests reads its bytes.
func TestSQLASCIINotUTF8(t *testing.T) {
	e := setup(t)
	db := "sqlflow_ascii_" + randHex()
	e.exec(t, "CREATE DATABASE "+db+" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := e.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", db, err)
		}
	})
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	conn, err := pgx.Connect(e.ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, sql := range []string{"CREATE TABLE latin (id int PRIMARY KEY, name text)", `INSERT INTO latin VALUES (1, 'plain'), (2, E'caf\351')`} {
		if _, err := conn.Exec(e.ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	c := pgsql.New(nil)
	defer c.Close()
	if ferrs, err := c.Configure(e.ctx, []byte(`{"dsn": "`+u.String()+`", "table": "latin"}`)); err != nil || len(ferrs) > 0 {
		t.Fatal(ferrs, err)
	}
	_, err = c.ReadPage(e.ctx, sdk.ReadRequest{Stream: "public.latin", MaxRows: 100, MaxBytes: 1 << 20})
	if errclass.Of(err) != errclass.Permanent {
		t.Fatalf("err = %v, want PERMANENT", err)
	}
	for _, want := range []string{`column "name"`, "row 2 of page 1", "not valid UTF-8"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var b []byte
	if err := conn.QueryRow(e.ctx, "SELECT convert_to(name, 'SQL_ASCII') FROM latin WHERE id = 2").Scan(&b); err != nil || string(b) != "caf\xe9" {
		t.Errorf("the suggested query read %q, %v", b, err)
	}
}
