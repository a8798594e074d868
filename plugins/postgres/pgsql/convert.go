package pgsql

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Loading into existing typed columns.
//
// The staging table always has the data's natural types (COPY binary, the
// fast path). When a target column's type differs, the commit's
// INSERT … SELECT converts the staged value the way PostgreSQL's own input
// would (psql's \copy): text is cast through the target type's input
// function, floats and numerics into integer or numeric columns go through
// their text form (1.5 does not become 2, NaN does not become a numeric
// NaN), and any other pair is left to the INSERT's assignment cast (int8
// into int4 fails on overflow, text into varchar(n) on length). A value
// the server refuses makes the commit fail; probeCasts then finds the first
// such row and column.

// conversion is how one staged column becomes its target column.
type conversion struct {
	field  int    // index of the field in the write's schema
	name   string // column name
	target targetColumn
	// nat is the staged (natural) type's OID.
	nat uint32
}

// expr returns the SQL expression converting operand (a staged value of
// type nat) into the target column's type, or operand itself when the
// INSERT's assignment cast does it.
func (cv conversion) expr(operand string) string {
	v := cv.convert(operand)
	scale, ok := cv.roundingScale()
	if !ok {
		return v
	}
	// A value with more fraction digits than numeric(p,s) keeps would be
	// rounded by the INSERT: it is turned into input the cast refuses
	// instead, so the commit fails and the probe names the row.
	return "CASE WHEN " + v + " = round(" + v + ", " + scale + ") THEN " + v +
		" ELSE CAST('more fraction digits than the scale " + scale + " keeps: ' || CAST(" + v + " AS text) AS numeric) END"
}

// numericModRe matches a numeric type name with a precision and scale.
var numericModRe = regexp.MustCompile(`^numeric\(\d+,(\d+)\)$`)

// roundingScale returns the scale of a numeric(p,s) target column when the
// staged value could have more fraction digits than it (text, a float, a
// numeric of another scale), which the INSERT would round away.
func (cv conversion) roundingScale() (string, bool) {
	if cv.target.oid != oidNumeric {
		return "", false
	}
	switch cv.nat {
	case oidText, oidFloat4, oidFloat8, oidNumeric:
	default:
		return "", false
	}
	m := numericModRe.FindStringSubmatch(cv.target.typeName)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// convert returns the SQL expression converting operand into the target
// column's type without its modifier (see expr).
func (cv conversion) convert(operand string) string {
	base := cv.target.baseName
	switch {
	case cv.nat == cv.target.oid:
		return operand
	case cv.nat == oidText || elemOIDs[cv.nat] == oidText:
		// The type without its modifier: the INSERT's assignment then
		// applies the modifier, which refuses a too-long varchar(n) where
		// an explicit cast would cut it.
		return "CAST(" + operand + " AS " + base + ")"
	case (cv.nat == oidFloat4 || cv.nat == oidFloat8) && cv.target.oid == oidNumeric:
		// NaN and ±Infinity have no numeric value in the data's sense:
		// they are turned into input the cast refuses, so the commit fails
		// and the probe names the row.
		return "CAST(CASE WHEN " + operand + " IN ('NaN', 'Infinity', '-Infinity') THEN 'float ' || " + operand + "::text ELSE " + operand + "::text END AS " + base + ")"
	case (cv.nat == oidFloat4 || cv.nat == oidFloat8) && isIntOID(cv.target.oid):
		return "CAST(CAST(" + operand + " AS text) AS " + base + ")"
	case cv.nat == oidNumeric && isIntOID(cv.target.oid):
		return "CAST(CAST(trim_scale(" + operand + ") AS text) AS " + base + ")"
	}
	return operand
}

// check returns PL/pgSQL run before the assignment in the probe: the
// clearer message for a float NaN or infinity headed to a numeric column.
func (cv conversion) check(operand string) string {
	var out string
	if (cv.nat == oidFloat4 || cv.nat == oidFloat8) && cv.target.oid == oidNumeric {
		out = "IF " + operand + " IN ('NaN', 'Infinity', '-Infinity') THEN RAISE EXCEPTION 'the float value % has no numeric value (a numeric column cannot hold it unchanged)', " +
			operand + " USING ERRCODE = '22003'; END IF; "
	}
	if scale, ok := cv.roundingScale(); ok {
		v := cv.convert(operand)
		out += "IF " + v + " <> round(" + v + ", " + scale + ") THEN RAISE EXCEPTION 'the value % has more fraction digits than the column''s scale (" + scale +
			") keeps; it is not rounded (give the column a larger scale)', " + v + " USING ERRCODE = '22003'; END IF; "
	}
	return out
}

func isIntOID(oid uint32) bool { return oid == oidInt2 || oid == oidInt4 || oid == oidInt8 }

// probeDetail prefixes the DETAIL of the error the probe raises.
const probeDetail = "sqlflow-probe:"

// probeCasts runs the write's conversions row by row over the staging, in
// the write's order, and returns an error naming the first row and column
// whose value the server refuses, or nil when it finds none (every row
// converts, and the commit failed for another reason) or cannot look (the
// caller then reports the commit's own error). It runs only after a failed
// commit.
func (c *Connector) probeCasts(ctx context.Context, pool *pgxpool.Pool, cfg *config, w *writeInfo, convs []conversion) error {
	if len(convs) == 0 {
		return nil
	}
	pos := "row_number() OVER (ORDER BY s.ctid)"
	if w.pos {
		pos = "s." + posColumn
	}
	var decl, sel, body strings.Builder
	for i, cv := range convs {
		fmt.Fprintf(&decl, "  v%d %s;\n", i, cv.target.typeName)
		fmt.Fprintf(&sel, ", s.%s AS c%d", pgx.Identifier{cv.name}.Sanitize(), i)
		op := fmt.Sprintf("r.c%d", i)
		fmt.Fprintf(&body, "      c := %d; %sv%d := %s;\n", i, cv.check(op), i, cv.expr(op))
	}
	sql := "DO $sqlflow$\nDECLARE\n  r record;\n  c int;\n" + decl.String() + "BEGIN\n" +
		"  FOR r IN SELECT " + pos + " AS p" + sel.String() + " FROM " + w.staging.Sanitize() + " AS s ORDER BY 1 LOOP\n" +
		"    BEGIN\n" + body.String() +
		"    EXCEPTION WHEN others THEN\n" +
		"      RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM, DETAIL = '" + probeDetail + "' || r.p || ':' || c;\n" +
		"    END;\n  END LOOP;\nEND\n$sqlflow$"
	_, err := pool.Exec(ctx, sql)
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !strings.HasPrefix(pe.Detail, probeDetail) {
		c.logger.Warn("could not look for the row the target refuses", "write_id", w.id, "error", err)
		return nil
	}
	p, ci, ok := strings.Cut(strings.TrimPrefix(pe.Detail, probeDetail), ":")
	n, err1 := strconv.ParseInt(p, 10, 64)
	i, err2 := strconv.Atoi(ci)
	if !ok || err1 != nil || err2 != nil || i < 0 || i >= len(convs) {
		return nil
	}
	cv := convs[i]
	where := fmt.Sprintf("row %d of the write (in staging order)", n)
	if w.pos {
		where = c.rowOfWrite(ctx, pool, cfg, w, n>>32, n&0xffffffff)
	}
	cause := &pgconn.PgError{Severity: pe.Severity, Code: pe.Code, Message: pe.Message}
	return errclass.Permanentf("postgres: write %s to %s: %s, column %q: the value cannot be stored in the column's type %s (the data's type %s): %w; nothing was written",
		w.id, w.target.Sanitize(), where, cv.name, cv.target.typeName, w.types[cv.field].sql, cause)
}

// rowOfWrite describes row (0-based) of batch seq as "row N of the write
// (batch seq, row r)", N counting the rows of the write's batches before
// seq in the ledger.
func (c *Connector) rowOfWrite(ctx context.Context, pool *pgxpool.Pool, cfg *config, w *writeInfo, seq, row int64) string {
	var before int64
	err := pool.QueryRow(ctx, "SELECT coalesce(sum(rows), 0)::bigint FROM "+internal(cfg, batchesTable)+" WHERE write_id = $1 AND seq < $2", w.id, seq).Scan(&before)
	if err != nil {
		return fmt.Sprintf("batch %d, row %d", seq, row+1)
	}
	return fmt.Sprintf("row %d of the write (batch %d, row %d)", before+row+1, seq, row+1)
}

// copyWhere matches the context PostgreSQL gives a COPY error: the line
// (a tuple, in binary format) and the column.
var copyWhere = regexp.MustCompile(`COPY [^,]+, line (\d+)(?:, column ([^:]+))?`)

// copyError rewrites a COPY error in batch seq of w that the server tied
// to a line (the row of the batch) as a PERMANENT error naming the row and
// column; ok is false when err is no such error.
func (c *Connector) copyError(ctx context.Context, pool *pgxpool.Pool, cfg *config, w *writeInfo, seq int64, err error) (error, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !strings.HasPrefix(pe.Code, "22") {
		return nil, false
	}
	m := copyWhere.FindStringSubmatch(pe.Where)
	if m == nil {
		return nil, false
	}
	line, perr := strconv.ParseInt(m[1], 10, 64)
	if perr != nil || line < 1 {
		return nil, false
	}
	where := c.rowOfWrite(ctx, pool, cfg, w, seq, line-1)
	col := ""
	if m[2] != "" {
		col = fmt.Sprintf(", column %q", m[2])
	}
	cause := &pgconn.PgError{Severity: pe.Severity, Code: pe.Code, Message: pe.Message}
	return errclass.Permanentf("postgres: write %s to %s: %s%s: the server refused the value: %w",
		w.id, w.target.Sanitize(), where, col, cause), true
}

// conversions lists the fields of w whose existing target column (in
// tcols) has another type than the staged one, or the same type with
// another modifier (a decimal128(18,4) into numeric(12,2), which the
// INSERT rounds or refuses).
func conversions(w *writeInfo, tcols map[string]targetColumn) []conversion {
	var out []conversion
	for i, f := range schemaFields(w.schema) {
		tc, ok := tcols[f.Name]
		if !ok || (tc.oid == w.types[i].oid && tc.typeName == w.types[i].sql) {
			continue
		}
		out = append(out, conversion{field: i, name: f.Name, target: tc, nat: w.types[i].oid})
	}
	return out
}
