package pgsql_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/plugins/postgres/pgsql"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// testTimeout bounds each test's work against the server.
const testTimeout = 2 * time.Minute

// env is one test's database: a DSN, a fresh schema dropped at the end,
// and an admin connection.
type env struct {
	dsn    string
	schema string
	conn   *pgx.Conn
	ctx    context.Context
}

func setup(t *testing.T) *env {
	t.Helper()
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	e := &env{dsn: dsn, schema: "t_" + randHex(), conn: conn, ctx: ctx}
	e.exec(t, "CREATE SCHEMA "+e.schema)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		if _, err := conn.Exec(cctx, "DROP SCHEMA "+e.schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", e.schema, err)
		}
		conn.Close(cctx)
	})
	return e
}

func randHex() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.conn.Exec(e.ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) scalar(t *testing.T, sql string, dst any, args ...any) {
	t.Helper()
	if err := e.conn.QueryRow(e.ctx, sql, args...).Scan(dst); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	e.scalar(t, "SELECT count(*) FROM "+e.schema+"."+table, &n)
	return n
}

// digest is an order-independent fingerprint of a table's rows (their
// text forms), for comparing two tables or a table before and after.
func (e *env) digest(t *testing.T, table string) string {
	t.Helper()
	var d string
	e.scalar(t, "SELECT coalesce(md5(string_agg(r, '|' ORDER BY r)), '') FROM (SELECT t::text AS r FROM "+e.schema+"."+table+" AS t) q", &d)
	return d
}

// config returns a configuration for e's schema plus kv pairs.
func (e *env) config(kv ...any) json.RawMessage {
	m := map[string]any{"dsn": e.dsn, "schema": e.schema}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

// connector returns a configured in-process postgres connector.
func (e *env) connector(t *testing.T, kv ...any) *pgsql.Connector {
	t.Helper()
	c := pgsql.New(nil)
	ferrs, err := c.Configure(e.ctx, e.config(kv...))
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("Configure: %v %v", ferrs, err)
	}
	t.Cleanup(c.Close)
	return c
}

// flow runs one flow in-process through the host's pipeline.
func flow(ctx context.Context, src, dst sdk.Connector, stream, target string, mode sdk.WriteMode, key []string, opts pipeline.Options) (pipeline.Result, error) {
	s, d := connector.NewInProcess(src), connector.NewInProcess(dst)
	streams, err := s.Discover(ctx)
	if err != nil {
		return pipeline.Result{}, err
	}
	st, err := pipeline.PickStream(streams, stream)
	if err != nil {
		return pipeline.Result{}, err
	}
	return pipeline.Run(ctx, pipeline.Flow{
		Name: "test_flow", SourceName: "src", DestName: "dst", Source: s, Dest: d,
		Stream: st.Name, Schema: st.Schema, Target: target, Mode: mode, Key: key,
	}, opts)
}

// readAll reads a stream to its end in one connector, returning the pages'
// checkpoints and row sums.
func readAll(t *testing.T, ctx context.Context, c sdk.Source, req sdk.ReadRequest) ([][]byte, []rowhash.Sum, *arrow.Schema) {
	t.Helper()
	var cps [][]byte
	var sums []rowhash.Sum
	var schema *arrow.Schema
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatal("more than 10000 pages")
		}
		p, err := c.ReadPage(ctx, req)
		if err != nil {
			t.Fatalf("ReadPage(%s): %v", req.Checkpoint, err)
		}
		var s rowhash.Sum
		if p.Records != nil {
			s.Add(p.Records)
			schema = p.Records.Schema()
			p.Records.Release()
		}
		sums = append(sums, s)
		cps = append(cps, p.Checkpoint)
		if p.Done {
			return cps, sums, schema
		}
		req.Checkpoint = p.Checkpoint
	}
}

func total(sums []rowhash.Sum) rowhash.Sum {
	var s rowhash.Sum
	for _, x := range sums {
		s.Merge(x)
	}
	return s
}

// writeRecords writes recs as one staged write and commits it.
func writeRecords(t *testing.T, ctx context.Context, d sdk.Destination, req sdk.WriteRequest, recs ...arrow.RecordBatch) error {
	t.Helper()
	if err := d.BeginWrite(ctx, req); err != nil {
		return err
	}
	for i, r := range recs {
		if err := d.WriteBatch(ctx, req.WriteID, int64(i+1), r); err != nil {
			return err
		}
	}
	return d.CommitWrite(ctx, req.WriteID, nil)
}

var _ = arrowipc.EncodeRecord
