package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// TestPluginEnvironment starts a plugin that prints its environment, with
// the host's environment holding secrets, allow-listed variables and
// variables the plugin's Spec declares: the plugin sees the allow-list and
// its declared variables, never the rest.
func TestPluginEnvironment(t *testing.T) {
	t.Setenv("SQLFLOW_TEST_SECRET_TOKEN", "hunter2")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-for-this-plugin")
	t.Setenv("PGPASSWORD", "not-for-this-plugin-either")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LC_TIME", "C")
	t.Setenv("TZ", "UTC")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
	t.Setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
	t.Setenv("SQLFLOW_ENVTEST_REGION", "eu-west-1")
	t.Setenv("ENVTEST_EXACT", "yes")
	t.Setenv("ENVTEST_EXACTLY_NOT", "no")
	t.Setenv("PLUGIN_UNIX_SOCKET_DIR", "/nonexistent")

	dir := pluginsDir(t)
	build(t, dir.Path, "envplugin", "env")
	l, err := launcher(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 { // the first start learns the declaration; the second uses it
		p, err := startWith(t, l, "env")
		if err != nil {
			t.Fatal(err)
		}
		env := readEnv(t, p.Client)
		p.Kill()
		for _, name := range []string{"PATH", "HOME", "LANG", "LC_TIME", "TZ", "HTTPS_PROXY", "SSL_CERT_FILE", "SQLFLOW_ENVTEST_REGION", "ENVTEST_EXACT"} {
			if _, ok := env[name]; !ok {
				t.Errorf("start %d: the plugin does not see %s", run+1, name)
			}
		}
		for _, name := range []string{"SQLFLOW_TEST_SECRET_TOKEN", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD", "ENVTEST_EXACTLY_NOT"} {
			if v, ok := env[name]; ok {
				t.Errorf("start %d: the plugin sees %s=%q, which it neither needs nor declares", run+1, name, v)
			}
		}
		if got := env["PLUGIN_UNIX_SOCKET_DIR"]; got == "/nonexistent" {
			t.Errorf("the host's PLUGIN_UNIX_SOCKET_DIR reached the plugin")
		}
		if env["SQLFLOW_ENVTEST_REGION"] != "eu-west-1" {
			t.Errorf("declared variable's value %q", env["SQLFLOW_ENVTEST_REGION"])
		}
	}
}

// readEnv reads envplugin's one page: its environment.
func readEnv(t *testing.T, c *rpcclient.Client) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Configure(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	page, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: "env"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := arrowipc.DecodeRecord(page.Records)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	names, values := rec.Column(0).(*array.String), rec.Column(1).(*array.String)
	env := map[string]string{}
	for i := range int(rec.NumRows()) {
		env[names.Value(i)] = values.Value(i)
	}
	return env
}
