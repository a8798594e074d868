package csvconn_test

import (
	"context"
	"os"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestRelativePathErrors: an error about a relative path the connector
// cannot find or use shows the path as written and as resolved against the
// working directory (the pipeline file's directory when the host runs the
// plugin), and is PERMANENT.
func TestRelativePathErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("plain", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	discover := func(c sdk.Source) error { _, err := c.Discover(context.Background()); return err }
	tests := []struct {
		name string
		path string
		call func(c *csvconn.Connector) error
		want string
	}{
		{"source: missing file (discover)", "data/orders.csv", func(c *csvconn.Connector) error {
			return discover(c)
		}, `file "data/orders.csv" (resolved to ` + wd + `/data/orders.csv) does not exist`},
		{"source: missing file (read)", "data/orders.csv", func(c *csvconn.Connector) error {
			_, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "orders"})
			return err
		}, `file "data/orders.csv" (resolved to ` + wd + `/data/orders.csv) does not exist`},
		{"source: glob matching nothing", "data/*.csv", func(c *csvconn.Connector) error {
			return discover(c)
		}, `path "data/*.csv" (resolved to ` + wd + `/data/*.csv) matches no file: directory "data" (resolved to ` + wd + `/data) does not exist`},
		{"source: a file where a directory is expected", "plain/orders.csv", func(c *csvconn.Connector) error {
			return discover(c)
		}, `stat "plain/orders.csv" (resolved to ` + wd + `/plain/orders.csv): not a directory`},
		{"check: missing directory of a single-file path", "out/orders.csv", func(c *csvconn.Connector) error {
			return c.Check(context.Background())
		}, `path "out/orders.csv" (resolved to ` + wd + `/out/orders.csv) does not exist`},
		{"destination: directory that cannot be created", "plain/out", func(c *csvconn.Connector) error {
			return c.BeginWrite(context.Background(), sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Mode: sdk.ModeReplace, Schema: peopleSchema})
		}, `create directory "plain/out" (resolved to ` + wd + `/plain/out): not a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(configured(t, map[string]any{"path": tt.path}))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error\n  %v\nwant\n  %s", err, tt.want)
			}
			if errclass.Of(err) != errclass.Permanent {
				t.Errorf("class %v, want PERMANENT", errclass.Of(err))
			}
		})
	}
}
