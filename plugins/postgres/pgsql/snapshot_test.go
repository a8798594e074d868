package pgsql_test

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestSourceQueryIsReadOnly: a source query that writes (a VOLATILE
// function that inserts) fails PERMANENT naming the read-only transaction,
// and writes nothing, on its first page and on a page asked for with a
// checkpoint (as after a restart).
func TestSourceQueryIsReadOnly(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".log (n int)")
	e.exec(t, "CREATE FUNCTION "+e.schema+".f() RETURNS int VOLATILE LANGUAGE plpgsql AS $$ BEGIN INSERT INTO "+e.schema+".log VALUES (1); RETURN 1; END $$")
	e.exec(t, "CREATE SEQUENCE "+e.schema+".s")
	for _, tc := range []struct{ name, query string }{
		{"function that inserts", "SELECT i AS id, " + e.schema + ".f() AS f FROM generate_series(1, 10) i"},
		{"nextval", "SELECT i AS id, nextval('" + e.schema + ".s') AS n FROM generate_series(1, 10) i"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, prefetch := range []bool{true, false} {
				c := e.connector(t, "query", tc.query, "key", "id", "page_size", 3, "prefetch", prefetch)
				_, err := c.ReadPage(e.ctx, sdk.ReadRequest{Stream: "query"})
				if err == nil {
					t.Fatalf("a query that writes was read without error (prefetch %v)", prefetch)
				}
				t.Logf("prefetch %v: %v", prefetch, err)
				if !errclass.Is(err, errclass.Permanent) {
					t.Errorf("the error is not PERMANENT: %v", err)
				}
				if msg := err.Error(); !strings.Contains(msg, "read-only transaction") || !strings.Contains(msg, "the source query") {
					t.Errorf("the error does not name the query and the read-only transaction: %v", msg)
				}
				// A page after a checkpoint (a restarted read) is read only too.
				_, err = c.ReadPage(e.ctx, sdk.ReadRequest{Stream: "query", Checkpoint: []byte(`{"page":1,"rows":3,"order":["id"],"last":["AAAAAw=="]}`)})
				if err == nil || !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), "read-only transaction") {
					t.Errorf("a page after a checkpoint: %v", err)
				}
			}
			if n := e.count(t, "log"); n != 0 {
				t.Errorf("the query wrote %d rows", n)
			}
			var called bool
			e.scalar(t, "SELECT is_called FROM "+e.schema+".s", &called)
			if called {
				t.Error("the query called nextval")
			}
		})
	}
}

// TestSourceReadIsOneSnapshot: every page of a read sees the database as it
// was when the read began: rows inserted, updated and deleted after the
// first page are not seen, for a keyset read of a table, a query with a key
// and a query paged by OFFSET (where a delete would otherwise shift a row
// out of reach), with and without prefetch.
func TestSourceReadIsOneSnapshot(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name   string
		kv     []any
		stream string
	}{
		{"table", nil, "snap"},
		{"query with key", []any{"query", "SELECT id, v FROM " + e.schema + ".snap", "key", "id"}, "query"},
		{"query by offset", []any{"query", "SELECT id, v FROM " + e.schema + ".snap"}, "query"},
	} {
		for _, prefetch := range []bool{true, false} {
			name := tc.name
			if !prefetch {
				name += ", no prefetch"
			}
			t.Run(name, func(t *testing.T) {
				e.exec(t, "DROP TABLE IF EXISTS "+e.schema+".snap")
				e.exec(t, "CREATE TABLE "+e.schema+".snap (id int PRIMARY KEY, v text)")
				e.exec(t, "INSERT INTO "+e.schema+".snap SELECT i, 'old' FROM generate_series(1, 20) i")
				c := e.connector(t, append([]any{"page_size", 3, "prefetch", prefetch}, tc.kv...)...)
				req := sdk.ReadRequest{Stream: tc.stream}
				ids := map[int32]int{}
				for page := 0; ; page++ {
					if page > 100 {
						t.Fatal("more than 100 pages")
					}
					p, err := c.ReadPage(e.ctx, req)
					if err != nil {
						t.Fatalf("page %d: %v", page+1, err)
					}
					if p.Records != nil {
						idc := p.Records.Column(0).(*array.Int32)
						vc := p.Records.Column(1).(*array.String)
						for i := range idc.Len() {
							ids[idc.Value(i)]++
							if vc.Value(i) != "old" {
								t.Errorf("row %d reads %q, written after the read began", idc.Value(i), vc.Value(i))
							}
						}
						p.Records.Release()
					}
					if page == 0 {
						e.exec(t, "INSERT INTO "+e.schema+".snap VALUES (21, 'new'), (0, 'new')")
						e.exec(t, "UPDATE "+e.schema+".snap SET v = 'new' WHERE id IN (15, 16)")
						e.exec(t, "DELETE FROM "+e.schema+".snap WHERE id IN (1, 2, 19)")
					}
					if p.Done {
						break
					}
					req.Checkpoint = p.Checkpoint
				}
				for id := int32(1); id <= 20; id++ {
					if ids[id] != 1 {
						t.Errorf("row %d read %d times", id, ids[id])
					}
				}
				if len(ids) != 20 {
					t.Errorf("read %d distinct rows, want the 20 there were when the read began: %v", len(ids), ids)
				}
			})
		}
	}
}

// TestSourceSnapshotLost: the session holding a read's snapshot terminated
// mid-read (pg_terminate_backend) costs no error at all: the next page
// takes a new snapshot, and every row is read once.
func TestSourceSnapshotLost(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".lost (id int PRIMARY KEY)")
	e.exec(t, "INSERT INTO "+e.schema+".lost SELECT generate_series(1, 20)")
	app := "snap_" + e.schema
	c := e.connector(t, "page_size", 3, "application_name", app, "prefetch", false)
	req := sdk.ReadRequest{Stream: "lost"}
	ids := map[int32]int{}
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("more than 100 pages")
		}
		p, err := c.ReadPage(e.ctx, req)
		if err != nil {
			t.Fatalf("page %d: %v", page+1, err)
		}
		if p.Records != nil {
			idc := p.Records.Column(0).(*array.Int32)
			for i := range idc.Len() {
				ids[idc.Value(i)]++
			}
			p.Records.Release()
		}
		if page == 1 {
			var n int
			e.scalar(t, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'", &n, app)
			if n != 1 {
				t.Errorf("terminated %d sessions idle in a transaction, want the snapshot's one", n)
			}
		}
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	for id := int32(1); id <= 20; id++ {
		if ids[id] != 1 {
			t.Errorf("row %d read %d times", id, ids[id])
		}
	}
}
