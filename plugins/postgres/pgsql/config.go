package pgsql

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/sdk"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// Defaults of the configuration keys.
const (
	defaultSchema = "public"
	// readBufferSize is how much of the server's stream one read(2) may
	// take.
	readBufferSize = 256 << 10
	defaultPort    = 5432
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

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	Host             string           `config:"host" doc:"Server host name or address (default: libpq's, i.e. PGHOST or localhost)."`
	Port             int              `config:"port" min:"1" max:"65535" doc:"Default 5432."`
	Database         string           `config:"database" alias:"dbname"`
	Username         string           `config:"username" alias:"user"`
	Password         sdkconfig.Secret `config:"password"`
	PasswordFile     string           `config:"password_file" doc:"A file holding the password (trailing newline ignored); re-read at every Configure."`
	DSN              string           `config:"dsn,secret" doc:"A libpq connection URL (postgres://...) or key=value string. The keys below override its parts."`
	Schema           string           `config:"schema,nonempty" default:"public" doc:"Schema whose tables and views are the source's streams, and where destination tables and the connector's own tables live."`
	SSLMode          string           `config:"sslmode" enum:"disable,allow,prefer,require,verify-ca,verify-full"`
	ConnectTimeout   *float64         `config:"connect_timeout" min:"0" msg:"must be a number of seconds, 0 or more" doc:"Seconds to wait for a connection; 0 waits forever."`
	Table            string           `config:"table,nonempty" alias:"table_name" doc:"Source: read only this table or view (optionally schema-qualified)."`
	Query            *string          `config:"query" doc:"Source: read the rows of this SELECT as the stream \"query\"."`
	PoolSize         int              `config:"pool_size" default:"4" min:"1"`
	Key              []string         `config:"key,single,nonempty" msg:"must be a column name or a non-empty list of column names" doc:"Source: keyset columns for a table or view without a primary key, or for a query."`
	PageSize         int64            `config:"page_size" min:"1" doc:"Source: most rows per page when the host sets no row cap (default 1048576)."`
	CursorInclusive  bool             `config:"cursor_inclusive" doc:"Incremental reads take rows with cursor >= the stored value (re-reading the boundary rows) instead of >."`
	Prefetch         bool             `config:"prefetch" default:"true" doc:"Source: read the next page on a second connection while the host forwards the current one."`
	ApplicationName  string           `config:"application_name" default:"sqlflow-host"`
	NumericSpecial   special          `config:"numeric_special" default:"error" doc:"Source: numeric NaN and ±Infinity in a numeric(p,s) column (read as decimal128): error fails the read naming the column and row, null reads them as null, string reads the column as text."`
	TimestampSpecial special          `config:"timestamp_special" default:"error" doc:"Source: date and timestamp ±infinity: error fails the read naming the column and row, null reads them as null, string reads the column as text."`
}

// special is what the source does with a special value: error, null or
// string. YAML reads a bare `numeric_special: null` as a null, not the
// word: it is the null choice, as the user wrote it.
type special string

// UnmarshalConfig reads error, null (or a JSON null) or string.
func (s *special) UnmarshalConfig(raw json.RawMessage) error {
	mode := specialNull
	if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if json.Unmarshal(raw, &mode) != nil {
			return fmt.Errorf("must be a string, got %s", raw)
		}
	}
	switch mode {
	case specialError, specialNull, specialString:
		*s = special(mode)
		return nil
	}
	return fmt.Errorf("%q is not allowed; allowed: error, null, string", mode)
}

// ConfigSchema describes the key.
func (special) ConfigSchema() map[string]any {
	return map[string]any{"type": []string{"string", "null"}, "enum": []any{specialError, specialNull, specialString, nil}}
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
var configSchema = sdkconfig.Schema(keys{})

// parseConfig validates raw. Problems come back as field errors.
func parseConfig(raw json.RawMessage) (*config, []sdk.FieldError) {
	var k keys
	errs := sdkconfig.Errors((sdkconfig.Decoder{Name: "postgres"}).Decode(raw, &k))
	bad := errs.Addf
	cfg := &config{
		Schema: k.Schema, Table: k.Table, Key: k.Key, PageSize: k.PageSize, CursorInclusive: k.CursorInclusive,
		Prefetch: k.Prefetch, Specials: specials{Numeric: string(k.NumericSpecial), Timestamp: string(k.TimestampSpecial)},
		passwordFile: k.PasswordFile,
	}
	dsn, sslmode, password := k.DSN, k.SSLMode, k.Password.Value()
	if k.Query != nil {
		cfg.Query = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(*k.Query), ";"))
		if cfg.Query == "" {
			bad("query", "must be a SELECT statement")
		}
	}
	if slices.Contains(cfg.Key, "") {
		bad("key", "must be a column name or a non-empty list of column names")
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
	host, port, database, user, appName, poolSize := k.Host, k.Port, k.Database, k.Username, k.ApplicationName, k.PoolSize

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
	if k.ConnectTimeout != nil {
		cc.ConnectTimeout = time.Duration(*k.ConnectTimeout * float64(time.Second))
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
