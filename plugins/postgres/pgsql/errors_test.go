package pgsql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/plugins/postgres/pgsql"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestBadInput: a wrong password, a missing database, a role that may not
// log in, a missing table and a bad query each give one clear PERMANENT
// error, without the password, and a flow from such a source leaves its
// target unchanged.
func TestBadInput(t *testing.T) {
	e := setup(t)
	secret := "s3cr3t-" + randHex()
	fake := testenv.NewPasswordServer(t)
	addr, sent := fake.Addr, fake.Passwords
	host, port, _ := net.SplitHostPort(addr)
	u, _ := url.Parse(e.dsn)
	noLogin := "nologin_" + randHex()
	e.exec(t, "CREATE ROLE "+noLogin+" NOLOGIN PASSWORD '"+secret+"'")
	t.Cleanup(func() { e.conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+noLogin) })

	// A target with rows that no failed flow may change.
	e.exec(t, "CREATE TABLE "+e.schema+".target (id bigint PRIMARY KEY, name text)")
	e.exec(t, "INSERT INTO "+e.schema+".target VALUES (1, 'keep')")
	before := e.digest(t, "target")

	tests := []struct {
		name  string
		cfg   map[string]any
		class errclass.Class
		want  string
	}{
		{"wrong password", map[string]any{"host": host, "port": atoi(port), "user": "app", "password": secret, "database": "shop", "sslmode": "disable", "table": "t"},
			errclass.Permanent, "password authentication failed"},
		{"wrong password in a dsn", map[string]any{"dsn": "postgres://app:" + secret + "@" + addr + "/shop?sslmode=disable", "table": "t"},
			errclass.Permanent, "password authentication failed"},
		{"missing database", map[string]any{"dsn": dsnWithDB(u, "no_such_db_"+randHex()), "password": secret, "table": "t"},
			errclass.Permanent, "does not exist"},
		{"role not permitted to log in", map[string]any{"dsn": e.dsn, "user": noLogin, "password": secret, "table": "t"},
			errclass.Permanent, "not permitted to log in"},
		{"missing table", map[string]any{"dsn": e.dsn, "schema": e.schema, "table": "no_such_table", "password": secret},
			errclass.Permanent, `no table or view "no_such_table"`},
		{"bad query", map[string]any{"dsn": e.dsn, "schema": e.schema, "query": "SELEC id FROM nowhere", "password": secret},
			errclass.Permanent, "syntax error"},
		{"query on a missing table", map[string]any{"dsn": e.dsn, "schema": e.schema, "query": "SELECT id FROM nowhere", "password": secret},
			errclass.Permanent, `relation "nowhere" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := json.Marshal(tt.cfg)
			src := pgsql.New(nil)
			defer src.Close()
			if fe, err := src.Configure(e.ctx, raw); err != nil || len(fe) > 0 {
				t.Fatalf("Configure: %v %v", fe, err)
			}
			err := src.Check(e.ctx)
			if err == nil {
				t.Fatal("Check succeeded")
			}
			t.Logf("Check: %v", err)
			if errclass.Of(err) != tt.class {
				t.Errorf("class %v, want %v: %v", errclass.Of(err), tt.class, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
			// A flow from this source fails the same way and leaves the
			// target as it was.
			dst := e.connector(t)
			_, ferr := flow(e.ctx, src, dst, "", "target", sdk.ModeReplace, nil, pipeline.Options{})
			if ferr == nil || errclass.Of(ferr) != tt.class || strings.Contains(ferr.Error(), secret) {
				t.Errorf("flow: %v (%v)", ferr, errclass.Of(ferr))
			}
			if e.digest(t, "target") != before {
				t.Errorf("the failed flow changed the target")
			}
		})
	}
	select {
	case p := <-sent:
		if p != secret {
			t.Errorf("the fake server got password %q", p)
		}
	default:
		t.Errorf("the fake server was never sent a password")
	}
}

// TestPasswordFile: the password is read from password_file at every
// Configure, and a refused password from a file is AUTH_EXPIRED (the host
// configures the plugin again, re-reading the file, and retries once).
func TestPasswordFile(t *testing.T) {
	fake := testenv.NewPasswordServer(t)
	addr, sent := fake.Addr, fake.Passwords
	host, port, _ := net.SplitHostPort(addr)
	file := filepath.Join(t.TempDir(), "pgpass")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := pgsql.New(nil)
	defer c.Close()
	for _, pw := range []string{"first", "second"} {
		if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(map[string]any{"host": host, "port": atoi(port), "user": "app", "password_file": file, "database": "x", "sslmode": "disable"})
		if fe, err := c.Configure(ctx, raw); err != nil || len(fe) > 0 {
			t.Fatalf("Configure: %v %v", fe, err)
		}
		err := c.Check(ctx)
		if errclass.Of(err) != errclass.AuthExpired {
			t.Errorf("class %v, want AUTH_EXPIRED: %v", errclass.Of(err), err)
		}
		if got := <-sent; got != pw {
			t.Errorf("server got password %q, want %q", got, pw)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// TestConfigure checks keys, aliases and field errors.
func TestConfigure(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		field string
	}{
		{"unknown key", `{"hots": "x"}`, "hots"},
		{"user and username", `{"user": "a", "username": "b"}`, "user"},
		{"table and table_name", `{"table": "a", "table_name": "b"}`, "table_name"},
		{"password and password_file", `{"password": "a", "password_file": "/x"}`, "password_file"},
		{"bad dsn", `{"dsn": "postgres://u:pw@[::1"}`, "dsn"},
		{"empty schema", `{"schema": ""}`, "schema"},
		{"key list with an empty name", `{"key": ["a", ""]}`, "key"},
		{"negative connect_timeout", `{"connect_timeout": -1}`, "connect_timeout"},
		{"not an object", `[]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pgsql.New(nil)
			fe, err := c.Configure(context.Background(), json.RawMessage(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			if len(fe) == 0 {
				t.Fatalf("no field error")
			}
			found := false
			for _, f := range fe {
				found = found || f.Field == tt.field
				if strings.Contains(f.Message, "pw@") {
					t.Errorf("message shows the dsn's password: %s", f.Message)
				}
			}
			if !found {
				t.Errorf("field errors %v do not name %q", fe, tt.field)
			}
		})
	}
	good := []string{
		`{}`,
		`{"host": "db", "port": 5433, "dbname": "shop", "username": "etl", "password": "x", "schema": "s", "sslmode": "require", "connect_timeout": 5, "table_name": "orders"}`,
		`{"dsn": "host=db port=5432 user=etl dbname=shop", "sslmode": "disable", "pool_size": 2, "key": "id", "page_size": 1000, "query": "SELECT 1 AS id"}`,
		`{"dsn": "postgres://etl:pw@db/shop", "key": ["a", "b"], "cursor_inclusive": true, "application_name": "nightly"}`,
	}
	for _, g := range good {
		c := pgsql.New(nil)
		fe, err := c.Configure(context.Background(), json.RawMessage(g))
		if err != nil || len(fe) > 0 {
			t.Errorf("Configure(%s): %v %v", g, fe, err)
		}
	}
}

// TestConfigureUnknownKey: an unknown key's message suggests the closest
// allowed key when there is one, and lists the allowed keys.
func TestConfigureUnknownKey(t *testing.T) {
	tests := []struct {
		name, cfg, field, want string
	}{
		{"misspelt", `{"pasword": "x"}`, "pasword", `unknown key "pasword" (did you mean password?); allowed keys: host, port, database, dbname, username, user, password, password_file, dsn,`},
		{"misspelt, other case", `{"Sslmod": "x"}`, "Sslmod", `unknown key "Sslmod" (did you mean sslmode?)`},
		{"close to none", `{"colour": "x"}`, "colour", `unknown key "colour"; allowed keys: host,`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe, err := pgsql.New(nil).Configure(context.Background(), json.RawMessage(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			if len(fe) != 1 || fe[0].Field != tt.field || !strings.HasPrefix(fe[0].Message, tt.want) {
				t.Errorf("field errors %v; want one at %q starting %q", fe, tt.field, tt.want)
			}
		})
	}
}

// TestPasswordFileRelative: a relative password_file that cannot be read
// is a field error showing the path as written and as resolved against the
// working directory (the pipeline file's directory when the host runs the
// plugin).
func TestPasswordFileRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	fe, err := pgsql.New(nil).Configure(context.Background(), json.RawMessage(`{"password_file": "secrets/pg"}`))
	want := `cannot read the password file "secrets/pg" (resolved to ` + wd + `/secrets/pg): no such file or directory`
	if err != nil || len(fe) != 1 || fe[0].Field != "password_file" || fe[0].Message != want {
		t.Fatalf("Configure = %v, %v; want one field error at password_file: %s", fe, err, want)
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func dsnWithDB(u *url.URL, db string) string {
	c := *u
	c.Path = "/" + db
	return c.String()
}
