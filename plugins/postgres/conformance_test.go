package main_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled
// postgres plugin, in a schema of its own that it drops at the end. The
// destination's table is read back with pgx, as any reader of it would.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	schema := "conf_" + randHex()
	execSQL(t, conn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	// A 230-row table with a primary key and nulls in every nullable column.
	execSQL(t, conn, `CREATE TABLE `+schema+`.people (id int PRIMARY KEY, name text, score numeric(8,2), active bool, at timestamptz, tags text[])`)
	execSQL(t, conn, `INSERT INTO `+schema+`.people SELECT i,
	    CASE WHEN i % 6 = 0 THEN NULL ELSE 'person ' || i || ', "the ' || i || 'th"' END,
	    CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.5 END,
	    CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END,
	    CASE WHEN i % 4 = 0 THEN NULL ELSE timestamptz '2024-03-01 10:00:00+00' + i * interval '1 minute' END,
	    CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY['a' || i, NULL, 'b'] END
	  FROM generate_series(1, 230) i`)
	// The large stream: 2,000 rows of 4 KiB strings, about 8 MiB.
	execSQL(t, conn, `CREATE TABLE `+schema+`.big (id int PRIMARY KEY, blob text)`)
	execSQL(t, conn, `INSERT INTO `+schema+`.big SELECT i, repeat(chr(97 + i % 26), 4096) FROM generate_series(1, 2000) i`)

	base := map[string]any{"dsn": dsn, "schema": schema}
	with := func(kv ...any) json.RawMessage {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		b, _ := json.Marshal(m)
		return b
	}
	bin := sdktest.BuildPlugin(t, ".")
	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "port out of range", Config: with("port", 70000), Field: "port"},
			{Name: "port not a number", Config: with("port", "five"), Field: "port"},
			{Name: "bad sslmode", Config: with("sslmode", "sometimes"), Field: "sslmode"},
			{Name: "table and query", Config: with("table", "people", "query", "select 1"), Field: "query"},
			{Name: "database and dbname", Config: with("database", "a", "dbname", "b"), Field: "dbname"},
			{Name: "empty key list", Config: with("key", []string{}), Field: "key"},
			{Name: "missing password_file", Config: with("password_file", "/nonexistent/pgpass"), Field: "password_file"},
			{Name: "pool_size zero", Config: with("pool_size", 0), Field: "pool_size"},
		},
		Source: &sdktest.SourceConfig{
			Config:      with(),
			Stream:      schema + ".people",
			MaxRows:     11,
			LargeStream: &sdktest.LargeStreamConfig{Stream: schema + ".big"},
		},
		Destination: &sdktest.DestinationConfig{
			Config:        with(),
			Target:        "result",
			MissingTarget: "never_written",
			ReadTarget: func(ctx context.Context, s *arrow.Schema) (rowhash.Sum, error) {
				return readTable(ctx, dsn, schema+".result", s)
			},
		},
	})
}

func randHex() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func execSQL(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// readTable sums the rows of a table holding the kit's columns (id, name,
// score, active, at), read with pgx into Arrow arrays of schema s; a
// missing table holds no rows.
func readTable(ctx context.Context, dsn, table string, s *arrow.Schema) (rowhash.Sum, error) {
	var sum rowhash.Sum
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return sum, err
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil || !exists {
		return sum, err
	}
	cols := ""
	for i, f := range s.Fields() {
		if i > 0 {
			cols += ", "
		}
		cols += pgx.Identifier{f.Name}.Sanitize()
	}
	rows, err := conn.Query(ctx, "SELECT "+cols+" FROM "+table)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return sum, err
		}
		for i, v := range vals {
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch x := fb.(type) {
			case *array.Int64Builder:
				x.Append(v.(int64))
			case *array.StringBuilder:
				x.Append(v.(string))
			case *array.Float64Builder:
				x.Append(v.(float64))
			case *array.BooleanBuilder:
				x.Append(v.(bool))
			case *array.TimestampBuilder:
				x.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
			default:
				return sum, fmt.Errorf("unexpected column type %T", fb)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return sum, err
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	sum.Add(rec)
	return sum, nil
}
