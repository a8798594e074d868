package parquetconn_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestRelativePathErrors: an error about a relative path the connector
// cannot find, read or create shows the path as written and as resolved
// against the working directory (the pipeline file's directory when the
// host runs the plugin), and is PERMANENT.
func TestRelativePathErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("plain", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("fake.parquet", []byte("id\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(c connector) error { _, err := c.ReadPage(context.Background(), sdk.ReadRequest{}); return err }
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	tests := []struct {
		name string
		path string
		call func(c connector) error
		want string
	}{
		{"source: missing file", "lake/orders.parquet", read,
			`file "lake/orders.parquet" (resolved to ` + wd + `/lake/orders.parquet) does not exist`},
		{"source: glob matching nothing", "lake/*.parquet", read,
			`path "lake/*.parquet" (resolved to ` + wd + `/lake/*.parquet) matches no file`},
		{"source: not a Parquet file", "fake.parquet", read,
			`file "fake.parquet" (resolved to ` + wd + `/fake.parquet) is not a Parquet file: `},
		{"check: missing directory of a single-file path", "lake/orders.parquet", func(c connector) error { return c.Check(context.Background()) },
			`path "lake/orders.parquet" (resolved to ` + wd + `/lake/orders.parquet) does not exist`},
		{"destination: directory that cannot be created", "plain/lake", func(c connector) error {
			return c.BeginWrite(context.Background(), sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Mode: sdk.ModeReplace, Schema: schema})
		}, `create directory "plain/lake" (resolved to ` + wd + `/plain/lake): not a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(pq(t, map[string]any{"path": tt.path}))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error\n  %v\nwant one starting\n  %s", err, tt.want)
			}
			if errclass.Of(err) != errclass.Permanent {
				t.Errorf("class %v, want PERMANENT", errclass.Of(err))
			}
		})
	}
}
