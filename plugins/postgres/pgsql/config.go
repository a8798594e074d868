package pgsql

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// Defaults of the configuration keys.
const (
	defaultSchema = "public"
	// readBufferSize is how much of the server's stream one read(2) may
	// take.
	readBufferSize  = 256 << 10
	defaultPort     = 5432
	defaultPoolSize = 4
	// defaultPageRows caps a page's rows when the host asks for no row
	// limit; the byte cap (about 8 MiB by default) usually stops first.
	defaultPageRows = 1 << 20
	defaultMaxBytes = 8 << 20
)

// config is a validated configuration.
type config struct {
	// poolConfig is the parsed connection configuration (password set).
	poolConfig *pgxpool.Config
	// password is the secret to scrub from every error message.
	password string
	// passwordFile is the password_file key, when set.
	passwordFile string

	Schema   string
	Table    string // table or table_name; may be schema-qualified
	Query    string
	Key      []string
	PageSize int64
	// CursorInclusive makes incremental reads take cursor >= the stored
	// value instead of >.
	CursorInclusive bool
	// Prefetch reads the next page in the background (default true).
	Prefetch bool
	// Specials is what the source does with numeric NaN/±Infinity and
	// date/timestamp ±infinity (numeric_special, timestamp_special).
	Specials specials
}

// keys lists every key the connector accepts, for the unknown-key message.
var keys = []string{
	"host", "port", "database", "dbname", "username", "user", "password", "password_file",
	"dsn", "schema", "sslmode", "connect_timeout", "table", "table_name", "query",
	"pool_size", "key", "page_size", "cursor_inclusive", "prefetch", "application_name",
	"numeric_special", "timestamp_special",
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "postgres connector",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "dsn": {"type": "string", "description": "A libpq connection URL (postgres://...) or key=value string. The keys below override its parts."},
    "host": {"type": "string", "description": "Server host name or address (default: libpq's, i.e. PGHOST or localhost)."},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5432},
    "database": {"type": "string"},
    "dbname": {"type": "string", "description": "Alias of database."},
    "username": {"type": "string"},
    "user": {"type": "string", "description": "Alias of username."},
    "password": {"type": "string"},
    "password_file": {"type": "string", "description": "A file holding the password (trailing newline ignored); re-read at every Configure."},
    "schema": {"type": "string", "default": "public", "description": "Schema whose tables and views are the source's streams, and where destination tables and the connector's own tables live."},
    "sslmode": {"type": "string", "enum": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    "connect_timeout": {"type": "number", "minimum": 0, "description": "Seconds to wait for a connection; 0 waits forever."},
    "table": {"type": "string", "description": "Source: read only this table or view (optionally schema-qualified)."},
    "table_name": {"type": "string", "description": "Alias of table."},
    "query": {"type": "string", "description": "Source: read the rows of this SELECT as the stream \"query\"."},
    "key": {"description": "Source: keyset columns for a table or view without a primary key, or for a query.", "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "pool_size": {"type": "integer", "minimum": 1, "default": 4},
    "page_size": {"type": "integer", "minimum": 1, "default": 1048576, "description": "Source: most rows per page when the host sets no row cap."},
    "cursor_inclusive": {"type": "boolean", "default": false, "description": "Incremental reads take rows with cursor >= the stored value (re-reading the boundary rows) instead of >."},
    "prefetch": {"type": "boolean", "default": true, "description": "Source: read the next page on a second connection while the host forwards the current one."},
    "application_name": {"type": "string", "default": "sqlflow-host"},
    "numeric_special": {"type": "string", "enum": ["error", "null", "string"], "default": "error", "description": "Source: numeric NaN and ±Infinity in a numeric(p,s) column (read as decimal128): error fails the read naming the column and row, null reads them as null, string reads the column as text."},
    "timestamp_special": {"type": "string", "enum": ["error", "null", "string"], "default": "error", "description": "Source: date and timestamp ±infinity: error fails the read naming the column and row, null reads them as null, string reads the column as text."}
  }
}`

// parseConfig validates raw. Problems come back as field errors.
func parseConfig(raw json.RawMessage) (*config, []sdk.FieldError) {
	cfg := &config{Schema: defaultSchema, Prefetch: true}
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, []sdk.FieldError{{Message: "the postgres configuration must be a JSON object"}}
	}
	var errs []sdk.FieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: key, Message: fmt.Sprintf(format, args...)})
	}
	str := func(k string) string {
		var s string
		if !decode(fields[k], &s) {
			bad(k, "must be a string")
		}
		return s
	}
	alias := func(a, b string) string {
		_, hasA := fields[a]
		_, hasB := fields[b]
		if hasA && hasB {
			bad(b, "set either %s or %s (an alias), not both", a, b)
		}
		if hasB {
			return b
		}
		return a
	}

	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	var (
		dsn, host, database, user, password, sslmode, appName string
		port                                                  int
		connectTimeout                                        float64
		hasTimeout                                            bool
		poolSize                                              = defaultPoolSize
	)
	for _, k := range names {
		v := fields[k]
		switch k {
		case "dsn":
			dsn = str(k)
		case "host":
			host = str(k)
		case "port":
			if !decode(v, &port) || port < 1 || port > 65535 {
				bad(k, "must be an integer from 1 to 65535, got %s", v)
			}
		case "database", "dbname":
			if alias("database", "dbname") == k {
				database = str(k)
			}
		case "username", "user":
			if alias("username", "user") == k {
				user = str(k)
			}
		case "password":
			password = str(k)
		case "password_file":
			cfg.passwordFile = str(k)
		case "schema":
			cfg.Schema = str(k)
			if cfg.Schema == "" {
				bad(k, "must not be empty")
			}
		case "sslmode":
			sslmode = str(k)
			switch sslmode {
			case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
			default:
				bad(k, "%q is not an sslmode; allowed: disable, allow, prefer, require, verify-ca, verify-full", sslmode)
			}
		case "connect_timeout":
			if !decode(v, &connectTimeout) || connectTimeout < 0 {
				bad(k, "must be a number of seconds, 0 or more, got %s", v)
			}
			hasTimeout = true
		case "table", "table_name":
			if alias("table", "table_name") == k {
				cfg.Table = str(k)
				if cfg.Table == "" {
					bad(k, "must not be empty")
				}
			}
		case "query":
			cfg.Query = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(str(k)), ";"))
			if cfg.Query == "" {
				bad(k, "must be a SELECT statement")
			}
		case "key":
			var one string
			if decode(v, &one) && one != "" {
				cfg.Key = []string{one}
			} else if !decode(v, &cfg.Key) || len(cfg.Key) == 0 || slicesHasEmpty(cfg.Key) {
				bad(k, "must be a column name or a non-empty list of column names")
			}
		case "pool_size":
			if !decode(v, &poolSize) || poolSize < 1 {
				bad(k, "must be a positive integer, got %s", v)
			}
		case "page_size":
			if !decode(v, &cfg.PageSize) || cfg.PageSize < 1 {
				bad(k, "must be a positive integer, got %s", v)
			}
		case "cursor_inclusive":
			if !decode(v, &cfg.CursorInclusive) {
				bad(k, "must be true or false, got %s", v)
			}
		case "prefetch":
			if !decode(v, &cfg.Prefetch) {
				bad(k, "must be true or false, got %s", v)
			}
		case "application_name":
			appName = str(k)
		case "numeric_special", "timestamp_special":
			// YAML reads a bare `numeric_special: null` as a null, not
			// the word: it is the null choice, as the user wrote it.
			mode := specialNull
			if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				mode = str(k)
			}
			switch mode {
			case specialError, specialNull, specialString:
			default:
				bad(k, "%q is not allowed; allowed: error, null, string", mode)
			}
			if k == "numeric_special" {
				cfg.Specials.Numeric = mode
			} else {
				cfg.Specials.Timestamp = mode
			}
		default:
			bad(k, "%s", configkey.Unknown(k, keys))
		}
	}
	if cfg.Table != "" && cfg.Query != "" {
		bad("query", "set either table or query, not both")
	}
	if password != "" && cfg.passwordFile != "" {
		bad("password_file", "set either password or password_file, not both")
	}
	if cfg.passwordFile != "" && len(errs) == 0 {
		b, err := os.ReadFile(cfg.passwordFile)
		if err != nil {
			bad("password_file", "%s", filestage.FileError(err, "cannot read the password file", cfg.passwordFile))
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if len(errs) > 0 {
		return nil, errs
	}

	connString, msg := buildConnString(dsn, sslmode)
	if msg != "" {
		return nil, []sdk.FieldError{{Field: "dsn", Message: msg}}
	}
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgconn's ParseConfigError masks the password; scrub anyway, the
		// string may be a key=value one it could not split.
		return nil, []sdk.FieldError{{Field: "dsn", Message: "cannot parse the connection string: " + redact(err.Error(), password, dsn)}}
	}
	cc := pc.ConnConfig
	if host != "" {
		cc.Host = host
		cc.Fallbacks = nil
	}
	if port != 0 {
		cc.Port = uint16(port)
		for _, f := range cc.Fallbacks {
			f.Port = uint16(port)
		}
	} else if dsn == "" && os.Getenv("PGPORT") == "" {
		cc.Port = defaultPort
	}
	if database != "" {
		cc.Database = database
	}
	if user != "" {
		cc.User = user
	}
	if password != "" {
		cc.Password = password
	}
	if hasTimeout {
		cc.ConnectTimeout = time.Duration(connectTimeout * float64(time.Second))
	}
	if appName == "" {
		appName = "sqlflow-host"
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok || appName != "sqlflow-host" {
		cc.RuntimeParams["application_name"] = appName
	}
	// Read the server's stream through a 256 KiB buffer: pgx refills an
	// 8 KiB one, a read(2) for every 8 KiB of rows.
	cc.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, readBufferSize), w)
	}
	// Text forms the connector parses or binds (cursor values) must not
	// depend on the server's or the role's settings.
	cc.RuntimeParams["timezone"] = "UTC"
	cc.RuntimeParams["datestyle"] = "ISO, YMD"
	// A query's unqualified names resolve in the configured schema first.
	if cfg.Schema != defaultSchema {
		cc.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize() + ", public"
	}
	pc.MaxConns = int32(poolSize)
	pc.MinConns = 0
	pc.MaxConnIdleTime = 5 * time.Minute
	cfg.poolConfig = pc
	cfg.password = cc.Password
	return cfg, nil
}

// buildConnString returns the string pgx parses: the dsn (or "" for
// libpq's defaults and PG* environment variables) with sslmode applied.
func buildConnString(dsn, sslmode string) (string, string) {
	if sslmode == "" {
		return dsn, ""
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "is not a valid URL (the value is not shown: it may hold a password)"
		}
		q := u.Query()
		q.Set("sslmode", sslmode)
		u.RawQuery = q.Encode()
		return u.String(), ""
	}
	return strings.TrimSpace(dsn + " sslmode=" + sslmode), ""
}

// redact replaces the password, and the password part of a DSN, with ***.
func redact(s, password, dsn string) string {
	if password != "" {
		s = strings.ReplaceAll(s, password, "***")
	}
	if dsn != "" {
		if u, err := url.Parse(dsn); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				s = strings.ReplaceAll(s, p, "***")
			}
		}
	}
	return s
}

// decode unmarshals v into dst strictly (a JSON null is refused).
func decode(v json.RawMessage, dst any) bool {
	if len(v) == 0 || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return false
	}
	return json.Unmarshal(v, dst) == nil
}

func slicesHasEmpty(s []string) bool {
	for _, x := range s {
		if x == "" {
			return true
		}
	}
	return false
}
