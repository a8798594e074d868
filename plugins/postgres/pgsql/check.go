package pgsql

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// maxIdentifierBytes is the longest name PostgreSQL keeps: NAMEDATALEN
// (64) less its terminating byte. The server cuts a longer name to its
// first 63 bytes (with only a NOTICE), so two targets sharing those would
// write one table; the connector refuses them instead.
const maxIdentifierBytes = 63

var _ sdk.WriteChecker = (*Connector)(nil)

// CheckWrite reports whether a write could begin, without connecting to
// the server: the target parses as table or schema.table, each name is
// at most 63 bytes and holds no double quote or NUL byte, the mode is
// replace, append or upsert, and upsert has key columns. Refusals are
// PERMANENT; BeginWrite makes the same checks, then the ones that need the
// server and the data's schema.
//
// resolved is "postgres://HOST:PORT/DATABASE/SCHEMA.TABLE": the server
// and database as configured (the database defaults to the user's name,
// as the server's does), and the table as BeginWrite writes it, with the
// schema key (default public) filled in. Names are used exactly as
// written, case included, as BeginWrite quotes them: "t" and "public.t"
// resolve equal, "T" does not; a name that would need quotes in SQL is
// shown quoted ("Orders").
func (c *Connector) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	c.mu.Lock()
	cfg := c.cfg
	c.mu.Unlock()
	if cfg == nil {
		return "", errclass.Permanentf("the postgres connector is not configured")
	}
	target, _, err := checkWrite(cfg, req)
	if err != nil {
		return "", err
	}
	return resolvedTarget(cfg, target), nil
}

// checkWrite is the validation CheckWrite and BeginWrite share: it
// returns the target table (schema, name) and the write's mode (an empty
// mode is replace).
func checkWrite(cfg *config, req sdk.WriteRequest) (pgx.Identifier, sdk.WriteMode, error) {
	if req.Target == "" {
		return nil, "", errclass.Permanentf("postgres: the write has no target table")
	}
	if strings.ContainsRune(req.Target, '"') {
		return nil, "", errclass.Permanentf("postgres: target %q holds a double quote; write the target as table or schema.table without quotes "+
			"(names are used exactly as written, upper-case letters included)", req.Target)
	}
	if strings.IndexByte(req.Target, 0) >= 0 {
		return nil, "", errclass.Permanentf("postgres: target %q holds a NUL byte, which PostgreSQL names cannot hold", req.Target)
	}
	schema, table := splitName(req.Target, cfg.Schema)
	target := pgx.Identifier{schema, table}
	if len(schema) > maxIdentifierBytes {
		what := "the schema name"
		if schema == cfg.Schema && !strings.HasPrefix(req.Target, schema+".") {
			what = "the schema name (the connector's schema key)"
		}
		return nil, "", tooLong(what, schema)
	}
	if len(table) > maxIdentifierBytes {
		return nil, "", tooLong("the table name", table)
	}
	mode := req.Mode
	if mode == "" {
		mode = sdk.ModeReplace
	}
	switch mode {
	case sdk.ModeReplace, sdk.ModeAppend, sdk.ModeUpsert:
	default:
		return nil, "", errclass.Permanentf("postgres: unknown write mode %q; use replace, append or upsert", mode)
	}
	if mode == sdk.ModeUpsert && len(req.Key) == 0 {
		return nil, "", errclass.Permanentf("postgres: upsert into %s needs key columns (key: in the flow)", target.Sanitize())
	}
	return target, mode, nil
}

func tooLong(what, name string) error {
	return errclass.Permanentf("postgres: %s %q is %d bytes long; PostgreSQL keeps only the first %d bytes of a name (NAMEDATALEN-1), "+
		"so targets sharing them would write one table; use a name of at most %d bytes", what, name, len(name), maxIdentifierBytes, maxIdentifierBytes)
}

// resolvedTarget names target on the configured server and database (see
// CheckWrite).
func resolvedTarget(cfg *config, target pgx.Identifier) string {
	cc := cfg.poolConfig.ConnConfig
	host := cc.Host
	if !strings.HasPrefix(host, "/") { // a Unix socket directory keeps its case
		host = strings.ToLower(host)
	}
	db := cc.Database
	if db == "" {
		db = cc.User // the server's default database
	}
	return "postgres://" + net.JoinHostPort(host, strconv.Itoa(int(cc.Port))) + "/" + url.PathEscape(db) + "/" +
		sqlName(target[0]) + "." + sqlName(target[1])
}

// plainName matches the names SQL can write without quotes (and which
// PostgreSQL would not fold).
var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// sqlName is name as SQL writes it: as is when it needs no quotes, else
// quoted.
func sqlName(name string) string {
	if plainName.MatchString(name) {
		return name
	}
	return pgx.Identifier{name}.Sanitize()
}
