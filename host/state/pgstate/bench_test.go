package pgstate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/host/state"
	"github.com/sqlflow/sqlflow-host/host/state/pgstate"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

func open(t testing.TB) *pgstate.Store {
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("pgstate_%d", time.Now().UnixNano())
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		pool.Close()
	})
	s, err := pgstate.Open(context.Background(), pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func flowState(i int) state.Flow {
	return state.Flow{Owner: state.Owner{Pipeline: "p", Flow: "f", CursorField: "id",
		Source: state.Endpoint{Type: "memory", Stream: "events"}, Destination: state.Endpoint{Type: "postgres", Target: "t"}},
		Cursor: json.RawMessage(fmt.Sprint(i)), WriteID: "0123456789abcdef", UpdatedAt: time.Now().UTC()}
}

// The PostgreSQL store round-trips a flow's state and lists, deletes and
// misses it as the file store does.
func TestStoreRoundTrip(t *testing.T) {
	s := open(t)
	if f, err := s.Load("p", "f"); err != nil || f != nil {
		t.Fatalf("empty store: %v %v", f, err)
	}
	for i := range 2 {
		if err := s.Save("p", "f", flowState(i)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := s.Load("p", "f")
	if err != nil || string(f.Cursor) != "1" || f.Owner.CursorField != "id" {
		t.Fatalf("load: %+v %v", f, err)
	}
	if flows, err := s.Flows("p"); err != nil || len(flows) != 1 || flows[0] != "f" {
		t.Fatalf("flows: %v %v", flows, err)
	}
	if ok, err := s.Delete("p", "f"); err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, _ := s.Delete("p", "f"); ok {
		t.Fatal("deleted twice")
	}
}

// BenchmarkStateBackend measures what a state backend adds to one
// incremental flow: one Load before it runs and one Save after its commit.
func BenchmarkStateBackend(b *testing.B) {
	backends := map[string]state.Backend{"file": state.Store{Dir: b.TempDir()}, "postgres": open(b)}
	for _, name := range []string{"file", "postgres"} {
		st := backends[name]
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := st.Load("p", "f"); err != nil {
					b.Fatal(err)
				}
				if err := st.Save("p", "f", flowState(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
