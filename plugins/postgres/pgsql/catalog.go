package pgsql

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// internalPrefix starts the names of the connector's own tables (ledger,
// state, staging), which Discover does not list.
const internalPrefix = "sqlflow_"

// relation is a table, view, materialized view or foreign table.
type relation struct {
	Schema, Name string
	Kind         byte // pg_class.relkind
	Columns      []*column
	PK           []string
	// EstimatedRows is the planner's row count (pg_class.reltuples) of a
	// table or materialized view; 0 when unknown (never analyzed) or for
	// a view.
	EstimatedRows int64
}

// streamName is the relation's stream name: schema.name.
func (r *relation) streamName() string { return r.Schema + "." + r.Name }

// ident returns the relation's quoted, schema-qualified name.
func (r *relation) ident() string { return pgx.Identifier{r.Schema, r.Name}.Sanitize() }

// loadRelations reads the tables and views of schema (only name when not
// empty) with their columns and primary keys, in name order.
func loadRelations(ctx context.Context, pool *pgxpool.Pool, schema, name string, sp specials) ([]*relation, error) {
	rows, err := pool.Query(ctx, `
SELECT c.relname, c.relkind::text, a.attname,
       CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       format_type(a.atttypid, a.atttypmod), a.attnotnull, current_setting('server_encoding') = 'SQL_ASCII',
       c.reltuples::float8
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND ($2 = '' OR c.relname = $2) AND ($2 <> '' OR c.relname NOT LIKE 'sqlflow\_%')
ORDER BY c.relname, a.attnum`, schema, name)
	if err != nil {
		return nil, err
	}
	var out []*relation
	byName := map[string]*relation{}
	for rows.Next() {
		var (
			rel, kind, col, typeName string
			oid                      uint32
			typmod                   int32
			notNull                  bool
			reltuples                float64
		)
		if err := rows.Scan(&rel, &kind, &col, &oid, &typmod, &typeName, &notNull, &sp.checkUTF8, &reltuples); err != nil {
			rows.Close()
			return nil, err
		}
		r := byName[rel]
		if r == nil {
			r = &relation{Schema: schema, Name: rel, Kind: kind[0]}
			if (r.Kind == 'r' || r.Kind == 'p' || r.Kind == 'm') && reltuples > 0 {
				r.EstimatedRows = int64(reltuples)
			}
			byName[rel] = r
			out = append(out, r)
		}
		c := &column{Name: col, OID: oid, Typmod: typmod, TypeName: typeName, NotNull: notNull, special: sp}
		c.resolve()
		r.Columns = append(r.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	rows, err = pool.Query(ctx, `
SELECT c.relname, a.attname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary AND n.nspname = $1 AND ($2 = '' OR c.relname = $2)
ORDER BY c.relname, k.ord`, schema, name)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var rel, col string
		if err := rows.Scan(&rel, &col); err != nil {
			rows.Close()
			return nil, err
		}
		if r := byName[rel]; r != nil {
			r.PK = append(r.PK, col)
		}
	}
	return out, rows.Err()
}

// describeQuery prepares query and returns its result columns.
func describeQuery(ctx context.Context, pool *pgxpool.Pool, query string, sp specials) ([]*column, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	sd, err := conn.Conn().PgConn().Prepare(ctx, "", query, nil)
	if err != nil {
		return nil, err
	}
	if len(sd.Fields) == 0 {
		return nil, errclass.Permanentf("the query returns no columns; it must be a SELECT")
	}
	oids := make([]uint32, len(sd.Fields))
	mods := make([]int32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i], mods[i] = f.DataTypeOID, f.TypeModifier
	}
	names := make([]string, len(oids))
	// A SQL_ASCII database stores any bytes: its text is checked.
	sp.checkUTF8 = conn.Conn().PgConn().ParameterStatus("server_encoding") == "SQL_ASCII"
	rows, err := conn.Query(ctx, `SELECT format_type(o, m) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(o, m, i) ORDER BY i`, oids, mods)
	if err != nil {
		return nil, err
	}
	for i := 0; rows.Next(); i++ {
		if err := rows.Scan(&names[i]); err != nil {
			rows.Close()
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cols := make([]*column, len(sd.Fields))
	seen := map[string]bool{}
	for i, f := range sd.Fields {
		if seen[f.Name] {
			return nil, errclass.Permanentf("the query returns two columns named %q; give them distinct names with AS", f.Name)
		}
		seen[f.Name] = true
		c := &column{Name: f.Name, OID: f.DataTypeOID, Typmod: f.TypeModifier, TypeName: names[i], special: sp}
		c.resolve()
		cols[i] = c
	}
	return cols, nil
}

// schemaOf returns the Arrow schema of columns.
func schemaOf(cols []*column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field()
	}
	return arrow.NewSchema(fields, nil)
}

// cursorCandidates lists the columns whose type makes a good incremental
// cursor: integers, numerics, dates and timestamps.
func cursorCandidates(cols []*column) []string {
	var out []string
	for _, c := range cols {
		switch c.OID {
		case oidInt2, oidInt4, oidInt8, oidNumeric, oidDate, oidTimestamp, oidTimestamptz:
			out = append(out, c.Name)
		}
	}
	return out
}

// columnIndex returns the index of the column named name, or -1.
func columnIndex(cols []*column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func columnNames(cols []*column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func describeKind(k byte) string {
	switch k {
	case 'v':
		return "view"
	case 'm':
		return "materialized view"
	case 'f':
		return "foreign table"
	default:
		return "table"
	}
}

var _ = fmt.Sprintf
